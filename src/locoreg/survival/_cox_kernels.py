"""Compiled row loops of the Cox engine (numba; imported on the first fit, not at start-up).

Each kernel walks a contiguous range of sorted rows once, keeping a row's covariates in
registers while every quantity that needs them is formed: numpy would make one pass (and
one n x p temporary) per quantity. They release the GIL, so two threads can walk two
halves of the rows. Notation as in ``_cox_riskset``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

# cache=True: compiled once per machine (in __pycache__), later processes load the
# machine code in milliseconds; nogil=True: the two worker threads run truly in parallel.
_kernel = njit(cache=True, nogil=True, boundscheck=False)


@_kernel
def sort_centred(
    x: FloatArray, rank: IntArray, center: FloatArray, dead_weight: FloatArray, out: FloatArray
) -> FloatArray:
    """``out[rank[i]] = x[i] - center`` for every row i; returns ``sum_i dead_weight[i]
    (x[i] - center)`` (the deaths' weighted covariate sum).

    Reading X in its own order and writing each row to its sorted place is about twice as
    fast as gathering ``x[order[k]]``: a store that misses the cache does not stall the
    loop, a load does.
    """
    p = x.shape[1]
    total = np.zeros(p)
    for i in range(x.shape[0]):
        k = rank[i]
        dw = dead_weight[i]
        for j in range(p):
            value = x[i, j] - center[j]
            out[k, j] = value
            total[j] += dw * value
    return total


@_kernel
def block_pass(
    x: FloatArray,
    wr: FloatArray,
    scale: FloatArray,
    per_row: bool,
    cuts: IntArray,
    piece: int,
    start: int,
    stop: int,
    pieces: FloatArray,
    buf: FloatArray,
    lo: IntArray,
    by_lo: FloatArray,
) -> None:
    """One cache-sized block of sorted rows [start, stop).

    - ``pieces[q] = sum of wr_k x_k`` over the rows of piece q (pieces are the runs between
      consecutive ``cuts``; the block begins at ``cuts[piece]``);
    - ``buf[k - start] = sqrt(v_k) x_k`` with ``v_k = scale[k]`` when ``per_row`` else
      ``wr_k scale[piece of k]`` (clamped at 0), ready for a rank-k update ``buf' buf``;
    - counting-process data (``by_lo`` has rows): ``by_lo[lo_k] += wr_k x_k``.
    """
    p = x.shape[1]
    n_cuts = cuts.shape[0]
    with_lo = by_lo.shape[0] > 0
    acc = np.zeros(p)
    q = piece
    next_cut = cuts[q + 1] if q + 1 < n_cuts else stop
    for k in range(start, stop):
        if k == next_cut:
            pieces[q, :] = acc
            acc[:] = 0.0
            q += 1
            next_cut = cuts[q + 1] if q + 1 < n_cuts else stop
        r = wr[k]
        v = scale[k] if per_row else r * scale[q]
        s = np.sqrt(v) if v > 0.0 else 0.0
        b = k - start
        for j in range(p):
            value = x[k, j]
            acc[j] += r * value
            buf[b, j] = s * value
        if with_lo:
            g = lo[k]
            for j in range(p):
                by_lo[g, j] += r * x[k, j]
    pieces[q, :] = acc


@_kernel
def tied_deaths(
    s0: FloatArray,
    d0: FloatArray,
    k_frac: FloatArray,
    mean_wt: FloatArray,
    group_first: IntArray,
) -> tuple[FloatArray, FloatArray, float]:
    """Efron denominators and their per-group sums, in one loop over the deaths.

    Death k of group g (deaths contiguous by group, ``f = k_frac``, ``m = mean_wt``):
    ``den = S0_g - f D0_g``. Returns ``den``, the (5, G) sums over each group's deaths of
    ``m/den, m f/den, m/den^2, m f/den^2, m f^2/den^2`` (c, e, aa, ab, bb of
    ``_cox_riskset``) and ``sum m log(den)``.
    """
    n_groups = s0.shape[0]
    n_dead = k_frac.shape[0]
    den = np.empty(n_dead)
    sums = np.zeros((5, n_groups))
    log_term = 0.0
    for g in range(n_groups):
        end = group_first[g + 1] if g + 1 < n_groups else n_dead
        for k in range(group_first[g], end):
            f = k_frac[k]
            m = mean_wt[k]
            d = s0[g] - f * d0[g]
            den[k] = d
            a = m / d
            a2 = a / d
            sums[0, g] += a
            sums[1, g] += a * f
            sums[2, g] += a2
            sums[3, g] += a2 * f
            sums[4, g] += a2 * f * f
            log_term += m * np.log(d)
    return den, sums, log_term


@_kernel
def linear_predictor(
    x: FloatArray, beta: FloatArray, offset: FloatArray, out: FloatArray, start: int, stop: int
) -> float:
    """``out[k] = x[k]'beta + offset[k]`` for k in [start, stop); returns their maximum."""
    p = x.shape[1]
    top = -np.inf
    for k in range(start, stop):
        value = offset[k]
        for j in range(p):
            value += x[k, j] * beta[j]
        out[k] = value
        top = max(top, value)
    return top
