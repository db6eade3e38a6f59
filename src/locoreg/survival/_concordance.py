"""Harrell's concordance for right-censored and (start, stop] data, O(n log n) in numpy.

Definition (R ``survival::concordance`` with ``reverse=TRUE``, as reported by
``coxph``): for every death i and every j in i's risk set (same stratum, at risk at t_i,
not a death at t_i) the pair counts with weight ``w_i w_j`` as concordant if
``lp_i > lp_j``, discordant if ``lp_i < lp_j`` and tied-in-x if equal. Deaths tied in
time are not compared. ``C = (concordant + tied_x / 2) / (concordant + discordant + tied_x)``.

Algorithm: items are processed in decreasing time; each row is inserted (+w) at its stop
time and removed (-w) at its entry time (or at the end of its stratum). For each death we
need the weight of earlier items with a smaller linear-predictor rank — an offline
dominance count, computed level by level over the bits of the rank (a wavelet tree built
with stable partitions: O(n) numpy work per level, log2(n) levels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Concordance:
    concordant: float
    discordant: float
    tied_x: float

    @property
    def value(self) -> float:
        total = self.concordant + self.discordant + self.tied_x
        return (self.concordant + self.tied_x / 2.0) / total if total > 0 else float("nan")


def _earlier_smaller(values: NDArray[np.int64], weights: FloatArray) -> FloatArray:
    """For each position b: sum of ``weights[a]`` over a < b with ``values[a] < values[b]``."""
    m = values.shape[0]
    out = np.zeros(m)
    if m == 0:
        return out
    nbits = max(1, int(values.max()).bit_length())
    order = np.arange(m)
    idx = np.arange(m)
    for level in range(nbits - 1, -1, -1):
        v = values[order]
        bit = ((v >> level) & 1).astype(bool)
        node = v >> (level + 1)
        start_flag = np.empty(m, dtype=bool)
        start_flag[0] = True
        np.not_equal(node[1:], node[:-1], out=start_flag[1:])
        start = np.maximum.accumulate(np.where(start_flag, idx, 0))
        w0 = np.where(bit, 0.0, weights[order])
        excl = np.cumsum(w0) - w0
        local = excl - excl[start]
        out[order[bit]] += local[bit]
        # Stable partition of each node: zeros first, then ones, order kept.
        zero = (~bit).astype(np.intp)
        zexcl = np.cumsum(zero) - zero
        zrank = zexcl - zexcl[start]
        end_flag = np.append(start_flag[1:], True)
        last = np.minimum.accumulate(np.where(end_flag, idx, m)[::-1])[::-1]
        n_zero = zexcl[last] + zero[last] - zexcl[start]
        newpos = np.where(bit, start + n_zero + (idx - start - zrank), start + zrank)
        reordered = np.empty_like(order)
        reordered[newpos] = order
        order = reordered
    return out


def concordance(
    stop: FloatArray,
    event: NDArray[np.bool_],
    lp: FloatArray,
    weight: FloatArray,
    stratum: NDArray[np.intp],
    entry: FloatArray | None,
) -> Concordance:
    """Weighted Harrell concordance counts (see module docstring)."""
    n = stop.shape[0]
    rank = np.unique(lp, return_inverse=True)[1].astype(np.int64)
    need_removal = entry is not None or bool(stratum.max(initial=0) > 0)
    # Item type at equal time: censored insert 0, removal 1, death insert 2.
    kind = np.where(event, 2, 0)
    times = -stop
    if need_removal:
        ent = np.full(n, -np.inf) if entry is None else entry
        times = np.concatenate([times, -ent])
        kind = np.concatenate([kind, np.ones(n, dtype=kind.dtype)])
        strat = np.concatenate([stratum, stratum])
        vals = np.concatenate([rank, rank])
        wts = np.concatenate([weight, -weight])
        is_death = np.concatenate([event, np.zeros(n, dtype=bool)])
    else:
        strat, vals, wts, is_death = stratum, rank, weight, event
    seq = np.lexsort((-vals, kind, times, strat))
    vals, wts, is_death = vals[seq], wts[seq], is_death[seq]
    times, strat = times[seq], strat[seq]
    m = vals.shape[0]
    idx = np.arange(m)

    less = _earlier_smaller(vals, wts)
    # Weight of earlier items with an equal rank: cumulative sums within value runs.
    by_val = np.argsort(vals, kind="stable")
    vv = vals[by_val]
    ww = wts[by_val]
    run_start = np.empty(m, dtype=bool)
    run_start[:1] = True
    np.not_equal(vv[1:], vv[:-1], out=run_start[1:])
    excl = np.cumsum(ww) - ww
    first = np.maximum.accumulate(np.where(run_start, idx, 0))
    equal = np.empty(m)
    equal[by_val] = excl - excl[first]

    # Deaths in one (stratum, time) block: the block start gives the risk-set total and
    # earlier block members with an equal rank are tied in time, not in x.
    block_start = np.ones(m, dtype=bool)
    same = (times[1:] == times[:-1]) & (strat[1:] == strat[:-1]) & is_death[1:] & is_death[:-1]
    block_start[1:] = ~same
    bfirst = np.maximum.accumulate(np.where(block_start, idx, 0))
    seq_excl = np.cumsum(wts) - wts
    total = seq_excl[bfirst]
    run_in_block = np.ones(m, dtype=bool)
    run_in_block[1:] = block_start[1:] | (vals[1:] != vals[:-1])
    rfirst = np.maximum.accumulate(np.where(run_in_block, idx, 0))
    equal -= seq_excl - seq_excl[rfirst]

    d = is_death
    wd = wts[d]
    conc = float(wd @ less[d])
    tied = float(wd @ equal[d])
    disc = float(wd @ (total[d] - less[d] - equal[d]))
    return Concordance(conc, disc, tied)
