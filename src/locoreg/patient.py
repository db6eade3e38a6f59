"""The clinical vocabulary: the Patient contract (CONTRACTS.md §1) as pydantic v2 models.

Enum inputs are accepted case-insensitively and normalised to lower case; T and
N categories accept a leading ``c``/``p`` prefix and any case (``cT4D`` → ``T4d``).
Unknown fields are rejected. Cross-field consistency (M1 needs metastases, M0
has none) is checked here, so every consumer — CLI, web form, REST API, FHIR
mapping — gets the same verdict with the same field path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from locoreg.errors import FieldError, InputError, field_errors


class Sex(StrEnum):
    female = "female"
    male = "male"


class ReceptorStatus(StrEnum):
    positive = "positive"
    negative = "negative"
    unknown = "unknown"


class MStage(StrEnum):
    M0 = "M0"
    M1 = "M1"


class MetastaticSite(StrEnum):
    bone = "bone"
    lung = "lung"
    liver = "liver"
    brain = "brain"
    distant_lymph_nodes = "distant_lymph_nodes"
    pleura = "pleura"
    skin_soft_tissue = "skin_soft_tissue"
    other = "other"


class Response(StrEnum):
    complete_response = "complete_response"
    partial_response = "partial_response"
    stable_disease = "stable_disease"
    progressive_disease = "progressive_disease"
    not_evaluated = "not_evaluated"


class LocalSymptom(StrEnum):
    bleeding = "bleeding"
    ulceration = "ulceration"
    infection = "infection"
    fungation = "fungation"
    pain = "pain"
    impending_ulceration = "impending_ulceration"
    nodal_complication = "nodal_complication"


class SurgicalRisk(StrEnum):
    low = "low"
    standard = "standard"
    high = "high"


class PatientPreference(StrEnum):
    wants_local_therapy = "wants_local_therapy"
    undecided = "undecided"
    declines_surgery = "declines_surgery"
    declines_local_therapy = "declines_local_therapy"


T_CATEGORIES: tuple[str, ...] = (
    "TX",
    "T0",
    "Tis",
    "T1",
    "T1mi",
    "T1a",
    "T1b",
    "T1c",
    "T2",
    "T3",
    "T4",
    "T4a",
    "T4b",
    "T4c",
    "T4d",
)
N_CATEGORIES: tuple[str, ...] = (
    "NX",
    "N0",
    "N1",
    "N1mi",
    "N2",
    "N2a",
    "N2b",
    "N3",
    "N3a",
    "N3b",
    "N3c",
)

# Visceral sites, as the trials' subgroup analyses use the word.
VISCERAL_SITES: frozenset[MetastaticSite] = frozenset(
    {MetastaticSite.lung, MetastaticSite.liver, MetastaticSite.pleura, MetastaticSite.brain}
)
# Problems of the primary that indicate palliative local therapy whenever they are
# not controlled (contract v2 §2): open wounds and their complications.
PALLIATIVE_INDICATIONS: frozenset[LocalSymptom] = frozenset(
    {LocalSymptom.bleeding, LocalSymptom.ulceration, LocalSymptom.infection, LocalSymptom.fungation}
)
# Problems that indicate palliative local therapy only when they persist once
# systemic therapy has started (before it, systemic therapy is the first treatment).
PALLIATIVE_ON_THERAPY: frozenset[LocalSymptom] = frozenset(
    {LocalSymptom.pain, LocalSymptom.impending_ulceration, LocalSymptom.nodal_complication}
)
# Problems for which dressings, haemostatic measures and wound care are an option.
WOUND_PROBLEMS: frozenset[LocalSymptom] = PALLIATIVE_INDICATIONS
LABEL_MAX_LENGTH = 40


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _category(value: Any, prefix: str, allowed: tuple[str, ...]) -> Any:
    """Normalise a TNM category: strip a ``c``/``p``/``yc``/``yp`` prefix, fix case."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    low = text.lower()
    for pre in ("yc", "yp", "c", "p"):
        if low.startswith(pre + prefix.lower()):
            low = low[len(pre) :]
            break
    by_lower = {c.lower(): c for c in allowed}
    if low in by_lower:
        return by_lower[low]
    raise PydanticCustomError(
        "category",
        "'{value}' is not a valid {prefix} category; allowed: {allowed}",
        {"value": value, "prefix": prefix, "allowed": ", ".join(allowed)},
    )


def _t(value: Any) -> Any:
    return _category(value, "T", T_CATEGORIES)


def _n(value: Any) -> Any:
    return _category(value, "N", N_CATEGORIES)


def _m(value: Any) -> Any:
    return (
        value.strip().upper().removeprefix("C").removeprefix("P")
        if isinstance(value, str)
        else value
    )


def _label(value: Any) -> Any:
    """A board label: printable characters only, surrounding blanks removed."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text.isprintable():
        raise PydanticCustomError(
            "label", "label must contain printable characters only (no control characters)"
        )
    return text or None


Lower = BeforeValidator(_lower)
# Contract v2: strict types. An integer field takes an integer (not true, not "52"), a
# boolean field takes true/false (not "yes", 1 or "no"); forms convert their own strings.
StrictInt = Annotated[int, Field(strict=True)]
StrictBool = Annotated[bool, Field(strict=True)]
_STRICT = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Metastasis(BaseModel):
    """A distant metastatic site and its number of lesions (``None`` = unknown)."""

    model_config = _STRICT

    site: Annotated[MetastaticSite, Lower]
    lesions: Annotated[int, Field(strict=True, ge=1, le=10_000)] | None = Field(
        default=None, description="lesions at this site; null = not yet counted"
    )


class SystemicTherapy(BaseModel):
    """First-line systemic therapy: time on it and the best response so far."""

    model_config = _STRICT

    months: float = Field(
        strict=True,
        ge=0,
        le=600,
        allow_inf_nan=False,
        description="months since the start of first-line systemic therapy",
    )
    response: Annotated[Response, Lower] = Response.not_evaluated


class Patient(BaseModel):
    """A patient with newly diagnosed breast cancer, as the tumour board sees her (§1)."""

    model_config = _STRICT

    age: int = Field(strict=True, ge=18, le=110, description="years at diagnosis")
    sex: Annotated[Sex, Lower]
    ecog: Annotated[int, Field(strict=True, ge=0, le=4)] | None = Field(
        default=None, description="ECOG performance status; null = not recorded"
    )
    histology_confirmed: StrictBool
    er: Annotated[ReceptorStatus, Lower]
    pr: Annotated[ReceptorStatus, Lower]
    her2: Annotated[ReceptorStatus, Lower]
    t: Annotated[str | None, BeforeValidator(_t)] = None
    n: Annotated[str | None, BeforeValidator(_n)] = None
    m: Annotated[MStage, BeforeValidator(_m)]
    metastases: list[Metastasis]
    systemic_therapy: SystemicTherapy | None = None
    local_symptoms: list[Annotated[LocalSymptom, Lower]] = Field(default_factory=list)
    local_symptoms_controlled: StrictBool = False
    surgical_risk: Annotated[SurgicalRisk, Lower] = SurgicalRisk.standard
    resectable: StrictBool | None = None
    patient_preference: Annotated[PatientPreference, Lower] = PatientPreference.undecided
    visceral_crisis: StrictBool = False
    label: Annotated[str | None, BeforeValidator(_label)] = Field(
        default=None,
        max_length=LABEL_MAX_LENGTH,
        description="the board's own label; printed on reports, never used in the logic",
    )

    @field_validator("local_symptoms")
    @classmethod
    def _unique_symptoms(cls, value: list[LocalSymptom]) -> list[LocalSymptom]:
        return list(dict.fromkeys(value))

    @field_validator("metastases")
    @classmethod
    def _one_row_per_site(cls, value: list[Metastasis]) -> list[Metastasis]:
        seen: set[MetastaticSite] = set()
        for item in value:
            if item.site in seen:
                raise PydanticCustomError(
                    "duplicate_site",
                    "site '{site}' is listed twice; give each site once, with its total lesions",
                    {"site": item.site.value},
                )
            seen.add(item.site)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Patient:
        if self.m is MStage.M1 and not self.metastases:
            raise PydanticCustomError(
                "inconsistent",
                "m is M1 but no metastases are listed; list at least one metastatic site",
                {"field": "metastases"},
            )
        if self.m is MStage.M0 and self.metastases:
            raise PydanticCustomError(
                "inconsistent",
                "m is M0 but metastases are listed; use m = M1 or remove the metastases",
                {"field": "metastases"},
            )
        return self

    # Derived vocabulary used by the decision rules and the prognosis tables.

    @property
    def hormone_receptor_positive(self) -> bool:
        return ReceptorStatus.positive in (self.er, self.pr)

    @property
    def receptors_known(self) -> bool:
        return ReceptorStatus.unknown not in (self.er, self.pr, self.her2)

    @property
    def sites(self) -> frozenset[MetastaticSite]:
        return frozenset(m.site for m in self.metastases)

    @property
    def total_lesions(self) -> int:
        """Lesions counted over all sites; unknown counts add nothing."""
        return sum(m.lesions or 0 for m in self.metastases)

    @property
    def lesion_count_unknown(self) -> bool:
        return any(m.lesions is None for m in self.metastases)


def parse_patient(data: Any) -> Patient:
    """Validate a mapping against the Patient contract; :class:`InputError` lists all problems."""
    if not isinstance(data, Mapping):
        raise InputError.single("", "a patient must be a JSON/YAML object with named fields")
    try:
        return Patient.model_validate(dict(data))
    except ValidationError as exc:
        raise InputError(field_errors(exc)) from None


def load_patient(path: str | Path) -> Patient:
    """Read a patient from a JSON or YAML file (by extension; YAML is a superset of JSON)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError.single("", f"file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError.single("", f"cannot read {p}: {exc}") from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise InputError([FieldError("", f"{p.name} is not valid JSON/YAML: {exc}")]) from None
    return parse_patient(data)
