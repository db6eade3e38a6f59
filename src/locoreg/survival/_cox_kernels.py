"""Compiled row loops of the Cox engine (numba; imported on the first fit, not at start-up).

Each kernel walks a contiguous range of sorted rows once, keeping a row's covariates in
registers while every quantity that needs them is formed: numpy would make one pass (and
one n x p temporary) per quantity. They release the GIL, so two threads can walk two
halves of the rows. Notation as in ``_cox_riskset``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._jit import kernel

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


@kernel
def sort_centred(
    x: FloatArray,
    rank: IntArray,
    center: FloatArray,
    dead_weight: FloatArray,
    out: FloatArray,
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


@kernel
def block_pass(
    x: FloatArray,
    wr: FloatArray,
    scale: FloatArray,
    per_row: bool,
    seg_start: IntArray,
    segment: int,
    start: int,
    stop: int,
    seg_sums: FloatArray,
    buf: FloatArray,
    lo: IntArray,
    by_lo: FloatArray,
) -> None:
    """One cache-sized block of sorted rows [start, stop), beginning in ``segment``.

    - ``seg_sums[s] += sum of wr_k x_k`` over the block's rows of segment s (a segment may
      span several blocks);
    - ``buf[k - start] = sqrt(v_k) x_k`` with ``v_k = scale[k]`` when ``per_row`` else
      ``wr_k scale[segment of k]`` (clamped at 0), ready for a rank-k update ``buf' buf``;
    - counting-process data (``by_lo`` has rows): ``by_lo[lo_k] += wr_k x_k`` (``lo`` is
      then ``lo + stratum``, see ``risk_set_sums``).
    """
    p = x.shape[1]
    n_seg = seg_start.shape[0]
    with_lo = by_lo.shape[0] > 0
    acc = np.zeros(p)
    s = segment
    next_start = seg_start[s + 1] if s + 1 < n_seg else stop
    for k in range(start, stop):
        if k == next_start:
            for j in range(p):
                seg_sums[s, j] += acc[j]
            acc[:] = 0.0
            s += 1
            next_start = seg_start[s + 1] if s + 1 < n_seg else stop
        r = wr[k]
        v = scale[k] if per_row else r * scale[s]
        root = np.sqrt(v) if v > 0.0 else 0.0
        b = k - start
        for j in range(p):
            value = x[k, j]
            acc[j] += r * value
            buf[b, j] = root * value
        if with_lo:
            g = lo[k]
            for j in range(p):
                by_lo[g, j] += r * x[k, j]
    for j in range(p):
        seg_sums[s, j] += acc[j]


@kernel
def tied_deaths(
    s0: FloatArray,
    d0: FloatArray,
    k_frac: FloatArray,
    mean_wt: FloatArray,
    group_first: IntArray,
    den: FloatArray,
    sums: FloatArray,
) -> float:
    """Efron denominators and their per-group sums, in one loop over the deaths.

    Death k of group g (deaths contiguous by group, ``f = k_frac``, ``m = mean_wt``):
    ``den = S0_g - f D0_g``. Fills ``den`` (per death) and ``sums`` (5, G, zeroed by the
    caller): the sums over each group's deaths of ``m/den, m f/den, m/den^2, m f/den^2,
    m f^2/den^2`` (c, e, aa, ab, bb of ``_cox_riskset``); returns ``sum m log(den)``.
    """
    n_groups = s0.shape[0]
    n_dead = k_frac.shape[0]
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
    return log_term


@kernel
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


@kernel
def risk_set_sums(
    seg: FloatArray,
    death_seg: IntArray,
    drop_seg: IntArray,
    group_stratum: IntArray,
    by_lo: FloatArray,
    s_out: FloatArray,
    d_out: FloatArray,
) -> None:
    """Risk-set sums S_g and death sums D_g from per-segment sums ``seg`` (n_seg, p).

    Walking the segments of each stratum backwards keeps the suffix sum
    ``T(s) = sum of seg[s']`` over ``s <= s' < drop_seg[g]`` (the end of g's stratum):

        D_g = seg[death_seg[g]],   S_g = T(death_seg[g])

    for right-censored data. For counting-process data (``by_lo`` has G + n_strata rows:
    sums over rows with ``lo + stratum == k``) the rows of g's stratum that enter after t_g
    are removed: ``S_g = T(death_seg[g]) - sum_{g + s_g < k <= end of the stratum} by_lo[k]``.
    The sums restart at every stratum, so one stratum's rows never enter another's sums
    (no cancellation between strata). One pass, no n x p temporaries.
    ``d_out`` with no rows: D not formed.
    """
    p = seg.shape[1]
    n_groups = death_seg.shape[0]
    counting = by_lo.shape[0] > 0
    deaths = d_out.shape[0] > 0
    tail = np.zeros(p)
    later = np.zeros(p)  # counting process: rows of the stratum entering after t_g
    s = seg.shape[0]
    last_drop = -1
    for g in range(n_groups - 1, -1, -1):
        target = drop_seg[g]
        if target != last_drop:  # g is the last group of its stratum
            s = target  # segments of later strata: not at risk for any group here
            tail[:] = 0.0
            later[:] = 0.0
            last_drop = target
        if counting:
            k = g + group_stratum[g] + 1
            for j in range(p):
                later[j] += by_lo[k, j]
        target = death_seg[g]
        while s > target:
            s -= 1
            for j in range(p):
                tail[j] += seg[s, j]
        for j in range(p):
            s_out[g, j] = tail[j] - later[j]
        if deaths:
            for j in range(p):
                d_out[g, j] = seg[target, j]


@kernel
def score_residual_rows(
    x: FloatArray,
    rho: FloatArray,
    scale: FloatArray,
    hi: IntArray,
    lo: IntArray,
    event: NDArray[np.bool_],
    c_cum: FloatArray,
    m_cum: FloatArray,
    e: FloatArray,
    abar: FloatArray,
    own: FloatArray,
    start: int,
    stop: int,
    out: FloatArray,
) -> None:
    """Score residuals of sorted rows [start, stop), times ``scale`` (weights, or ones).

    Row k: ``-rho_k (x_k C_k - M_k)`` with C, M the sums of ``c_g`` and ``m1_g`` over the
    groups k is at risk for (``c_cum[hi_k] - c_cum[lo_k]``, likewise ``m_cum``); a death of
    group g = hi_k - 1 adds ``x_k - abar_g + rho_k (x_k e_g - own_g)`` (see
    ``_cox_riskset.score_residuals``).
    """
    p = x.shape[1]
    for k in range(start, stop):
        r = rho[k]
        h = hi[k]
        low = lo[k]
        total = c_cum[h] - c_cum[low]
        w = scale[k]
        if event[k]:
            g = h - 1
            factor = 1.0 + r * e[g]
            for j in range(p):
                value = -r * (x[k, j] * total - (m_cum[h, j] - m_cum[low, j]))
                value += x[k, j] * factor - abar[g, j] - r * own[g, j]
                out[k, j] = w * value
        else:
            for j in range(p):
                out[k, j] = -w * r * (x[k, j] * total - (m_cum[h, j] - m_cum[low, j]))


@kernel
def sum_rows_by_code(rows: FloatArray, codes: IntArray, out: FloatArray) -> None:
    """``out[c] += rows[i]`` for every i with ``codes[i] == c`` (one pass)."""
    p = rows.shape[1]
    for i in range(rows.shape[0]):
        c = codes[i]
        for j in range(p):
            out[c, j] += rows[i, j]
