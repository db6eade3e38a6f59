"""The analysis ladder: the same registry question answered by ever more careful methods.

Each rung estimates the hazard ratio of death for primary-tumour surgery versus
none (HR < 1 favours surgery):

``naive``
    surgery as a baseline covariate, unadjusted Cox. Biased twice: by
    confounding by indication (fitter patients are operated) and by immortal
    time (the months before surgery, when operated patients could not die as
    "operated", are credited to surgery).
``adjusted``
    the same with the baseline covariates; removes measured confounding but
    keeps the immortal-time bias.
``iptw``
    Cox on surgery alone, weighted by stabilised inverse-probability-of-treatment
    weights from a logistic propensity score, robust (sandwich) SE. Same
    immortal-time bias as ``adjusted``.
``matched``
    1:1 nearest-neighbour matching on the logit of the propensity score with a
    caliper of 0.2 SD, Cox with SE robust to the pairing. Same immortal-time bias.
``landmark``
    patients alive and under follow-up at the landmark (12 months by default),
    compared by surgery *by* the landmark, adjusted; time restarts at the
    landmark. Removes immortal time at the cost of dropping early deaths and
    counting later surgery as "no surgery".
``time_dependent``
    surgery as a time-varying covariate ((start, stop] rows: unexposed until
    surgery, exposed after), adjusted. Each person-month is classified by what had
    actually happened by then, so no immortal time.
``emulated_trial``
    clone–censor–weight emulation of a target trial (:mod:`locoreg.cohort.emulation`).

References: Suissa S. Immortal time bias in pharmaco-epidemiology. Am J
Epidemiol 2008;167:492–9. Hernán MA, Robins JM. Using big data to emulate a
target trial when a randomized trial is not available. Am J Epidemiol
2016;183:758–64. Austin PC. An introduction to propensity score methods.
Multivariate Behav Res 2011;46:399–424.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from locoreg.cohort._fit import Estimate, cox_first
from locoreg.cohort.emulation import emulated_trial
from locoreg.cohort.select import LABELS, AnalyticTable

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class LadderSettings:
    """Options of the ladder; the defaults are those of ``locoreg cohort analyze``."""

    covariates: str | Sequence[str] = "full"
    landmark: float = 12.0
    landmark_sensitivity: tuple[float, ...] = (6.0, 18.0, 24.0)
    grace: float = 6.0
    trim: float = 0.01  # IPTW: weights truncated at their trim and 1 - trim quantiles (0 = none)
    caliper: float = 0.2  # matching caliper, in SD of the logit propensity score
    bootstrap: int = 0  # emulated trial: bootstrap replicates for the CI (0 = robust SE)
    seed: int = 20240601


@dataclass(frozen=True)
class BalanceRow:
    covariate: str
    label: str
    smd_before: float
    smd_matched: float
    smd_weighted: float


@dataclass(frozen=True)
class EValue:
    """E-value of the adjusted estimate (VanderWeele & Ding 2017), common-outcome version."""

    point: float
    ci: float
    hr_as_rr: float


@dataclass(frozen=True)
class LadderResult:
    estimates: dict[str, Estimate]
    e_value: EValue
    balance: tuple[BalanceRow, ...]
    landmark_sensitivity: dict[float, Estimate]
    covariates: tuple[str, ...]
    settings: LadderSettings
    n: int
    n_surgery: int
    n_events: int


def covariate_names(settings_covariates: str | Sequence[str]) -> tuple[str, ...]:
    """A named adjustment set (minimal, standard, full) or an explicit list of covariates."""
    from locoreg.cohort.select import COVARIATE_SETS

    if isinstance(settings_covariates, str):
        if settings_covariates not in COVARIATE_SETS:
            raise ValueError(
                f"covariates must be one of {', '.join(COVARIATE_SETS)}, "
                f"got {settings_covariates!r}"
            )
        return COVARIATE_SETS[settings_covariates]
    return tuple(settings_covariates)


def _with(first: FloatArray, X: FloatArray) -> FloatArray:
    return np.column_stack([first, X]) if X.shape[1] else first[:, None]


def naive(table: AnalyticTable) -> Estimate:
    """Unadjusted Cox model with surgery as a baseline covariate."""
    fit = cox_first(table.time, table.event, table.surgery[:, None])
    return Estimate.from_fit("naive", fit)


def adjusted(table: AnalyticTable, names: Sequence[str]) -> Estimate:
    """Cox model with surgery as a baseline covariate plus the covariates ``names``."""
    X, used = table.design(names)
    fit = cox_first(table.time, table.event, _with(table.surgery, X), names=("surgery", *used))
    return Estimate.from_fit("adjusted", fit, covariates=list(used))


@dataclass(frozen=True)
class PropensityModel:
    ps: FloatArray
    logit: FloatArray
    X: FloatArray
    names: tuple[str, ...]


def propensity(table: AnalyticTable, names: Sequence[str]) -> PropensityModel:
    """Logistic propensity score of surgery on the baseline covariates."""
    from locoreg.survival import propensity_score

    X, used = table.design(names)
    fit = propensity_score(X, table.surgery.astype(bool))
    return PropensityModel(np.asarray(fit.ps), np.asarray(fit.logit), X, used)


def iptw_weights_for(model: PropensityModel, treated: FloatArray, trim: float) -> FloatArray:
    """Stabilised ATE weights, truncated at their ``trim`` and ``1 - trim`` quantiles."""
    from locoreg.survival import iptw_weights

    bounds = (trim, 1.0 - trim) if trim > 0 else None
    return np.asarray(
        iptw_weights(model.ps, treated.astype(bool), stabilized=True, trim=bounds),
        dtype=np.float64,
    )


def iptw(
    table: AnalyticTable,
    model: PropensityModel,
    trim: float,
    weights: FloatArray | None = None,
) -> Estimate:
    """Cox on surgery alone, IPT-weighted, robust (sandwich) SE."""
    w = iptw_weights_for(model, table.surgery, trim) if weights is None else weights
    fit = cox_first(table.time, table.event, table.surgery[:, None], weights=w, robust=True)
    return Estimate.from_fit(
        "iptw",
        fit,
        trim=trim,
        weight_max=float(w.max()),
        effective_n=float(w.sum() ** 2 / np.sum(w**2)),
    )


def matched_pairs(model: PropensityModel, treated: FloatArray, caliper: float) -> NDArray[np.int64]:
    """Indices of matched pairs as an (m, 2) array of (treated, control) rows."""
    from locoreg.survival import match_nearest

    res = match_nearest(model.logit, treated.astype(bool), ratio=1, caliper=caliper)
    return np.asarray(res.pairs, dtype=np.int64).reshape(-1, 2)


def matched(
    table: AnalyticTable,
    model: PropensityModel,
    caliper: float,
    pairs: NDArray[np.int64] | None = None,
) -> Estimate:
    """Cox on the 1:1 matched sample, SE robust to the pairing (cluster = pair)."""
    if pairs is None:
        pairs = matched_pairs(model, table.surgery, caliper)
    rows = pairs.ravel()
    pair_id = np.repeat(np.arange(pairs.shape[0]), 2)
    fit = cox_first(
        table.time[rows],
        table.event[rows],
        table.surgery[rows][:, None],
        robust=True,
        cluster=pair_id,
    )
    n_treated = int(table.surgery.sum())
    return Estimate.from_fit(
        "matched",
        fit,
        caliper=caliper,
        pairs=int(pairs.shape[0]),
        unmatched_operated=n_treated - int(pairs.shape[0]),
    )


def landmark(table: AnalyticTable, names: Sequence[str], at: float) -> Estimate:
    """Among patients alive and followed beyond ``at`` months: surgery by ``at`` vs not."""
    keep = table.time > at
    if not keep.any():
        raise ValueError(f"no patient is followed beyond the landmark at {at:g} months")
    sub = table.subset(keep)
    exposed = ((sub.surgery == 1) & (sub.surgery_time <= at)).astype(np.float64)
    X, used = sub.design(names)
    fit = cox_first(sub.time - at, sub.event, _with(exposed, X), names=("surgery", *used))
    return Estimate.from_fit(
        "landmark",
        fit,
        note=f"landmark at {at:g} months",
        landmark_months=at,
        operated_after_landmark=int(((sub.surgery == 1) & (sub.surgery_time > at)).sum()),
    )


def time_dependent_rows(
    table: AnalyticTable,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, NDArray[np.int64]]:
    """(start, stop, event, exposed, patient) rows with surgery as a time-varying covariate.

    An operated patient contributes (0, s] unexposed and (s, t] exposed; a
    surgery recorded at the time of death or last contact (s = t) leaves no
    exposed time, so that patient is unexposed throughout.
    """
    t, s = table.time, table.surgery_time
    operated = (table.surgery == 1) & (s < t)
    idx = np.arange(table.n)
    first = ~operated | (s > 0)  # surgery at time 0: exposed from the start
    stop1 = np.where(operated, s, t)
    ev1 = np.where(operated, 0.0, table.event)
    op = idx[operated]
    start = np.concatenate([np.zeros(int(first.sum())), s[op]])
    stop = np.concatenate([stop1[first], t[op]])
    event = np.concatenate([ev1[first], table.event[op]])
    exposed = np.concatenate([np.zeros(int(first.sum())), np.ones(op.size)])
    patient = np.concatenate([idx[first], op])
    return start, stop, event, exposed, patient


def time_dependent(table: AnalyticTable, names: Sequence[str]) -> Estimate:
    """Adjusted Cox model with surgery as a time-varying covariate ((start, stop] rows)."""
    start, stop, event, exposed, patient = time_dependent_rows(table)
    X, used = table.design(names)
    fit = cox_first(
        stop,
        event,
        _with(exposed, X[patient]),
        entry=start,
        n_patients=table.n,
        names=("surgery", *used),
    )
    return Estimate.from_fit("time_dependent", fit, rows=int(stop.size), covariates=list(used))


def balance(
    model: PropensityModel, table: AnalyticTable, pairs: NDArray[np.int64], w: FloatArray
) -> tuple[BalanceRow, ...]:
    """Standardised mean differences before matching, after matching and after weighting."""
    from locoreg.survival import standardized_mean_difference as smd

    treated = table.surgery.astype(bool)
    rows = pairs.ravel()
    before = np.atleast_1d(np.asarray(smd(model.X, treated), dtype=float))
    after = np.atleast_1d(np.asarray(smd(model.X[rows], treated[rows]), dtype=float))
    weighted = np.atleast_1d(np.asarray(smd(model.X, treated, weights=w), dtype=float))
    return tuple(
        BalanceRow(name, LABELS.get(name, name), float(b), float(a), float(c))
        for name, b, a, c in zip(model.names, before, after, weighted, strict=True)
    )


def e_value_of(estimate: Estimate) -> EValue:
    """E-value for the point estimate and the CI bound nearer 1 (death is a common outcome)."""
    from locoreg.survival import e_value

    res = e_value(estimate.hr, estimate.ci_low, estimate.ci_high, rare=False)
    ci = float("nan") if res.ci is None else float(res.ci)
    return EValue(point=float(res.point), ci=ci, hr_as_rr=float(res.rr_point))


@dataclass(frozen=True)
class RungInput:
    """What a rung is fitted on: the analytic table, the adjustment set and the options.

    The propensity model, the IPT weights and the matched pairs are fitted on first use
    and shared by the rungs (and the balance table) that need them.
    """

    table: AnalyticTable
    names: tuple[str, ...]
    settings: LadderSettings

    @cached_property
    def model(self) -> PropensityModel:
        return propensity(self.table, self.names)

    @cached_property
    def weights(self) -> FloatArray:
        return iptw_weights_for(self.model, self.table.surgery, self.settings.trim)

    @cached_property
    def pairs(self) -> NDArray[np.int64]:
        return matched_pairs(self.model, self.table.surgery, self.settings.caliper)


@dataclass(frozen=True)
class Rung:
    """One rung of the ladder, written once and read by every output.

    ``label`` and ``bias`` (the bias the rung still carries, in plain words) go into the
    text, JSON and HTML outputs; ``handles_immortal_time`` colours the specification
    curve; ``parameter`` names the :class:`LadderSettings` field the multiverse varies
    (landmark or grace months); ``fit`` estimates the rung.
    """

    name: str
    label: str
    bias: str
    handles_immortal_time: bool
    fit: Callable[[RungInput], Estimate]
    parameter: Literal["landmark", "grace"] | None = None

    def as_dict(self, estimate: Estimate) -> dict[str, Any]:
        """The JSON of one estimate of this rung (``locoreg cohort analyze``)."""
        out: dict[str, Any] = {
            "hr": estimate.hr,
            "ci_low": estimate.ci_low,
            "ci_high": estimate.ci_high,
            "n": estimate.n,
            "events": estimate.events,
            "method": self.label,
            "remaining_bias": self.bias,
        }
        if estimate.note:
            out["note"] = estimate.note
        out.update(estimate.extras)
        return out


_STILL_CONFOUNDED = "immortal time (+ unmeasured confounding)"

#: the ladder, from the most biased rung to the least
LADDER: tuple[Rung, ...] = (
    Rung(
        "naive",
        "Naive (surgery at baseline, unadjusted)",
        "immortal time + confounding by indication",
        False,
        lambda r: naive(r.table),
    ),
    Rung(
        "adjusted",
        "Adjusted (surgery at baseline)",
        _STILL_CONFOUNDED,
        False,
        lambda r: adjusted(r.table, r.names),
    ),
    Rung(
        "iptw",
        "IPTW (stabilised weights)",
        _STILL_CONFOUNDED,
        False,
        lambda r: iptw(r.table, r.model, r.settings.trim, r.weights),
    ),
    Rung(
        "matched",
        "Propensity-score matched 1:1",
        _STILL_CONFOUNDED,
        False,
        lambda r: matched(r.table, r.model, r.settings.caliper, r.pairs),
    ),
    Rung(
        "landmark",
        "Landmark",
        "unmeasured confounding; ignores early deaths and later surgery",
        True,
        lambda r: landmark(r.table, r.names, r.settings.landmark),
        parameter="landmark",
    ),
    Rung(
        "time_dependent",
        "Time-dependent surgery, adjusted",
        "unmeasured confounding only",
        True,
        lambda r: time_dependent(r.table, r.names),
    ),
    Rung(
        "emulated_trial",
        "Emulated target trial (clone–censor–weight)",
        "unmeasured confounding only",
        True,
        lambda r: emulated_trial(
            r.table,
            r.names,
            grace=r.settings.grace,
            bootstrap=r.settings.bootstrap,
            seed=r.settings.seed,
        ),
        parameter="grace",
    ),
)
RUNG: dict[str, Rung] = {rung.name: rung for rung in LADDER}
RUNGS: tuple[str, ...] = tuple(RUNG)


def fit_rung(
    name: str,
    table: AnalyticTable,
    names: Sequence[str],
    settings: LadderSettings,
    parameter: float | None = None,
) -> Estimate:
    """One rung on ``table`` adjusted for ``names``; ``parameter`` overrides the rung's
    varied setting (landmark or grace months). ``ValueError`` for an unknown rung."""
    rung = RUNG.get(name)
    if rung is None:
        raise ValueError(f"unknown method {name!r}; allowed: {', '.join(RUNGS)}")
    if parameter is not None and rung.parameter is not None:
        value = float(parameter)
        if rung.parameter == "landmark":
            settings = replace(settings, landmark=value)
        else:
            settings = replace(settings, grace=value)
    return rung.fit(RungInput(table, tuple(names), settings))


def run_ladder(table: AnalyticTable, settings: LadderSettings = LadderSettings()) -> LadderResult:
    """Every rung on one analytic table."""
    if table.surgery.sum() == 0 or table.surgery.sum() == table.n:
        raise ValueError("the cohort needs both operated and non-operated patients")
    names = covariate_names(settings.covariates)
    inputs = RungInput(table, names, settings)
    estimates = {rung.name: rung.fit(inputs) for rung in LADDER}
    sensitivity = {
        # the landmark rung already is the fit at settings.landmark
        at: estimates["landmark"] if at == settings.landmark else landmark(table, names, at)
        for at in sorted({settings.landmark, *settings.landmark_sensitivity})
        if (table.time > at).any()
    }
    return LadderResult(
        estimates=estimates,
        e_value=e_value_of(estimates["adjusted"]),
        balance=balance(inputs.model, table, inputs.pairs, inputs.weights),
        landmark_sensitivity=sensitivity,
        covariates=inputs.model.names,
        settings=settings,
        n=table.n,
        n_surgery=int(table.surgery.sum()),
        n_events=int(table.event.sum()),
    )
