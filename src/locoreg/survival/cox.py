"""Cox proportional-hazards regression, numerically matching R ``survival::coxph``.

Log partial likelihood with Efron (1977) handling of tied deaths, weights w_i and risk
scores ``r_i = w_i exp(x_i'beta + offset_i)``; at a death time with d tied deaths of mean
weight m and ``f_k = k/d``:

    l(beta) = sum_deaths w_i eta_i - sum_times m sum_{k=0}^{d-1} log(S0 - f_k D0)

(Breslow 1974: f_k = 0). Maximised by Newton-Raphson from beta = 0 with step halving and
R's stopping rule ``|1 - l_old/l_new| <= 1e-9`` (at most 20 iterations). Model-based
variance ``I(beta)^-1``; the robust (Lin & Wei 1989) sandwich is ``D'D`` with
``D = diag(w) L I^-1`` built from score residuals L, summed within clusters first when
``cluster`` is given (R ``cluster()``). With a robust variance the robust score test of
beta = 0 (Lin & Wei 1989; R ``fit$rscore``) is ``u' (T'T)^-1 u`` with T the weighted score
residuals at beta = 0 summed within clusters and ``u = 1'T`` the score at 0. Ridge penalty
``theta/2 sum beta^2`` as R ``ridge(x, theta, scale=FALSE)``. Proportional-hazards test:
Grambsch & Therneau (1994) in the score-test form of R >= 3.0 ``cox.zph``. Risk-set
algebra: ``_cox_riskset``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import linalg

from ._concordance import concordance as _concordance
from ._cox_riskset import (
    GroupSums,
    RiskSets,
    build_risksets,
    cluster_sums,
    evaluate,
    linear_predictor_rows,
    martingale,
    mean_covariate,
    score_and_information,
    score_residuals,
    single_threaded_blas,
)
from ._dispatch import accepts_formula
from ._dist import chi2_sf, norm_ppf, norm_sf
from .errors import ArgumentError

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]

_EPS = 1e-9  # R coxph.control(eps)
_TOLER_INF = np.sqrt(_EPS)  # R coxph.control(toler.inf)
_COLLINEAR = 1e-10  # relative Schur complement below which a covariate is redundant


@dataclass(frozen=True)
class ChiSquareTest:
    statistic: float
    df: int
    p_value: float


def _chisq(stat: float, df: int) -> ChiSquareTest:
    return ChiSquareTest(float(stat), int(df), float(chi2_sf(stat, df)))


@dataclass(frozen=True, eq=False)
class CoxResult:
    """Fitted Cox model. Arrays are indexed like ``names``; rows like the input."""

    coef: FloatArray
    var: FloatArray  # model-based (naive) variance, penalised information inverse
    robust_var: FloatArray | None
    loglik: tuple[float, float]  # (beta = 0, final), unpenalised partial log-likelihood
    score_test: ChiSquareTest
    wald_test: ChiSquareTest  # with the robust variance when there is one, as R
    lr_test: ChiSquareTest
    robust_score_test: ChiSquareTest | None  # R ``fit$rscore``; None without robust variance
    n: int
    n_events: int
    iterations: int
    names: tuple[str, ...]
    ties: str
    level: float
    means: FloatArray  # weighted covariate means (R ``fit$means``)
    penalty: FloatArray | None
    _rs: RiskSets = field(repr=False, compare=False)
    _gs: GroupSums = field(repr=False, compare=False)
    formula: str | None = None  # set by the formula front end (``survival.formula``)
    n_dropped: int = 0  # rows dropped for missing values (R ``na.omit``)

    def summary(self) -> pd.DataFrame:
        """Coefficient table as R ``summary(coxph)`` (see ``survival.summary``)."""
        from .summary import cox_table

        return cox_table(self)

    def __str__(self) -> str:
        from .summary import format_cox

        return format_cox(self)

    @property
    def naive_se(self) -> FloatArray:
        return np.sqrt(np.diag(self.var))

    @property
    def robust_se(self) -> FloatArray | None:
        return None if self.robust_var is None else np.sqrt(np.diag(self.robust_var))

    @property
    def se(self) -> FloatArray:
        """Robust standard error when a robust variance was requested, else model-based."""
        rse = self.robust_se
        return self.naive_se if rse is None else rse

    @property
    def z(self) -> FloatArray:
        return self.coef / self.se

    @property
    def p_value(self) -> FloatArray:
        return 2.0 * norm_sf(np.abs(self.z))

    @property
    def hazard_ratio(self) -> FloatArray:
        return np.exp(self.coef)

    @property
    def ci_low(self) -> FloatArray:
        return np.exp(self.coef - norm_ppf(0.5 + self.level / 2) * self.se)

    @property
    def ci_high(self) -> FloatArray:
        return np.exp(self.coef + norm_ppf(0.5 + self.level / 2) * self.se)

    @property
    def linear_predictor(self) -> FloatArray:
        """``(x - means)'beta + offset - mean(offset)`` per input row, as R
        ``fit$linear.predictors`` (R centres the offset on its unweighted mean)."""
        rs = self._rs
        out = np.empty(self.n)
        out[rs.order] = linear_predictor_rows(rs, self.coef) - rs.offset.mean()
        return out

    @cached_property
    def concordance(self) -> float:
        """Harrell's C as reported by R ``coxph`` (computed on first access)."""
        rs = self._rs
        # Row by row: identical covariate rows must give identical lp (ties in x); BLAS may
        # round them differently in the last bit.
        lp = linear_predictor_rows(rs, self.coef)
        return _concordance(rs.stop, rs.event, lp, rs.weight, rs.stratum, rs.entry).value

    def residuals(self, kind: str = "martingale", weighted: bool | None = None) -> FloatArray:
        """Residuals per input row: martingale, deviance, score or dfbeta, as R
        ``residuals(fit, type)``: times the case weights when ``weighted``, which defaults,
        as in R, to True for dfbeta and False for the others."""
        rs, gs = self._rs, self._gs
        if kind in ("martingale", "deviance"):
            res = martingale(rs, gs)
            if kind == "deviance":
                ev = rs.event.astype(np.float64)
                with np.errstate(divide="ignore", invalid="ignore"):
                    inner = np.where(rs.event, np.log(ev - res), 0.0)
                res = np.sign(res) * np.sqrt(-2.0 * (res + ev * inner))
            out = np.empty(self.n)
        elif kind in ("score", "dfbeta"):
            res = score_residuals(rs, gs)
            if kind == "dfbeta":
                res = res @ self.var
            out = np.empty((self.n, len(self.names)))
        else:
            raise ValueError(f"kind must be martingale, deviance, score or dfbeta, got {kind!r}")
        if kind == "dfbeta" if weighted is None else weighted:
            res = res * (rs.weight if res.ndim == 1 else rs.weight[:, None])
        out[rs.order] = res
        return out

    def schoenfeld(self, scaled: bool = False) -> Schoenfeld:
        """Schoenfeld residuals, one row per death, ordered by (stratum, time).

        ``x_i - abar(t_i)`` with the Efron-averaged risk-set mean; scaled as R
        ``"scaledsch"``: ``n_events * r V + beta``.
        """
        rs, gs = self._rs, self._gs
        # Tied deaths in input order, as R (the sort does not keep it).
        death = rs.death[np.lexsort((rs.order[rs.death], rs.group))]
        group = rs.group  # unchanged: the lexsort only permutes within groups
        resid = rs.x[death] - mean_covariate(rs, gs)[group]
        if scaled:
            resid = self.n_events * resid @ self.var + self.coef
        return Schoenfeld(time=rs.stop[death], residuals=resid, row=rs.order[death], scaled=scaled)

    def baseline_hazard(self, centered: bool = False) -> BaselineHazard:
        """Cumulative baseline hazard at every distinct time of each stratum.

        As R ``basehaz(fit, centered)``: at covariates 0 (``centered=False``) or at
        ``means`` (offset taken as 0). Increments ``m sum_k 1/(S0 - f_k D0)`` (Efron) or
        ``sum w / S0`` (Breslow), as R ``survfit.coxph``.
        """
        rs, gs = self._rs, self._gs
        ref = 0.0 if centered else -float(self.means @ self.coef)
        inc = gs.weights["c"] * np.exp(ref - gs.shift[rs.group_stratum])
        times, strata, cum = [], [], []
        for s in np.unique(rs.stratum):
            t_all = np.unique(rs.stop[rs.stratum == s])
            in_s = rs.group_stratum == s
            csum = np.concatenate([[0.0], np.cumsum(inc[in_s])])
            cum.append(csum[np.searchsorted(rs.group_time[in_s], t_all, side="right")])
            times.append(t_all)
            strata.append(np.full(t_all.shape[0], s))
        return BaselineHazard(
            time=np.concatenate(times), cumhaz=np.concatenate(cum), stratum=np.concatenate(strata)
        )

    def predict_survival(
        self,
        x_new: ArrayLike,
        times: ArrayLike,
        strata: ArrayLike | None = None,
        robust: bool | None = None,
    ) -> SurvivalPrediction:
        """Survival curves for new covariate rows (see ``predict_survival``)."""
        return predict_survival(self, x_new, times, strata, robust)


@dataclass(frozen=True, eq=False)
class Schoenfeld:
    time: FloatArray
    residuals: FloatArray  # (deaths, p)
    row: NDArray[np.intp]  # input row of each death
    scaled: bool


@dataclass(frozen=True, eq=False)
class BaselineHazard:
    time: FloatArray
    cumhaz: FloatArray
    stratum: NDArray[np.intp]  # stratum code (index into sorted unique strata labels)


@dataclass(frozen=True, eq=False)
class SurvivalPrediction:
    """Predicted survival, rows = new subjects, columns = ``times``; log-type CI."""

    times: FloatArray
    survival: FloatArray
    cumhaz: FloatArray
    se_cumhaz: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    level: float
    robust: bool  # True when the coefficient term of the variance used ``fit.robust_var``


@dataclass(frozen=True, eq=False)
class ZphResult:
    """R ``cox.zph``: rows ``names + ("GLOBAL",)``; transformed time per death."""

    names: tuple[str, ...]
    chisq: FloatArray
    df: NDArray[np.intp]
    p_value: FloatArray
    transform: str
    x: FloatArray  # transformed event times (ordered by stratum, time)
    time: FloatArray


# --------------------------------------------------------------------------- input


def _as_float(name: str, values: ArrayLike, n: int | None = None) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(name, f"{name} must be numeric") from exc
    if arr.ndim != 1:
        raise ArgumentError(name, f"{name} must be one-dimensional")
    if n is not None and arr.shape[0] != n:
        raise ArgumentError(name, f"{name} has length {arr.shape[0]}, expected {n}")
    if not np.all(np.isfinite(arr)):
        raise ArgumentError(name, f"{name} contains NaN or infinite values")
    return arr


def _codes(name: str, values: ArrayLike, n: int) -> NDArray[np.intp]:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ArgumentError(name, f"{name} must be one-dimensional of length {n}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ArgumentError(name, f"{name} contains NaN")
    if arr.dtype.kind == "O" and any(v is None for v in arr.tolist()):
        raise ArgumentError(name, f"{name} contains missing values (None)")
    if arr.dtype.kind in "iu" and arr.shape[0]:
        low = int(arr.min())
        span = int(arr.max()) - low + 1
        if span <= 4 * arr.shape[0]:
            # Dense integer ids (patients, pairs): the same codes as np.unique's inverse
            # (rank among the distinct values) by counting, without sorting the rows.
            present = np.zeros(span, dtype=np.intp)
            present[arr - low] = 1
            return np.asarray((np.cumsum(present) - 1)[arr - low], dtype=np.intp)
    try:
        return np.unique(arr, return_inverse=True)[1].astype(np.intp)
    except TypeError as exc:  # e.g. a mix of numbers and strings
        raise ArgumentError(name, f"{name} mixes values that cannot be ordered: {exc}") from exc


def _coded(column: FloatArray) -> bool:
    """All values in {-1, 0, 1} (R ``nocenter``); a cheap look at the head first."""
    head = column[:1024]
    if not np.all((head == 0) | (np.abs(head) == 1)):
        return False
    return bool(np.all((column == 0) | (np.abs(column) == 1)))


def _check_identifiable(
    imat: FloatArray, rs: RiskSets, n_events: float, names: Sequence[str]
) -> None:
    """Name constant or collinear covariates from the information matrix at beta = 0.

    ``I(0)`` is a sum of weighted covariances within risk sets, so a covariate that never
    varies within a risk set has a zero diagonal and a linear dependence shows as a
    vanishing Schur complement (sequential Cholesky of the correlation form). Reusing
    ``I(0)`` costs nothing extra on large data.
    """
    # Scale of each column: its centred second moment, so that the check does not depend
    # on the column's mean (a calendar date with a spread of days is not constant). A truly
    # constant column is caught too: its centred values are rounding noise of the mean, and
    # I(0) is that noise's within-risk-set variance, orders of magnitude smaller.
    spread = np.einsum("ij,ij->j", rs.x, rs.x) / rs.x.shape[0]
    diag = np.diag(imat)
    flat = diag <= _COLLINEAR * n_events * spread
    for j in np.flatnonzero(flat).tolist():
        raise ValueError(f"covariate {names[j]!r} is constant (within every risk set)")
    corr = imat / np.sqrt(np.outer(diag, diag))
    # The Schur complements are the squared diagonal of the Cholesky factor: one O(p^3)
    # factorisation finds the first suspect; the O(p^4) scan below only names partners.
    try:
        schur = np.diag(np.linalg.cholesky(corr)) ** 2
    except np.linalg.LinAlgError:
        first = 1
    else:
        suspects = np.flatnonzero(schur[1:] < 2 * _COLLINEAR)
        if suspects.size == 0:
            return
        first = int(suspects[0]) + 1
    for j in range(first, corr.shape[0]):
        prev = corr[:j, :j]
        coef = np.linalg.solve(prev, corr[:j, j])
        if 1.0 - corr[:j, j] @ coef < _COLLINEAR:
            partners = [repr(names[i]) for i in np.flatnonzero(np.abs(coef) > 1e-6).tolist()]
            raise ValueError(f"covariate {names[j]!r} is collinear with {', '.join(partners)}")


# --------------------------------------------------------------------------- fitting


def _objective(
    rs: RiskSets, beta: FloatArray, theta: FloatArray | None
) -> tuple[GroupSums, float, FloatArray, FloatArray]:
    gs, u, imat = evaluate(rs, beta)
    pll = gs.loglik
    if theta is not None:
        pll -= 0.5 * float(theta @ (beta * beta))
        u = u - theta * beta
        imat = imat + np.diag(theta)
    return gs, pll, u, imat


def _clustered_scores(
    rs: RiskSets, gs: GroupSums, clusters: NDArray[np.intp] | None
) -> tuple[FloatArray, FloatArray]:
    """``u = 1'T`` and ``T'T`` for T the weighted score residuals summed within clusters."""
    t = cluster_sums(score_residuals(rs, gs, weighted=True), clusters)
    return t.sum(axis=0), np.dot(t.T, t)


def _solve(imat: FloatArray, rhs: FloatArray, names: Sequence[str]) -> FloatArray:
    try:
        return linalg.cho_solve(linalg.cho_factor(imat), rhs)
    except linalg.LinAlgError as exc:
        raise ValueError(
            "information matrix is singular; check covariates " + ", ".join(names)
        ) from exc


@dataclass(frozen=True, slots=True)
class _CoxInput:
    """The validated arguments of :func:`cox`, as arrays of one row per observation."""

    stop: FloatArray
    event: NDArray[np.bool_]
    x: FloatArray
    labels: tuple[str, ...]
    weights: FloatArray
    offset: FloatArray
    start: FloatArray | None
    stratum: NDArray[np.intp]
    clusters: NDArray[np.intp] | None
    theta: FloatArray | None  # ridge penalty per covariate


def _check_options(ties: str, level: float, max_iter: int) -> None:
    if ties not in ("efron", "breslow"):
        raise ArgumentError(
            "ties", f"ties must be 'efron' or 'breslow', got {ties!r}", allowed="efron, breslow"
        )
    if not 0.0 < level < 1.0:
        raise ArgumentError("level", "level must lie in (0, 1)")
    if max_iter < 1:
        raise ArgumentError("max_iter", f"max_iter must be >= 1, got {max_iter}")


def _outcome(time: ArrayLike, event: ArrayLike) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Stop times (>= 0) and 0/1 events with at least one event."""
    stop = _as_float("time", time)
    n = stop.shape[0]
    if n == 0:
        raise ArgumentError("time", "time is empty")
    if np.any(stop < 0):
        raise ArgumentError("time", "time contains negative values")
    ev_raw = _as_float("event", event, n)
    if not np.all((ev_raw == 0) | (ev_raw == 1)):
        raise ArgumentError("event", "event must contain only 0/1 (or booleans)")
    ev = ev_raw.astype(bool)
    if not ev.any():
        raise ArgumentError("event", "event contains no events; the Cox model needs at least one")
    return stop, ev


def _covariates(
    X: ArrayLike, n: int, names: Sequence[str] | None
) -> tuple[FloatArray, tuple[str, ...]]:
    """The n x p covariate matrix (finite, p >= 1) and its column labels."""
    try:
        x = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ArgumentError("X", "X must be numeric") from exc
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] != n:
        raise ArgumentError("X", f"X must have {n} rows (one per time), got shape {x.shape}")
    # A finite total implies finite entries (NaN/inf propagate); only an overflowing
    # total needs the element-wise check, which avoids an n x p boolean temporary.
    with np.errstate(over="ignore", invalid="ignore"):
        total = x.sum()
    if not np.isfinite(total):
        if not np.all(np.isfinite(x)):
            raise ArgumentError("X", "X contains NaN or infinite values")
        raise ArgumentError(
            "X", "X has values so large that their sum overflows; rescale the covariates"
        )
    p = x.shape[1]
    if p == 0:
        raise ArgumentError("X", "X has no columns")
    labels = tuple(names) if names is not None else tuple(f"x{j + 1}" for j in range(p))
    if len(labels) != p:
        raise ArgumentError("names", f"names has {len(labels)} entries, X has {p} columns")
    return x, labels


def _inputs(
    time: ArrayLike,
    event: ArrayLike,
    X: ArrayLike,
    strata: ArrayLike | None,
    weights: ArrayLike | None,
    cluster: ArrayLike | None,
    entry: ArrayLike | None,
    offset: ArrayLike | None,
    penalty: float | ArrayLike | None,
    names: Sequence[str] | None,
) -> _CoxInput:
    """Check every argument of :func:`cox`; ``ArgumentError`` names the first bad one."""
    stop, ev = _outcome(time, event)
    n = stop.shape[0]
    x, labels = _covariates(X, n, names)
    w = np.ones(n) if weights is None else _as_float("weights", weights, n)
    if np.any(w <= 0):
        raise ArgumentError("weights", "weights must be positive")
    off = np.zeros(n) if offset is None else _as_float("offset", offset, n)
    start = None if entry is None else _as_float("entry", entry, n)
    if start is not None and np.any(start >= stop):
        bad = int(np.flatnonzero(start >= stop)[0])
        raise ArgumentError(
            "entry", f"entry must be < time in every row (row {bad} is not)", index=bad
        )
    stratum = np.zeros(n, dtype=np.intp) if strata is None else _codes("strata", strata, n)
    clusters = None if cluster is None else _codes("cluster", cluster, n)
    theta: FloatArray | None = None
    if penalty is not None:
        theta = np.broadcast_to(np.asarray(penalty, dtype=np.float64), (x.shape[1],)).copy()
        if np.any(~np.isfinite(theta) | (theta < 0)):
            raise ArgumentError("penalty", "penalty must be finite and >= 0")
    return _CoxInput(stop, ev, x, labels, w, off, start, stratum, clusters, theta)


def _risk_sets(data: _CoxInput, efron: bool) -> RiskSets:
    """Sorted, centred risk sets. Centring as R: 0 for covariates coded within
    {-1, 0, 1}, else the column mean (weighted for right-censored data, unweighted for
    counting-process data)."""
    x, w = data.x, data.weights
    coded = np.array([_coded(x[:, j]) for j in range(x.shape[1])], dtype=bool)
    mean = x.mean(axis=0) if data.start is not None else (w @ x) / w.sum()
    center = np.where(coded, 0.0, mean)
    return build_risksets(
        data.stop, data.event, x, center, w, data.offset, data.stratum, data.start, efron
    )


@dataclass(frozen=True, slots=True)
class _Fit:
    """Where Newton-Raphson stopped: coefficients, their evaluation and the iterations."""

    beta: FloatArray
    gs: GroupSums
    u: FloatArray
    imat: FloatArray
    iterations: int
    converged: bool


def _newton_raphson(
    rs: RiskSets,
    theta: FloatArray | None,
    labels: Sequence[str],
    pll0: float,
    step0: FloatArray,
    max_iter: int,
) -> _Fit:
    """R ``coxph.fit``: Newton steps from beta = 0 with step halving while the partial
    log-likelihood falls; stops when ``|1 - l_old/l_new| <= eps``."""
    beta = np.zeros(len(labels))
    pll = pll0
    new_beta = beta + step0
    halving = False
    for iteration in range(1, max_iter + 1):
        gs_new, pll_new, u_new, imat_new = _objective(rs, new_beta, theta)
        if not np.isfinite(pll_new):
            pll_new = -np.inf
        if not halving and abs(1.0 - pll / pll_new) <= _EPS:
            return _Fit(new_beta, gs_new, u_new, imat_new, iteration, True)
        if iteration == max_iter:
            return _Fit(new_beta, gs_new, u_new, imat_new, iteration, False)
        if pll_new < pll:
            halving = True
            new_beta = (new_beta + beta) / 2.0
        else:
            halving = False
            beta, pll = new_beta, pll_new
            new_beta = beta + _solve(imat_new, u_new, labels)
        del gs_new  # released before the next evaluation
    raise AssertionError("unreachable: the loop returns at max_iter")


def _check_estimable(
    fit: _Fit, var: FloatArray, theta: FloatArray | None, labels: Sequence[str], max_iter: int
) -> None:
    """Non-convergence and monotone likelihood (R's ``toler.inf`` check) are errors."""
    if not np.all(np.isfinite(fit.beta)):
        raise ValueError("coefficients overflowed; the model cannot be estimated")
    step = fit.u @ var
    if not fit.converged:
        worst = labels[int(np.argmax(np.abs(step)))]
        raise ValueError(
            f"Newton-Raphson did not converge in {max_iter} iterations "
            f"(largest remaining step: {worst!r}); check for separation or raise max_iter"
        )
    infinite = (np.abs(step) > _EPS) & (np.abs(step) > _TOLER_INF * np.abs(fit.beta))
    if theta is None and infinite.any():
        bad_names = ", ".join(repr(labels[j]) for j in np.flatnonzero(infinite).tolist())
        raise ValueError(
            f"log-likelihood converged while coefficient(s) {bad_names} diverge: "
            "monotone likelihood (infinite hazard ratio), e.g. a covariate level without events"
        )


@accepts_formula("cox")  # cox("Surv(time, status) ~ x", data=df): survival/formula.py
@single_threaded_blas()  # a contextmanager is also a decorator: BLAS limited per call
def cox(
    time: ArrayLike,
    event: ArrayLike,
    X: ArrayLike,
    ties: Literal["efron", "breslow"] = "efron",
    strata: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    robust: bool | None = None,
    cluster: ArrayLike | None = None,
    entry: ArrayLike | None = None,
    offset: ArrayLike | None = None,
    penalty: float | ArrayLike | None = None,
    names: Sequence[str] | None = None,
    level: float = 0.95,
    max_iter: int = 20,
) -> CoxResult:
    """Fit a Cox proportional hazards model (R ``coxph`` semantics).

    Also ``cox("Surv(time, status) ~ x + strata(s)", data=df)`` (the formula front end,
    :mod:`locoreg.survival.formula`) and ``cox(df, duration_col=..., event_col=...)``.

    Parameters
    ----------
    time : array_like
        Follow-up (stop) time of each row.
    event : array_like
        1 for an event, 0 for censoring.
    X : array_like
        Covariates, shape (n,) or (n, p).
    ties : {"efron", "breslow"}
        Handling of tied event times.
    strata : array_like, optional
        Stratum of each row: a separate baseline hazard per stratum.
    weights : array_like, optional
        Case weights (> 0).
    robust : bool, optional
        Sandwich variance; ``None`` is R's default (robust with a cluster or with
        non-integer weights).
    cluster : array_like, optional
        Ids for the robust (per-cluster) sandwich variance.
    entry : array_like, optional
        Start of (start, stop] rows (time-varying covariates, left truncation).
    offset : array_like, optional
        A fixed term of the linear predictor.
    penalty : float or array_like, optional
        Ridge θ (scalar or one per covariate).
    names : sequence of str, optional
        Covariate names (default ``x1``, ``x2``, …).
    level : float
        Confidence level of the intervals, in (0, 1).
    max_iter : int
        Most Newton–Raphson iterations.

    Returns
    -------
    CoxResult
        ``coef``, ``se``, ``z``, ``p_value``, ``hazard_ratio`` with ``ci_low``/``ci_high``,
        ``loglik`` (initial, final), ``concordance``, the score, Wald and likelihood-ratio
        tests; ``robust_var`` and ``robust_score_test`` for the sandwich variance.

    Notes
    -----
    The log partial likelihood with Efron's handling of ties, the information matrix and
    the Lin–Wei sandwich D'D are given in the module docstring.
    ``time`` is the stop time, ``entry`` the start of (start, stop] rows: a row is at risk
    at t iff ``entry < t <= time``. ``weights`` are case weights. The sandwich variance
    (per cluster) is used when ``robust=True``, when ``cluster`` is given (even with
    ``robust=False``, which R would ignore with a warning: here ``cluster`` means "ids for the
    robust sandwich variance", the public contract), or - R's default
    for ``robust=None`` - when some weights are not integers; the Wald test then uses it and
    ``robust_score_test`` is filled (R ``summary(fit)$robscore``, Lin & Wei 1989: score
    residuals at beta = 0, weighted and summed per cluster into T; ``u' (T'T)^-1 u`` with
    ``u = 1'T``). With an offset, R evaluates those residuals at linear predictor 0,
    dropping the offset (its robust score test equals that of the model without offset),
    while its model-based score test keeps it; locoreg keeps the offset in both, so there
    ``robust_score_test`` differs from R's ``fit$rscore`` (it equals R's
    ``residuals.coxph`` at beta = 0 with the offset). ``penalty`` is the ridge theta (scalar
    or one per covariate): ``theta/2 sum beta_j^2`` is R ``ridge(x, theta, scale = FALSE)``;
    R's default ``ridge(x, theta)`` is ``penalty = theta * var(x_j)`` (sample variance over
    all rows). Raises ValueError for invalid or degenerate input, non-convergence and
    infinite coefficients (monotone likelihood).

    Weights are case weights as in R: a row of weight 2 is two identical rows. Under Efron,
    tied deaths are counted (d), not weighed: splitting a death into two rows of weight 1/2
    changes the Efron correction (exactly as R does); Breslow depends on weights only.

    References
    ----------
    Cox DR. Regression models and life-tables. J R Stat Soc B 1972;34:187-220. Efron B.
    The efficiency of Cox's likelihood function for censored data. J Am Stat Assoc
    1977;72:557-65. Lin DY, Wei LJ. The robust inference for the Cox proportional hazards
    model. J Am Stat Assoc 1989;84:1074-8. Therneau TM, Grambsch PM. Modeling Survival
    Data: Extending the Cox Model. Springer 2000.
    """
    _check_options(ties, level, max_iter)
    data = _inputs(time, event, X, strata, weights, cluster, entry, offset, penalty, names)
    labels, theta, clusters = data.labels, data.theta, data.clusters
    n, p = data.x.shape
    n_events = int(data.event.sum())
    weighted_events = float(data.weights[data.event].sum())
    if robust is None:  # R's default: robust with clusters or non-integer case weights
        robust = bool(np.any(data.weights != np.floor(data.weights)))
    robust = robust or clusters is not None  # a cluster always means the sandwich
    rs = _risk_sets(data, ties == "efron")
    del data  # the risk sets hold a sorted copy; free the n x p input now

    # at beta = 0: identifiability, the score test, the robust score test, the first step
    gs0, pll0, u0, imat0 = _objective(rs, np.zeros(p), theta)
    if theta is None:
        _check_identifiable(imat0, rs, weighted_events, labels)
    loglik0 = gs0.loglik
    step0 = _solve(imat0, u0, labels)
    score_stat = float(u0 @ step0)
    cl_sorted = None if clusters is None else clusters[rs.order]
    # Robust score test: weighted score residuals at beta = 0 (offset kept) summed per
    # cluster (T); only u = 1'T and T'T are kept, not the n x p residuals.
    null_scores = _clustered_scores(rs, gs0, cl_sorted) if robust else None
    del gs0  # only the last evaluation's group sums (G x p arrays) are kept

    fit = _newton_raphson(rs, theta, labels, pll0, step0, max_iter)
    var = linalg.inv(fit.imat)
    var = (var + var.T) / 2.0
    _check_estimable(fit, var, theta, labels, max_iter)

    robust_var = None
    robust_score = None
    if null_scores is not None:
        # D'D with D = T V (dfbeta summed per cluster) is V (T'T) V.
        robust_var = var @ _clustered_scores(rs, fit.gs, cl_sorted)[1] @ var
        robust_var = (robust_var + robust_var.T) / 2.0
        u_null, tt_null = null_scores
        robust_score = _chisq(float(u_null @ _solve(tt_null, u_null, labels)), p)
    wald_var = var if robust_var is None else robust_var
    wald = float(fit.beta @ _solve(wald_var, fit.beta, labels))
    return CoxResult(
        coef=fit.beta,
        var=var,
        robust_var=robust_var,
        loglik=(loglik0, fit.gs.loglik),
        score_test=_chisq(score_stat, p),
        wald_test=_chisq(wald, p),
        lr_test=_chisq(2.0 * (fit.gs.loglik - loglik0), p),
        robust_score_test=robust_score,
        n=n,
        n_events=n_events,
        iterations=fit.iterations,
        names=labels,
        ties=ties,
        level=level,
        means=rs.center,
        penalty=theta,
        _rs=rs,
        _gs=fit.gs,
    )


# --------------------------------------------------------------------------- prediction


def predict_survival(
    fit: CoxResult,
    x_new: ArrayLike,
    times: ArrayLike,
    strata: ArrayLike | None = None,
    robust: bool | None = None,
) -> SurvivalPrediction:
    """Survival curves for new covariate rows, as R ``survfit(fit, newdata)``.

    ``H(t | x) = exp((x - means)'beta) sum_{t_g <= t} dH0_g`` with standard error
    ``sqrt(exp(2 lp) [sum varh_g + d(t)' V d(t)])``, ``d(t) = sum (xbar_g - (x - means) dH0_g)``
    (Therneau & Grambsch 2000, sec. 10.2; R ``agsurv``); log-type CI ``S exp(-/+ z se)``.
    ``strata`` are stratum codes (indices into the sorted unique stratum labels); offsets
    are taken as 0.

    V is the coefficient variance: as R ``survfit.coxph`` (survival 3.x), which uses
    ``fit$var``, it is ``fit.robust_var`` when the fit has one (``robust=None``, the
    default, or ``True``) and the model-based ``fit.var`` otherwise or with
    ``robust=False``. Like R, only the ``d' V d`` term (uncertainty in beta) becomes
    robust: ``varh_g`` (``m sum_k 1/(S0 - f_k D0)^2``, uncertainty in the baseline hazard
    given beta) stays model-based, so for clustered data these are not full
    infinitesimal-jackknife bands for S(t | x); R passes the cluster to ``coxsurv.fit`` but
    does not use it there. This matches R to rounding.
    """
    if robust is None:
        robust = fit.robust_var is not None
    if robust and fit.robust_var is None:
        raise ValueError("robust=True needs a fit with a robust variance (robust or cluster)")
    vmat = fit.robust_var if robust and fit.robust_var is not None else fit.var
    rs, gs = fit._rs, fit._gs
    p = len(fit.names)
    xn = np.asarray(x_new, dtype=np.float64)
    if xn.ndim == 1:
        if p > 1 and xn.shape[0] != p:
            raise ValueError(
                f"x_new must have {p} columns (one row of {p} values), got {xn.shape[0]}"
            )
        xn = xn.reshape(1, p) if p > 1 or xn.shape[0] == 1 else xn[:, None]
    if xn.ndim != 2 or xn.shape[1] != p or not np.all(np.isfinite(xn)):
        raise ValueError(f"x_new must be a finite array with {p} columns")
    t = _as_float("times", times)
    m = xn.shape[0]
    if strata is None and np.any(rs.group_stratum != 0):
        raise ValueError("the fit is stratified: give the stratum code of each row of x_new")
    st = np.zeros(m, dtype=np.intp) if strata is None else np.asarray(strata, dtype=np.intp)
    if st.shape != (m,):
        raise ValueError("strata must give one stratum code per row of x_new")
    gw = gs.weights
    z = xn - fit.means
    lp = z @ fit.coef
    xbar = gs.s1 * gw["aa"][:, None] - gs.d1 * gw["ab"][:, None]
    cumhaz = np.zeros((m, t.shape[0]))
    se = np.zeros((m, t.shape[0]))
    for s in np.unique(st):
        in_s = rs.group_stratum == s
        if not in_s.any():
            raise ValueError(f"stratum code {s} has no events in the fit")
        pos = np.searchsorted(rs.group_time[in_s], t, side="right")
        c_cum = np.concatenate([[0.0], np.cumsum(gw["c"][in_s])])[pos]
        v_cum = np.concatenate([[0.0], np.cumsum(gw["aa"][in_s])])[pos]
        xb_cum = np.concatenate([np.zeros((1, p)), np.cumsum(xbar[in_s], axis=0)])[pos]
        rows = np.flatnonzero(st == s)
        risk = np.exp(lp[rows] - gs.shift[s])  # c is scaled by the stratum's shift
        cumhaz[rows] = risk[:, None] * c_cum[None, :]
        d = xb_cum[None, :, :] - z[rows][:, None, :] * c_cum[None, :, None]
        quad = np.einsum("mtp,pq,mtq->mt", d, vmat, d)
        se[rows] = risk[:, None] * np.sqrt(v_cum[None, :] + quad)
    surv = np.exp(-cumhaz)
    zq = norm_ppf(0.5 + fit.level / 2)
    return SurvivalPrediction(
        times=t,
        survival=surv,
        cumhaz=cumhaz,
        se_cumhaz=se,
        ci_low=surv * np.exp(-zq * se),
        ci_high=np.minimum(surv * np.exp(zq * se), 1.0),
        level=fit.level,
        robust=bool(robust),
    )


# --------------------------------------------------------------------------- PH test


def _km_transform(rs: RiskSets) -> FloatArray:
    """``1 - S(t-)`` per sorted row with S the unweighted pooled Kaplan-Meier."""
    u, idx = np.unique(rs.stop, return_inverse=True)
    deaths = np.bincount(idx, weights=rs.event.astype(np.float64), minlength=u.shape[0])
    at_risk = rs.stop.shape[0] - np.searchsorted(np.sort(rs.stop), u, side="left")
    if rs.entry is not None:
        at_risk = at_risk - (rs.entry.shape[0] - np.searchsorted(np.sort(rs.entry), u, side="left"))
    surv = np.cumprod(1.0 - deaths / at_risk)
    before = np.searchsorted(u, rs.stop, side="left")
    return 1.0 - np.concatenate([[1.0], surv])[before]


def cox_zph(fit: CoxResult, transform: str = "km", global_test: bool = True) -> ZphResult:
    """Test of proportional hazards, R >= 3.0 ``cox.zph`` (score test form).

    Parameters
    ----------
    fit : CoxResult
        A fit of :func:`cox`.
    transform : {"km", "rank", "identity", "log"}
        The transform g of time (R's named transforms).
    global_test : bool
        Add the global test over all covariates.

    Returns
    -------
    ZphResult
        ``names`` (the covariates, then GLOBAL) with ``chisq``, ``df`` and ``p_value``;
        the transformed event times ``x`` at ``time``.

    Notes
    -----
    Adds ``x_j g(t)`` for centred transformed time g and computes, at the fitted beta, the
    score test ``u' I^-1 u`` with ``u = (0, sum_deaths w g (x - abar))`` and the
    information of the augmented model; per covariate and GLOBAL (Grambsch & Therneau
    1994; Therneau & Grambsch 2000, ch. 6). The transforms are R's named ones, applied
    to the (stop) time t of every row: ``"km"`` ``1 - S(t-)`` with S the unweighted pooled
    Kaplan-Meier (the default), ``"rank"`` ``rank(t)`` (ties averaged), ``"identity"`` t
    and ``"log"`` ``log(t)`` (event times must be > 0). g centres the transform on its mean
    over the events. (R's user-supplied function transforms are not offered.)

    References
    ----------
    Grambsch PM, Therneau TM. Proportional hazards tests and diagnostics based on
    weighted residuals. Biometrika 1994;81:515-26. Therneau TM, Grambsch PM. Modeling
    Survival Data. Springer 2000, ch. 6.
    """
    rs, gs = fit._rs, fit._gs
    if transform == "km":
        tt = _km_transform(rs)
    elif transform == "rank":
        from scipy.stats import rankdata  # the only use of scipy.stats (slow to import)

        tt = rankdata(rs.stop)
    elif transform == "identity":
        tt = rs.stop.copy()
    elif transform == "log":
        if np.any(rs.stop[rs.event] <= 0):
            raise ValueError("transform 'log' needs event times > 0")
        with np.errstate(divide="ignore", invalid="ignore"):
            tt = np.log(rs.stop)  # only event rows are used (censored ones may be <= 0)
    else:
        raise ValueError("transform must be 'km', 'rank', 'identity' or 'log'")
    g = tt - tt[rs.event].mean()
    g_group = g[rs.death[rs.group_first]]
    p = len(fit.names)
    _, i11 = score_and_information(rs, gs)
    _, i12 = score_and_information(rs, gs, g_group)
    _, i22 = score_and_information(rs, gs, g_group * g_group)
    if fit.penalty is not None:
        i11 = i11 + np.diag(fit.penalty)
        i22 = i22 + np.diag(fit.penalty)
    imat = np.block([[i11, i12], [i12.T, i22]])
    # R stops ("system is computationally singular") where the augmented information is
    # singular, e.g. a transform that is constant over the event times.
    scale = np.sqrt(np.abs(np.diag(imat)))
    if not np.all(scale > 0) or np.linalg.cond(imat / np.outer(scale, scale)) > 1e12:
        raise ValueError(
            f"the proportional-hazards test is singular with transform {transform!r} "
            "(is the transformed time constant over the events?)"
        )
    resid = rs.x[rs.death] - mean_covariate(rs, gs)[rs.group]
    u2 = (rs.weight[rs.death] * g[rs.death]) @ resid
    chisq = np.empty(p + 1 if global_test else p)
    for j in range(p):
        kk = [*range(p), p + j]
        u = np.zeros(p + 1)
        u[-1] = u2[j]
        chisq[j] = u @ np.linalg.solve(imat[np.ix_(kk, kk)], u)
    if global_test:
        u = np.concatenate([np.zeros(p), u2])
        chisq[p] = u @ np.linalg.solve(imat, u)
    df = np.ones(chisq.shape[0], dtype=np.intp)
    if global_test:
        df[-1] = p
    return ZphResult(
        names=fit.names + (("GLOBAL",) if global_test else ()),
        chisq=chisq,
        df=df,
        p_value=chi2_sf(chisq, df),
        transform=transform,
        x=tt[rs.death],
        time=rs.stop[rs.death],
    )
