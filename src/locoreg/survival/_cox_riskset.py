"""Risk-set bookkeeping for the Cox model: sort once, then one cache-blocked pass per step.

Notation (Therneau & Grambsch 2000, ch. 3). Rows are sorted by (stratum, stop time) and,
within a tied (stratum, time), deaths first. An *event group* g is the set of deaths
sharing one (stratum, time) pair. Row i is at risk for g iff it is in the same stratum and
``entry_i < t_g <= stop_i``. With ``r_i = w_i exp(eta_i)``:

    S0_g = sum_{i in R_g} r_i,   S1_g = sum_{i in R_g} r_i x_i,
    D0_g = sum_{i dies in g} r_i, D1_g = sum_{i dies in g} r_i x_i.

Per row, ``hi_i`` is the number of groups with key <= (stratum_i, stop_i) and ``lo_i`` the
number with key <= (stratum_i, entry_i) (without entry: the groups of earlier strata), so
that i is at risk for g iff ``lo_i <= g < hi_i``. Hence

    S_g = sum_{hi_i > g} r_i x_i - sum_{lo_i > g} r_i x_i,

two tail sums. Sorted rows are cut into *segments* of one stratum on which (hi, lo, death)
is constant; the deaths of group g form one segment (giving D0, D1), and tail sums over the
segments of g's stratum give S0, S1 - restarted at every stratum, so that no stratum's sums
are a difference of other strata's (large) totals. eta is shifted by its maximum within each
stratum for the same reason (each stratum's likelihood ignores a shift of its own eta).

Efron (1977): the k-th of the d_g tied deaths (k = 0..d_g-1, f_k = k/d_g) sees the
denominator ``den_k = S0_g - f_k D0_g``; Breslow uses f_k = 0. Deaths carry the mean
weight ``m_g = (sum of death weights)/d_g`` (R survival, coxfit6.c).

Score and information never materialise an n x p x p array:

    U = sum_deaths w_i x_i - sum_g (c_g S1_g - e_g D1_g)
    I = X' diag(v) X - (S1' diag(aa) S1 - S1' diag(ab) D1 - D1' diag(ab) S1 + D1' diag(bb) D1)

with ``c_g = m_g sum_k 1/den_k``, ``e_g = m_g sum_k f_k/den_k``, aa, ab, bb equal to
``m_g sum_k {1, f_k, f_k^2}/den_k^2`` and ``v_i = r_i (C[hi_i] - C[lo_i]) - [i dies in g]
r_i e_g`` (C the cumulative sum of c over groups). S0, D0 and v depend on eta only, so
one evaluation reads X twice: ``eta = X beta``, then one compiled pass (``_cox_kernels``)
over row blocks small enough to stay in cache that forms the segment sums of ``r x`` and
``sqrt(v) x`` (then a symmetric rank-k update of ``X' diag(v) X`` by BLAS) without n x p
temporaries. Large inputs share the blocks between two threads; BLAS itself runs
single-threaded during a fit (``single_threaded_blas``).
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
T = TypeVar("T")

# Rows per block: two (rows x p) float64 blocks should fit in a core's L2 cache.
_BLOCK_BYTES = 1 << 18
# From this many blocks on, two threads share the pass (below, thread overhead dominates).
_PARALLEL_BLOCKS = 64
_POOL: ThreadPoolExecutor | None = None


@cache
def _openblas_thread_controls() -> tuple[tuple[Callable[[], int], Callable[[int], None]], ...]:
    """(get, set) thread-count functions of every OpenBLAS loaded in this process.

    numpy and scipy each ship their own OpenBLAS; found through /proc/self/maps (Linux),
    like threadpoolctl. Empty elsewhere, which only forgoes the speed-up.
    """
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return ()
    paths = sorted(
        {
            line.split()[-1]
            for line in maps.splitlines()
            if "openblas" in line.lower() and line.split()[-1].startswith("/")
        }
    )
    controls = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_", "64_"), ("scipy_", ""), ("", "64_"), ("", "")):
            get = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
            put = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
            if get is not None and put is not None:
                controls.append((get, put))
                break
    return tuple(controls)


_BLAS_LOCK = threading.Lock()
_blas_users = 0
_blas_before: list[int] = []


def set_blas_threads(count: int) -> None:
    """Set every OpenBLAS loaded so far to ``count`` threads (one per process-pool worker:
    several workers' BLAS threads on the same cores only wait for each other)."""
    for _, put in _openblas_thread_controls():
        put(count)


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run BLAS single-threaded while any fit runs (the thread counts are restored when the
    last concurrent fit ends: a count of users under a lock, so that overlapping fits in
    several threads cannot leave BLAS single-threaded for good).

    The Cox passes make many small BLAS calls (p x p blocks); OpenBLAS's own threads cost
    more to wake than they save - up to 6x slower on a busy 2-core machine - while the
    row blocks are already shared between two Python threads.
    """
    global _blas_users, _blas_before
    controls = _openblas_thread_controls()
    with _BLAS_LOCK:
        if _blas_users == 0:
            _blas_before = [get() for get, _ in controls]
            for _, put in controls:
                put(1)
        _blas_users += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas_users -= 1
            if _blas_users == 0:
                for (_, put), count in zip(controls, _blas_before, strict=True):
                    put(count)


@dataclass(frozen=True)
class Block:
    """Sorted rows ``start:stop``; ``segment`` holds row ``start`` (it may begin earlier)."""

    start: int
    stop: int
    segment: int


@dataclass(frozen=True)
class RiskSets:
    """Sorted data and index arrays that do not depend on the coefficients."""

    order: IntArray  # sorted position -> original row
    x: FloatArray  # centred covariates, sorted (n, p), C-contiguous
    center: FloatArray  # subtracted from x (R's centring)
    stop: FloatArray
    entry: FloatArray | None
    event: NDArray[np.bool_]
    weight: FloatArray
    offset: FloatArray
    stratum: IntArray  # stratum code per sorted row
    death: IntArray  # sorted positions of deaths, grouped by event group
    group: IntArray  # event group of each death
    k_frac: FloatArray  # Efron fraction f_k per death (0 for Breslow)
    n_dead: FloatArray  # d_g
    mean_wt: FloatArray  # m_g
    group_time: FloatArray
    group_stratum: IntArray
    group_first: IntArray  # first death of each group in `death`
    hi: IntArray  # number of groups with key <= (stratum, stop) per row
    lo: IntArray  # number of groups with key <= (stratum, entry) per row
    seg_start: IntArray  # first sorted row of each segment
    seg_hi: IntArray  # hi of each segment's rows
    seg_lo: IntArray | None  # lo of each segment's rows (right-censored data only)
    death_weight: FloatArray  # w_i per death
    death_mean_wt: FloatArray  # m_g per death
    death_seg: IntArray  # segment holding the deaths of each group (= first with hi > g)
    drop_seg: IntArray  # first segment of the stratum after g's
    xw_dead: FloatArray  # sum over deaths of w_i x_i (p,)
    dead_offset: float  # sum over deaths of w_i offset_i
    dead_weight: FloatArray  # sum over deaths of w_i, per stratum
    stratum_start: IntArray  # first sorted row of each stratum (n_strata + 1 bounds)
    lo_key: IntArray | None  # counting process: lo + stratum (disjoint ranges per stratum)
    unit_weight: bool  # all weights 1 (r_i = exp(eta_i))
    tied: bool  # Efron with some tied deaths: only then does D1 enter (through f_k > 0)
    has_offset: bool
    blocks: tuple[Block, ...]
    split: int  # blocks[:split] and blocks[split:] meet at a segment start (two threads)

    @property
    def n_groups(self) -> int:
        return int(self.n_dead.shape[0])

    @property
    def n_strata(self) -> int:
        return int(self.stratum_start.shape[0]) - 1


def build_risksets(
    stop: FloatArray,
    event: NDArray[np.bool_],
    x: FloatArray,
    center: FloatArray,
    weight: FloatArray,
    offset: FloatArray,
    stratum: IntArray,
    entry: FloatArray | None,
    efron: bool,
    block_rows: int | None = None,
) -> RiskSets:
    """Sort by (stratum, stop, deaths first) and precompute every coefficient-free index."""
    n, p = x.shape
    stratified = bool(stratum.max(initial=0) > 0)
    key_entry: NDArray[np.generic] | None = None
    order: IntArray | None = None
    if not stratified:
        key_stop: NDArray[np.generic] = stop
        key_entry = entry  # compared with the event times as floats (searchsorted below)
        # Deaths first among equal times: censored rows sort at the next float up. One
        # sort of the stop times; the rare tie with a death at exactly that next float is
        # caught by the monotonicity check below and handled by the general path.
        with np.errstate(over="ignore"):
            nudged = np.where(event, stop, np.nextafter(stop, np.inf))
        # (start, stop] rows (clones, episodes) come in long sorted runs with many tied
        # times, where numpy's quicksort slows down ~4x and its merge sort (timsort) runs
        # fastest; right-censored data are one row per subject in no order (quicksort).
        order = np.argsort(nudged, kind="quicksort" if entry is None else "stable")
        ks = stop[order]
        if np.any(ks[1:] < ks[:-1]):
            order, key_entry = None, None
    if order is None:
        if not stratified and entry is None:
            inv = np.unique(stop, return_inverse=True)[1].reshape(-1)
            key_stop = inv.astype(np.int64)
        else:
            # Integer keys (stratum, time code) so that searchsorted respects strata.
            values = stop if entry is None else np.concatenate([stop, entry])
            inv = np.unique(values, return_inverse=True)[1].reshape(-1)
            span = int(inv.max()) + 2
            base = stratum.astype(np.int64) * span
            key_stop = base + inv[:n]
            key_entry = base - 1 if entry is None else base + inv[n:]
        # Doubling the key and adding 1 for censored rows puts deaths first among ties.
        order = np.argsort(2 * np.asarray(key_stop) + (~event).astype(np.int64))
        ks = np.asarray(key_stop)[order]

    ev = event[order]
    # Gathers of constant columns (unit weights, no offset, one stratum) are skipped.
    unit_weight = bool(np.all(weight == 1.0))
    has_offset = bool(np.any(offset))
    w = np.ones(n) if unit_weight else weight[order]
    off = offset[order] if has_offset else np.zeros(n)
    st_sorted = np.zeros(n, dtype=np.intp) if not stratified else stratum[order]
    stop_sorted = stop[order]
    death = np.flatnonzero(ev)
    dkey = ks[death]
    new_group = np.empty(death.shape[0], dtype=bool)
    new_group[:1] = True
    np.not_equal(dkey[1:], dkey[:-1], out=new_group[1:])
    group_first = np.flatnonzero(new_group)
    group = np.cumsum(new_group) - 1
    n_groups = group_first.shape[0]
    n_dead = np.diff(np.append(group_first, death.shape[0])).astype(np.float64)
    dead_wt = np.bincount(group, weights=w[death], minlength=n_groups)
    mean_wt = dead_wt / n_dead
    if efron:
        k_frac = (np.arange(death.shape[0]) - group_first[group]) / n_dead[group]
    else:
        k_frac = np.zeros(death.shape[0])
    gkey = dkey[group_first]

    hi = np.searchsorted(gkey, ks, side="right")
    if key_entry is None:
        lo = np.zeros(n, dtype=np.intp)
    else:
        lo = np.searchsorted(gkey, np.asarray(key_entry)[order], side="right")

    # Segments: maximal runs of sorted rows of one stratum with equal (hi, death) (without
    # entry times lo is then constant too).
    change = np.empty(n, dtype=bool)
    change[:1] = True
    np.not_equal(hi[1:], hi[:-1], out=change[1:])
    change[1:] |= ev[1:] != ev[:-1]
    if stratified:
        change[1:] |= st_sorted[1:] != st_sorted[:-1]
    seg_start = np.flatnonzero(change)
    death_seg = np.searchsorted(seg_start, death[group_first])
    group_stratum = st_sorted[death[group_first]]
    # First segment of the next stratum: the risk-set sums restart there.
    drop_seg = np.searchsorted(st_sorted[seg_start], group_stratum, side="right")
    n_strata = int(st_sorted[-1]) + 1
    stratum_start = np.searchsorted(st_sorted, np.arange(n_strata + 1))

    # Cache-sized row blocks, in two runs that meet at the segment start nearest n/2 so
    # that two threads never add to the same segment.
    rows = block_rows or max(4, _BLOCK_BYTES // (8 * max(p, 1)))
    candidates = np.append(seg_start, n)
    middle = int(candidates[np.argmin(np.abs(candidates - n // 2))])
    block_start = np.concatenate([np.arange(0, middle, rows), np.arange(middle, n, rows)])
    block_stop = np.minimum(block_start + rows, np.where(block_start < middle, middle, n))
    block_seg = np.searchsorted(seg_start, block_start, side="right") - 1
    bounds = zip(block_start.tolist(), block_stop.tolist(), block_seg.tolist(), strict=True)
    blocks = tuple(Block(*b) for b in bounds)
    split = int(np.searchsorted(block_start, middle))

    # Sort and centre the covariates, summing the deaths' (one pass over X).
    rank = np.empty(n, dtype=np.intp)
    rank[order] = np.arange(n)
    xs = np.empty((n, p))
    xw_dead = _kernels().sort_centred(x, rank, center, np.where(event, weight, 0.0), xs)
    return RiskSets(
        order=order,
        x=xs,
        center=center,
        stop=stop_sorted,
        entry=None if entry is None else entry[order],
        event=ev,
        weight=w,
        offset=off,
        stratum=st_sorted,
        death=death,
        group=group,
        k_frac=k_frac,
        n_dead=n_dead,
        mean_wt=mean_wt,
        group_time=stop_sorted[death[group_first]],
        group_stratum=group_stratum,
        group_first=group_first,
        hi=hi,
        lo=lo,
        seg_start=seg_start,
        seg_hi=hi[seg_start],
        seg_lo=lo[seg_start] if entry is None else None,
        death_weight=w[death],
        death_mean_wt=mean_wt[group],
        death_seg=death_seg,
        drop_seg=drop_seg,
        xw_dead=xw_dead,
        dead_offset=float(w[death] @ off[death]),
        dead_weight=np.bincount(st_sorted[death], weights=w[death], minlength=n_strata).astype(
            np.float64
        ),
        stratum_start=stratum_start,
        lo_key=None if entry is None else lo + st_sorted,
        unit_weight=unit_weight,
        tied=efron and bool(np.any(n_dead > 1)),
        has_offset=has_offset,
        blocks=blocks,
        split=split,
    )


@dataclass(frozen=True)
class GroupSums:
    """Coefficient-dependent quantities of one evaluation of the partial likelihood."""

    eta: FloatArray  # sorted linear predictor incl. offset, shifted by `shift` per stratum
    shift: FloatArray  # per stratum
    risk: FloatArray  # exp(eta) (unweighted, shifted)
    s0: FloatArray
    s1: FloatArray  # (G, p)
    d0: FloatArray
    d1: FloatArray  # (G, p)
    den: FloatArray  # per death
    loglik: float
    weights: dict[str, FloatArray]  # c, e, aa, ab, bb per group (see module docstring)


def _risk_set_sums(
    rs: RiskSets, seg: FloatArray, by_lo: FloatArray | None, deaths: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Risk-set sums S (G, p) and death sums D (G, p) from per-segment sums ``seg``.

    ``by_lo`` holds, for counting-process data, the sums over rows with ``lo_key == k``
    (``lo + stratum``). With ``deaths=False`` D is a read-only zero array that takes no
    memory.
    """
    p = seg.shape[1]
    s_out = np.empty((rs.n_groups, p))
    d_out = np.empty((rs.n_groups if deaths else 0, p))
    lo_sums = by_lo if by_lo is not None else np.empty((0, p))
    _kernels().risk_set_sums(
        seg, rs.death_seg, rs.drop_seg, rs.group_stratum, lo_sums, s_out, d_out
    )
    return s_out, (d_out if deaths else np.broadcast_to(np.zeros(p), s_out.shape))


def _scalar_sums(rs: RiskSets, wr: FloatArray) -> tuple[FloatArray, FloatArray]:
    by_lo = None
    if rs.entry is not None:
        assert rs.lo_key is not None
        size = rs.n_groups + rs.n_strata
        by_lo = np.bincount(rs.lo_key, weights=wr, minlength=size)[:, None].astype(float)
    s0, d0 = _risk_set_sums(rs, np.add.reduceat(wr, rs.seg_start)[:, None], by_lo)
    return s0[:, 0], d0[:, 0]


def _run_blocks(
    rs: RiskSets,
    blocks: tuple[Block, ...],
    wr: FloatArray,
    scale: FloatArray,
    per_row: bool,
    seg: FloatArray,
) -> tuple[FloatArray | None, FloatArray]:
    """Add ``blocks``' rows to the segment sums ``seg``; return (by-lo sums, X' diag(v) X)."""
    kernels = _kernels()
    p = rs.x.shape[1]
    counting = rs.entry is not None
    by_lo = np.zeros((rs.n_groups + rs.n_strata, p) if counting else (0, p))
    info = np.zeros((p, p))
    product = np.empty((p, p))
    buf = np.empty((max(b.stop - b.start for b in blocks), p))
    lo_key = rs.lo_key if rs.lo_key is not None else rs.lo
    for b in blocks:
        kernels.block_pass(
            rs.x,
            wr,
            scale,
            per_row,
            rs.seg_start,
            b.segment,
            b.start,
            b.stop,
            seg,
            buf,
            lo_key,
            by_lo,
        )
        # np.dot forms wb' wb as a symmetric rank-k update (BLAS syrk) and, unlike
        # np.matmul and scipy.linalg.blas, releases the GIL: the two threads overlap.
        wb = buf[: b.stop - b.start]
        info += np.dot(wb.T, wb, out=product)
    return (by_lo if counting else None), info


def _kernels() -> ModuleType:
    """The compiled kernels; importing numba costs ~0.3 s, so only on the first fit."""
    from . import _cox_kernels

    return _cox_kernels


def _pool() -> ThreadPoolExecutor | None:
    """Two worker threads (numpy and BLAS release the GIL) when there are two cores."""
    global _POOL
    if _POOL is None and (os.cpu_count() or 1) >= 2:
        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="locoreg-cox")
    return _POOL


def _in_two(work: Callable[[int, int], T], stop: int, middle: int, parallel: bool) -> list[T]:
    """``[work(0, stop)]``, or - large inputs, two cores - ``work(0, middle)`` and
    ``work(middle, stop)`` run by the two worker threads (the kernels and ``np.dot``
    release the GIL). ``work`` must write only to disjoint parts of shared outputs."""
    pool = _pool() if parallel else None
    if pool is None or not 0 < middle < stop:
        return [work(0, stop)]
    return list(pool.map(work, (0, middle), (middle, stop)))


def _forget_pool() -> None:
    # A forked child inherits the pool object but not its threads: start afresh. It also
    # inherits the parent's running fits' hold on BLAS (their count, the lock, and BLAS
    # set to one thread) without the fits themselves: release it.
    global _POOL, _BLAS_LOCK, _blas_users
    _POOL = None
    _BLAS_LOCK = threading.Lock()
    if _blas_users > 0:
        for (_, put), count in zip(_openblas_thread_controls(), _blas_before, strict=True):
            put(count)
    _blas_users = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _block_pass(
    rs: RiskSets, wr: FloatArray, scale: FloatArray, per_row: bool
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """S1, D1 and ``X' diag(v) X`` in one pass over row blocks (see ``block_pass``).

    Large inputs are walked by two threads, ``blocks[:split]`` and ``blocks[split:]``;
    they add to disjoint segments and keep their own other accumulators.
    """
    seg = np.zeros((rs.seg_start.shape[0], rs.x.shape[1]))
    parts = _in_two(
        lambda a, b: _run_blocks(rs, rs.blocks[a:b], wr, scale, per_row, seg),
        len(rs.blocks),
        rs.split,
        len(rs.blocks) >= _PARALLEL_BLOCKS,
    )
    lo_parts = [part[0] for part in parts if part[0] is not None]
    by_lo = np.sum(lo_parts, axis=0) if lo_parts else None
    # D1 is only ever multiplied by Efron's f_k (via e, ab, bb), zero without tied deaths:
    # then it is not formed (continuous times: G x p floats saved).
    s1, d1 = _risk_set_sums(rs, seg, by_lo, deaths=rs.tied)
    info = np.sum([part[1] for part in parts], axis=0)
    return s1, d1, info


def linear_predictor_rows(rs: RiskSets, beta: FloatArray) -> FloatArray:
    """``x'beta + offset`` per sorted row (centred x), computed row by row: identical rows
    give identical values, which BLAS does not promise (Harrell's C counts ties in x)."""
    n = rs.x.shape[0]
    out = np.empty(n)
    _kernels().linear_predictor(rs.x, beta, rs.offset, out, 0, n)
    return out


def _linear_predictor(rs: RiskSets, beta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``eta = x'beta + offset`` shifted by its maximum within each stratum, the shifts
    (one per stratum) and ``exp(eta)``.

    Each stratum's partial likelihood is invariant to a shift of its own eta; shifting per
    stratum keeps every stratum's largest risk score at 1 (one global shift would let a
    stratum whose eta lies far below another's underflow to 0).
    """
    n = rs.x.shape[0]
    eta = np.empty(n)
    kernel = _kernels().linear_predictor
    middle = rs.blocks[rs.split].start if rs.split < len(rs.blocks) else n
    top = max(
        _in_two(
            lambda a, b: kernel(rs.x, beta, rs.offset, eta, a, b),
            n,
            middle,
            len(rs.blocks) >= _PARALLEL_BLOCKS,
        )
    )
    if rs.n_strata == 1:
        shift = np.array([top])
        eta -= top
    else:
        shift = np.maximum.reduceat(eta, rs.stratum_start[:-1])
        eta -= shift[rs.stratum]
    return eta, shift, np.exp(eta)


def _per_death(rs: RiskSets, values: FloatArray) -> FloatArray:
    """Sum over the deaths of each group (deaths are contiguous by group)."""
    return np.add.reduceat(values, rs.group_first)


_WEIGHT_NAMES = ("c", "e", "aa", "ab", "bb")


def _tied_deaths(
    rs: RiskSets, s0: FloatArray, d0: FloatArray
) -> tuple[FloatArray, dict[str, FloatArray], float]:
    """Efron denominators per death, the group weights c, e, aa, ab, bb and ``sum m log den``."""
    # Outputs allocated here, not in the kernel, so that tracemalloc (the benchmark's memory
    # measure) sees them.
    den = np.empty(rs.k_frac.shape[0])
    sums = np.zeros((len(_WEIGHT_NAMES), rs.n_groups))
    log_term = _kernels().tied_deaths(
        s0, d0, rs.k_frac, rs.death_mean_wt, rs.group_first, den, sums
    )
    return den, dict(zip(_WEIGHT_NAMES, sums, strict=True)), float(log_term)


def cumulative_at_rows(rs: RiskSets, per_group: FloatArray) -> FloatArray:
    """For each sorted row, the sum of ``per_group`` over the groups it is at risk for."""
    cum = np.concatenate([np.zeros((1, *per_group.shape[1:])), np.cumsum(per_group, axis=0)])
    return cum[rs.hi] - cum[rs.lo]


def _row_weights(
    rs: RiskSets, wr: FloatArray, gw: dict[str, FloatArray], h: FloatArray | None
) -> FloatArray:
    """``v_i`` of the module docstring for group weights ``h`` (None means 1)."""
    c = gw["c"] if h is None else gw["c"] * h
    e = gw["e"] if h is None else gw["e"] * h
    v = wr * cumulative_at_rows(rs, c)
    v[rs.death] -= wr[rs.death] * e[rs.group]
    return v


def _cross_terms(
    s1: FloatArray, d1: FloatArray, gw: dict[str, FloatArray], h: FloatArray | None
) -> FloatArray:
    """``sum_g [S1_g, D1_g] W_g [S1_g, D1_g]'`` with ``W_g = h_g [[aa, -ab], [-ab, bb]]``."""
    aa, ab, bb = gw["aa"], gw["ab"], gw["bb"]
    if h is not None:
        aa, ab, bb = aa * h, ab * h, bb * h
        cross = s1.T @ (d1 * ab[:, None])
        return s1.T @ (s1 * aa[:, None]) - cross - cross.T + d1.T @ (d1 * bb[:, None])
    # Without h, W_g is positive semi-definite (ab^2 <= aa bb by Cauchy-Schwarz), so the
    # sum is U'U + V'V with U = sqrt(aa) S1 - (ab / sqrt(aa)) D1 and V = sqrt(bb - ab^2/aa)
    # D1: symmetric rank-k updates (np.dot uses syrk) instead of four products.
    # Chunks of groups keep the temporaries small (continuous times: G is about n).
    root = np.sqrt(aa)
    shrink = ab / root
    rest = np.sqrt(np.maximum(bb - ab * shrink / root, 0.0))
    tied = bool(np.any(rest > 0))  # Breslow or no ties: ab = bb = 0
    p = s1.shape[1]
    step = max(1, _BLOCK_BYTES // (8 * p))

    def chunks(first: int, last: int) -> FloatArray:
        out = np.zeros((p, p))
        product = np.empty((p, p))
        for a in range(first, last, step):
            b = min(a + step, last)
            u = s1[a:b] * root[a:b, None] - d1[a:b] * shrink[a:b, None]
            out += np.dot(u.T, u, out=product)
            if tied:
                v = d1[a:b] * rest[a:b, None]
                out += np.dot(v.T, v, out=product)
        return out

    n_groups = s1.shape[0]
    parts = _in_two(chunks, n_groups, n_groups // 2, n_groups >= _PARALLEL_BLOCKS * step)
    return np.sum(parts, axis=0)


def evaluate(rs: RiskSets, beta: FloatArray) -> tuple[GroupSums, FloatArray, FloatArray]:
    """Partial likelihood, score and information at ``beta`` (two passes over X)."""
    eta, shift, risk = _linear_predictor(rs, beta)
    wr = risk if rs.unit_weight else rs.weight * risk
    s0, d0 = _scalar_sums(rs, wr)
    den, gw, log_term = _tied_deaths(rs, s0, d0)
    # v >= 0 (C[hi] - C[lo] >= c_g > e_g for a death), so X' diag(v) X is a rank-k update.
    if rs.seg_lo is not None:
        # Right-censored: v_i / r_i is constant on each segment.
        cum = np.concatenate([[0.0], np.cumsum(gw["c"])])
        q = cum[rs.seg_hi] - cum[rs.seg_lo]
        q[rs.death_seg] -= gw["e"]
        s1, d1, info = _block_pass(rs, wr, q, per_row=False)
    else:
        s1, d1, info = _block_pass(rs, wr, _row_weights(rs, wr, gw, None), per_row=True)
    # sum_deaths w_i eta_i = beta' sum w x + sum w offset - sum_s shift_s sum_s w (no gather).
    dead_eta = float(rs.xw_dead @ beta) + rs.dead_offset - float(shift @ rs.dead_weight)
    gs = GroupSums(eta, shift, risk, s0, s1, d0, d1, den, dead_eta - log_term, gw)
    score = rs.xw_dead - (gw["c"] @ s1 - gw["e"] @ d1)
    info -= _cross_terms(s1, d1, gw, None)
    return gs, score, (info + info.T) / 2.0


def score_and_information(
    rs: RiskSets, gs: GroupSums, h: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """Score vector and information matrix at ``gs``, optionally with group weights ``h``.

    With ``h`` the score is ``sum_g h_g U_g`` and the information ``sum_g h_g V_g`` (used
    by the proportional-hazards test, where v may be negative: a blocked ``X' (v X)``).
    """
    gw = gs.weights
    wr = rs.weight * gs.risk
    v = _row_weights(rs, wr, gw, h)
    dead_w = rs.weight[rs.death] if h is None else rs.weight[rs.death] * h[rs.group]
    score = dead_w @ rs.x[rs.death] - v @ rs.x
    p = rs.x.shape[1]
    info = np.zeros((p, p))
    for b in rs.blocks:
        xb = rs.x[b.start : b.stop]
        info += xb.T @ (xb * v[b.start : b.stop, None])
    info -= _cross_terms(gs.s1, gs.d1, gw, h)
    return score, (info + info.T) / 2.0


def mean_covariate(rs: RiskSets, gs: GroupSums) -> FloatArray:
    """Efron-averaged risk-set mean per group, ``(1/d_g) sum_k a_k`` (G, p)."""
    inv = 1.0 / gs.den
    q1 = _per_death(rs, inv) / rs.n_dead
    q2 = _per_death(rs, rs.k_frac * inv) / rs.n_dead
    return gs.s1 * q1[:, None] - gs.d1 * q2[:, None]


def score_residuals(rs: RiskSets, gs: GroupSums, weighted: bool = False) -> FloatArray:
    """Per-row score residuals (sorted order) as R ``coxscore2``; times the case weights
    when ``weighted`` (the rows of the robust variance).

    Row i: ``[i dies in g] (x_i - abar_g) - rho_i sum_{g: i at risk} (x_i c_g - m1_g)``
    with ``m1_g = aa_g S1_g - ab_g D1_g``, corrected for the Efron share of the deaths' own
    group: ``+ rho_i (x_i e_g - (ab_g S1_g - bb_g D1_g))``. One compiled pass writes the
    n x p result (no n x p temporaries); two threads on large inputs.
    """
    gw = gs.weights
    p = rs.x.shape[1]
    m_cum = np.zeros((rs.n_groups + 1, p))
    np.cumsum(gs.s1 * gw["aa"][:, None] - gs.d1 * gw["ab"][:, None], axis=0, out=m_cum[1:])
    c_cum = np.concatenate([[0.0], np.cumsum(gw["c"])])
    own = gs.s1 * gw["ab"][:, None] - gs.d1 * gw["bb"][:, None]
    n = rs.x.shape[0]
    scale = rs.weight if weighted else np.ones(n)
    out = np.empty_like(rs.x)
    abar = mean_covariate(rs, gs)
    args = (rs.x, gs.risk, scale, rs.hi, rs.lo, rs.event, c_cum, m_cum, gw["e"], abar, own)
    kernel = _kernels().score_residual_rows

    def rows(first: int, last: int) -> None:
        kernel(*args, first, last, out)

    _in_two(rows, n, n // 2, len(rs.blocks) >= _PARALLEL_BLOCKS)
    return out


def cluster_sums(rows: FloatArray, clusters: IntArray | None) -> FloatArray:
    """Sum the rows (n, p) within clusters (codes 0..k-1 per row); None: no summing."""
    if clusters is None:
        return rows
    out = np.zeros((int(clusters.max()) + 1, rows.shape[1]))
    _kernels().sum_rows_by_code(rows, clusters, out)
    return out


def martingale(rs: RiskSets, gs: GroupSums) -> FloatArray:
    """Martingale residuals (sorted order): ``delta_i - rho_i (C_i - [dies] e_g)``."""
    gw = gs.weights
    expected = gs.risk * cumulative_at_rows(rs, gw["c"])
    expected[rs.death] -= gs.risk[rs.death] * gw["e"][rs.group]
    return rs.event.astype(np.float64) - expected
