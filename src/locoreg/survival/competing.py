"""Competing risks: Aalen–Johansen cumulative incidence, Gray's test, Fine–Gray model.

Aalen–Johansen (Aalen & Johansen 1978), one initial state and causes k = 1..K, at the
distinct exit times with weighted n(t) at risk, d_k(t) events of cause k, h_k = d_k/n and
h = sum_k h_k::

    S(t) = prod_{s <= t} (1 - h(s)),     F_k(t) = sum_{s <= t} S(s-) h_k(s)

Standard errors are the infinitesimal jackknife, as R ``survfit`` for multi-state data:
Var F_k(t) = sum_i (w_i dF_k(t)/dw_i)^2 with dh_k(s)/dw_i = (dN_ik(s) - Y_i(s) h_k(s))/n(s)
and dF_k(t)/dw_i = sum_{s<=t} S(s-) [dh_k(s)/dw_i - h_k(s) sum_{u<s} (dh(u)/dw_i)/(1-h(u))].
The sum over subjects is evaluated in O((n + T) K) from running sums (see
``_aalen_johansen_variance``), so 10^6 rows take seconds, not an (n, T) matrix.

Gray's test (Gray 1988) compares the cumulative incidence of one cause between groups
with the score and variance of ``cmprsk::cuminc`` (Fortran routine ``crstm``), here
vectorised over event times.

Fine–Gray (Fine & Gray 1999) subdistribution hazards are fitted, as R ``finegray()``,
by expanding each competing-event row into (start, stop] pieces after its event time with
weights G(t)/G(T_i) from the censoring Kaplan–Meier G, then a weighted Cox model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
from numpy.typing import ArrayLike

from locoreg.survival._dispatch import accepts_formula
from locoreg.survival._dist import chi2_sf
from locoreg.survival._util import (
    FloatArray,
    IntArray,
    RiskTable,
    SurvivalData,
    as_float_vector,
    check_same_length,
    risk_table,
    validate,
)
from locoreg.survival.km import _ij_variance

if TYPE_CHECKING:
    from locoreg.survival.cox import CoxResult


@dataclass(frozen=True, eq=False)
class CumulativeIncidence:
    """Aalen–Johansen estimate; column j of the (T, K) arrays is cause ``causes[j]``."""

    times: FloatArray
    at_risk: FloatArray
    events: FloatArray
    causes: tuple[int, ...]
    cumulative_incidence: FloatArray
    std_err: FloatArray
    event_free: FloatArray
    event_free_std_err: FloatArray

    def incidence_at(self, times: ArrayLike) -> FloatArray:
        """F_k(t) at arbitrary times, shape (len(times), K); 0 before the first time."""
        t = as_float_vector(times, "times")
        idx = np.searchsorted(self.times, t, side="right") - 1
        padded = np.vstack([np.zeros((1, len(self.causes))), self.cumulative_incidence])
        return padded[idx + 1]


@dataclass(frozen=True, eq=False)
class GrayTest:
    """Gray's K-sample test, one row per cause (``causes``)."""

    causes: tuple[int, ...]
    statistic: FloatArray
    df: int
    p_value: FloatArray
    groups: tuple[Any, ...]


@dataclass(frozen=True, eq=False)
class FineGrayData:
    """Counting-process data of R ``finegray()``: rows (start, stop] with case weights."""

    row: IntArray
    start: FloatArray
    stop: FloatArray
    status: IntArray
    weight: FloatArray


@accepts_formula(  # formula front end: survival/formula.py; a dict by group with "~ g"
    "aalen_johansen",
    returns=cast("type[CumulativeIncidence | dict[Any, CumulativeIncidence]]", object),
)
def aalen_johansen(
    time: ArrayLike,
    event: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    entry: ArrayLike | None = None,
) -> CumulativeIncidence:
    """Cumulative incidence of each cause, as R ``survfit(Surv(time, factor(event)) ~ 1)``.

    Parameters
    ----------
    time : array_like
        Exit time.
    event : array_like
        0 for censored and 1..K for the cause of failure. Or a formula
        ``"Surv(time, cause) ~ 1"`` (``~ g``: a dict by group) with ``data=``.
    weights, entry : array_like, optional
        Case weights; delayed-entry times.

    Returns
    -------
    CumulativeIncidence
        ``cumulative_incidence`` and ``std_err`` per cause, the event-free survival.

    Notes
    -----
    ``F_k(t) = sum_{t_j <= t} S(t_j-) d_kj / n_j`` with S the all-cause Kaplan–Meier;
    infinitesimal-jackknife standard errors as R.

    References
    ----------
    Aalen OO, Johansen S. Scand J Stat 1978;5:141-50.
    """
    data = validate(time, event, weights, entry, multi_state=True)
    causes = tuple(int(c) for c in np.unique(data.status[data.status > 0]))
    if not causes:
        raise ValueError("event has no observed failures (codes 1..K)")
    n_types = max(causes)
    table = risk_table(data, n_types)
    n = table.n_risk
    with np.errstate(divide="ignore", invalid="ignore"):
        h_k = np.where(n[:, None] > 0, table.n_event / n[:, None], 0.0)
    h = h_k.sum(axis=1)
    surv = np.cumprod(1.0 - h)
    s_before = np.concatenate([[1.0], surv[:-1]])
    cif = np.cumsum(s_before[:, None] * h_k, axis=0)
    var, free_var = _aalen_johansen_variance(data, table, h_k, surv, s_before)
    cols = [c - 1 for c in causes]
    return CumulativeIncidence(
        times=table.times,
        at_risk=n,
        events=table.n_event[:, cols],
        causes=causes,
        cumulative_incidence=cif[:, cols],
        std_err=np.sqrt(var[:, cols]),
        event_free=surv,
        event_free_std_err=np.sqrt(free_var),
    )


_REL_TOL = 1e-10


def _running(values: FloatArray, first: IntArray, stop: IntArray, n_t: int) -> FloatArray:
    """Sum of ``values`` over subjects with first <= j < stop, for every time index j."""
    add = np.bincount(first, weights=values, minlength=n_t + 1)
    sub = np.bincount(stop, weights=values, minlength=n_t + 1)
    return np.asarray(np.cumsum(add - sub)[:n_t], dtype=np.float64)


def _aalen_johansen_variance(
    data: SurvivalData,
    table: RiskTable,
    h_k: FloatArray,
    surv: FloatArray,
    s_before: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Infinitesimal-jackknife variances of F_k and S in O((n + T) K), no (n, T) matrix.

    With a(u) = h(u) / (n(u)(1 - h(u))), b(u) = 1 / (n(u)(1 - h(u))), A = cumsum(a), entry
    index e_i, exit index x_i, the influence of subject i on F_k (per unit weight) is

    * 0 for t <= e_i;
    * L_k(t) - A(e_i) F_k(t) - m_i while at risk (e_i < t < x_i), where
      L_k = cumsum(S(s-) h_k(s) (A(s-1) - 1/n(s))) and m_i = L_k(e_i) - A(e_i) F_k(e_i);
    * E_i - c_i F_k(t) from the exit on (t >= x_i), with c_i = 1{event} b(x_i) -
      (A(x_i) - A(e_i)) and E_i = [value at x_i incl. 1{cause k} S(x_i-)/n(x_i)] + c_i F_k(x_i).

    Expanding the squares, sum_i w_i^2 U_ik(t)^2 needs only running sums over the subjects
    at risk and over those who have left. (Same idea as ``km._ij_variance``; R computes
    the same quantity with the full influence matrix.)
    """
    n_t = table.times.shape[0]
    n = table.n_risk
    h = h_k.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_n = np.where(n > 0, 1.0 / n, 0.0)
        # All at risk fail (1 - h = 0): the curve is 0 afterwards and the terms drop out.
        # With fractional weights and delayed entry, n is a difference of cumulative sums and
        # 1 - h can come out as ~1e-16 instead of 0; 1/(1 - h) would then be ~1e16 and
        # wreck the expanded squares below, so such values are treated as exact zeros.
        survives = 1.0 - h > _REL_TOL
        b = inv_n * np.where(survives, 1.0 / np.where(survives, 1.0 - h, 1.0), 0.0)
    a = h * b
    cum_a = np.cumsum(a)
    a_prev = np.concatenate([[0.0], cum_a[:-1]])
    x = table.time_index
    e = np.searchsorted(table.times, data.entry, side="right") - 1  # -1: before all
    entered = e >= 0
    e0 = np.maximum(e, 0)
    a_e = np.where(entered, cum_a[e0], 0.0)
    w2 = data.weights**2
    first = e + 1
    event = data.status > 0
    c = event * b[x] - (cum_a[x] - a_e)
    free_var = surv**2 * _ij_variance(data, table, a, b)
    var = np.zeros_like(h_k)
    for k in range(h_k.shape[1]):  # loop over causes, vectorised over subjects and times
        gam = s_before * h_k[:, k]
        big_f = np.cumsum(gam)
        big_l = np.cumsum(gam * (a_prev - inv_n))
        f_e = np.where(entered, big_f[e0], 0.0)
        m = np.where(entered, big_l[e0], 0.0) - a_e * f_e
        d = big_l[x] - a_e * big_f[x] - m + (data.status == k + 1) * s_before[x] * inv_n[x]
        big_e = d + c * big_f[x]
        s1, s_a, s_aa, s_m, s_mm, s_am = (
            _running(w2 * v, first, x, n_t)
            for v in (np.ones_like(a_e), a_e, a_e**2, m, m**2, a_e * m)
        )
        at_risk = (
            big_l**2 * s1
            + big_f**2 * s_aa
            + s_mm
            - 2.0 * big_l * big_f * s_a
            - 2.0 * big_l * s_m
            + 2.0 * big_f * s_am
        )
        done = [
            np.cumsum(np.bincount(x, weights=w2 * v, minlength=n_t))
            for v in (big_e**2, big_e * c, c**2)
        ]
        left = done[0] - 2.0 * big_f * done[1] + big_f**2 * done[2]
        var[:, k] = np.maximum(at_risk, 0.0) + np.maximum(left, 0.0)
    return var, free_var


def _gray_stratum(
    time: FloatArray, mark: IntArray, group: IntArray, n_groups: int, rho: float
) -> tuple[FloatArray, FloatArray]:
    """Score (first G-1 groups) and its variance in one stratum, as cmprsk ``crst``.

    ``mark`` is 0 censored, 1 cause of interest, 2 other cause.
    """
    g = n_groups
    times, inv = np.unique(time, return_inverse=True)
    n_t = times.shape[0]
    counts = np.zeros((3, n_t, g))
    np.add.at(counts, (mark, inv, group), 1.0)
    d1, d2 = counts[1], counts[2]
    leaving = counts.sum(axis=0)
    rs = np.cumsum(leaving[::-1], axis=0)[::-1]  # at risk just before each time
    occupied = rs > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(occupied, (rs - d1 - d2) / rs, 1.0)
        skm = np.cumprod(factor, axis=0)
        skmm = np.vstack([np.ones((1, g)), skm[:-1]])
        f1 = np.cumsum(np.where(occupied, skmm * d1 / rs, 0.0), axis=0)
        f1m = np.vstack([np.zeros((1, g)), f1[:-1]])
        t1 = np.where(occupied, rs / skmm, 0.0)
        tr = t1.sum(axis=1)
        tq = np.where(occupied, rs * (1.0 - f1m) / skmm, 0.0).sum(axis=1)
        nd1 = d1.sum(axis=1)
        nd2 = d2.sum(axis=1)
        any_event = (nd1 + nd2) > 0
        f = np.cumsum(np.where(any_event & (tr > 0), nd1 / tr, 0.0))
        fm = np.concatenate([[0.0], f[:-1]])
        fb = (1.0 - fm) ** rho
        a = fb[:, None, None] * (
            np.einsum("ti,ij->tij", t1, np.eye(g))
            - t1[:, :, None] * t1[:, None, :] / tr[:, None, None]
        )
        a = np.where(any_event[:, None, None], a, 0.0)
        step = np.where(any_event & (tr > 0), nd1 / (tr * (1.0 - fm)), 0.0)
        c = np.cumsum(a * step[:, None, None], axis=0)
        score_terms = np.where(
            occupied,
            fb[:, None] * (d1 - nd1[:, None] * rs * (1.0 - f1m) / (skmm * tq[:, None])),
            0.0,
        )
        score = np.where(any_event[:, None], score_terms, 0.0).sum(axis=0)[: g - 1]
        # cause-of-interest contributions
        use1 = (nd1[:, None] > 0) & occupied
        t4a = np.where(skm > 0, 1.0 - (1.0 - f[:, None]) / skm, 1.0)
        t5a = np.where(
            nd1[:, None] > 1, 1.0 - (nd1[:, None] - 1.0) / (tr[:, None] * skmm - 1.0), 1.0
        )
        t3a = np.where(use1, t5a * skmm * nd1[:, None] / (tr[:, None] * rs), 0.0)
        b1 = a - t4a[:, None, :] * c  # (t, i, k)
        # other-cause contributions
        use2 = (skm > 0) & (d2 > 0)
        t4b = np.where(use2, (1.0 - f[:, None]) / skm, 0.0)
        t5b = np.where(d2 > 1, 1.0 - (d2 - 1.0) / (rs - 1.0), 1.0)
        t3b = np.where(use2, t5b * skmm**2 * d2 / rs**2, 0.0)
    t3a = np.nan_to_num(t3a)
    t3b = np.nan_to_num(t3b)
    b2 = t4b[:, None, :] * c
    v3 = (t4a**2 * t3a).sum(axis=0) + (t4b**2 * t3b).sum(axis=0)
    v2 = np.einsum("tik,tk->ik", b1, t4a * t3a) - np.einsum("tik,tk->ik", b2, t4b * t3b)
    v = np.einsum("tik,tjk,tk->ij", b1, b1, t3a) + np.einsum("tik,tjk,tk->ij", b2, b2, t3b)
    cf = c[-1]
    v = v + np.einsum("ik,jk,k->ij", cf, cf, v3) + cf @ v2.T + v2 @ cf.T
    return score, v[: g - 1, : g - 1]


@accepts_formula("gray_test")  # formula front end: survival/formula.py
def gray_test(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    rho: float = 0.0,
) -> GrayTest:
    """Gray's test for equality of cumulative incidence curves, as ``cmprsk::cuminc``.

    Parameters
    ----------
    time, event, group : array_like
        Exit time, cause (0 censored, 1..K) and group per row.
    strata : array_like, optional
        Stratum per row (``cuminc(strata=)``).
    rho : float
        Power of the weight ``(1 - F_k)^rho``.

    Returns
    -------
    GrayTest
        One statistic per observed cause; chi-square with (groups - 1) df.

    Notes
    -----
    Compares weighted averages of the subdistribution hazards of each group.

    References
    ----------
    Gray RJ. Ann Stat 1988;16:1141-54.
    """
    data = validate(time, event, None, None, multi_state=True)
    n = data.time.shape[0]
    g_arr = np.asarray(group)
    check_same_length(n, group=g_arr)
    levels, g_codes = np.unique(g_arr, return_inverse=True)
    if levels.shape[0] < 2:
        raise ValueError("group must have at least two levels")
    s_codes = (
        np.zeros(n, dtype=np.int64)
        if strata is None
        else np.unique(np.asarray(strata), return_inverse=True)[1]
    )
    check_same_length(n, strata=s_codes)
    k = levels.shape[0]
    causes = tuple(int(c) for c in np.unique(data.status[data.status > 0]))
    stats, pvals = [], []
    for cause in causes:  # loop over causes and strata, vectorised within
        mark = np.where(data.status == cause, 1, np.where(data.status > 0, 2, 0))
        score = np.zeros(k - 1)
        var = np.zeros((k - 1, k - 1))
        for s in np.unique(s_codes):
            rows = s_codes == s
            sc, vv = _gray_stratum(data.time[rows], mark[rows], g_codes[rows], k, rho)
            score += sc
            var += vv
        stat = float(score @ np.linalg.solve(var, score))
        stats.append(stat)
        pvals.append(float(chi2_sf(stat, k - 1)))
    return GrayTest(
        causes,
        np.asarray(stats),
        k - 1,
        np.asarray(pvals),
        tuple(v.item() if hasattr(v, "item") else v for v in levels),
    )


def finegray_expand(time: ArrayLike, event: ArrayLike, *, cause: int = 1) -> FineGrayData:
    """Weighted (start, stop] data of R ``finegray(Surv(time, factor(event)) ~ ., etype=cause)``.

    Parameters
    ----------
    time, event : array_like
        Exit time and cause (0 censored, 1..K).
    cause : int
        The cause of interest.

    Returns
    -------
    FineGrayData
        ``row`` (input row), ``start``, ``stop``, ``status``, ``weight``.

    Notes
    -----
    Rows with a competing event are extended beyond their event time over the intervals
    between censoring times (only intervals that contain a ``cause`` event are kept),
    with weight G(interval start)/G(T_i), G the censoring Kaplan–Meier (events before
    censorings at tied times). Other rows are kept as (zero, time] with weight 1.

    References
    ----------
    Fine JP, Gray RJ. JASA 1999;94:496-509. Geskus RB. Biometrics 2011;67:39-49.
    """
    data = validate(time, event, None, None, multi_state=True)
    t, status = data.time, data.status
    if not np.any(status == cause):
        raise ValueError(f"cause {cause} has no observed events")
    lowest = float(t.min())
    zero = 0.0 if lowest > 0 else 2.0 * lowest - 1.0
    # Censoring Kaplan–Meier: at a tied time the events leave the risk set first.
    ctimes, inv = np.unique(t, return_inverse=True)
    at_exit = np.bincount(inv, minlength=ctimes.shape[0]).astype(float)
    n_risk = np.cumsum(at_exit[::-1])[::-1]
    n_fail = np.bincount(inv, weights=(status > 0).astype(float), minlength=ctimes.shape[0])
    n_cens = np.bincount(inv, weights=(status == 0).astype(float), minlength=ctimes.shape[0])
    jump = n_cens > 0
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 only where jump is False
        g_surv = np.cumprod(np.where(jump, 1.0 - n_cens / (n_risk - n_fail), 1.0))
    ctime = ctimes[jump]
    ct2 = np.concatenate([ctime, [t.max()]])
    cp2 = np.concatenate([[1.0], g_surv[jump]])
    ncut = ct2.shape[0]
    etimes = np.unique(t[status == cause])
    # keep[j]: interval (ct2[j-1], ct2[j]] holds an event of interest (keep[0] always)
    keep = np.zeros(ncut + 1, dtype=bool)
    keep[0] = True
    keep[np.searchsorted(ct2, etimes, side="left")] = True
    keep = keep[:ncut]
    kept = np.flatnonzero(keep)
    expand = (status != 0) & (status != cause)
    n = t.shape[0]
    stop = t.copy()
    j_first = np.searchsorted(ct2, t, side="left")  # first cut point >= time
    exp_rows = np.flatnonzero(expand)
    j_e = j_first[exp_rows]
    valid = j_e < ncut
    stop[exp_rows[valid]] = ct2[j_e[valid]]
    base_w = np.where(valid, cp2[np.minimum(j_e, ncut - 1)], 1.0)
    first_extra = np.searchsorted(kept, j_e, side="right")
    n_extra = np.where(valid, kept.shape[0] - first_extra, 0)
    rep_rows = np.repeat(exp_rows, n_extra)
    offsets = np.arange(rep_rows.shape[0]) - np.repeat(np.cumsum(n_extra) - n_extra, n_extra)
    jj = kept[np.repeat(first_extra, n_extra) + offsets]
    extra_w = cp2[jj] / np.repeat(base_w, n_extra)
    rows = np.concatenate([np.arange(n), rep_rows])
    order_key = np.concatenate([np.zeros(n), offsets + 1.0])
    start = np.concatenate([np.full(n, zero), ct2[jj - 1]])
    stops = np.concatenate([stop, ct2[jj]])
    weights = np.concatenate([np.ones(n), extra_w])
    st = np.concatenate([(status == cause).astype(np.int64), np.zeros(rep_rows.shape[0], np.int64)])
    order = np.lexsort((order_key, rows))
    return FineGrayData(rows[order], start[order], stops[order], st[order], weights[order])


@accepts_formula("fine_gray")  # formula front end: survival/formula.py
def fine_gray(
    time: ArrayLike,
    event: ArrayLike,
    X: ArrayLike,
    *,
    cause: int = 1,
    ties: Literal["efron", "breslow"] = "efron",
    robust: bool = True,
) -> CoxResult:
    """Fine–Gray subdistribution hazard model: weighted Cox fit on :func:`finegray_expand`.

    Parameters
    ----------
    time, event : array_like
        Exit time and cause (0 censored, 1..K). Or a formula
        ``"Surv(time, cause) ~ x + y"`` with ``data=``.
    X : array_like
        Covariates (n, p).
    cause : int
        The cause of interest.
    ties : {"efron", "breslow"}
        Tied-event handling of the Cox fit.
    robust : bool
        Sandwich variance clustered on the original subject (default), as ``+ cluster(id)``
        in the survival package's Fine–Gray vignette; False: model-based variance.

    Returns
    -------
    CoxResult
        ``.hazard_ratio`` is the subdistribution hazard ratio.

    Notes
    -----
    Coefficients equal R ``coxph(Surv(fgstart, fgstop, fgstatus) ~ X, weights = fgwt,
    data = finegray(...))``.

    References
    ----------
    Fine JP, Gray RJ. JASA 1999;94:496-509.
    """
    from locoreg.survival.cox import cox

    x = np.asarray(X, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    fg = finegray_expand(time, event, cause=cause)
    check_same_length(np.asarray(time).shape[0], X=x)
    return cox(
        fg.stop,
        fg.status,
        x[fg.row],
        ties=ties,
        weights=fg.weight,
        entry=fg.start,
        cluster=fg.row if robust else None,
        robust=robust,
    )
