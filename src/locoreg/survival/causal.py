"""Tools for observational comparisons: propensity scores, IPTW, matching, balance, E-values.

* ``propensity_score``: logistic regression by Newton–Raphson (= IRLS, R ``glm`` with
  ``binomial()``), intercept added.
* ``iptw_weights``: inverse probability of treatment weights for the ATE,
  w = T/e + (1 - T)/(1 - e); stabilised by P(T = 1) and P(T = 0) (Robins, Hernán &
  Brumback 2000); optional truncation at weight quantiles (Cole & Hernán 2008).
* ``match_nearest``: greedy 1:k nearest-neighbour matching on the logit of the propensity
  score with a caliper in standard deviations of the logit (Austin 2011), following the
  greedy rule MatchIt documents for ``method = "nearest"`` (each treated unit in turn, largest
  score first, takes the closest still-free control inside the caliper). Validated against
  an independent brute-force implementation of that rule. MatchIt 4.5.1 (Debian) is not
  the reference: in our checks it returned pairs farther apart than its caliper
  (reproducer in benchmarks/README.md).
* ``standardized_mean_difference``: (m1 - m0) / sqrt((s1^2 + s0^2) / 2) (Austin 2009).
* ``e_value``: VanderWeele & Ding (2017) E-value for a hazard ratio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from locoreg.survival._cox_riskset import single_threaded_blas
from locoreg.survival._dispatch import accepts_formula
from locoreg.survival._util import FloatArray, IntArray, as_float_vector, check_same_length

MatchOrder = Literal["largest", "smallest", "data"]


if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, eq=False)
class PropensityModel:
    """Fitted logistic model; ``coef[0]`` is the intercept."""

    coef: FloatArray
    se: FloatArray
    ps: FloatArray
    logit: FloatArray
    deviance: float
    iterations: int
    names: tuple[str, ...] = ()  # "(Intercept)" then the covariates, from a formula
    n_dropped: int = 0  # rows dropped for missing values (R ``na.omit``)


@dataclass(frozen=True, eq=False)
class MatchResult:
    """Matched sets: row r pairs ``treated[r]`` with ``controls[r, :]`` (-1 = no match)."""

    treated: IntArray
    controls: IntArray
    caliper_width: float

    @property
    def pairs(self) -> IntArray:
        """(treated index, control index) for every realised match, shape (m, 2)."""
        rows, cols = np.nonzero(self.controls >= 0)
        return np.column_stack([self.treated[rows], self.controls[rows, cols]])

    @property
    def n_matched_treated(self) -> int:
        return int(np.count_nonzero((self.controls >= 0).any(axis=1)))


@dataclass(frozen=True, eq=False)
class EValue:
    """E-values for the point estimate and for the confidence limit closest to 1."""

    point: float
    ci: float | None
    rr_point: float


def _as_treatment(treated: ArrayLike, n: int | None = None) -> NDArray[np.bool_]:
    arr = as_float_vector(np.asarray(treated, dtype=float), "treated")
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError("treated must be 0/1 or boolean")
    if n is not None:
        check_same_length(n, treated=arr)
    if arr.all() or not arr.any():
        raise ValueError("treated must contain both treated (1) and control (0) units")
    return arr == 1


def _as_matrix(X: ArrayLike) -> FloatArray:
    x = np.asarray(X, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise ValueError("X must be a finite 2-D array (rows = patients)")
    return x


@accepts_formula("propensity_score")  # formula front end: survival/formula.py
def propensity_score(
    X: ArrayLike, treated: ArrayLike, *, max_iter: int = 50, tol: float = 1e-10
) -> PropensityModel:
    """Logistic regression of treatment on ``X`` (intercept added), as R ``glm``.

    Parameters
    ----------
    X : array_like
        Covariates (n, p). Or a formula ``"treated ~ age + sex"`` with ``data=``.
    treated : array_like
        0/1 treatment indicator.
    max_iter : int
        Newton–Raphson iterations allowed.
    tol : float
        Relative change of the deviance at convergence (glm's ``epsilon`` rule).

    Returns
    -------
    PropensityModel
        ``coef`` (intercept first), ``se``, ``ps``, ``logit``, ``deviance``.

    Notes
    -----
    ``beta <- beta + (X'WX)^{-1} X'(y - p)``, ``W = diag(p(1 - p))``; standard errors
    from ``(X'WX)^{-1}`` at the solution.

    References
    ----------
    Rosenbaum PR, Rubin DB. Biometrika 1983;70:41-55.
    """
    x = _as_matrix(X)
    y = _as_treatment(treated, x.shape[0]).astype(np.float64)
    design = np.column_stack([np.ones(x.shape[0]), x])
    beta = np.zeros(design.shape[1])
    # glm's start: eta = logit((y + 0.5) / 2)
    eta = np.log((y + 0.5) / (1.5 - y))
    dev_old = np.inf
    iteration = 0
    while iteration < max_iter:  # Newton iterations, not rows
        iteration += 1
        p = 1.0 / (1.0 + np.exp(-eta))
        w = p * (1.0 - p)
        z = eta + (y - p) / w
        beta = np.linalg.solve(design.T @ (design * w[:, None]), design.T @ (w * z))
        eta = design @ beta
        p = 1.0 / (1.0 + np.exp(-eta))
        dev = -2.0 * float(np.sum(y * np.log(p) + (1.0 - y) * np.log1p(-p)))
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol:
            break
        dev_old = dev
    else:
        raise ValueError("propensity_score did not converge (separation in X?)")
    p = 1.0 / (1.0 + np.exp(-eta))
    info = design.T @ (design * (p * (1.0 - p))[:, None])
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    return PropensityModel(np.asarray(beta, dtype=np.float64), se, p, eta, dev, iteration)


@single_threaded_blas()  # many small products: BLAS threads only wait (as in cox)
def pooled_logistic(
    X: ArrayLike,
    at_risk: ArrayLike,
    outcome: ArrayLike,
    *,
    max_iter: int = 50,
    tol: float = 1e-10,
) -> tuple[FloatArray, FloatArray]:
    """Pooled (discrete-time) logistic regression on unit × period rows, without expanding them.

    Parameters
    ----------
    X : array_like
        Baseline covariates (n, p), the same in every period of a unit.
    at_risk : array_like
        Boolean (n, K): unit ``i`` contributes a row to period ``k``.
    outcome : array_like
        0/1 (n, K): the outcome of that row (ignored where not at risk).
    max_iter, tol : as :func:`propensity_score` (glm's start and deviance rule).

    Returns
    -------
    (alpha, beta)
        ``alpha`` (K,): one intercept per period; ``beta`` (p,): covariate effects.

    Notes
    -----
    The model ``logit p_ik = alpha_k + x_i' beta`` is the one :func:`propensity_score`
    fits on the stacked rows ``[e_k, x_i]`` (one indicator per period, or an
    intercept plus K − 1 indicators: the same fitted probabilities), by the same
    iteratively reweighted least squares from the same start. Because every row of
    unit ``i`` repeats ``x_i``, the cross-products reduce to per-unit and per-period
    sums: with ``w_ik`` the IRLS weights (0 off risk),
    ``X'WX = X' diag(sum_k w_ik) X``, period block ``diag(sum_i w_ik)``, cross block
    ``w' X`` — O(n p²) per iteration instead of O(n K p²), and no (n K) × (K + p)
    design matrix. The per-cell work of an iteration (the new fit and its deviance, the
    next weights and working responses) is numpy's vectorised exp and log1p and one
    compiled pass over the cells (``_logistic_kernels``).
    """
    x = _as_matrix(X)
    risk = np.asarray(at_risk, dtype=bool)
    y = np.where(risk, np.asarray(outcome, dtype=np.float64), 0.0)
    n, k = risk.shape
    if x.shape[0] != n or y.shape != risk.shape:
        raise ValueError("X, at_risk and outcome must have the same number of rows")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("outcome must be 0/1")
    if not risk.any(axis=0).all() or not y.any() or y[risk].all():
        raise ValueError("every period needs rows at risk, and outcome both 0 and 1")
    from locoreg.survival import _logistic_kernels as kernels  # numba: on first use

    p_cols = x.shape[1]
    risk = np.ascontiguousarray(risk)
    y = np.ascontiguousarray(y)
    w, row_w, row_u = np.empty((n, k)), np.empty(n), np.empty(n)
    col_w, col_u = np.empty(k), np.empty(k)

    def fitted(eta: FloatArray) -> float:
        """The fit at ``eta``: its deviance; the next iteration's weights into w, row_*, col_*."""
        q = np.exp(-eta)
        return float(
            kernels.irls_pass(
                risk, y, eta, 1.0 / (1.0 + q), np.log1p(q), w, row_w, col_w, row_u, col_u
            )
        )

    fitted(np.where(risk, np.log((y + 0.5) / (1.5 - y)), 0.0))  # glm's start
    dev_old = np.inf
    theta = np.zeros(k + p_cols)
    info = np.empty((k + p_cols, k + p_cols))
    iteration = 0
    while iteration < max_iter:  # Newton iterations, not rows
        iteration += 1
        info[:k, :k] = np.diag(col_w)
        info[:k, k:] = w.T @ x
        info[k:, :k] = info[:k, k:].T
        info[k:, k:] = x.T @ (x * row_w[:, None])
        rhs = np.concatenate([col_u, x.T @ row_u])
        theta = np.linalg.solve(info, rhs)
        dev = fitted(theta[None, :k] + (x @ theta[k:])[:, None])
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol:
            break
        dev_old = dev
    else:
        raise ValueError("pooled_logistic did not converge (separation in X?)")
    return np.asarray(theta[:k], dtype=np.float64), np.asarray(theta[k:], dtype=np.float64)


@accepts_formula(  # formula front end: survival/formula.py; a Series aligned with data
    "iptw_weights", returns=cast("type[pd.Series[float]]", object)
)
def iptw_weights(
    ps: ArrayLike,
    treated: ArrayLike,
    *,
    stabilized: bool = True,
    trim: tuple[float, float] | None = None,
) -> FloatArray:
    """ATE weights from propensity scores ``ps`` in (0, 1).

    Parameters
    ----------
    ps : array_like
        Propensity scores. Or a formula ``"treated ~ age + sex"`` with ``data=``: the
        propensity model is fitted first and the weights come back as a Series aligned
        with ``data`` (NaN on rows dropped for missing values).
    treated : array_like
        0/1 treatment indicator.
    stabilized : bool
        Multiply by the marginal probability of the group actually received.
    trim : (float, float), optional
        Truncate (winsorise) the weights at their ``lo`` and ``hi`` quantiles (numpy/R
        type-7 quantiles), e.g. ``(0.01, 0.99)``.

    Returns
    -------
    ndarray
        One weight per row.

    Notes
    -----
    ``w = T / e + (1 - T) / (1 - e)``, stabilised ``w P(T = t)``.

    References
    ----------
    Robins JM, Hernan MA, Brumback B. Epidemiology 2000;11:550-60. Austin PC, Stuart EA.
    Stat Med 2015;34:3661-79.
    """
    e = as_float_vector(ps, "ps")
    t = _as_treatment(treated, e.shape[0])
    if np.any((e <= 0) | (e >= 1)):
        raise ValueError("ps must lie strictly between 0 and 1")
    w = np.where(t, 1.0 / e, 1.0 / (1.0 - e))
    if stabilized:
        p1 = float(t.mean())
        w = w * np.where(t, p1, 1.0 - p1)
    if trim is not None:
        lo, hi = trim
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError("trim must be (lo, hi) quantiles with 0 <= lo < hi <= 1")
        w = np.clip(w, *np.quantile(w, [lo, hi]))
    return w


def _treated_order(score: FloatArray, treated_idx: IntArray, order: str) -> IntArray:
    if order == "data":
        return treated_idx
    s = score[treated_idx]
    key = -s if order == "largest" else s
    return treated_idx[np.argsort(key, kind="stable")]


def _match_with_replacement(
    c_sorted: FloatArray, t_score: FloatArray, ratio: int
) -> tuple[IntArray, FloatArray]:
    """k nearest controls (positions in the sorted control array) for every treated unit."""
    n_c = c_sorted.shape[0]
    pos = np.searchsorted(c_sorted, t_score)
    window = pos[:, None] + np.arange(-ratio, ratio)[None, :]
    valid = (window >= 0) & (window < n_c)
    dist = np.where(valid, np.abs(c_sorted[np.clip(window, 0, n_c - 1)] - t_score[:, None]), np.inf)
    best = np.argsort(dist, axis=1, kind="stable")[:, :ratio]
    return np.take_along_axis(window, best, axis=1), np.take_along_axis(dist, best, axis=1)


def _greedy_without_replacement(
    c_sorted: FloatArray, t_score: FloatArray, ratio: int, width: float
) -> IntArray:
    """Sequential greedy matching; returns positions in the sorted control array or -1.

    Each treated unit (in the given order) takes the nearest still-available control;
    ties go to the lower score. Availability is tracked with two path-compressed
    "next free neighbour" maps, so each lookup is amortised O(alpha(n)). The loop is
    inherently sequential (an earlier match changes later ones).
    """
    n_c = c_sorted.shape[0]
    right = list(range(n_c + 1))  # right[i]: smallest free position >= i (n_c = none)
    left = list(range(n_c + 1))  # left[i + 1]: largest free position <= i, 0 = none
    cs = c_sorted.tolist()
    start = np.searchsorted(c_sorted, t_score).tolist()
    scores = t_score.tolist()

    def find(parent: list[int], i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    out = np.full((len(scores), ratio), -1, dtype=np.int64)
    active = [True] * len(scores)
    for r in range(ratio):  # MatchIt: one control per treated unit per round
        for k, (s, p) in enumerate(zip(scores, start, strict=True)):
            if not active[k]:
                continue
            hi = find(right, p)
            lo = find(left, p) - 1  # free position < p
            d_hi = cs[hi] - s if hi < n_c else np.inf
            d_lo = s - cs[lo] if lo >= 0 else np.inf
            pick, dist = (lo, d_lo) if d_lo <= d_hi else (hi, d_hi)
            if pick < 0 or pick >= n_c or dist > width:
                active[k] = False  # no (further) match within the caliper
                continue
            out[k, r] = pick
            right[pick] = pick + 1
            left[pick + 1] = pick
    return out


def match_nearest(
    logit_ps: ArrayLike,
    treated: ArrayLike,
    *,
    ratio: int = 1,
    caliper: float | None = 0.2,
    replace: bool = False,
    order: MatchOrder = "largest",
) -> MatchResult:
    """Greedy nearest-neighbour matching on the logit of the propensity score.

    Parameters
    ----------
    logit_ps : array_like
        Logit of the propensity score per unit.
    treated : array_like
        0/1 treatment indicator.
    ratio : int
        Controls per treated unit (rounds of one control each).
    caliper : float, optional
        In standard deviations of ``logit_ps`` over all units (0.2 as Austin 2011);
        None for no caliper.
    replace : bool
        Match with replacement.
    order : {"largest", "smallest", "data"}
        Order of the treated units without replacement ("largest" score first, MatchIt's
        default for propensity scores; "data" = input order).

    Returns
    -------
    MatchResult
        ``treated``, ``controls`` (-1 = no match), ``caliper_width``.

    Notes
    -----
    A unit with no free control inside the caliper gets no further match. Ties in
    distance go to the control with the lower score, then the lower input index.

    References
    ----------
    Austin PC. Pharm Stat 2011;10:150-61.
    """
    score = as_float_vector(logit_ps, "logit_ps")
    t = _as_treatment(treated, score.shape[0])
    if ratio < 1 or int(ratio) != ratio:
        raise ValueError("ratio must be a positive integer")
    if caliper is not None and caliper <= 0:
        raise ValueError("caliper must be positive or None")
    if order not in ("largest", "smallest", "data"):
        raise ValueError("order must be 'largest', 'smallest' or 'data'")
    width = np.inf if caliper is None else caliper * float(np.std(score, ddof=1))
    t_idx = _treated_order(score, np.flatnonzero(t), order)
    c_idx = np.flatnonzero(~t)
    c_order = np.argsort(score[c_idx], kind="stable")
    c_sorted = score[c_idx][c_order]
    t_score = score[t_idx]
    if replace:
        pos, dist = _match_with_replacement(c_sorted, t_score, ratio)
        pos = np.where(dist <= width, pos, -1)
    else:
        pos = _greedy_without_replacement(c_sorted, t_score, ratio, width)
    controls = np.where(pos >= 0, c_idx[c_order][np.maximum(pos, 0)], -1)
    return MatchResult(t_idx.astype(np.int64), controls.astype(np.int64), width)


def standardized_mean_difference(
    X: ArrayLike, treated: ArrayLike, *, weights: ArrayLike | None = None
) -> FloatArray:
    """Standardised mean difference per column of ``X`` (treated minus control).

    Parameters
    ----------
    X : array_like
        Covariates (n, p).
    treated : array_like
        0/1 treatment indicator.
    weights : array_like, optional
        Weights for the means (e.g. IPT weights).

    Returns
    -------
    ndarray
        One SMD per column.

    Notes
    -----
    ``(m1 - m0) / sqrt((s1^2 + s0^2) / 2)``: means weighted when ``weights`` are given; the
    denominator is always the unweighted pooled SD with sample variances (n - 1), so that
    balance before and after weighting is measured on the same scale (cobalt's default
    ``s.d.denom = "pooled"``; tableone uses the same formula). Binary columns are treated
    like continuous ones.

    References
    ----------
    Austin PC. Stat Med 2009;28:3083-107.
    """
    x = _as_matrix(X)
    t = _as_treatment(treated, x.shape[0])
    w = np.ones(x.shape[0]) if weights is None else as_float_vector(weights, "weights")
    check_same_length(x.shape[0], weights=w)
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")
    m1 = np.average(x[t], axis=0, weights=w[t])
    m0 = np.average(x[~t], axis=0, weights=w[~t])
    pooled = np.sqrt((x[t].var(axis=0, ddof=1) + x[~t].var(axis=0, ddof=1)) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pooled > 0, (m1 - m0) / pooled, np.where(m1 == m0, 0.0, np.inf))


def _rr_from_hr(hr: float, rare: bool) -> float:
    # VanderWeele (2020) conversion for a common outcome; rare outcome: RR ~= HR.
    if rare:
        return hr
    return (1.0 - 0.5 ** np.sqrt(hr)) / (1.0 - 0.5 ** np.sqrt(1.0 / hr))


def _e(rr: float) -> float:
    rr = 1.0 / rr if rr < 1.0 else rr
    return float(rr + np.sqrt(rr * (rr - 1.0)))


def e_value(
    hr: float, ci_low: float | None = None, ci_high: float | None = None, *, rare: bool = False
) -> EValue:
    """E-value for a hazard ratio, as R ``EValue::evalues.HR``.

    Parameters
    ----------
    hr : float
        Hazard ratio.
    ci_low, ci_high : float, optional
        Its confidence limits.
    rare : bool
        The outcome is rare (RR = HR) rather than common.

    Returns
    -------
    EValue
        ``point``, ``ci`` (None without limits) and the RR used.

    Notes
    -----
    ``E = RR + sqrt(RR (RR - 1))`` with RR (or 1/RR below 1) from the HR via the
    common-outcome conversion ``RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))``, or RR = HR
    when ``rare``. CI: the same for the limit closest to 1, and 1 if the interval
    includes 1.

    References
    ----------
    VanderWeele TJ, Ding P. Ann Intern Med 2017;167:268-74.
    """
    for name, v in (("hr", hr), ("ci_low", ci_low), ("ci_high", ci_high)):
        if v is not None and not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive finite number")
    if ci_low is not None and ci_high is not None and not ci_low <= hr <= ci_high:
        raise ValueError("hr must lie between ci_low and ci_high")
    rr = _rr_from_hr(hr, rare)
    limit = ci_low if hr >= 1 else ci_high
    if limit is None:
        ci = None
    elif (hr >= 1 and limit <= 1) or (hr < 1 and limit >= 1):
        ci = 1.0
    else:
        ci = _e(_rr_from_hr(limit, rare))
    return EValue(_e(rr), ci, float(rr))
