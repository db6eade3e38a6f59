"""The Assessment contract v2 (CONTRACTS.md §2): what the decision engine returns.

One object feeds every delivery layer — CLI, web page, REST API, CDS Hooks card
and report — so they cannot disagree.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from locoreg.i18n import N_, gettext


class Recommendation(StrEnum):
    """Recommendations, listed in order of precedence (first match wins)."""

    out_of_scope = "out_of_scope"
    palliative_local_therapy = "palliative_local_therapy"
    complete_workup = "complete_workup"
    systemic_therapy_first = "systemic_therapy_first"
    discuss_local_therapy = "discuss_local_therapy"
    no_routine_local_therapy = "no_routine_local_therapy"


#: English labels (the msgids); :func:`recommendation_label` gives them in the current language.
RECOMMENDATION_LABELS: dict[Recommendation, str] = {
    Recommendation.out_of_scope: N_("Out of scope (not de novo stage IV with an intact primary)"),
    Recommendation.complete_workup: N_("Complete the work-up"),
    Recommendation.palliative_local_therapy: N_("Palliative local therapy"),
    Recommendation.systemic_therapy_first: N_("Systemic therapy first"),
    Recommendation.discuss_local_therapy: N_("Discuss local therapy (case by case)"),
    Recommendation.no_routine_local_therapy: N_("No routine local therapy"),
}


def recommendation_label(rec: Recommendation) -> str:
    """The label of ``rec`` in the current language (:func:`locoreg.i18n.language`)."""
    return gettext(RECOMMENDATION_LABELS[rec])


class Direction(StrEnum):
    favours_local_therapy = "favours_local_therapy"
    against_local_therapy = "against_local_therapy"
    neutral = "neutral"


class FactorName(StrEnum):
    local_symptoms = "local_symptoms"
    surgical_risk = "surgical_risk"
    resectability = "resectability"
    patient_preference = "patient_preference"
    distant_disease_burden = "distant_disease_burden"
    response_to_systemic_therapy = "response_to_systemic_therapy"
    her2_status_and_response = "her2_status_and_response"
    performance_status = "performance_status"
    tumour_subtype = "tumour_subtype"


class Modality(StrEnum):
    """Local treatments of the primary the engine weighs (contract v2)."""

    surgery = "surgery"
    radiotherapy = "radiotherapy"
    supportive_local_care = "supportive_local_care"


class IntervalKind(StrEnum):
    """What ``Prognosis.interval_months`` is (the sources give medians, rarely intervals)."""

    range_of_published_medians = "range_of_published_medians"
    confidence_interval_95 = "confidence_interval_95"
    none = "none"


class Indicator(StrEnum):
    """CDS Hooks card indicator of a recommendation (held in the rule table)."""

    info = "info"
    warning = "warning"
    critical = "critical"


#: English labels (the msgids); :func:`factor_label` gives them in the current language.
FACTOR_LABELS: dict[FactorName, str] = {
    FactorName.local_symptoms: N_("Local symptoms"),
    FactorName.surgical_risk: N_("Surgical risk"),
    FactorName.resectability: N_("Resectability"),
    FactorName.patient_preference: N_("Patient preference"),
    FactorName.distant_disease_burden: N_("Distant disease burden"),
    FactorName.response_to_systemic_therapy: N_("Response to systemic therapy"),
    FactorName.her2_status_and_response: N_("HER2 status and response"),
    FactorName.performance_status: N_("Performance status"),
    FactorName.tumour_subtype: N_("Tumour subtype"),
}


def factor_label(name: FactorName) -> str:
    """The label of factor ``name`` in the current language."""
    return gettext(FACTOR_LABELS[name])


DIRECTION_LABELS: dict[Direction, str] = {
    Direction.favours_local_therapy: N_("for local therapy"),
    Direction.against_local_therapy: N_("against local therapy"),
    Direction.neutral: N_("neutral"),
}

MODALITY_LABELS: dict[Modality, str] = {
    Modality.surgery: N_("surgery"),
    Modality.radiotherapy: N_("radiotherapy"),
    Modality.supportive_local_care: N_("supportive local care"),
}


def modality_label(modality: Modality) -> str:
    """The modality in words, lower case, in the current language."""
    return gettext(MODALITY_LABELS[modality])


_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Factor(BaseModel):
    """One consideration, weighed for or against local therapy, with its evidence."""

    model_config = _FROZEN

    factor: FactorName
    finding: str
    direction: Direction
    explanation: str
    evidence: list[str] = Field(default_factory=list)
    rule: str | None = Field(default=None, description="id of the rule that produced it")


class LocalTherapyOption(BaseModel):
    """One local modality, suitable or not for this patient, with why and what it involves."""

    model_config = _FROZEN

    modality: Modality
    suitable: bool
    reason: str
    details: str
    evidence: list[str] = Field(default_factory=list)


class Harm(BaseModel):
    """A trial signal against local therapy (direction stated by the source, CI excluding 1)."""

    model_config = _FROZEN

    finding: str
    evidence: list[str] = Field(default_factory=list)


class ReferenceMedian(BaseModel):
    """A trial arm median shown as a labelled reference where the patient meets eligibility."""

    model_config = _FROZEN

    population: str
    months: float
    eligibility: str
    evidence: list[str] = Field(default_factory=list)


class Prognosis(BaseModel):
    """Median overall survival from the most specific published figure for the patient's
    own population; ``None`` where no source describes it (or ECOG 3–4)."""

    model_config = _FROZEN

    median_os_months: float | None
    interval_months: tuple[float, float] | None
    interval_kind: IntervalKind = IntervalKind.none
    population: str = ""
    basis: str
    evidence: list[str] = Field(default_factory=list)
    references: list[ReferenceMedian] = Field(
        default_factory=list, description="trial medians for which the patient is eligible"
    )


class LocalControl(BaseModel):
    """Locoregional progression with and without local therapy, where it applies."""

    model_config = _FROZEN

    applies: bool
    summary: str
    with_local_therapy_pct: float | None = Field(
        default=None, description="3-year locoregional progression with local therapy, percent"
    )
    without_local_therapy_pct: float | None = Field(
        default=None, description="3-year locoregional progression without local therapy, percent"
    )
    horizon_years: float | None = None
    local_relapse_free_survival_hr: float | None = None
    local_relapse_free_survival_ci: tuple[float, float] | None = None
    overall_survival: str = ""
    evidence: list[str] = Field(default_factory=list)


class Assessment(BaseModel):
    """The engine's answer for one patient. JSON keys are the public contract (v2)."""

    model_config = _FROZEN

    recommendation: Recommendation
    headline: str
    stage: str | None = Field(
        description="AJCC 8th anatomic stage group (IV for M1); null when the table assigns none"
    )
    factors: list[Factor]
    local_therapy_options: list[LocalTherapyOption] = Field(default_factory=list)
    harms: list[Harm] = Field(default_factory=list)
    prognosis: Prognosis
    local_control: LocalControl
    goals_of_care: list[str] = Field(default_factory=list)
    would_change: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    evidence: list[str]
    warnings: list[str] = Field(default_factory=list)
    versions: dict[str, str]
    # Beyond the contract: what a tumour board and the delivery layers also need.
    indicator: Indicator = Indicator.info
    stage_text: str = ""
    rules_fired: list[str] = Field(default_factory=list)
    disclaimer: str = ""

    @model_validator(mode="before")
    @classmethod
    def _read_v1(cls, data: Any) -> Any:
        """Read an assessment stored under contract v1 (the audit store keeps them for ever):
        ``missing_data`` became ``missing``; ``stage``, ``prognosis.interval_kind`` and
        ``local_control.applies`` were absent (v1 intervals were ranges of published medians;
        v1 showed local control to every patient)."""
        if not isinstance(data, dict) or "stage" in data:
            return data
        data = dict(data)
        data["stage"] = None
        if "missing_data" in data:
            data.setdefault("missing", data.pop("missing_data"))
        prog = data.get("prognosis")
        if isinstance(prog, dict) and prog.get("interval_months") and "interval_kind" not in prog:
            # v1 intervals were always the range of the published medians that applied
            data["prognosis"] = {**prog, "interval_kind": "range_of_published_medians"}
        local = data.get("local_control")
        if isinstance(local, dict) and "applies" not in local:
            data["local_control"] = {**local, "applies": True}
        return data

    @property
    def missing_data(self) -> list[str]:
        """v1 name of :attr:`missing` (kept for callers; the JSON key is ``missing``)."""
        return self.missing
