"""Compiled loops of Harrell's concordance (numba; imported on first use, not at start-up).

Definition and algorithm are in ``_concordance``, which sorts and gathers the rows into
sweep order (numpy) before calling ``harrell_counts``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._jit import kernel

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


@kernel
def dense_ranks(values: FloatArray, order: IntArray) -> tuple[IntArray, int]:
    """0-based rank of each value among the distinct values (equal values share a rank),
    given ``order`` that sorts ``values``; returns the ranks and the number of distinct."""
    n = values.shape[0]
    rank = np.empty(n, dtype=np.intp)
    r = -1
    previous = 0.0
    for k in range(n):
        i = order[k]
        if r < 0 or values[i] != previous:
            r += 1
            previous = values[i]
        rank[i] = r
    return rank, r + 1


@kernel
def group_by_stratum(
    order: IntArray, stratum: IntArray, n_strata: int
) -> tuple[IntArray, IntArray]:
    """Stable counting sort of ``order`` by ``stratum[order]``: rows of stratum s keep their
    relative order and occupy ``out[start[s]:start[s + 1]]``."""
    start = np.zeros(n_strata + 1, dtype=np.intp)
    for i in order:
        start[stratum[i] + 1] += 1
    for s in range(n_strata):
        start[s + 1] += start[s]
    fill = start[:-1].copy()
    out = np.empty_like(order)
    for i in order:
        s = stratum[i]
        out[fill[s]] = i
        fill[s] += 1
    return out, start


# The weight at risk per lp rank lives in a plain array (``at_rank``, the leaves) plus a
# Fenwick tree over blocks of 2**BLOCK_BITS consecutive ranks. A rank-level Fenwick tree over 10^6
# ranks (8 MB) misses the cache on several of its ~20 levels per update; here an update
# touches one leaf and a block tree small enough to stay in L2, and a query adds the block
# tree's prefix to a short contiguous run of leaves (prefetched, vectorised): 1.6x faster
# at 10^6 distinct ranks.
BLOCK_BITS = 6  # 64 ranks (one 512-byte run of leaves) per block


@kernel
def _fenwick_add(tree: FloatArray, index: int, w: float) -> None:
    k = index + 1  # the tree is 1-based: node k covers indices [k - lowbit(k), k)
    n = tree.shape[0]
    while k < n:
        tree[k] += w
        k += k & -k


@kernel
def _fenwick_below(tree: FloatArray, index: int) -> float:
    """Total at indices < ``index``."""
    k = index
    total = 0.0
    while k > 0:
        total += tree[k]
        k -= k & -k
    return total


@kernel
def _fenwick_clear(tree: FloatArray, index: int) -> None:
    # Zeroes every node that an add at ``index`` touched: exact, unlike subtracting the
    # weights again, so no rounding residue leaks from one stratum into the next.
    k = index + 1
    n = tree.shape[0]
    while k < n:
        tree[k] = 0.0
        k += k & -k


@kernel
def _add(at_rank: FloatArray, blocks: FloatArray, rank: int, w: float) -> None:
    at_rank[rank] += w
    _fenwick_add(blocks, rank >> BLOCK_BITS, w)


@kernel
def _below(at_rank: FloatArray, blocks: FloatArray, rank: int) -> float:
    """Weight at risk at ranks < ``rank``."""
    first = (rank >> BLOCK_BITS) << BLOCK_BITS
    total = _fenwick_below(blocks, rank >> BLOCK_BITS)
    for q in range(first, rank):
        total += at_rank[q]
    return total


@kernel
def harrell_counts(
    stop: FloatArray,
    event: NDArray[np.bool_],
    weight: FloatArray,
    rank: IntArray,
    n_ranks: int,
    strata_start: IntArray,
    entry: FloatArray,
    entry_rank: IntArray,
    entry_weight: FloatArray,
) -> tuple[float, float, float]:
    """Weighted (concordant, discordant, tied in x) pair totals.

    Rows come grouped by stratum (stratum s is ``[strata_start[s], strata_start[s + 1])``)
    and by increasing stop time within a stratum. ``entry`` holds the entry times in the
    same strata but increasing within each, ``entry_rank`` and ``entry_weight`` the rank
    and weight of their rows; all three are empty when there are no entry times.
    """
    at_rank = np.zeros(n_ranks)  # weight at risk per lp rank
    blocks = np.zeros((n_ranks >> BLOCK_BITS) + 2)  # Fenwick tree of per-block totals
    deaths = np.empty(stop.shape[0], dtype=np.intp)  # the deaths of the current time
    has_entry = entry.shape[0] > 0
    concordant = discordant = tied = 0.0
    n_strata = strata_start.shape[0] - 1
    for s in range(n_strata):
        lo = strata_start[s]
        hi = strata_start[s + 1]
        at_risk = 0.0
        e = hi - 1  # next row to leave (by decreasing entry)
        k = hi - 1
        while k >= lo:  # one distinct stop time t per pass, by decreasing time
            t = stop[k]
            # At risk at t means entry < t <= stop: rows entering at or after t leave now.
            # They were inserted earlier in the sweep because stop > entry >= t.
            while has_entry and e >= lo and entry[e] >= t:
                _add(at_rank, blocks, entry_rank[e], -entry_weight[e])
                at_risk -= entry_weight[e]
                e -= 1
            # Rows censored at t are at risk for the deaths at t; the deaths at t are not
            # compared with each other, so they are set aside and inserted after all of
            # them are counted.
            n_deaths = 0
            while k >= lo and stop[k] == t:
                if event[k]:
                    deaths[n_deaths] = k
                    n_deaths += 1
                else:
                    _add(at_rank, blocks, rank[k], weight[k])
                    at_risk += weight[k]
                k -= 1
            for j in range(n_deaths):
                i = deaths[j]
                r = rank[i]
                below = _below(at_rank, blocks, r)
                equal = at_rank[r]
                w = weight[i]
                concordant += w * below
                tied += w * equal
                discordant += w * (at_risk - below - equal)
            for j in range(n_deaths):
                i = deaths[j]
                _add(at_rank, blocks, rank[i], weight[i])
                at_risk += weight[i]
        if s + 1 < n_strata:  # the stratum ends: empty the tree for the next one
            for j in range(lo, hi):
                at_rank[rank[j]] = 0.0
                _fenwick_clear(blocks, rank[j] >> BLOCK_BITS)
    return concordant, discordant, tied
