"""Compiled pass of the pooled logistic regression (numba; loaded on the first fit).

``causal.pooled_logistic`` fits ``logit p_ik = alpha_k + x_i' beta`` on unit × period
cells without stacking them. At each fit numpy forms ``q = exp(-eta)``, ``p = 1 / (1 + q)``
and ``log(1 + q)`` over all cells (its vectorised exp and log1p are several times faster
than a scalar loop's); this kernel then reads the cells at risk once for the deviance of
that fit and for the next iteration's weights and working responses, where numpy would
make a masked pass and an (n, K) temporary per quantity.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._jit import kernel

FloatArray = NDArray[np.float64]


@kernel
def irls_pass(
    risk: NDArray[np.bool_],
    y: FloatArray,
    eta: FloatArray,
    p: FloatArray,
    log1p_q: FloatArray,
    w: FloatArray,
    row_w: FloatArray,
    col_w: FloatArray,
    row_u: FloatArray,
    col_u: FloatArray,
) -> float:
    """Deviance ``-2 sum [y log p + (1 - y) log(1 - p)] = 2 sum [log(1 + q) + (1 - y) eta]``
    over the cells at risk (y is 0/1), and the IRLS weights ``w = p (1 - p)`` (0 off
    risk) and the working responses ``u = W z = w eta + (y - p)``, each summed per unit
    (``row_w``, ``row_u``) and per period (``col_w``, ``col_u``)."""
    n, k = risk.shape
    col_w[:] = 0.0
    col_u[:] = 0.0
    total = 0.0
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
                col_w[j] += wij
                sum_u += uij
                col_u[j] += uij
                total += log1p_q[i, j] + (1.0 - y[i, j]) * eta[i, j]
            else:
                w[i, j] = 0.0
        row_w[i] = sum_w
        row_u[i] = sum_u
    return 2.0 * total
