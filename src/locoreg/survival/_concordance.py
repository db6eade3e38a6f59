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
    """For each position b: sum of ``weights[a]`` over a < b with ``values[a] < values[b]``.

    Wavelet-tree sweep from the most significant bit: items stay grouped into nodes of
    equal higher bits (a stable radix order), so at each level an item with bit 1 gains
    the weight of the earlier items of its node with bit 0. Values, weights, gains and
    original positions are carried through the stable partitions (no gathers through a
    permutation).
    """
    m = values.shape[0]
    out = np.zeros(m)
    if m == 0:
        return out
    nbits = max(1, int(values.max()).bit_length())
    pos = np.arange(m)  # original position of each item in the current order
    v = values.copy()
    w = weights.astype(np.float64, copy=True)
    acc = np.zeros(m)  # gains so far, carried in the current order
    idx = np.arange(m)
    start_flag = np.empty(m, dtype=bool)
    for level in range(nbits - 1, -1, -1):
        bit = (v >> level) & 1
        node = v >> (level + 1)
        start_flag[0] = True
        np.not_equal(node[1:], node[:-1], out=start_flag[1:])
        start = np.maximum.accumulate(np.where(start_flag, idx, 0))
        is_one = bit.astype(bool)
        w0 = np.where(is_one, 0.0, w)
        excl = np.cumsum(w0)
        excl -= w0
        excl -= excl[start]  # weight of earlier zeros in the node
        np.add(acc, excl, out=acc, where=is_one)
        if level == 0:
            break
        # Stable partition of each node: zeros first, then ones, order kept.
        ones_cum = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(bit, out=ones_cum[1:])  # ones in [0, k)
        ones_in_node_before = ones_cum[:-1] - ones_cum[start]
        zeros_in_node_before = (idx - start) - ones_in_node_before
        node_start = np.flatnonzero(start_flag)
        node_end = np.append(node_start[1:], m)
        zeros_per_node = (node_end - node_start) - (ones_cum[node_end] - ones_cum[node_start])
        zeros_in_node = zeros_per_node[np.cumsum(start_flag) - 1]
        newpos = np.where(
            is_one, start + zeros_in_node + ones_in_node_before, start + zeros_in_node_before
        )
        nv = np.empty_like(v)
        nv[newpos] = v
        nw = np.empty_like(w)
        nw[newpos] = w
        npos = np.empty_like(pos)
        npos[newpos] = pos
        nacc = np.empty_like(acc)
        nacc[newpos] = acc
        v, w, pos, acc = nv, nw, npos, nacc
    out[pos] = acc
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

    # The dominance count "earlier in the sweep and smaller lp" is run with the roles
    # swapped: items in lp order (ties: later sweep position first) and, as values, the
    # index of their (stratum, time, kind) block in the sweep. Both give the same counts
    # (within a block only higher-lp deaths precede a death), and there are far fewer
    # blocks than lp ranks when times are tied: fewer bits, fewer wavelet levels.
    kind_s = kind[seq]
    new_block = (times[1:] != times[:-1]) | (strat[1:] != strat[:-1]) | (kind_s[1:] != kind_s[:-1])
    block = np.concatenate([[0], np.cumsum(new_block)]).astype(np.int64)
    by_lp = np.argsort(vals * m + (m - 1 - idx))
    less = np.empty(m)
    less[by_lp] = _earlier_smaller(block[by_lp], wts[by_lp])
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
