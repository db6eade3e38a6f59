"""Risk-set bookkeeping for the Cox model: sort once, then sums by cumulative sums.

Notation (Therneau & Grambsch 2000, ch. 3). Rows are sorted by (stratum, stop time).
An *event group* g is the set of deaths sharing one (stratum, time) pair. Row i is at
risk for g iff it is in the same stratum and ``entry_i < t_g <= stop_i``. With
``r_i = w_i exp(eta_i)``:

    S0_g = sum_{i in R_g} r_i,   S1_g = sum_{i in R_g} r_i x_i,
    D0_g = sum_{i dies in g} r_i, D1_g = sum_{i dies in g} r_i x_i.

Risk-set sums are reverse cumulative sums read at the first row with stop >= t_g, minus
the same sums in entry order read at the first row with entry >= t_g (counting-process
data). Later strata appear in both terms and cancel.

Efron (1977): the k-th of the d_g tied deaths (k = 0..d_g-1, f_k = k/d_g) sees the
denominator ``den_k = S0_g - f_k D0_g``; Breslow uses f_k = 0. Deaths carry the mean
weight ``m_g = (sum of death weights)/d_g`` (R survival, coxfit6.c).

The information matrix never materialises an n x p x p array:

    sum_g h_g m_g sum_k [(S2_g - f_k D2_g)/den_k - a_k a_k']      a_k = (S1_g - f_k D1_g)/den_k

is ``X' diag(v) X - (S1' diag(aa) S1 - S1' diag(ab) D1 - D1' diag(ab) S1 + D1' diag(bb) D1)``
where ``v_i = r_i (sum of h_g c_g over the groups i is at risk for) - [i dies] r_i h_g e_g``,
``c_g = m_g sum_k 1/den_k``, ``e_g = m_g sum_k f_k/den_k``, and aa, ab, bb are
``m_g sum_k {1, f_k, f_k^2}/den_k^2``. The per-row sums of c_g are cumulative sums over
groups read at two searchsorted positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.linalg import blas

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class SegmentPlan:
    """Reverse cumulative sums of ``r_i x_i`` read at a few boundaries only.

    Rows (in the order ``rows``) are cut into contiguous segments at the boundaries; a
    sparse segment-indicator matrix times X gives segment sums without an n x p
    temporary, and a reverse cumulative sum over segments gives the sum from each
    boundary to the end. ``at`` maps each event group to its boundary.
    """

    rows: IntArray  # sorted-row index of each position from the first boundary on
    indptr: IntArray
    at: IntArray

    @classmethod
    def build(cls, perm: IntArray | None, reads: IntArray, n: int) -> SegmentPlan:
        bounds = np.unique(np.append(reads, n))
        rows = np.arange(bounds[0], n) if perm is None else perm[bounds[0] :]
        return cls(rows, bounds - bounds[0], np.searchsorted(bounds, reads))

    def tail_sums(self, weight: FloatArray, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Sums of ``weight`` and ``weight * x`` from each read boundary to the end."""
        n_seg = self.indptr.shape[0] - 1
        if n_seg == 0:  # nobody leaves the risk sets
            return np.zeros(self.at.shape[0]), np.zeros((self.at.shape[0], x.shape[1]))
        w = weight[self.rows]
        seg = sparse.csr_matrix((w, self.rows, self.indptr), shape=(n_seg, x.shape[0]))
        sx = np.ascontiguousarray(np.asarray(seg @ x).T)  # (p, segments)
        tail = np.zeros((sx.shape[0], n_seg + 1))
        np.cumsum(sx[:, ::-1], axis=1, out=tail[:, -2::-1])
        s0 = np.zeros(n_seg + 1)
        np.cumsum(np.add.reduceat(w, self.indptr[:-1])[::-1], out=s0[-2::-1])
        return s0[self.at], tail[:, self.at].T


@dataclass(frozen=True)
class RiskSets:
    """Sorted data and index arrays that do not depend on the coefficients."""

    order: IntArray  # sorted position -> original row
    x: FloatArray  # centred covariates, sorted (n, p)
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
    risk_start: IntArray  # first sorted row with stop >= t_g (same stratum)
    risk_drop: IntArray  # first row (entry order / stratum end) no longer counted
    entry_order: IntArray | None  # sorted position of rows ordered by (stratum, entry)
    hi: IntArray  # number of groups with key <= (stratum, stop) per row
    lo: IntArray  # number of groups with key <= (stratum, entry) per row
    plan_in: SegmentPlan  # rows entering the risk sets (stop order)
    plan_out: SegmentPlan | None  # rows leaving them (entry order / stratum ends)

    @property
    def n_groups(self) -> int:
        return int(self.n_dead.shape[0])


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
) -> RiskSets:
    """Sort by (stratum, stop) and precompute every coefficient-free index."""
    n = stop.shape[0]
    stratified = bool(stratum.max(initial=0) > 0)
    if stratified:
        # Integer keys (stratum, time code) so that searchsorted respects strata.
        values = stop if entry is None else np.concatenate([stop, entry])
        uniq, inv = np.unique(values, return_inverse=True)
        span = uniq.shape[0] + 1
        key_stop = stratum.astype(np.int64) * span + inv[:n]
        key_entry = (
            stratum.astype(np.int64) * span - 1
            if entry is None
            else stratum.astype(np.int64) * span + inv[n:]
        )
        order = np.argsort(key_stop, kind="stable")
    else:
        key_stop = stop
        key_entry = entry
        order = np.argsort(stop, kind="stable")

    ks = key_stop[order]
    ev = event[order]
    w = weight[order]
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

    risk_start = np.searchsorted(ks, gkey, side="left")
    hi = np.searchsorted(gkey, ks, side="right")
    entry_order: IntArray | None = None
    if entry is None:
        if stratified:
            # Rows of later strata drop out at the end of the group's stratum.
            st_sorted = stratum[order]
            risk_drop = np.searchsorted(st_sorted, stratum[order][death[group_first]], "right")
            lo = np.searchsorted(gkey, np.asarray(key_entry)[order], side="right")
        else:
            risk_drop = np.full(n_groups, n, dtype=np.intp)
            lo = np.zeros(n, dtype=np.intp)
    else:
        ke_sorted = np.asarray(key_entry)[order]
        entry_order = np.argsort(ke_sorted, kind="stable")
        risk_drop = np.searchsorted(ke_sorted[entry_order], gkey, side="left")
        lo = np.searchsorted(gkey, ke_sorted, side="right")

    xs = np.take(x, order, axis=0)
    xs -= center
    return RiskSets(
        order=order,
        x=xs,
        center=center,
        stop=stop[order],
        entry=None if entry is None else entry[order],
        event=ev,
        weight=w,
        offset=offset[order],
        stratum=stratum[order],
        death=death,
        group=group,
        k_frac=k_frac,
        n_dead=n_dead,
        mean_wt=mean_wt,
        group_time=stop[order][death[group_first]],
        group_stratum=stratum[order][death[group_first]],
        group_first=group_first,
        risk_start=risk_start,
        risk_drop=risk_drop,
        entry_order=entry_order,
        hi=hi,
        lo=lo,
        plan_in=SegmentPlan.build(
            None, risk_start if entry is not None else np.concatenate([risk_start, risk_drop]), n
        ),
        plan_out=None if entry is None else SegmentPlan.build(entry_order, risk_drop, n),
    )


@dataclass(frozen=True)
class GroupSums:
    """Coefficient-dependent quantities of one evaluation of the partial likelihood."""

    eta: FloatArray  # sorted linear predictor incl. offset, shifted by `shift`
    shift: float
    risk: FloatArray  # exp(eta) (unweighted, shifted)
    s0: FloatArray
    s1: FloatArray  # (G, p)
    d0: FloatArray
    d1: FloatArray  # (G, p)
    den: FloatArray  # per death
    loglik: float


def _risk_sums(rs: RiskSets, wr: FloatArray) -> tuple[FloatArray, FloatArray]:
    """S0 (G,) and S1 (G, p) over each group's risk set."""
    n_groups = rs.n_groups
    s0, s1 = rs.plan_in.tail_sums(wr, rs.x)
    if rs.plan_out is not None:
        o0, o1 = rs.plan_out.tail_sums(wr, rs.x)
        return s0 - o0, s1 - o1
    # Right-censored: the first G reads are the group starts, the next G the stratum ends.
    return s0[:n_groups] - s0[n_groups:], s1[:n_groups] - s1[n_groups:]


def group_sums(rs: RiskSets, beta: FloatArray) -> GroupSums:
    """Risk-set sums and the log partial likelihood at ``beta``."""
    eta = rs.x @ beta + rs.offset
    # exp() is shift-invariant in the partial likelihood; shifting avoids overflow.
    shift = float(eta.max())
    eta = eta - shift
    risk = np.exp(eta)
    wr = rs.weight * risk
    s0, s1 = _risk_sums(rs, wr)
    dw = wr[rs.death]
    d0 = np.bincount(rs.group, weights=dw, minlength=rs.n_groups).astype(np.float64, copy=False)
    dying = sparse.csr_matrix(
        (dw, rs.death, np.append(rs.group_first, rs.death.shape[0])),
        shape=(rs.n_groups, rs.x.shape[0]),
    )
    d1 = np.asarray(dying @ rs.x)
    den = s0[rs.group] - rs.k_frac * d0[rs.group]
    loglik = float(rs.weight[rs.death] @ eta[rs.death] - rs.mean_wt[rs.group] @ np.log(den))
    return GroupSums(eta, shift, risk, s0, s1, d0, d1, den, loglik)


def _per_death(rs: RiskSets, values: FloatArray) -> FloatArray:
    return np.bincount(rs.group, weights=values, minlength=rs.n_groups).astype(
        np.float64, copy=False
    )


def group_weights(rs: RiskSets, gs: GroupSums) -> dict[str, FloatArray]:
    """Per-group sums over the tied deaths: c, e, aa, ab, bb (see module docstring)."""
    mw = rs.mean_wt[rs.group]
    inv = 1.0 / gs.den
    f = rs.k_frac
    return {
        "c": _per_death(rs, mw * inv),
        "e": _per_death(rs, mw * f * inv),
        "aa": _per_death(rs, mw * inv * inv),
        "ab": _per_death(rs, mw * f * inv * inv),
        "bb": _per_death(rs, mw * f * f * inv * inv),
    }


def cumulative_at_rows(rs: RiskSets, per_group: FloatArray) -> FloatArray:
    """For each sorted row, the sum of ``per_group`` over the groups it is at risk for."""
    cum = np.concatenate([np.zeros((1, *per_group.shape[1:])), np.cumsum(per_group, axis=0)])
    return cum[rs.hi] - cum[rs.lo]


def row_weights(rs: RiskSets, gs: GroupSums, gw: dict[str, FloatArray], h: FloatArray | None):
    """``v_i`` of the module docstring for group weights ``h`` (None means 1)."""
    c = gw["c"] if h is None else gw["c"] * h
    e = gw["e"] if h is None else gw["e"] * h
    wr = rs.weight * gs.risk
    v = wr * cumulative_at_rows(rs, c)
    v[rs.death] -= wr[rs.death] * e[rs.group]
    return v


def score_and_information(
    rs: RiskSets, gs: GroupSums, h: FloatArray | None = None, work: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """Score vector and information matrix, optionally with group weights ``h``.

    With ``h`` the score is ``sum_g h_g U_g`` and the information ``sum_g h_g V_g``.
    ``work`` is an optional scratch array shaped like ``rs.x`` (reused across Newton
    steps to avoid allocating n x p per step).
    """
    gw = group_weights(rs, gs)
    v = row_weights(rs, gs, gw, h)
    dead_w = np.zeros_like(v)
    dead_w[rs.death] = rs.weight[rs.death] if h is None else rs.weight[rs.death] * h[rs.group]
    score = rs.x.T @ (dead_w - v)
    if h is None:
        # X' diag(v) X as a symmetric rank-k update (v >= 0 here); the F-order view of
        # the scaled rows avoids a transpose copy.
        scaled = np.multiply(rs.x, np.sqrt(np.maximum(v, 0.0))[:, None], out=work)
        info = blas.dsyrk(1.0, scaled.T, trans=0, lower=0)
        info = np.triu(info) + np.triu(info, 1).T
    else:
        info = rs.x.T @ (rs.x * v[:, None])
    aa, ab, bb = gw["aa"], gw["ab"], gw["bb"]
    if h is not None:
        aa, ab, bb = aa * h, ab * h, bb * h
    cross = gs.s1.T @ (gs.d1 * ab[:, None])
    info -= gs.s1.T @ (gs.s1 * aa[:, None]) - cross - cross.T + gs.d1.T @ (gs.d1 * bb[:, None])
    return score, (info + info.T) / 2.0


def mean_covariate(rs: RiskSets, gs: GroupSums) -> FloatArray:
    """Efron-averaged risk-set mean per group, ``(1/d_g) sum_k a_k`` (G, p)."""
    inv = 1.0 / gs.den
    q1 = _per_death(rs, inv) / rs.n_dead
    q2 = _per_death(rs, rs.k_frac * inv) / rs.n_dead
    return gs.s1 * q1[:, None] - gs.d1 * q2[:, None]


def score_residuals(rs: RiskSets, gs: GroupSums) -> FloatArray:
    """Per-row score residuals (sorted order), unweighted, as R ``coxscore2``.

    Row i: ``[i dies in g] (x_i - abar_g) - rho_i sum_{g: i at risk} (x_i c_g - m1_g)``,
    corrected for the Efron share of the deaths' own group.
    """
    gw = group_weights(rs, gs)
    m1 = gs.s1 * gw["aa"][:, None] - gs.d1 * gw["ab"][:, None]
    c_row = cumulative_at_rows(rs, gw["c"])
    m_row = cumulative_at_rows(rs, m1)
    rho = gs.risk[:, None]
    resid = -rho * (rs.x * c_row[:, None] - m_row)
    d = rs.death
    g = rs.group
    abar = mean_covariate(rs, gs)
    own = rs.x[d] * gw["e"][g][:, None] - (
        gs.s1[g] * gw["ab"][g][:, None] - gs.d1[g] * gw["bb"][g][:, None]
    )
    resid[d] += rs.x[d] - abar[g] + rho[d] * own
    return resid


def martingale(rs: RiskSets, gs: GroupSums) -> FloatArray:
    """Martingale residuals (sorted order): ``delta_i - rho_i (C_i - [dies] e_g)``."""
    gw = group_weights(rs, gs)
    expected = gs.risk * cumulative_at_rows(rs, gw["c"])
    expected[rs.death] -= gs.risk[rs.death] * gw["e"][rs.group]
    return rs.event.astype(np.float64) - expected
