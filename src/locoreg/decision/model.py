"""The Assessment contract (CONTRACTS.md §2): what the decision engine returns.

One object feeds every delivery layer — CLI, web page, REST API, CDS Hooks card
and report — so they cannot disagree.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Recommendation(StrEnum):
    """Recommendations, listed in order of precedence (first match wins)."""

    out_of_scope = "out_of_scope"
    complete_workup = "complete_workup"
    palliative_local_therapy = "palliative_local_therapy"
    systemic_therapy_first = "systemic_therapy_first"
    discuss_local_therapy = "discuss_local_therapy"
    no_routine_local_therapy = "no_routine_local_therapy"


RECOMMENDATION_LABELS: dict[Recommendation, str] = {
    Recommendation.out_of_scope: "Out of scope (not de novo stage IV)",
    Recommendation.complete_workup: "Complete the work-up",
    Recommendation.palliative_local_therapy: "Palliative local therapy",
    Recommendation.systemic_therapy_first: "Systemic therapy first",
    Recommendation.discuss_local_therapy: "Discuss local therapy (case by case)",
    Recommendation.no_routine_local_therapy: "No routine local therapy",
}


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


FACTOR_LABELS: dict[FactorName, str] = {
    name: name.value.replace("_", " ").capitalize() for name in FactorName
} | {FactorName.her2_status_and_response: "HER2 status and response"}

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


class Prognosis(BaseModel):
    """Median overall survival from published registry figures (None where no figure exists)."""

    model_config = _FROZEN

    median_os_months: float | None
    interval_months: tuple[float, float] | None
    basis: str
    evidence: list[str] = Field(default_factory=list)


class LocalControl(BaseModel):
    """Locoregional progression with and without local therapy, and what it does not change."""

    model_config = _FROZEN

    summary: str
    with_local_therapy_pct: float | None = Field(
        default=None, description="3-year locoregional progression with local therapy, percent"
    )
    without_local_therapy_pct: float | None = Field(
        default=None, description="3-year locoregional progression without local therapy, percent"
    )
    horizon_years: float | None = None
    local_relapse_free_survival_hr: float | None = None
    overall_survival: str = ""
    evidence: list[str] = Field(default_factory=list)


class Assessment(BaseModel):
    """The engine's answer for one patient. JSON keys are the public contract."""

    model_config = _FROZEN

    recommendation: Recommendation
    headline: str
    factors: list[Factor]
    prognosis: Prognosis
    local_control: LocalControl
    evidence: list[str]
    warnings: list[str] = Field(default_factory=list)
    versions: dict[str, str]
    # Beyond the contract: what a tumour board also needs to read.
    rules_fired: list[str] = Field(default_factory=list)
    missing_data: list[str] = Field(default_factory=list)
    would_change: list[str] = Field(default_factory=list)
    goals_of_care: list[str] = Field(default_factory=list)
    disclaimer: str = ""
