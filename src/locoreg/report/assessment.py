"""An Assessment as a standalone, printable HTML page (the tumour-board summary).

The web app serves it at ``/assessments/{id}/summary``; a ``locoreg report``
command can write it to a file. One self-contained file: inline CSS, inline SVG,
no external assets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from locoreg.decision.model import RECOMMENDATION_LABELS, Assessment, Direction, FactorName

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class Harm:
    """A harm of breast surgery in the trials, with the study it comes from."""

    text: str
    evidence: tuple[str, ...]
    source_url: str


# Read from ../shared/evidence/verified_figures.csv (rows BADWE2015_TMC, SHIEN_JCOG1017,
# TOSELLO2018_COCHRANE); every number keeps its source URL.
SURGERY_HARMS: tuple[Harm, ...] = (
    Harm(
        "Toxicity from local therapy was similar with and without surgery: RR 0.99 "
        "(95% CI 0.14–6.90), 15 per 1000 in both arms (one trial, MF07-01; GRADE low).",
        ("tosello2018", "soran2018"),
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC6494198/table/CD011276-tbl-0001",
    ),
    Harm(
        "One wound-related adverse event in the local-therapy arm of the Tata Memorial trial.",
        ("badwe2015",),
        "https://www.cancertherapyadvisor.com/home/cancer-topics/breast-cancer/"
        "locoregional-treatment-of-primary-tumor-in-metastatic-breast-cancer-not-beneficial/",
    ),
    Harm(
        "No treatment-related deaths in JCOG1017 (primary tumour resection after 3 months of "
        "systemic therapy).",
        ("shien2023",),
        "https://arxivlens.com/PaperView/Details/primary-tumour-resection-plus-systemic-therapy-"
        "versus-systemic-therapy-alone-in-metastatic-breast-cancer-jcog1017-prim-bc-a-"
        "randomised-clinical-trial.-1629-56080928",
    ),
)

DIRECTION_LABELS: dict[Direction, str] = {
    Direction.favours_local_therapy: "For local therapy",
    Direction.against_local_therapy: "Against local therapy",
    Direction.neutral: "Neutral",
}


FACTOR_LABELS: dict[FactorName, str] = {
    FactorName.local_symptoms: "Local symptoms",
    FactorName.surgical_risk: "Surgical risk",
    FactorName.resectability: "Resectability",
    FactorName.patient_preference: "Patient preference",
    FactorName.distant_disease_burden: "Distant disease burden",
    FactorName.response_to_systemic_therapy: "Response to systemic therapy",
    FactorName.her2_status_and_response: "HER2 status and response",
    FactorName.performance_status: "Performance status",
    FactorName.tumour_subtype: "Tumour subtype",
}


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["labels"] = RECOMMENDATION_LABELS
    env.globals["direction_labels"] = DIRECTION_LABELS
    env.globals["factor_labels"] = FACTOR_LABELS
    return env


def icon_arrays(a: Assessment) -> dict[str, str] | None:
    """Two SVG icon arrays (with / without local therapy), when both figures exist."""
    from locoreg.plots.icon_array import icon_array

    lc = a.local_control
    if lc.with_local_therapy_pct is None or lc.without_local_therapy_pct is None:
        return None
    years = f"{lc.horizon_years:g} years" if lc.horizon_years else "follow-up"
    label = f"locoregional progression within {years}"
    return {
        "with": icon_array(lc.with_local_therapy_pct, label=f"{label}, with local therapy"),
        "without": icon_array(
            lc.without_local_therapy_pct, label=f"{label}, systemic therapy alone"
        ),
    }


def assessment_context(a: Assessment) -> dict[str, Any]:
    """Template values shared by the report and the web result page."""
    by_direction = {d: [f for f in a.factors if f.direction is d] for d in Direction}
    return {
        "a": a,
        "label": RECOMMENDATION_LABELS[a.recommendation],
        "for_factors": by_direction[Direction.favours_local_therapy],
        "against_factors": by_direction[Direction.against_local_therapy],
        "neutral_factors": by_direction[Direction.neutral],
        "icons": icon_arrays(a),
        "harms": SURGERY_HARMS,
    }


_FIELD_LABELS: dict[str, str] = {
    "label": "Board label",
    "age": "Age",
    "sex": "Sex",
    "ecog": "ECOG",
    "histology_confirmed": "Histology confirmed",
    "er": "ER",
    "pr": "PR",
    "her2": "HER2",
    "t": "T",
    "n": "N",
    "m": "M",
    "metastases": "Metastases",
    "systemic_therapy": "Systemic therapy",
    "local_symptoms": "Local symptoms",
    "local_symptoms_controlled": "Symptoms controlled",
    "surgical_risk": "Surgical risk",
    "resectable": "Resectable",
    "patient_preference": "Patient preference",
    "visceral_crisis": "Visceral crisis",
}


def _plain(value: Any) -> str:
    if value is None:
        return "not given"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("_", " ")


def patient_rows(patient_input: dict[str, Any]) -> list[tuple[str, str]]:
    """The stored input as (label, plain text) rows for the printed summary.

    ``metastases`` read "bone (2 lesions), lung (lesions unknown)"; systemic therapy
    "6 months, partial response"; an input that came as a FHIR Bundle is named as such.
    """
    if set(patient_input) == {"fhir_bundle"}:
        return [("Input", "FHIR R4 Bundle (mCODE); see the stored record")]
    rows: list[tuple[str, str]] = []
    for key, value in patient_input.items():
        label = _FIELD_LABELS.get(key, key.replace("_", " "))
        if key == "metastases" and isinstance(value, list):
            parts = []
            for item in value:
                if not isinstance(item, dict):
                    parts.append(_plain(item))
                    continue
                lesions = item.get("lesions")
                count = "lesions unknown" if lesions is None else f"{_plain(lesions)} lesion(s)"
                parts.append(f"{_plain(item.get('site'))} ({count})")
            text = ", ".join(parts) or "none"
        elif key == "systemic_therapy":
            if isinstance(value, dict):
                months = value.get("months")
                text = f"{_plain(months)} months, {_plain(value.get('response'))}"
            else:
                text = "not started"
        elif isinstance(value, list):
            text = ", ".join(_plain(v) for v in value) or "none"
        else:
            text = _plain(value)
        rows.append((label, text))
    return rows


def cited_studies(ids: list[str]) -> list[dict[str, str | None]]:
    """``[{id, cite, link}]`` for the evidence list of the summary (unknown ids kept bare)."""
    from locoreg.evidence.base import load_evidence_base

    base = load_evidence_base()
    out: list[dict[str, str | None]] = []
    for study_id in ids:
        if study_id in base:
            study = base.get(study_id)
            out.append({"id": study_id, "cite": study.cite(), "link": study.url()})
        else:
            out.append({"id": study_id, "cite": None, "link": None})
    return out


def render_assessment_html(
    assessment: Assessment,
    *,
    record_id: str | None = None,
    created_at: datetime | None = None,
    patient_input: dict[str, Any] | None = None,
    forest: str | None = None,
    pdf: bool = False,
) -> str:
    """The standalone HTML page for one assessment (print-ready).

    ``forest``: the trials-vs-registries forest plot (inline SVG), shown when given;
    ``pdf``: add the paged-media rules (A4, running header and footer) for WeasyPrint.
    """
    template = _environment().get_template("assessment.html.j2")
    return template.render(
        **assessment_context(assessment),
        record_id=record_id,
        created_at=created_at,
        patient_rows=patient_rows(patient_input) if patient_input else [],
        studies=cited_studies(assessment.evidence),
        board_label=(patient_input or {}).get("label"),
        forest=forest,
        pdf=pdf,
    )
