"""Harrell's concordance for right-censored and (start, stop] data, O(n log n).

Definition (R ``survival::concordance`` with ``reverse=TRUE``, as reported by
``coxph``): for every death i and every j in i's risk set (same stratum, at risk at t_i,
i.e. ``entry_j < t_i <= stop_j``, and not a death at t_i) the pair counts with weight
``w_i w_j`` as concordant if ``lp_i > lp_j``, discordant if ``lp_i < lp_j`` and tied-in-x
if equal. Deaths tied in time are not compared. Rows censored at t_i are in the risk set.
``C = (concordant + tied_x / 2) / (concordant + discordant + tied_x)``.

Algorithm (compiled, ``_concordance_kernels``): rows are sorted by (stratum, stop) and
each stratum is swept in decreasing time over a structure that holds the weight currently
at risk per rank of the linear predictor: the weights per rank plus a Fenwick (binary
indexed) tree over blocks of 64 consecutive ranks. At each distinct stop time t, rows
entering at or after t are removed, rows censored at t inserted, then every death at t
reads the weight below its rank (concordant: block-tree prefix plus the rest of its
block), at its rank (tied in x) and the remainder of the risk set (discordant); only then
are the deaths at t inserted. The structure is cleared between strata. Sorting and the
sweep make O(n log n) in all.
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


def concordance(
    stop: FloatArray,
    event: NDArray[np.bool_],
    lp: FloatArray,
    weight: FloatArray,
    stratum: NDArray[np.intp],
    entry: FloatArray | None,
) -> Concordance:
    """Weighted Harrell concordance counts (see module docstring).

    ``stratum`` holds codes 0..k-1 (indices into the sorted unique stratum labels);
    ``entry`` (None: no left truncation) must be below ``stop`` row by row.
    """
    # numba is imported on the first concordance, not with the package: start-up time of
    # the CLI stays free of the compiler.
    from . import _concordance_kernels as kernels

    # One dtype and layout per argument, so that one compiled specialisation serves all.
    stop = np.ascontiguousarray(stop, dtype=np.float64)
    event = np.ascontiguousarray(event, dtype=np.bool_)
    lp = np.ascontiguousarray(lp, dtype=np.float64)
    weight = np.ascontiguousarray(weight, dtype=np.float64)
    stratum = np.ascontiguousarray(stratum, dtype=np.intp)
    n = stop.shape[0]
    # Sweep order: by stratum, then stop time (numpy's sorts are SIMD-vectorised, several
    # times faster than numba's).
    rows = np.argsort(stop).astype(np.intp, copy=False)
    n_strata = int(stratum.max(initial=0)) + 1
    if n_strata > 1:
        rows, strata_start = kernels.group_by_stratum(rows, stratum, n_strata)
    else:
        strata_start = np.array([0, n], dtype=np.intp)
    # Everything the sweep reads is gathered into sweep order first: a gather inside the
    # sweep would make each branch on ``event`` wait for a cache miss (3x slower).
    lp = lp[rows]
    weight = weight[rows]
    rank, n_ranks = kernels.dense_ranks(lp, np.argsort(lp))
    if entry is None:
        entry_sorted = np.empty(0)
        entry_rank = np.empty(0, dtype=np.intp)
        entry_weight = np.empty(0)
    else:
        entry = np.ascontiguousarray(entry, dtype=np.float64)
        entries = np.argsort(entry).astype(np.intp, copy=False)
        if n_strata > 1:
            entries = kernels.group_by_stratum(entries, stratum, n_strata)[0]
        position = np.empty(n, dtype=np.intp)  # sweep position of each row
        position[rows] = np.arange(n)
        entry_sorted = entry[entries]
        entry_rank = rank[position[entries]]
        entry_weight = weight[position[entries]]
    conc, disc, tied = kernels.harrell_counts(
        stop[rows],
        event[rows],
        weight,
        rank,
        n_ranks,
        strata_start,
        entry_sorted,
        entry_rank,
        entry_weight,
    )
    return Concordance(float(conc), float(disc), float(tied))
