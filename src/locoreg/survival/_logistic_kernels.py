"""Compiled passes of the pooled logistic regression (numba; loaded on the first fit).

``causal.pooled_logistic`` fits ``logit p_ik = alpha_k + x_i' beta`` on unit × period
cells without stacking them. One IRLS iteration reads every cell twice: once for the
weights and working responses at the current fit, once for the new fit and its deviance.
numpy would make a pass and an (n, K) temporary per quantity (about twenty per
iteration); each kernel makes one pass and keeps a cell's values in registers.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from ._jit import kernel

FloatArray = NDArray[np.float64]


@kernel
def irls_weights(
    risk: NDArray[np.bool_],
    y: FloatArray,
    eta: FloatArray,
    p: FloatArray,
    w: FloatArray,
    row_w: FloatArray,
    row_u: FloatArray,
    col_u: FloatArray,
) -> None:
    """IRLS weights ``w = p (1 - p)`` (0 off risk), summed per unit (``row_w``), and working
    responses ``u = W z = w eta + (y - p)``, summed per unit (``row_u``) and per period
    (``col_u``)."""
    n, k = risk.shape
    col_u[:] = 0.0
    for i in range(n):
        sum_w = 0.0
        sum_u = 0.0
        for j in range(k):
            if risk[i, j]:
                pij = p[i, j]
                wij = pij * (1.0 - pij)
                uij = wij * eta[i, j] + (y[i, j] - pij)
                w[i, j] = wij
                sum_w += wij
                sum_u += uij
                col_u[j] += uij
            else:
                w[i, j] = 0.0
        row_w[i] = sum_w
        row_u[i] = sum_u


@kernel
def logistic_fit(
    alpha: FloatArray,
    xb: FloatArray,
    risk: NDArray[np.bool_],
    y: FloatArray,
    eta: FloatArray,
    p: FloatArray,
) -> float:
    """``eta = alpha_k + xb_i`` and ``p = 1 / (1 + q)``, ``q = exp(-eta)``, in the cells at
    risk (the others are never read); returns the deviance
    ``-2 sum [y log p + (1 - y) log(1 - p)] = 2 sum [log(1 + q) + (1 - y) eta]``
    (y is 0/1; one ``log1p`` per cell, and no log of a rounded p)."""
    n, k = risk.shape
    total = 0.0
    for i in range(n):
        for j in range(k):
            if risk[i, j]:
                e = alpha[j] + xb[i]
                q = math.exp(-e)
                eta[i, j] = e
                p[i, j] = 1.0 / (1.0 + q)
                total += math.log1p(q) + (1.0 - y[i, j]) * e
    return 2.0 * total
