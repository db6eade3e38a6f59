"""The evidence-base schema: a Study, its Outcomes, its risk of bias, and GRADE ratings.

One YAML file per study (``evidence/data/<id>.yaml``) is parsed into :class:`Study`.
The models are strict (unknown keys are errors) and frozen, and they check what
a reviewer would check by hand: an interval contains its estimate, the lower
bound is not above the upper one, the confidence level lies in (0, 1), every
number carries the URL it was read from, a converted estimate says why, and a
risk-of-bias tool fits the design (RoB 2 for randomised trials, ROBINS-I for
observational studies).

Direction convention: every comparative estimate is *local therapy vs none*.
For hazard and risk ratios a value below 1 favours local therapy; when a source
reported the reciprocal, the record holds the inverted value with
``converted: true``, the reason, and the numbers as reported.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class Design(StrEnum):
    """Study design. The first seven values are the public contract."""

    rct = "rct"
    prospective_registry = "prospective_registry"
    retrospective_registry = "retrospective_registry"
    single_institution = "single_institution"
    meta_analysis = "meta_analysis"
    epidemiology = "epidemiology"
    guideline_or_review = "guideline_or_review"
    # Beyond the contract: studies cited for background whose design is known only from
    # their title, so that no finer label is claimed than the sources support.
    phase_2_trial = "phase_2_trial"
    observational = "observational"

    @property
    def is_observational(self) -> bool:
        """Non-randomised comparisons of treated and untreated patients (ROBINS-I applies)."""
        return self in OBSERVATIONAL_DESIGNS


OBSERVATIONAL_DESIGNS = frozenset(
    {
        Design.prospective_registry,
        Design.retrospective_registry,
        Design.single_institution,
        Design.observational,
    }
)


class DataSource(StrEnum):
    """The registry or database whose patients a registry or observational study analysed.

    Two records with the same value may share patients, so :mod:`locoreg.evidence.pool`
    re-pools the observational group with one study per value (a sensitivity analysis).
    A value names the database only: its years and subsets (``SEER 18``) stay in
    ``setting``. A record gets a value only when its setting, its sources or the verified
    figures name the database; a new database needs a new value here and in
    :data:`DATA_SOURCE_LABELS`.
    """

    seer = "seer"
    ncdb = "ncdb"
    eindhoven_cancer_registry = "eindhoven_cancer_registry"
    geneva_cancer_registry = "geneva_cancer_registry"
    md_anderson = "md_anderson"
    baylor_breast_database = "baylor_breast_database"
    northwestern_lynn_sage = "northwestern_lynn_sage"
    massachusetts_institutional = "massachusetts_institutional"

    @property
    def label(self) -> str:
        """Name for people, e.g. ``"SEER"``, ``"Eindhoven Cancer Registry"``."""
        return DATA_SOURCE_LABELS[self]


#: display names of the data sources (every :class:`DataSource` has one)
DATA_SOURCE_LABELS: dict[DataSource, str] = {
    DataSource.seer: "SEER",
    DataSource.ncdb: "NCDB",
    DataSource.eindhoven_cancer_registry: "Eindhoven Cancer Registry",
    DataSource.geneva_cancer_registry: "Geneva Cancer Registry",
    DataSource.md_anderson: "MD Anderson Cancer Center",
    DataSource.baylor_breast_database: "Baylor institutional breast cancer database",
    DataSource.northwestern_lynn_sage: "Lynn Sage Breast Center, Northwestern University",
    DataSource.massachusetts_institutional: "Massachusetts institutional data",
}

#: designs whose records may name a data source: observational comparisons and the
#: registry-based prognosis (epidemiology) records
DATA_SOURCE_DESIGNS = frozenset({*OBSERVATIONAL_DESIGNS, Design.epidemiology})


class SurgeryTiming(StrEnum):
    """When local therapy of the primary was given relative to systemic therapy."""

    upfront = "upfront"
    after_systemic_therapy = "after_systemic_therapy"
    mixed = "mixed"
    not_applicable = "not_applicable"
    not_reported = "not_reported"


class OutcomeKind(StrEnum):
    overall_survival = "overall_survival"
    locoregional_progression = "locoregional_progression"
    distant_progression = "distant_progression"
    progression_free_survival = "progression_free_survival"
    breast_cancer_specific_survival = "breast_cancer_specific_survival"
    quality_of_life = "quality_of_life"
    toxicity = "toxicity"
    survival_proportion = "survival_proportion"
    median_survival = "median_survival"
    other = "other"


class Measure(StrEnum):
    HR = "HR"
    OR = "OR"
    RR = "RR"
    rate = "rate"
    median = "median"
    proportion = "proportion"
    descriptive = "descriptive"

    @property
    def is_ratio(self) -> bool:
        return self in (Measure.HR, Measure.OR, Measure.RR)


class Rob2Judgement(StrEnum):
    low = "low"
    some_concerns = "some_concerns"
    high = "high"


class RobinsJudgement(StrEnum):
    low = "low"
    moderate = "moderate"
    serious = "serious"
    critical = "critical"
    no_information = "no_information"


class Certainty(StrEnum):
    """GRADE certainty of a body of evidence."""

    high = "high"
    moderate = "moderate"
    low = "low"
    very_low = "very_low"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Text = Annotated[str, Field(min_length=1)]
#: a finite number written as a number (``"0.8"`` and ``.inf`` are refused, ``1`` is 1.0)
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
#: a whole number written as a number (``"120"`` is refused)
Count = Annotated[int, Field(strict=True)]
Flag = Annotated[bool, Field(strict=True)]
Unit = Literal["months", "percent", "count", "per_1000"]

# A p-value as printed: an optional comparison sign, a number, an optional remark in
# parentheses ("<0.001", "0.13 (one-sided)").
_P_VALUE = re.compile(r"^(?:[<>\u2264\u2265]=?)?\s*(\d*\.?\d+(?:[eE]-?\d+)?)\s*(?:\(.+\))?$")


def p_value_number(text: str) -> float | None:
    """The number of a printed p-value (``'<0.001'`` → 0.001); None when it is not one or
    is printed as a lower bound (``'>0.05'``)."""
    match = _P_VALUE.match(text.strip())
    if match is None or text.strip().startswith((">", "\u2265")):
        return None
    return float(match.group(1))


def p_value_problem(text: str) -> str | None:
    """Why ``text`` is not a p-value as printed (None: it is one in [0, 1])."""
    match = _P_VALUE.match(text.strip())
    if match is None:
        return f"{text!r} is not a p-value as printed (e.g. '0.04', '<0.001')"
    if not 0.0 <= float(match.group(1)) <= 1.0:
        return f"p-value {match.group(1)} is outside [0, 1]"
    return None


def _percent_problems(
    prefix: str, unit: str | None, values: tuple[tuple[str, float | None], ...]
) -> list[tuple[str, str]]:
    """A percentage and its bounds lie in 0–100."""
    if unit != "percent":
        return []
    return [
        (f"{prefix}{name}", f"a percentage must lie in 0–100, got {value:g}")
        for name, value in values
        if value is not None and not 0.0 <= value <= 100.0
    ]


def _problems(kind: str, problems: list[tuple[str, str]]) -> PydanticCustomError:
    """One error carrying every (field, message) problem of a record.

    ``validate_evidence`` expands ``ctx["problems"]`` into one line per field, so a
    curator sees every broken value of a record at once, each with its own path.
    """
    text = "; ".join(f"{field}: {message}" for field, message in problems)
    return PydanticCustomError(kind, "{text}", {"text": text, "problems": problems})


class Citation(_Strict):
    """Bibliographic record. Identifiers are filled only when a source showed them."""

    authors: Text = Field(description="as printed, e.g. 'Badwe R, Hawaldar R, Nair N, et al.'")
    first_author: str | None = Field(None, description="surname; None when not visible")
    title: str | None = None
    year: Count | None = Field(None, ge=1900, le=2100)
    journal: str | None = None
    publisher: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = Field(None, pattern=r"^\d+$")
    pmcid: str | None = Field(None, pattern=r"^PMC\d+$")
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v


_V = TypeVar("_V", "ArmValue", "CategoryValue")


def _bounded(v: _V) -> _V:
    """A per-arm or per-category value and its bounds: a percentage lies in 0–100."""
    bounds = (("value", v.value), ("ci_low", v.ci_low), ("ci_high", v.ci_high))
    if p := _percent_problems("", v.unit, bounds):
        raise _problems("value_check", p)
    return v


class ArmValue(_Strict):
    """A number for one arm, e.g. median overall survival with local therapy."""

    arm: Literal["local_therapy", "no_local_therapy"]
    metric: Text = Field(description="what the value is, e.g. 'median_os_months', 'os_3y_percent'")
    value: Number
    ci_low: Number | None = None
    ci_high: Number | None = None
    unit: Unit

    @model_validator(mode="after")
    def _check(self) -> ArmValue:
        return _bounded(self)


class CategoryValue(_Strict):
    """A number for one category of a breakdown (subtype, metastatic site, country)."""

    category: Text
    value: Number
    ci_low: Number | None = None
    ci_high: Number | None = None
    unit: Unit

    @model_validator(mode="after")
    def _check(self) -> CategoryValue:
        return _bounded(self)


class ReportedEstimate(_Strict):
    """An estimate exactly as the source printed it, kept when the record converts it."""

    estimate: Number
    ci_low: Number | None = None
    ci_high: Number | None = None
    comparison: Text


class Outcome(_Strict):
    """One result of one study: an outcome, a measure, an estimate and where it was read."""

    outcome: OutcomeKind
    label: Text = Field(description="the outcome as the source names it")
    measure: Measure
    estimate: Number | None = None
    ci_low: Number | None = None
    ci_high: Number | None = None
    unit: Unit | None = Field(
        None, description="unit of a median, rate or proportion estimate (ratios have none)"
    )
    ci_level: Number | None = Field(None, description="0.95 or 0.90 (E2108, JCOG1017)")
    p_value: Annotated[str, Field(strict=True)] | None = Field(
        None, description="as printed, in quotes: '0.79', '<0.001' (a number in [0, 1])"
    )
    direction: Literal["local therapy vs none"] = "local therapy vs none"
    favourable_side: Literal["lower", "higher"] | None = Field(
        None,
        description="which side of 1 favours local therapy: 'lower' for HR/RR of an event, "
        "'higher' for an odds ratio of surviving",
    )
    comparison: str | None = Field(None, description="when narrower than any vs no local therapy")
    converted: Flag = False
    conversion: str | None = Field(None, description="why and how a reported value was inverted")
    reported: ReportedEstimate | None = None
    subgroup: Text = "overall"
    adjusted: str | None = Field(None, description="adjustment for observational estimates")
    n: Count | None = Field(None, ge=1, description="patients in this analysis when it differs")
    follow_up: str | None = None
    arms: tuple[ArmValue, ...] = ()
    categories: tuple[CategoryValue, ...] = ()
    secondary_report: str | None = Field(
        None,
        description="the same analysis as another outcome of this study, from another report "
        "(e.g. the conference abstract); never pool it a second time",
    )
    source_url: str | None = None
    not_found: str | None = Field(None, description="what the sources read did not show")
    notes: str | None = None

    @property
    def has_numbers(self) -> bool:
        return (
            self.estimate is not None
            or self.ci_low is not None
            or self.ci_high is not None
            or self.p_value is not None
            or bool(self.arms)
            or bool(self.categories)
        )

    @property
    def has_effect_estimate(self) -> bool:
        return self.measure.is_ratio and self.estimate is not None

    @field_validator("ci_level")
    @classmethod
    def _level(cls, v: float | None) -> float | None:
        if v is not None and not 0.0 < v < 1.0:
            raise ValueError(f"ci_level must lie strictly between 0 and 1, got {v}")
        return v

    @model_validator(mode="after")
    def _check(self) -> Outcome:
        p: list[tuple[str, str]] = []
        lo, hi, est = self.ci_low, self.ci_high, self.estimate
        if (lo is None) != (hi is None):
            missing = "ci_low" if lo is None else "ci_high"
            p.append((missing, "give both interval bounds or neither"))
        if lo is not None and hi is not None:
            if lo > hi:
                p.append(("ci_low", f"lower bound {lo:g} is above upper bound {hi:g}"))
            elif est is not None and not lo <= est <= hi:
                p.append(("estimate", f"{est:g} lies outside its interval [{lo:g}, {hi:g}]"))
            if self.ci_level is None:
                p.append(("ci_level", "an interval needs its level (e.g. 0.95)"))
        if self.measure.is_ratio:
            for name, value in (("estimate", est), ("ci_low", lo)):
                if value is not None and value <= 0:
                    p.append((name, f"a ratio must be positive, got {value:g}"))
            if lo is not None and hi is not None and 0 < lo == hi:
                # a zero-width interval gives a zero standard error: nothing could be pooled
                p.append(("ci_high", f"the interval has no width ({lo:g}–{hi:g})"))
        if self.p_value is not None and (why := p_value_problem(self.p_value)) is not None:
            p.append(("p_value", why))
        p += _percent_problems("", self.unit, (("estimate", est), ("ci_low", lo), ("ci_high", hi)))
        if self.has_numbers and not self.source_url:
            p.append(("source_url", "every number needs the URL it was read from"))
        if self.source_url and not self.source_url.startswith(("http://", "https://")):
            p.append(("source_url", "must be an http(s) URL"))
        if self.converted and not (self.conversion and self.reported):
            p.append(("conversion", "a converted estimate needs its reason and reported values"))
        if not self.converted and (self.conversion or self.reported):
            p.append(("converted", "conversion details given but converted is false"))
        if est is not None and not self.measure.is_ratio and self.unit is None:
            p.append(("unit", f"a {self.measure.value} estimate needs its unit"))
        if not self.has_numbers and self.measure is not Measure.descriptive and not self.not_found:
            p.append(("not_found", "an outcome without numbers must say what was not found"))
        for i, arm in enumerate(self.arms):
            if (
                arm.ci_low is not None
                and arm.ci_high is not None
                and not (arm.ci_low <= arm.value <= arm.ci_high)
            ):
                p.append((f"arms.{i}.value", "value lies outside its interval"))
        if p:
            raise _problems("outcome_check", p)
        return self


class Rob2Domain(_Strict):
    judgement: Rob2Judgement
    reason: Text


class RobinsDomain(_Strict):
    judgement: RobinsJudgement
    reason: Text


_ROB2_ORDER = {Rob2Judgement.low: 0, Rob2Judgement.some_concerns: 1, Rob2Judgement.high: 2}
_ROBINS_ORDER = {
    RobinsJudgement.no_information: -1,
    RobinsJudgement.low: 0,
    RobinsJudgement.moderate: 1,
    RobinsJudgement.serious: 2,
    RobinsJudgement.critical: 3,
}


class Rob2(_Strict):
    """Cochrane RoB 2 for a randomised trial (effect of assignment, overall survival)."""

    tool: Literal["rob2"]
    randomisation: Rob2Domain
    deviations: Rob2Domain
    missing_data: Rob2Domain
    measurement: Rob2Domain
    selection_of_reported_result: Rob2Domain
    overall: Rob2Domain
    assessed_by: Text = "locoreg"
    basis: Text = "abstract and summary excerpts listed as source_url"

    def domains(self) -> dict[str, Rob2Domain]:
        return {
            "randomisation": self.randomisation,
            "deviations": self.deviations,
            "missing_data": self.missing_data,
            "measurement": self.measurement,
            "selection_of_reported_result": self.selection_of_reported_result,
        }

    @model_validator(mode="after")
    def _overall(self) -> Rob2:
        worst = max(_ROB2_ORDER[d.judgement] for d in self.domains().values())
        if _ROB2_ORDER[self.overall.judgement] < worst:
            raise _problems(
                "rob_check", [("overall", "overall judgement is milder than its worst domain")]
            )
        return self


class RobinsI(_Strict):
    """ROBINS-I for a non-randomised comparison of local therapy vs none."""

    tool: Literal["robins_i"]
    confounding: RobinsDomain
    selection_of_participants: RobinsDomain
    classification_of_interventions: RobinsDomain
    deviations: RobinsDomain
    missing_data: RobinsDomain
    measurement: RobinsDomain
    selection_of_reported_result: RobinsDomain
    overall: RobinsDomain
    immortal_time_bias: Flag = Field(
        description="surgery timing lets treated patients accrue event-free time before surgery"
    )
    assessed_by: Text = "locoreg"
    basis: Text = "abstract and summary excerpts listed as source_url"

    def domains(self) -> dict[str, RobinsDomain]:
        return {
            "confounding": self.confounding,
            "selection_of_participants": self.selection_of_participants,
            "classification_of_interventions": self.classification_of_interventions,
            "deviations": self.deviations,
            "missing_data": self.missing_data,
            "measurement": self.measurement,
            "selection_of_reported_result": self.selection_of_reported_result,
        }

    @model_validator(mode="after")
    def _overall(self) -> RobinsI:
        p: list[tuple[str, str]] = []
        worst = max(_ROBINS_ORDER[d.judgement] for d in self.domains().values())
        if _ROBINS_ORDER[self.overall.judgement] < worst:
            p.append(("overall", "overall judgement is milder than its worst domain"))
        if self.immortal_time_bias and "immortal time" not in (
            self.selection_of_participants.reason.lower()
        ):
            p.append(("selection_of_participants", "immortal time bias flagged but not named here"))
        if p:
            raise _problems("rob_check", p)
        return self


RiskOfBias = Annotated[Rob2 | RobinsI, Field(discriminator="tool")]


class Study(_Strict):
    """One study (or review) of the evidence base, with every number it contributes."""

    id: Text = Field(description="stable id, equal to the file name without .yaml")
    csv_id: str | None = Field(None, description="study_id in verified_figures.csv")
    citation: Citation
    design: Design
    summary: Text = Field(description="neutral one-paragraph paraphrase of what the study did")
    population: str | None = None
    setting: str | None = None
    country: str | None = None
    data_source: DataSource | None = Field(
        None,
        description="registry or database of a registry/observational study, when a source "
        "names it; studies with the same value may share patients",
    )
    n_total: Count | None = Field(None, ge=1)
    n_local_therapy: Count | None = Field(None, ge=0)
    n_no_local_therapy: Count | None = Field(None, ge=0)
    n_note: str | None = None
    follow_up: str | None = None
    follow_up_months: Number | None = Field(None, ge=0, description="median, when reported")
    source_url: str | None = Field(
        None,
        description="where the study-level numbers (n_total, arm sizes, follow_up_months) were "
        "read; every outcome carries its own source_url",
    )
    timing_of_surgery: SurgeryTiming
    outcomes: tuple[Outcome, ...] = ()
    no_extractable_estimate: Flag = False
    no_extractable_estimate_reason: str | None = None
    risk_of_bias: RiskOfBias | None = None
    risk_of_bias_not_assessed: str | None = None
    key_points: tuple[str, ...] = Field(
        (), description="paraphrased positions of a review or guideline (never quoted)"
    )
    cited_in: tuple[str, ...] = Field((), description="ids of reviews/topics citing this study")
    related: tuple[str, ...] = Field((), description="ids of other reports of the same trial")
    superseded_by: str | None = Field(
        None,
        description="id of a later or fuller report of the same study, preferred wherever it "
        "reports the same outcome and subgroup",
    )
    notes: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError("ids are lower-case letters, digits and underscores")
        return v

    @field_validator("data_source", mode="before")
    @classmethod
    def _data_source(cls, v: Any) -> Any:
        # a clearer message than the enum's: the allowed values, and where the years go
        if v is None or isinstance(v, DataSource):
            return v
        if isinstance(v, str) and v in {d.value for d in DataSource}:
            return v
        allowed = ", ".join(d.value for d in DataSource)
        raise ValueError(
            f"unknown data source {v!r} (allowed: {allowed}); name the database only, "
            "its years and subsets belong in setting"
        )

    @model_validator(mode="after")
    def _check(self) -> Study:
        p: list[tuple[str, str]] = []
        if self.data_source is not None:
            if self.design not in DATA_SOURCE_DESIGNS:
                allowed = ", ".join(sorted(d.value for d in DATA_SOURCE_DESIGNS))
                p.append(
                    (
                        "data_source",
                        f"a {self.design.value} record names no data source of its own "
                        f"(only {allowed} records do)",
                    )
                )
            if self.url() is None:
                p.append(("data_source", "give the URL the data source was read from"))
        if self.no_extractable_estimate:
            if not self.no_extractable_estimate_reason:
                p.append(("no_extractable_estimate_reason", "say why no estimate is extractable"))
            for i, o in enumerate(self.outcomes):
                if o.has_effect_estimate:
                    p.append((f"outcomes.{i}.estimate", "study says no extractable estimate"))
        elif not any(o.has_numbers for o in self.outcomes):
            p.append(
                ("no_extractable_estimate", "no outcome has a number: set it true with a reason")
            )
        rob = self.risk_of_bias
        if rob is None and not self.risk_of_bias_not_assessed:
            p.append(("risk_of_bias", "give a risk-of-bias assessment or say why there is none"))
        if isinstance(rob, Rob2) and self.design is not Design.rct:
            p.append(("risk_of_bias.tool", "RoB 2 applies to randomised trials only"))
        if isinstance(rob, RobinsI) and not self.design.is_observational:
            p.append(("risk_of_bias.tool", "ROBINS-I applies to observational comparisons only"))
        numbers = ("n_total", "n_local_therapy", "n_no_local_therapy", "follow_up_months")
        given = [name for name in numbers if getattr(self, name) is not None]
        if given and not self.source_url:
            p.append(("source_url", f"{', '.join(given)} need the URL they were read from"))
        if self.source_url and not self.source_url.startswith(("http://", "https://")):
            p.append(("source_url", "must be an http(s) URL"))
        n_arms = (self.n_local_therapy or 0) + (self.n_no_local_therapy or 0)
        if self.n_total is not None and n_arms > self.n_total:
            p.append(("n_total", "arm sizes add up to more than n_total"))
        if p:
            raise _problems("study_check", p)
        return self

    def cite(self) -> str:
        """Short citation, e.g. ``"Badwe 2015, Lancet Oncol"``.

        Without a visible first author the record's PubMed/PMC id stands in, and without
        those the journal: ``"PMID 30146252 2018"``, ``"BMC Cancer 2020"``.
        """
        c = self.citation
        year = f" {c.year}" if c.year else ""
        pmc = c.pmcid
        who = c.first_author or (f"PMID {c.pmid}" if c.pmid else pmc)
        if who is None:
            return f"{c.journal or c.authors}{year}"
        return f"{who}{year}, {c.journal}" if c.journal else f"{who}{year}"

    def url(self) -> str | None:
        """Best link to the study: its own URL, DOI, PubMed record, else its first source."""
        c = self.citation
        if c.url:
            return c.url
        if c.doi:
            return f"https://doi.org/{c.doi}"
        if c.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{c.pmid}/"
        if c.pmcid:
            return f"https://pmc.ncbi.nlm.nih.gov/articles/{c.pmcid}"
        return next((o.source_url for o in self.outcomes if o.source_url), None)


class GradeRating(_Strict):
    """GRADE certainty for one outcome in one body of evidence (randomised or observational)."""

    outcome: OutcomeKind
    body: Literal["randomised", "observational"]
    certainty: Certainty
    downgrades: tuple[str, ...] = ()
    upgrades: tuple[str, ...] = ()
    studies: tuple[str, ...] = Field(min_length=1)
    rated_by: Text = Field(description="'tosello2018' for the Cochrane ratings, else 'locoreg'")
    imprecision_from_pool: Flag = Field(
        False,
        description="the imprecision domain follows locoreg.evidence.grade.rate_imprecision "
        "on the pool of this outcome and body (its downgrade starts with 'imprecision:')",
    )
    source_url: str | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _check(self) -> GradeRating:
        if self.rated_by != "locoreg" and not self.source_url:
            raise _problems("grade_check", [("source_url", "a published rating needs its URL")])
        start = Certainty.high if self.body == "randomised" else Certainty.low
        if self.certainty != start and not self.downgrades and not self.upgrades:
            raise _problems(
                "grade_check",
                [("downgrades", f"certainty differs from the {start.value} start: say why")],
            )
        return self


def dump(model: BaseModel) -> dict[str, Any]:
    """JSON-ready dict without empty optional values (for the CLI and the API)."""
    return model.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
