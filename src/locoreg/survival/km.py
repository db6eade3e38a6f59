"""Kaplan–Meier and Nelson–Aalen estimators, numerically identical to R ``survfit``.

Kaplan–Meier (product-limit) estimator at the distinct exit times t_j::

    S(t) = prod_{t_j <= t} (1 - d_j / n_j)

with weighted numbers at risk n_j = sum_i w_i 1{entry_i < t_j <= time_i} and weighted
events d_j. Variance, as R ``survfit``:

* ``"greenwood"`` (Greenwood 1926): Var(log S(t)) = sum_{t_j <= t} d_j / (n_j (n_j - d_j)).
* ``"robust"`` (infinitesimal jackknife): Var(S(t)) = sum_i (w_i dS(t)/dw_i)^2.
  R uses it by default as soon as a weight is not an integer; we follow that rule.

Pointwise confidence intervals (Kalbfleisch & Prentice 2002; R ``survfit_confint``) with
z = Phi^{-1}(1 - alpha/2) and s = SE(log S):

* ``"log"``: exp(log S -/+ z s), upper capped at 1.
* ``"log-log"`` (default here; R's default is ``"log"``):
  exp(-exp(log(-log S) -/+ z s / log S)), undefined where S is 0 or 1.
* ``"plain"``: S -/+ z S s, clipped to [0, 1].

Nelson–Aalen (Nelson 1972, Aalen 1978): H(t) = sum_{t_j <= t} d_j / n_j with
Var H(t) = sum d_j / n_j^2 (R ``std.chaz``), or the infinitesimal-jackknife variance for
non-integer weights.

Medians and other quantiles follow R ``quantile.survfit``: the first time the curve
reaches 1 - p; where the curve is flat at exactly 1 - p (within sqrt(machine eps)) the
quantile is the midpoint of that flat segment.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
from numpy.typing import ArrayLike

from locoreg.survival._dispatch import accepts_formula
from locoreg.survival._dist import norm_ppf
from locoreg.survival._util import (
    FloatArray,
    IntArray,
    RiskTable,
    SurvivalData,
    as_float_vector,
    risk_table,
    validate,
)

if TYPE_CHECKING:
    import pandas as pd

ConfType = Literal["log", "log-log", "plain"]
Variance = Literal["greenwood", "robust"]
_CONF_TYPES = ("log", "log-log", "plain")
_TOL = float(np.sqrt(np.finfo(np.float64).eps))


@dataclass(frozen=True, eq=False)
class KaplanMeierSummary:
    """The curve read at chosen times, as R ``summary(fit, times = , extend = TRUE)``."""

    times: FloatArray
    at_risk: FloatArray
    survival: FloatArray
    std_err: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray


@dataclass(frozen=True, eq=False)
class KaplanMeier:
    """Kaplan–Meier fit. Arrays are indexed by the distinct exit times ``times``.

    ``std_err`` is the standard error of S(t) itself (R ``summary.survfit``'s
    ``std.err``); ``std_err_log`` is the standard error of log S(t) (R ``survfit``'s
    ``std.err`` when ``logse`` is true).
    """

    times: FloatArray
    survival: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    at_risk: FloatArray
    events: FloatArray
    censored: FloatArray
    std_err: FloatArray
    std_err_log: FloatArray
    median: float
    median_ci: tuple[float, float]
    conf_type: str
    level: float  # confidence level of the intervals
    variance: str
    start_time: float
    formula: str | None = None  # set by the formula front end (``survival.formula``)
    n_dropped: int = 0  # rows dropped for missing values (R ``na.omit``)

    def summary(self, times: ArrayLike | None = None) -> pd.DataFrame:
        """R ``summary(survfit, times=)`` as a DataFrame indexed by time (default: the
        event times): n.risk, n.event, survival, std.err and the CI."""
        from .summary import km_table

        return km_table(self, times)

    def __str__(self) -> str:
        from .summary import format_km

        return format_km(self)

    def quantile(self, p: float) -> tuple[float, float, float]:
        """Time by which a fraction ``p`` has had the event: (estimate, low, high)."""
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must lie in [0, 1]")
        x = np.concatenate([[self.start_time], self.times])
        return (
            _findq(x, np.concatenate([[0.0], 1.0 - self.survival]), p),
            _findq(x, np.concatenate([[0.0], 1.0 - self.ci_low]), p),
            _findq(x, np.concatenate([[0.0], 1.0 - self.ci_high]), p),
        )

    def survival_at(self, times: ArrayLike) -> FloatArray:
        """S(t) at arbitrary times (right-continuous step function, 1 before the first)."""
        t = as_float_vector(times, "times")
        idx = np.searchsorted(self.times, t, side="right") - 1
        return np.where(idx >= 0, self.survival[np.maximum(idx, 0)], 1.0)

    def summary_at(self, times: ArrayLike) -> KaplanMeierSummary:
        """Survival, its SE and CI (this fit's ``conf_type``) and number at risk at ``times``.

        The step function is read as R ``summary(fit, times=, extend=TRUE)``: the last
        value at or before each time; before the first time S = 1, SE 0, CI [1, 1]; NaN
        where R gives NA (S = 0).
        """
        t = as_float_vector(times, "times")
        idx = np.searchsorted(self.times, t, side="right") - 1
        before = idx < 0
        safe = np.maximum(idx, 0)

        def pick(values: FloatArray, start: float) -> FloatArray:
            return np.where(before, start, values[safe])

        return KaplanMeierSummary(
            times=t,
            at_risk=self.at_risk_table(t),
            survival=pick(self.survival, 1.0),
            std_err=pick(self.std_err, 0.0),
            ci_low=pick(self.ci_low, 1.0),
            ci_high=pick(self.ci_high, 1.0),
        )

    def at_risk_table(self, times: ArrayLike) -> FloatArray:
        """Number at risk at the given times, as R ``summary(fit, times=)$n.risk``.

        The risk set at the first recorded time at or after ``t`` (0 beyond the last).
        """
        t = as_float_vector(times, "times")
        idx = np.searchsorted(self.times, t, side="left")
        padded = np.concatenate([self.at_risk, [0.0]])
        return padded[idx]


@dataclass(frozen=True, eq=False)
class NelsonAalen:
    """Nelson–Aalen cumulative hazard with its standard error (R ``cumhaz``/``std.chaz``)."""

    times: FloatArray
    cumulative_hazard: FloatArray
    std_err: FloatArray
    at_risk: FloatArray
    events: FloatArray
    variance: str


def _findq(x: FloatArray, y: FloatArray, p: float) -> float:
    """Port of R survival's internal ``findq`` (quantile of a step curve 1 - S).

    ``y`` is non-decreasing; NaNs (undefined confidence limits) are ignored.
    """
    if not np.any(np.isfinite(y)) or np.nanmax(y) < p:
        return float("nan")
    xmax = x[-1]
    # R: duplicated(y) keeps the first occurrence; NaN counts as a value.
    keyed = np.where(np.isnan(y), np.inf, y)
    _, first = np.unique(keyed, return_index=True)
    keep = np.sort(first)
    x, y = x[keep], y[keep]
    ok = ~np.isnan(y)
    xs, ys = x[ok], y[ok]
    if ys.size == 0:
        return float("nan")

    def first_at_or_above(level: FloatArray) -> float:
        # approx(level, 1:n, p, method="constant", f=1): first knot >= p, NA out of range
        if p < level[0] or p > level[-1]:
            return float("nan")
        return float(xs[int(np.searchsorted(level, p, side="left"))])

    if p == 0:
        return float(x[0])
    lo = first_at_or_above(ys + _TOL)
    hi = first_at_or_above(ys - _TOL)
    quant = (lo + hi) / 2.0
    if not np.isnan(y[-1]) and abs(p - y[-1]) < _TOL:
        quant = (lo + xmax) / 2.0
    return quant


def _confint(
    surv: FloatArray, se_log: FloatArray, conf_type: str, level: float
) -> tuple[FloatArray, FloatArray]:
    """Pointwise limits exactly as R ``survfit_confint`` (NaN where R gives NA)."""
    z = float(norm_ppf(1.0 - (1.0 - level) / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            half = z * se_log * surv
            return np.maximum(surv - half, 0.0), np.minimum(surv + half, 1.0)
        if conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            return np.exp(np.log(xx) - z * se_log), np.minimum(np.exp(np.log(xx) + z * se_log), 1.0)
        xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
        se2 = z * se_log / np.log(xx)
        loglog = np.log(-np.log(xx))
        return np.exp(-np.exp(loglog - se2)), np.exp(-np.exp(loglog + se2))


def _check_options(conf_type: str, level: float, variance: str | None) -> None:
    if conf_type not in _CONF_TYPES:
        raise ValueError(f"conf_type must be one of {_CONF_TYPES}, got {conf_type!r}")
    if not 0.0 < level < 1.0:
        raise ValueError("level must lie strictly between 0 and 1")
    if variance not in (None, "greenwood", "robust"):
        raise ValueError("variance must be None, 'greenwood' or 'robust'")


def _default_variance(data: SurvivalData, variance: str | None) -> str:
    if variance is not None:
        return variance
    # R survfitKM: robust (IJ) variance as soon as one weight is not an integer.
    return "robust" if np.any(data.weights != np.floor(data.weights)) else "greenwood"


def _ij_variance(
    data: SurvivalData, table: RiskTable, inc: FloatArray, jump: FloatArray
) -> FloatArray:
    """Infinitesimal-jackknife variance sum_i (w_i U_i(t))^2 in O(n log n).

    For an estimator whose influence is U_i(t) = sum_{s<=t} (dN_i(s) - Y_i(s) h(s)) g(s)
    (g = 1/n for the Nelson–Aalen H, g = 1/(n - d) for log S), write A = cumsum(h g)
    (``inc``). With entry index e_i and exit index x_i, U_i(t_j) is 0 for j <= e_i,
    -(A_j - A_{e_i}) while at risk, and c_i = delta_i g(x_i) - (A_{x_i} - A_{e_i}) after
    exit. Expanding the square gives running sums over subjects at risk and exited.
    """
    n_t = table.times.shape[0]
    cum = np.cumsum(inc)
    x = table.time_index
    e = np.searchsorted(table.times, data.entry, side="right") - 1  # -1: before all
    a_entry = np.where(e >= 0, cum[np.maximum(e, 0)], 0.0)
    w2 = data.weights**2
    c = (data.status > 0) * jump[x] - (cum[x] - a_entry)

    def running(values: FloatArray, first: IntArray, stop: IntArray) -> FloatArray:
        # sum of values over subjects with first <= j < stop, for every j
        add = np.bincount(first, weights=values, minlength=n_t + 1)
        sub = np.bincount(stop, weights=values, minlength=n_t + 1)
        return np.asarray(np.cumsum(add - sub)[:n_t], dtype=np.float64)

    first = e + 1
    at_risk = [running(w2 * a_entry**p, first, x) for p in (0, 1, 2)]
    middle = cum**2 * at_risk[0] - 2.0 * cum * at_risk[1] + at_risk[2]
    done = np.cumsum(np.bincount(x, weights=w2 * c**2, minlength=n_t))
    return np.maximum(middle, 0.0) + done


def _greenwood_terms(table: RiskTable) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(1 - h, d/(n(n - d)), 1/(n - d)); the last two are 0 where every subject fails."""
    d = table.n_event[:, 0]
    n = table.n_risk
    with np.errstate(divide="ignore", invalid="ignore"):
        one_minus_h = np.where(n > 0, 1.0 - d / n, 1.0)
        inv = np.where((n > 0) & (n > d), 1.0 / (n - d), 0.0)
        inc = np.where(n > 0, d / n, 0.0) * inv
    return one_minus_h, inc, inv


@dataclass(frozen=True, eq=False)
class KaplanMeierGroups(Mapping[Any, KaplanMeier]):
    """One Kaplan–Meier curve per group (``kaplan_meier("Surv(t, s) ~ trt", data=df)``),
    a mapping from the group's value (a tuple for several variables) to its curve;
    ``labels`` are R's strata names (``"trt=1"``)."""

    curves: Mapping[Any, KaplanMeier]
    labels: tuple[str, ...]
    formula: str | None = None
    n_dropped: int = 0

    def __getitem__(self, key: Any) -> KaplanMeier:
        return self.curves[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.curves)

    def __len__(self) -> int:
        return len(self.curves)

    def summary(self, times: ArrayLike | None = None) -> pd.DataFrame:
        """R ``summary(survfit, times=)`` of every curve, stacked (column ``strata``)."""
        import pandas as pd

        from .summary import km_table

        parts = [
            km_table(fit, times).reset_index().assign(strata=label)
            for label, fit in zip(self.labels, self.curves.values(), strict=True)
        ]
        return pd.concat(parts, ignore_index=True).set_index(["strata", "time"])

    def __str__(self) -> str:
        from .summary import _header, format_km

        lines = _header(self.formula, "survfit", self.n_dropped)
        for label, fit in zip(self.labels, self.curves.values(), strict=True):
            lines += [format_km(fit, label), ""]
        return "\n".join(lines).rstrip()


@accepts_formula(  # formula front end: survival/formula.py; a curve per group with "~ g"
    "kaplan_meier", returns=cast("type[KaplanMeier | KaplanMeierGroups]", object)
)
def kaplan_meier(
    time: ArrayLike,
    event: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    conf_type: ConfType = "log-log",
    level: float = 0.95,
    entry: ArrayLike | None = None,
    variance: Variance | None = None,
) -> KaplanMeier:
    """Kaplan–Meier survival curve as R ``survfit(Surv(entry, time, event) ~ 1, weights=)``.

    Parameters
    ----------
    time, event : array_like
        Exit time and 0/1 event indicator (or booleans). Or a formula
        ``"Surv(time, status) ~ group"`` with ``data=`` (one curve per group,
        :class:`KaplanMeierGroups`).
    weights : array_like, optional
        Non-negative case weights (R semantics: weighted counts).
    conf_type : {"log-log", "log", "plain"}
        Pointwise CI transform (default ``"log-log"``; R's default is ``"log"``).
    level : float
        Confidence level of the intervals.
    entry : array_like, optional
        Delayed-entry times (left truncation), ``entry < time``.
    variance : {"greenwood", "robust"}, optional
        Default as R: robust (infinitesimal jackknife) iff a weight is not an integer.

    Returns
    -------
    KaplanMeier
        ``times``, ``survival``, ``ci_low``, ``ci_high``, ``at_risk``, ``median``...;
        ``summary(times=)`` is R's ``summary(survfit, times=)``.

    Notes
    -----
    ``S(t) = prod_{t_j <= t} (1 - d_j / n_j)``; Greenwood
    ``Var log S = sum d_j / (n_j (n_j - d_j))``; CIs and medians as in the module docstring.

    References
    ----------
    Kaplan EL, Meier P. JASA 1958;53:457-81. Greenwood M. 1926. Kalbfleisch JD, Prentice RL.
    The Statistical Analysis of Failure Time Data, 2nd ed., 2002.
    """
    _check_options(conf_type, level, variance)
    data = validate(time, event, weights, entry)
    table = risk_table(data)
    var_kind = _default_variance(data, variance)
    d = table.n_event[:, 0]
    n = table.n_risk
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.asarray(np.cumprod(np.where(n > 0, 1.0 - d / n, 1.0)), dtype=np.float64)
        if var_kind == "greenwood":
            # d == n gives +inf, as R (the curve drops to 0 there).
            se_log = np.sqrt(np.cumsum(np.where(d > 0, d / (n * (n - d)), 0.0)))
            se = surv * se_log
            se = np.where(surv == 0, np.nan, se)
        else:
            _, inc, inv = _greenwood_terms(table)
            se = surv * np.sqrt(_ij_variance(data, table, inc, inv))
            se_log = np.where(se == 0, 0.0, se / surv)
    lo, hi = _confint(surv, se_log, conf_type, level)
    start = 0.0  # R quantile.survfit: curves start at 0 unless start.time is given
    x = np.concatenate([[start], table.times])
    median = _findq(x, np.concatenate([[0.0], 1.0 - surv]), 0.5)
    median_ci = (
        _findq(x, np.concatenate([[0.0], 1.0 - lo]), 0.5),
        _findq(x, np.concatenate([[0.0], 1.0 - hi]), 0.5),
    )
    return KaplanMeier(
        times=table.times,
        survival=surv,
        ci_low=lo,
        ci_high=hi,
        at_risk=n,
        events=d,
        censored=table.n_censor,
        std_err=se,
        std_err_log=se_log,
        median=median,
        median_ci=median_ci,
        conf_type=conf_type,
        level=level,
        variance=var_kind,
        start_time=start,
    )


def nelson_aalen(
    time: ArrayLike,
    event: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    entry: ArrayLike | None = None,
    variance: Variance | None = None,
) -> NelsonAalen:
    """Nelson–Aalen cumulative hazard as R ``survfit(...)$cumhaz`` and ``$std.chaz``.

    Parameters
    ----------
    time, event : array_like
        Exit time and 0/1 event indicator.
    weights, entry : array_like, optional
        Case weights; delayed-entry times.
    variance : {"greenwood", "robust"}, optional
        Default as R (robust iff a weight is not an integer).

    Returns
    -------
    NelsonAalen
        ``cumulative_hazard`` and ``std_err`` at the distinct times.

    Notes
    -----
    ``H(t) = sum_{t_j <= t} d_j / n_j``, ``Var H(t) = sum d_j / n_j^2``.

    References
    ----------
    Nelson W. Technometrics 1972;14:945-66. Aalen O. Ann Stat 1978;6:701-26.
    """
    _check_options("log", 0.95, variance)
    data = validate(time, event, weights, entry)
    table = risk_table(data)
    var_kind = _default_variance(data, variance)
    d = table.n_event[:, 0]
    n = table.n_risk
    with np.errstate(divide="ignore", invalid="ignore"):
        chaz = np.cumsum(np.where(n > 0, d / n, 0.0))
        if var_kind == "greenwood":
            var = np.cumsum(np.where(n > 0, d / n**2, 0.0))
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                inv_n = np.where(n > 0, 1.0 / n, 0.0)
            var = _ij_variance(data, table, d * inv_n**2, inv_n)
    return NelsonAalen(table.times, chaz, np.sqrt(var), n, d, var_kind)


def kaplan_meier_by_group(
    time: ArrayLike, event: ArrayLike, group: ArrayLike, **options: Any
) -> Mapping[Any, KaplanMeier]:
    """One Kaplan–Meier fit per level of ``group`` (sorted levels), as ``survfit(~ group)``.

    Parameters
    ----------
    time, event, group : array_like
        Exit time, 0/1 event indicator and group per row.
    **options
        Passed to :func:`kaplan_meier`; ``weights``/``entry`` arrays are split with the data.

    Returns
    -------
    Mapping
        Group level -> :class:`KaplanMeier`. The formula form
        ``kaplan_meier("Surv(t, s) ~ g", data=df)`` gives the same curves with R's labels.

    Notes
    -----
    Each curve is :func:`kaplan_meier` on the rows of its group.

    References
    ----------
    Kaplan EL, Meier P. JASA 1958;53:457-81.
    """
    g = np.asarray(group)
    t = np.asarray(time)
    e = np.asarray(event)
    if g.shape != t.shape:
        raise ValueError(f"group has shape {g.shape}, expected {t.shape}")
    per_row = {
        k: np.asarray(options.pop(k)) for k in ("weights", "entry") if options.get(k) is not None
    }
    fits: dict[Any, KaplanMeier] = {}
    for level in np.unique(g):  # loop over groups, not rows
        mask = g == level
        extra = {k: v[mask] for k, v in per_row.items()}
        fits[level.item() if hasattr(level, "item") else level] = kaplan_meier(
            t[mask], e[mask], **extra, **options
        )
    return fits
