"""The evidence story: pool randomised trials and observational studies separately.

``pool_by_design(base, outcome)`` picks one hazard ratio per study from the evidence
base, pools each body of evidence with a random-effects model and tests whether the two
pooled estimates differ, then puts the risk-of-bias judgements next to them so that a
reader sees *why* they differ (registry comparisons carry confounding by indication and
immortal time bias; trials do not).

Selection rule (one estimate per trial, documented in docs/evidence.md):

1. Candidates are the study outcomes of the requested kind for the whole population
   (``subgroup == "overall"``), as returned by :meth:`EvidenceBase.outcomes`: secondary
   reports (the same analysis printed again, e.g. a conference abstract next to the paper)
   are left out, and so is a report whose later report (``superseded_by``, followed to
   the end) gives the same outcome: MF07-01 contributes ``soran2021`` only.
2. Designs: ``rct`` forms the randomised group; ``prospective_registry``,
   ``retrospective_registry``, ``single_institution`` and ``observational`` the
   observational group (:attr:`Design.is_observational`). Published meta-analyses are
   never re-pooled (their trials would count twice); they are listed for comparison.
3. A study contributes its first outcome record (file order) that is a hazard ratio
   with both confidence limits and their level; every other candidate is listed with the
   reason it was not pooled (no estimate found, another measure such as a risk ratio, no
   interval, superseded report).

Conversion: y = log HR and SE = (log U − log L) / (2 z_{(1+c)/2}) for an interval at
level c (Parmar et al. 1998, Stat Med 17:2815), so the 90% intervals of E2108 and
JCOG1017 give the right SE. Each group is fitted by :func:`locoreg.meta.rma` and the
groups are compared with :func:`locoreg.meta.subgroup_analysis` (separate τ² per group,
Q_between = Σ_g (θ̂_g − θ̄)²/s_g², χ² on G − 1 df; Borenstein et al. 2009, ch. 19).

Shared data sources (sensitivity analysis, :attr:`PoolResult.source_sensitivity`):
several registry analyses draw on the same database (three SEER analyses with overlapping
years), so the same patients enter the observational pool more than once and its interval
is too narrow. The observational group is therefore also re-pooled, with the same
estimator, test and level, from one study per ``data_source`` (:func:`one_per_source`):

- the study with the most patients (the pooled outcome's ``n`` when the record gives it,
  else the study's ``n_total``; a study without either ranks below every study with one);
- ties: the most recent (year of publication), then the smaller id (only so that the
  choice is reproducible);
- a study without ``data_source`` is its own source and is always kept.

The largest analysis is kept because it holds the most of the shared patients (it is the
best single stand-in for the database); dropping the others removes the double counting
without choosing by result: the rule sees record numbers only, never the hazard ratios.
Ties go to the most recent report (longer follow-up, current coding). The rule cannot
see overlap *between* databases (NCDB and SEER can hold the same US patient); see
docs/evidence.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from locoreg.errors import FieldError, InputError
from locoreg.evidence.grade import Imprecision, rate_imprecision
from locoreg.evidence.model import (
    DataSource,
    Design,
    GradeRating,
    Outcome,
    OutcomeKind,
    Rob2,
    Rob2Judgement,
    RobinsI,
    RobinsJudgement,
    Study,
)
from locoreg.meta.options import TAU2_METHODS as METHODS
from locoreg.meta.options import TESTS

if TYPE_CHECKING:
    from locoreg.evidence.base import EvidenceBase
    from locoreg.meta.rma import MetaResult

__all__ = [
    "BY_VALUES",
    "CENTRE_TOLERANCE",
    "GROUPS",
    "INCLUSION_RULE",
    "METHODS",
    "ONE_PER_SOURCE_RULE",
    "OUTCOMES",
    "TESTS",
    "AddedEstimate",
    "BetweenGroups",
    "BiasProfile",
    "DroppedStudy",
    "GroupFits",
    "GroupPool",
    "HazardRatioRecord",
    "InclusionSensitivity",
    "LogHazardRatio",
    "NotPooled",
    "PoolResult",
    "PooledStudy",
    "PublishedPool",
    "Restricted",
    "Selection",
    "SourceCandidate",
    "SourceSensitivity",
    "left_out",
    "one_per_source",
    "pool_by_design",
    "poolable",
    "source_label",
]

#: outcomes that ``locoreg evidence pool`` accepts (time-to-event, pooled as hazard ratios)
OUTCOMES: tuple[str, ...] = (
    OutcomeKind.overall_survival.value,
    OutcomeKind.locoregional_progression.value,
)
BY_VALUES: tuple[str, ...] = ("design",)

#: group key -> (label, GRADE body) in display order
GROUPS: dict[str, tuple[str, str]] = {
    "randomised": ("Randomised trials", "randomised"),
    "observational": ("Observational studies", "observational"),
}

#: the sensitivity rule for shared data sources, in words (printed and in the JSON)
ONE_PER_SOURCE_RULE = (
    "one study per data source: the one with the most patients; ties: the most recent; "
    "a study without a data source is its own source"
)

#: the default inclusion rule, in words (printed and in the JSON)
INCLUSION_RULE = (
    "pooled by default: hazard ratios of any local therapy of the primary vs none, with an "
    "interval centred on the estimate (log scale); narrower comparisons and off-centre "
    "intervals enter a sensitivity analysis only"
)

#: an interval is "not centred" when log HR lies further than this fraction of the
#: interval's half-width from its log-scale midpoint (two-decimal rounding of a narrow
#: registry interval moves it by about 0.2; tan2016's printed interval by 0.7)
CENTRE_TOLERANCE = 0.5

# Judgements that make a domain worth naming as a reason ("why the groups differ").
_SERIOUS = frozenset(
    {Rob2Judgement.high.value, RobinsJudgement.serious.value, RobinsJudgement.critical.value}
)


@dataclass(frozen=True, slots=True)
class PooledStudy:
    """One study estimate entering a pooled group, with its risk-of-bias reasons."""

    id: str
    citation: str
    year: int | None
    design: str
    group: str
    label: str
    hr: float
    hr_ci_low: float
    hr_ci_high: float
    ci_level: float
    #: log HR and its variance, as pooled
    yi: float
    vi: float
    #: percent weight within its group's random-effects fit
    weight: float
    converted: bool
    comparison: str | None
    adjusted: str | None
    source_url: str | None
    rob_tool: str | None
    rob_overall: str | None
    rob_reason: str | None
    immortal_time_bias: bool
    #: "domain (judgement): reason" for every domain judged high/serious/critical
    bias_domains: tuple[str, ...]
    #: the record's ``data_source`` value (None: not stated)
    data_source: str | None = None
    #: patients of the pooled analysis: the outcome's ``n``, else the study's ``n_total``
    n_patients: int | None = None

    @property
    def se(self) -> float:
        return math.sqrt(self.vi)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "citation": self.citation,
            "year": self.year,
            "design": self.design,
            "label": self.label,
            "hr": self.hr,
            "hr_ci_low": self.hr_ci_low,
            "hr_ci_high": self.hr_ci_high,
            "ci_level": self.ci_level,
            "yi": self.yi,
            "vi": self.vi,
            "se": self.se,
            "weight": self.weight,
            "converted": self.converted,
            "comparison": self.comparison,
            "adjusted": self.adjusted,
            "source_url": self.source_url,
            "risk_of_bias": {
                "tool": self.rob_tool,
                "overall": self.rob_overall,
                "reason": self.rob_reason,
                "immortal_time_bias": self.immortal_time_bias,
                "serious_domains": list(self.bias_domains),
            },
            "data_source": self.data_source,
            "n_patients": self.n_patients,
        }


@dataclass(frozen=True, slots=True)
class NotPooled:
    """A candidate that is listed but not pooled, with the reason."""

    id: str
    citation: str
    design: str
    label: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PublishedPool:
    """A published meta-analysis estimate, shown for comparison and never re-pooled."""

    id: str
    citation: str
    label: str
    subgroup: str
    measure: str
    estimate: float
    ci_low: float | None
    ci_high: float | None
    population: str | None
    source_url: str | None
    #: "higher" for an odds ratio of surviving (above 1 favours local therapy)
    favourable_side: str = "lower"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "citation": self.citation,
            "label": self.label,
            "favourable_side": self.favourable_side,
            "subgroup": self.subgroup,
            "measure": self.measure,
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "population": self.population,
            "source_url": self.source_url,
        }


class _PooledHazardRatio:
    """A random-effects fit on the log-HR scale read back on the HR scale (``fit`` None:
    nothing pooled). Shared by the design groups and the one-per-source sensitivity pool."""

    __slots__ = ()
    fit: MetaResult | None

    @property
    def hr(self) -> float | None:
        return None if self.fit is None else math.exp(self.fit.estimate)

    @property
    def hr_ci(self) -> tuple[float | None, float | None]:
        if self.fit is None:
            return None, None
        return _exp(self.fit.ci_low), _exp(self.fit.ci_high)

    @property
    def hr_pi(self) -> tuple[float | None, float | None]:
        """Prediction interval on the HR scale; None below k = 3 (not informative)."""
        if self.fit is None or self.fit.k < 3:
            return None, None
        return _exp(self.fit.pi_low), _exp(self.fit.pi_high)

    @property
    def hr_pi_t(self) -> tuple[float | None, float | None]:
        """t-based prediction interval on the HR scale (None below k = 3).

        exp(θ̂ ± t_{k−2, (1+c)/2} √(τ̂² + SE²)) with the fit's SE — Wald, or Hartung–Knapp
        with ``test="knha"`` (Higgins, Thompson & Spiegelhalter 2009, J R Stat Soc A
        172:137; Riley et al. 2011, BMJ 342:d549). With few studies the normal interval
        is too narrow: k − 2 degrees of freedom carry the uncertainty in τ̂².
        """
        from scipy import stats

        f = self.fit
        if f is None or f.k < 3:
            return None, None
        half = float(stats.t.ppf((1 + f.level) / 2, f.k - 2)) * math.sqrt(f.tau2 + f.se**2)
        return math.exp(f.estimate - half), math.exp(f.estimate + half)

    @property
    def imprecision(self) -> Imprecision | None:
        """GRADE imprecision from the pooled interval and the t-based prediction interval."""
        lo, hi = self.hr_ci
        if lo is None or hi is None:
            return None
        pi_lo, pi_hi = self.hr_pi_t
        pi = None if pi_lo is None or pi_hi is None else (pi_lo, pi_hi)
        return rate_imprecision((lo, hi), pi)

    def _fit_dict(self) -> dict[str, Any]:
        """The fit's JSON keys and the HR-scale ones (empty without a fit)."""
        if self.fit is None:
            return {}
        out = self.fit.to_dict()
        lo, hi = self.hr_ci
        pi_lo, pi_hi = self.hr_pi
        t_lo, t_hi = self.hr_pi_t
        out.update(hr=self.hr, hr_ci_low=lo, hr_ci_high=hi, hr_pi_low=pi_lo, hr_pi_high=pi_hi)
        out.update(hr_pi_t_low=t_lo, hr_pi_t_high=t_hi, pi_t_df=max(self.fit.k - 2, 0) or None)
        return out


def _exp(x: float | None) -> float | None:
    return None if x is None else math.exp(x)


@dataclass(frozen=True, slots=True, eq=False)
class GroupPool(_PooledHazardRatio):
    """One body of evidence: its studies and, when k ≥ 1, its random-effects fit."""

    key: str
    label: str
    studies: tuple[PooledStudy, ...]
    fit: MetaResult | None
    grade: tuple[GradeRating, ...]
    #: plain-words account of the risk of bias of the group's studies
    bias_summary: str

    @property
    def k(self) -> int:
        return len(self.studies)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "k": self.k}
        out.update(self._fit_dict())
        out["studies"] = [s.to_dict() for s in self.studies]
        out["risk_of_bias_summary"] = self.bias_summary
        out["grade"] = [
            {
                "certainty": g.certainty.value,
                "rated_by": g.rated_by,
                "downgrades": list(g.downgrades),
                "studies": list(g.studies),
                "imprecision_from_pool": g.imprecision_from_pool,
            }
            for g in self.grade
        ]
        imprecision = self.imprecision
        out["imprecision"] = None if imprecision is None else imprecision.to_dict()
        return out


def source_label(value: str | None) -> str:
    """``"SEER"`` for ``"seer"``: a data source's name for people ("" for None)."""
    if value is None:
        return ""
    try:
        return DataSource(value).label
    except ValueError:
        return value


@dataclass(frozen=True, slots=True)
class SourceCandidate:
    """What :func:`one_per_source` knows of a study: never its result."""

    id: str
    data_source: str | None
    n_patients: int | None
    year: int | None


def _rank(c: SourceCandidate) -> tuple[bool, int, bool, int, str]:
    """Sort key, best first: most patients (known before unknown), most recent, smaller id."""
    return (c.n_patients is None, -(c.n_patients or 0), c.year is None, -(c.year or 0), c.id)


def one_per_source(candidates: Sequence[SourceCandidate]) -> dict[str, str]:
    """Map each study id to the id kept for its data source (its own id when it is kept).

    Per ``data_source``: the study with the most patients; ties go to the most recent,
    then to the smaller id. A study without a data source is its own source (kept). An
    unknown number of patients ranks below every known one, an unknown year below every
    known one. See the module docstring for why.
    """
    by_source: dict[tuple[bool, str], list[SourceCandidate]] = {}
    for c in candidates:
        key = (True, c.id) if c.data_source is None else (False, c.data_source)
        by_source.setdefault(key, []).append(c)
    chosen: dict[str, str] = {}
    for members in by_source.values():
        kept = min(members, key=_rank).id
        chosen.update((c.id, kept) for c in members)
    return {c.id: chosen[c.id] for c in candidates}


@dataclass(frozen=True, slots=True)
class DroppedStudy:
    """A study left out of the one-per-source sensitivity pool, and the study kept instead."""

    id: str
    citation: str
    data_source: str
    n_patients: int | None
    year: int | None
    kept_instead: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True, eq=False)
class SourceSensitivity(_PooledHazardRatio):
    """A group re-pooled with one study per data source, so shared patients count once.

    Same estimator, test and level as the main fit; ``fit`` is :func:`locoreg.meta.rma`
    on the ``kept`` studies' log HRs and variances. ``dropped`` is empty when no two
    studies of the group share a data source (the estimate then equals the main one).
    """

    group: str
    rule: str
    kept: tuple[PooledStudy, ...]
    #: percent weights of ``kept`` in this fit
    weights: tuple[float, ...]
    dropped: tuple[DroppedStudy, ...]
    fit: MetaResult

    @property
    def k(self) -> int:
        return len(self.kept)

    def shared(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """``{data_source: (kept id, dropped ids)}`` for every source shared by ≥ 2 studies."""
        out: dict[str, tuple[str, tuple[str, ...]]] = {}
        for d in self.dropped:
            kept, dropped = out.get(d.data_source, (d.kept_instead, ()))
            out[d.data_source] = (kept, (*dropped, d.id))
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"group": self.group, "rule": self.rule}
        out.update(self._fit_dict())
        out["kept"] = [
            {
                "id": s.id,
                "citation": s.citation,
                "data_source": s.data_source,
                "n_patients": s.n_patients,
                "year": s.year,
                "weight": w,
            }
            for s, w in zip(self.kept, self.weights, strict=True)
        ]
        out["dropped"] = [d.to_dict() for d in self.dropped]
        return out


@dataclass(frozen=True, slots=True)
class AddedEstimate:
    """An estimate the default rule leaves out, as pooled in the sensitivity analysis."""

    study: PooledStudy
    reason: str
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        s = self.study
        return {
            "id": s.id,
            "citation": s.citation,
            "label": s.label,
            "hr": s.hr,
            "hr_ci_low": s.hr_ci_low,
            "hr_ci_high": s.hr_ci_high,
            "ci_level": s.ci_level,
            "comparison": s.comparison,
            "weight": s.weight,
            "source_url": s.source_url,
            "reason": self.reason,
            "tags": list(self.tags),
        }


@dataclass(frozen=True, slots=True, eq=False)
class InclusionSensitivity(_PooledHazardRatio):
    """A group re-pooled with the estimates the default rule leaves out.

    Same estimator, test and level as the main fit; ``fit`` is :func:`locoreg.meta.rma`
    on every study of the group (``studies``, weights of this fit), of which ``added``
    are the narrower comparisons or off-centre intervals (:data:`INCLUSION_RULE`).
    """

    group: str
    rule: str
    studies: tuple[PooledStudy, ...]
    added: tuple[AddedEstimate, ...]
    fit: MetaResult

    @property
    def k(self) -> int:
        return len(self.studies)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"group": self.group, "rule": self.rule, "k": self.k}
        out.update(self._fit_dict())
        out["studies"] = [{"id": s.id, "weight": s.weight} for s in self.studies]
        out["added"] = [a.to_dict() for a in self.added]
        return out


@dataclass(frozen=True, slots=True, eq=False)
class PoolResult:
    """Randomised and observational evidence pooled separately, and why they differ."""

    outcome: str
    by: str
    method: str
    test: str
    level: float
    snapshot: str
    groups: dict[str, GroupPool]
    #: test of subgroup differences (None when fewer than two groups have studies)
    q_between: float | None
    q_between_df: int | None
    q_between_p: float | None
    #: ratio of the observational to the randomised pooled HR (None unless both exist)
    ratio_of_hrs: float | None
    explanation: tuple[str, ...]
    caveats: tuple[str, ...]
    not_pooled: tuple[NotPooled, ...]
    published: tuple[PublishedPool, ...]
    studies: tuple[PooledStudy, ...] = field(default=())
    #: the observational group re-pooled with one study per data source (None when the
    #: group has no poolable study); see the module docstring
    source_sensitivity: SourceSensitivity | None = None
    #: per group with estimates the default rule leaves out: the group re-pooled with them
    inclusion_sensitivity: tuple[InclusionSensitivity, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "by": self.by,
            "method": self.method,
            "test": self.test,
            "level": self.level,
            "measure": "HR",
            "snapshot": self.snapshot,
            "subgroups": {key: g.to_dict() for key, g in self.groups.items()},
            "q_between": self.q_between,
            "q_between_df": self.q_between_df,
            "q_between_p": self.q_between_p,
            "ratio_of_hrs": self.ratio_of_hrs,
            "explanation": list(self.explanation),
            "caveats": list(self.caveats),
            "not_pooled": [n.to_dict() for n in self.not_pooled],
            "published_meta_analyses": [p.to_dict() for p in self.published],
            "source_sensitivity": (
                None if self.source_sensitivity is None else self.source_sensitivity.to_dict()
            ),
            "inclusion_rule": INCLUSION_RULE,
            "inclusion_sensitivity": [i.to_dict() for i in self.inclusion_sensitivity],
        }


def _group_of(design: Design) -> str | None:
    if design is Design.rct:
        return "randomised"
    if design.is_observational:
        return "observational"
    return None


def _check_options(outcome: str, by: str, method: str, test: str, level: float) -> None:
    errors = []
    if outcome not in OUTCOMES:
        errors.append(FieldError("outcome", f"unknown value {outcome!r}", ", ".join(OUTCOMES)))
    if by not in BY_VALUES:
        errors.append(FieldError("by", f"unknown value {by!r}", ", ".join(BY_VALUES)))
    if method not in METHODS:
        errors.append(FieldError("method", f"unknown value {method!r}", ", ".join(METHODS)))
    if test not in TESTS:
        errors.append(FieldError("test", f"unknown value {test!r}", ", ".join(TESTS)))
    if not (isinstance(level, float | int) and 0.0 < float(level) < 1.0):
        errors.append(FieldError("level", f"{level!r} is not in (0, 1)", "e.g. 0.95"))
    if errors:
        raise InputError(errors)


def _arms(o: Outcome) -> str:
    """'locoregional progression 3y percent 16.3 vs 39.8' (local therapy vs none)."""
    by_metric: dict[str, dict[str, float]] = {}
    for a in o.arms:
        by_metric.setdefault(a.metric, {})[a.arm] = a.value
    return "; ".join(
        f"{metric.replace('_', ' ')} {v.get('local_therapy', math.nan):g} vs "
        f"{v.get('no_local_therapy', math.nan):g}"
        for metric, v in by_metric.items()
    )


def _why_not(study: Study, o: Outcome) -> str | None:
    """Why an outcome record cannot be pooled as a hazard ratio (None: it can)."""
    if o.estimate is None:
        found = o.not_found or study.no_extractable_estimate_reason
        text = "no extractable hazard ratio" + (f": {found}" if found else "")
        if o.arms:
            text += f" (per arm, local therapy vs none: {_arms(o)})"
        return text
    if o.measure.value != "HR":
        return f"reported as {o.measure.value}, not a hazard ratio; only hazard ratios are pooled"
    if o.ci_low is None or o.ci_high is None or o.ci_level is None:
        return f"HR {o.estimate:g} without a confidence interval: its standard error is unknown"
    return None


@dataclass(frozen=True, slots=True)
class BiasProfile:
    """A study's risk-of-bias judgement as the pool reports it."""

    tool: str | None
    overall: str | None
    reason: str | None
    immortal_time_bias: bool
    #: "domain (judgement): reason" for every domain judged high/serious/critical
    serious_domains: tuple[str, ...]

    @classmethod
    def of(cls, study: Study) -> BiasProfile:
        rob = study.risk_of_bias
        if rob is None:
            return cls(None, None, study.risk_of_bias_not_assessed, False, ())
        serious = tuple(
            f"{name.replace('_', ' ')} ({d.judgement.value.replace('_', ' ')}): {d.reason}"
            for name, d in rob.domains().items()
            if d.judgement.value in _SERIOUS
        )
        return cls(
            tool="RoB 2" if isinstance(rob, Rob2) else "ROBINS-I",
            overall=rob.overall.judgement.value,
            reason=rob.overall.reason,
            immortal_time_bias=isinstance(rob, RobinsI) and rob.immortal_time_bias,
            serious_domains=serious,
        )


@dataclass(frozen=True, slots=True)
class HazardRatioRecord:
    """One study's hazard ratio chosen for pooling: the record and its checked numbers."""

    study: Study
    outcome: Outcome
    #: "randomised" or "observational" (a key of :data:`GROUPS`)
    group: str
    hr: float
    ci_low: float
    ci_high: float
    ci_level: float

    @classmethod
    def of(cls, study: Study, o: Outcome, group: str) -> HazardRatioRecord | None:
        """The record when it is a hazard ratio with both limits and their level."""
        if o.measure.value != "HR" or o.estimate is None:
            return None
        if o.ci_low is None or o.ci_high is None or o.ci_level is None:
            return None
        return cls(study, o, group, o.estimate, o.ci_low, o.ci_high, o.ci_level)

    @property
    def off_centre(self) -> float:
        """|log HR − log-scale midpoint| / log-scale half-width of the interval."""
        lo, hi = math.log(self.ci_low), math.log(self.ci_high)
        return abs(math.log(self.hr) - (lo + hi) / 2) / ((hi - lo) / 2)

    def restrictions(self) -> tuple[tuple[str, str], ...]:
        """(short tag, reason) for each cause that keeps the estimate out of the default pool."""
        why: list[tuple[str, str]] = []
        if self.outcome.comparison:
            why.append(
                (
                    "narrower comparison",
                    f"compares {self.outcome.comparison}, not any local therapy vs none",
                )
            )
        if self.off_centre > CENTRE_TOLERANCE:
            why.append(
                (
                    "interval not centred",
                    f"its printed interval ({self.ci_low:g}–{self.ci_high:g}) is not centred on "
                    f"the estimate {self.hr:g} on the log scale, so its standard error is "
                    "uncertain",
                )
            )
        return tuple(why)


@dataclass(frozen=True, slots=True)
class Restricted:
    """A poolable hazard ratio that the default rule leaves out, and why."""

    record: HazardRatioRecord
    reason: str
    #: short names of the causes, e.g. ("narrower comparison", "interval not centred")
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Selection:
    """What :func:`pool_by_design` pools, lists, and shows for comparison."""

    chosen: tuple[HazardRatioRecord, ...]
    not_pooled: tuple[NotPooled, ...]
    published: tuple[PublishedPool, ...]
    #: one per study without a default-rule estimate: pooled in the sensitivity analysis
    restricted: tuple[Restricted, ...] = ()


def _select(base: EvidenceBase, kind: OutcomeKind) -> Selection:
    chosen: list[HazardRatioRecord] = []
    restricted: dict[str, Restricted] = {}
    not_pooled: list[NotPooled] = []
    taken: set[str] = set()

    def unpooled(study: Study, o: Outcome, reason: str) -> NotPooled:
        return NotPooled(study.id, study.cite(), study.design.value, o.label, reason)

    for study, o in base.outcomes(kind, subgroup="overall"):
        if study.design is Design.meta_analysis:
            continue
        group = _group_of(study.design)
        if group is None:
            reason = f"design {study.design.value} is neither a randomised trial nor an "
            reason += "observational comparison"
            not_pooled.append(unpooled(study, o, reason))
        elif study.id in taken:
            reason = "a further record of this study; the first hazard ratio listed is pooled"
            not_pooled.append(unpooled(study, o, reason))
        elif (why := _why_not(study, o)) is not None:
            not_pooled.append(unpooled(study, o, why))
        elif (record := HazardRatioRecord.of(study, o, group)) is None:
            continue
        elif limits := record.restrictions():
            reason = "; ".join(text for _, text in limits)
            tags = tuple(tag for tag, _ in limits)
            restricted.setdefault(study.id, Restricted(record, reason, tags))
        else:
            chosen.append(record)
            taken.add(study.id)
    # a study with several records: once one is chosen, earlier unusable ones are noise
    not_pooled = [n for n in not_pooled if n.id not in taken or n.reason.startswith("a further")]
    left_out = [r for key, r in restricted.items() if key not in taken]
    not_pooled += [
        unpooled(r.record.study, r.record.outcome, f"sensitivity analysis only: {r.reason}")
        for r in left_out
    ]
    not_pooled += _superseded(base, kind)
    # chronological within each group, as a reader scans a forest plot
    chosen.sort(key=_chronological)
    left_out.sort(key=lambda r: _chronological(r.record))
    return Selection(tuple(chosen), tuple(not_pooled), _published(base, kind), tuple(left_out))


def _chronological(c: HazardRatioRecord) -> tuple[int, str]:
    return (c.study.citation.year or 0, c.study.id)


def _superseded(base: EvidenceBase, kind: OutcomeKind) -> list[NotPooled]:
    """Superseded reports: listed so a reader sees where MF07-01's earlier numbers went."""
    current = {(s.id, o.label) for s, o in base.outcomes(kind, subgroup="overall")}
    out: list[NotPooled] = []
    for study, o in base.outcomes(kind, subgroup="overall", include_superseded=True):
        if (study.id, o.label) not in current and _group_of(study.design) is not None:
            later = study.superseded_by or "a later report"
            reason = f"superseded by {later}, which reports this outcome (one report per trial)"
            out.append(NotPooled(study.id, study.cite(), study.design.value, o.label, reason))
    return out


def _published(base: EvidenceBase, kind: OutcomeKind) -> tuple[PublishedPool, ...]:
    """Published meta-analyses' body-level ratios, for comparison (never re-pooled)."""
    out: list[PublishedPool] = []
    for study, o in base.outcomes(kind, subgroup=None, design=Design.meta_analysis):
        sub = o.subgroup
        body_level = sub == "overall" or "rct" in sub.lower() or "observational" in sub.lower()
        if o.estimate is not None and o.measure.is_ratio and body_level:
            out.append(
                PublishedPool(
                    study.id, study.cite(), o.label, sub, o.measure.value, o.estimate,
                    o.ci_low, o.ci_high, study.population, o.source_url,
                    o.favourable_side or "lower",
                )
            )  # fmt: skip
    return tuple(out)


def left_out(base: EvidenceBase, kind: OutcomeKind) -> tuple[Restricted, ...]:
    """Hazard ratios the default rule (:data:`INCLUSION_RULE`) keeps out of the pool."""
    return _select(base, kind).restricted


def poolable(base: EvidenceBase, kind: OutcomeKind) -> list[tuple[Study, Outcome, str]]:
    """The (study, hazard-ratio outcome, ``"randomised"|"observational"``) triples that
    :func:`pool_by_design` pools for ``kind``: one report per trial, chronological."""
    return [(c.study, c.outcome, c.group) for c in _select(base, kind).chosen]


def _serious_in(s: PooledStudy, domain: str) -> bool:
    """The study's ``domain`` (e.g. "confounding") was judged high, serious or critical."""
    return any(d.startswith(domain) for d in s.bias_domains)


def _bias_summary(key: str, studies: Sequence[PooledStudy]) -> str:
    """E.g. 'ROBINS-I: 5 of 5 serious; immortal time bias in 5 (a, b, ...)'."""
    if not studies:
        return "no study with a poolable estimate"
    counts: dict[str, int] = {}
    for s in studies:
        label = (s.rob_overall or "not assessed").replace("_", " ")
        counts[label] = counts.get(label, 0) + 1
    tools = sorted({s.rob_tool for s in studies if s.rob_tool})
    parts = [
        f"{'/'.join(tools) or 'risk of bias'}: "
        + ", ".join(f"{n} of {len(studies)} {label}" for label, n in counts.items())
    ]
    immortal = [s.id for s in studies if s.immortal_time_bias]
    if immortal:
        parts.append(f"immortal time bias in {len(immortal)} ({', '.join(immortal)})")
    confounded = [s.id for s in studies if _serious_in(s, "confounding")]
    if confounded:
        parts.append(f"serious or critical confounding by indication in {len(confounded)}")
    selected = [s.id for s in studies if _serious_in(s, "selection of participants")]
    if selected:
        parts.append(f"serious selection bias in {len(selected)}")
    high = [s.id for s in studies if s.rob_overall == Rob2Judgement.high.value]
    if high and key == "randomised":
        parts.append(f"high risk: {', '.join(high)}")
    return "; ".join(parts)


def _explanation(
    groups: dict[str, GroupPool], q_p: float | None, ratio: float | None
) -> tuple[str, ...]:
    rnd, obs = groups["randomised"], groups["observational"]
    lines: list[str] = []
    if rnd.hr is not None and obs.hr is not None and ratio is not None and q_p is not None:
        p = "p < 0.001" if q_p < 0.001 else f"p = {q_p:.3f}"
        lines.append(
            f"Observational studies estimate HR {obs.hr:.2f}, randomised trials HR {rnd.hr:.2f}: "
            f"the observational estimate is {100 * (1 - ratio):.0f}% lower "
            f"(test for subgroup differences {p})."
            if ratio < 1
            else f"Observational studies estimate HR {obs.hr:.2f}, randomised trials HR "
            f"{rnd.hr:.2f} (test for subgroup differences {p})."
        )
    immortal = [s for s in obs.studies if s.immortal_time_bias]
    confounded = [s for s in obs.studies if _serious_in(s, "confounding")]
    if obs.studies:
        if immortal:
            lines.append(
                f"Immortal time bias: in {len(immortal)} of {obs.k} observational studies "
                "surgery could happen at any time after diagnosis while survival is counted "
                "from diagnosis, so operated patients had to survive until their operation, "
                "which biases the hazard ratio in favour of surgery."
            )
        if confounded:
            lines.append(
                f"Confounding by indication (selection bias): in {len(confounded)} of {obs.k} "
                "observational studies, patients were chosen for surgery by prognosis-related "
                "factors that the adjustment did not capture (ROBINS-I confounding judged "
                "serious or critical)."
            )
    for g in (rnd, obs):
        if not g.studies:
            lines.append(
                f"{g.label}: none gives a hazard ratio with its interval for this outcome, so "
                "nothing can be compared; what they report is listed under 'not pooled'."
            )
    if rnd.studies and obs.studies:
        lines.append(
            "Randomisation removes both: in the trials the decision to operate did not depend "
            "on prognosis, and time is counted from randomisation. The trials' own concerns ("
            + rnd.bias_summary
            + ") are listed per study below."
        )
    return tuple(lines)


def _caveats(
    chosen: Sequence[PooledStudy], sensitivity: SourceSensitivity | None, obs: GroupPool
) -> tuple[str, ...]:
    out: list[str] = []
    levels = [s for s in chosen if abs(s.ci_level - 0.95) > 1e-9]
    if levels:
        names = ", ".join(f"{s.id} ({round(100 * s.ci_level)}%)" for s in levels)
        out.append(
            f"Intervals not at 95% were converted to standard errors at their own level: {names}."
        )
    conv = [s.id for s in chosen if s.converted]
    if conv:
        out.append(
            "Direction inferred and the reported ratio inverted for "
            + ", ".join(conv)
            + " (see `locoreg evidence show`)."
        )
    # Registry analyses of the same data source may share patients, which makes the pooled
    # interval too narrow: say which, and what one study per source gives.
    if sensitivity is not None and sensitivity.dropped:
        out.append(_shared_source_caveat(sensitivity, obs))
    return tuple(out)


def _inclusion_caveat(sens: InclusionSensitivity, main: GroupPool) -> str:
    """Which estimates the default rule leaves out, why, and what including them gives."""
    pct = f"{round(100 * sens.fit.level)}%"
    lo, hi = sens.hr_ci
    why = "; ".join(f"{a.study.id} {a.reason}" for a in sens.added)
    text = f"{main.label}: left out of the main pool ({why}). Sensitivity analysis with them: "
    text += f"HR {sens.hr:.2f} ({pct} CI {lo:.2f}–{hi:.2f}), k = {sens.k}"
    if main.hr is not None:
        main_lo, main_hi = main.hr_ci
        text += f", against HR {main.hr:.2f} ({pct} CI {main_lo:.2f}–{main_hi:.2f}), k = {main.k}"
    return text + "."


def _patients(s: PooledStudy | DroppedStudy, full: bool = False) -> str:
    n = "patients not recorded" if s.n_patients is None else f"{s.n_patients:,}"
    if full and s.n_patients is not None:
        n += " patients"
    return f"{s.id} ({n}, {s.year or 'year not recorded'})"


def _shared_source_caveat(sens: SourceSensitivity, obs: GroupPool) -> str:
    """Which studies share a data source, which one is kept, and the re-pooled estimate."""
    by_id = {s.id: s for s in obs.studies}
    dropped = {d.id: d for d in sens.dropped}
    sentences: list[str] = []
    clauses: list[str] = []
    for source, (kept, gone) in sens.shared().items():
        members = [s.id for s in obs.studies if s.data_source == source]
        sentences.append(
            f"{', '.join(members)} all analyse {source_label(source)} data and may share "
            "patients: their pooled interval is too narrow."
        )
        clauses.append(
            f"for {source_label(source)} it keeps {_patients(by_id[kept], full=True)} and drops "
            + ", ".join(_patients(dropped[i]) for i in gone)
        )
    pct = f"{round(100 * sens.fit.level)}%"
    lo, hi = sens.hr_ci
    main_lo, main_hi = obs.hr_ci
    sentences.append(
        f"Sensitivity analysis with one study per data source (the most patients; ties: the "
        f"most recent): {'; '.join(clauses)}. Observational HR {sens.hr:.2f} ({pct} CI "
        f"{lo:.2f}–{hi:.2f}), k = {sens.k}, against HR {obs.hr:.2f} ({pct} CI "
        f"{main_lo:.2f}–{main_hi:.2f}), k = {obs.k}, with every study."
    )
    return " ".join(sentences)


def _source_sensitivity(
    key: str, studies: Sequence[PooledStudy], method: str, test: str, level: float
) -> SourceSensitivity | None:
    """``studies`` (one group) re-pooled with one study per data source (None if empty)."""
    from locoreg.meta import rma

    if not studies:
        return None
    choice = one_per_source(
        [SourceCandidate(s.id, s.data_source, s.n_patients, s.year) for s in studies]
    )
    kept = tuple(s for s in studies if choice[s.id] == s.id)
    dropped = tuple(
        DroppedStudy(s.id, s.citation, s.data_source or "", s.n_patients, s.year, choice[s.id])
        for s in studies
        if choice[s.id] != s.id
    )
    fit = rma([s.yi for s in kept], [s.vi for s in kept], method, test, level)
    weights = tuple(float(w) for w in fit.weights)
    return SourceSensitivity(key, ONE_PER_SOURCE_RULE, kept, weights, dropped, fit)


@dataclass(frozen=True, slots=True)
class LogHazardRatio:
    """A chosen record on the pooling scale: y = log HR, v = SE² (Parmar et al. 1998)."""

    record: HazardRatioRecord
    yi: float
    vi: float


def _on_log_scale(chosen: Sequence[HazardRatioRecord]) -> tuple[LogHazardRatio, ...]:
    """SE = (log U − log L) / (2 z_{(1+c)/2}) at each record's own level c."""
    from locoreg.meta.effects import log_hr_from_ci

    if not chosen:
        return ()
    yi, vi = log_hr_from_ci(
        [c.hr for c in chosen],
        [c.ci_low for c in chosen],
        [c.ci_high for c in chosen],
        [c.ci_level for c in chosen],
    )
    return tuple(
        LogHazardRatio(c, float(y), float(v)) for c, y, v in zip(chosen, yi, vi, strict=True)
    )


@dataclass(frozen=True, slots=True)
class BetweenGroups:
    """Test for subgroup differences: Q_between on ``df`` degrees of freedom."""

    q: float
    df: int
    p: float


@dataclass(frozen=True, slots=True)
class GroupFits:
    """One random-effects fit per design group present, and the test between them."""

    rows: tuple[LogHazardRatio, ...]
    #: group keys with at least one study, in :data:`GROUPS` order
    present: tuple[str, ...]
    by_group: dict[str, MetaResult]
    #: None when fewer than two groups have studies
    between: BetweenGroups | None

    def weighted(self) -> list[tuple[LogHazardRatio, float]]:
        """(row, percent weight in its group's fit), group by group in display order."""
        out: list[tuple[LogHazardRatio, float]] = []
        for key in self.present:
            rows = [r for r in self.rows if r.record.group == key]
            out += zip(rows, map(float, self.by_group[key].weights), strict=True)
        return out


def _fit_groups(
    rows: tuple[LogHazardRatio, ...], method: str, test: str, level: float
) -> GroupFits:
    """Each group fitted by :func:`rma`; with two groups, :func:`subgroup_analysis`
    (separate τ² per group, Q_between on G − 1 df)."""
    from locoreg.meta import rma
    from locoreg.meta.subgroup import subgroup_analysis

    present = tuple(key for key in GROUPS if any(r.record.group == key for r in rows))
    if len(present) >= 2:
        sub = subgroup_analysis(
            [r.yi for r in rows], [r.vi for r in rows], [r.record.group for r in rows],
            method=method, test=test, level=level,
        )  # fmt: skip
        between = BetweenGroups(sub.q_between, sub.q_between_df[0], sub.q_between_p)
        return GroupFits(rows, present, dict(sub.levels), between)
    by_group = {}
    for key in present:
        members = [r for r in rows if r.record.group == key]
        by_group[key] = rma([r.yi for r in members], [r.vi for r in members], method, test, level)
    return GroupFits(rows, present, by_group, None)


def _pooled_study(row: LogHazardRatio, weight: float) -> PooledStudy:
    """The pooled row of one study, with its weight and risk-of-bias reasons."""
    c, s, o = row.record, row.record.study, row.record.outcome
    bias = BiasProfile.of(s)
    return PooledStudy(
        id=s.id, citation=s.cite(), year=s.citation.year, design=s.design.value,
        group=c.group, label=o.label, hr=c.hr, hr_ci_low=c.ci_low, hr_ci_high=c.ci_high,
        ci_level=c.ci_level, yi=row.yi, vi=row.vi, weight=float(weight),
        converted=o.converted, comparison=o.comparison, adjusted=o.adjusted,
        source_url=o.source_url, rob_tool=bias.tool, rob_overall=bias.overall,
        rob_reason=bias.reason, immortal_time_bias=bias.immortal_time_bias,
        bias_domains=bias.serious_domains,
        data_source=None if s.data_source is None else s.data_source.value,
        n_patients=o.n if o.n is not None else s.n_total,
    )  # fmt: skip


def _inclusion_sensitivity(
    selection: Selection, method: str, test: str, level: float
) -> tuple[InclusionSensitivity, ...]:
    """Each group with left-out estimates, re-pooled with them (same estimator and test)."""
    from locoreg.meta import rma

    out: list[InclusionSensitivity] = []
    for key in GROUPS:
        extra = [r for r in selection.restricted if r.record.group == key]
        if not extra:
            continue
        records = sorted(
            [c for c in selection.chosen if c.group == key] + [r.record for r in extra],
            key=_chronological,
        )
        rows = _on_log_scale(records)
        fit = rma([r.yi for r in rows], [r.vi for r in rows], method, test, level)
        studies = tuple(
            _pooled_study(row, float(w)) for row, w in zip(rows, fit.weights, strict=True)
        )
        why = {r.record.study.id: r for r in extra}
        added = tuple(
            AddedEstimate(s, why[s.id].reason, why[s.id].tags) for s in studies if s.id in why
        )
        out.append(InclusionSensitivity(key, INCLUSION_RULE, studies, added, fit))
    return tuple(out)


def pool_by_design(
    base: EvidenceBase | None = None,
    outcome: str = "overall_survival",
    by: str = "design",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
) -> PoolResult:
    """Pool the randomised and the observational hazard ratios of ``outcome`` separately.

    ``base`` defaults to the packaged evidence base. Raises :class:`InputError` naming
    the option and its allowed values for a bad ``outcome``, ``by``, ``method``, ``test``
    or ``level``; :class:`locoreg.meta.rma.ConvergenceError` when the τ² estimator does
    not converge (reported, never hidden). See the module docstring for the rules.
    """
    from locoreg.evidence.base import load_evidence_base

    _check_options(outcome, by, method, test, level)
    base = base if base is not None else load_evidence_base()
    kind = OutcomeKind(outcome)
    selection = _select(base, kind)
    fits = _fit_groups(_on_log_scale(selection.chosen), method, test, level)
    pooled = [_pooled_study(row, weight) for row, weight in fits.weighted()]
    groups = {
        key: GroupPool(
            key=key,
            label=label,
            studies=tuple(p for p in pooled if p.group == key),
            fit=fits.by_group.get(key),
            grade=base.grade_for(kind, body),
            bias_summary=_bias_summary(key, [p for p in pooled if p.group == key]),
        )
        for key, (label, body) in GROUPS.items()
    }
    rnd_hr, obs_hr = groups["randomised"].hr, groups["observational"].hr
    ratio = obs_hr / rnd_hr if rnd_hr is not None and obs_hr is not None else None
    sensitivity = _source_sensitivity(
        "observational", groups["observational"].studies, method, test, level
    )
    inclusion = _inclusion_sensitivity(selection, method, test, level)
    caveats = list(_caveats(pooled, sensitivity, groups["observational"]))
    caveats += [_inclusion_caveat(i, groups[i.group]) for i in inclusion]
    for key in GROUPS:
        if groups[key].fit is None:
            caveats.append(f"{groups[key].label}: no poolable hazard ratio for {outcome}.")
        elif groups[key].k == 1:
            caveats.append(f"{groups[key].label}: a single study; nothing is pooled.")
    between = fits.between
    if between is None:
        caveats.append("Test for subgroup differences not possible: fewer than two groups.")
    return PoolResult(
        outcome=outcome,
        by=by,
        method=method,
        test=test,
        level=float(level),
        snapshot=base.snapshot,
        groups=groups,
        q_between=None if between is None else between.q,
        q_between_df=None if between is None else between.df,
        q_between_p=None if between is None else between.p,
        ratio_of_hrs=ratio,
        explanation=_explanation(groups, None if between is None else between.p, ratio),
        caveats=tuple(caveats),
        not_pooled=selection.not_pooled,
        published=selection.published,
        studies=tuple(pooled),
        source_sensitivity=sensitivity,
        inclusion_sensitivity=inclusion,
    )
