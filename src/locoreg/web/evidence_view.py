"""Evidence-base queries shared by the API and the evidence pages."""

from __future__ import annotations

from typing import Any

from locoreg.errors import FieldError, InputError
from locoreg.evidence.base import EvidenceBase, load_evidence_base
from locoreg.evidence.model import Design, OutcomeKind, Study, dump


def _enum_value(field: str, value: str | None, enum: type[Design] | type[OutcomeKind]) -> Any:
    if value is None or value == "":
        return None
    try:
        return enum(value.strip().lower())
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise InputError([FieldError(field, f"unknown value {value!r}", allowed)]) from None


def filter_studies(design: str | None, outcome: str | None) -> tuple[EvidenceBase, list[Study]]:
    """Studies of the packaged base with this design and reporting this outcome."""
    wanted_design = _enum_value("design", design, Design)
    wanted_outcome = _enum_value("outcome", outcome, OutcomeKind)
    base = load_evidence_base()
    studies = [
        s
        for s in base.studies
        if (wanted_design is None or s.design is wanted_design)
        and (wanted_outcome is None or any(o.outcome is wanted_outcome for o in s.outcomes))
    ]
    return base, studies


def study_json(study: Study) -> dict[str, Any]:
    """The study record as stored, plus its short citation and best link."""
    return {**dump(study), "cite": study.cite(), "link": study.url()}


def cite_all(ids: list[str]) -> list[dict[str, Any]]:
    """``[{id, cite, link, design}]`` for study ids; unknown ids keep only their id."""
    base = load_evidence_base()
    out: list[dict[str, Any]] = []
    for study_id in ids:
        if study_id in base:
            s = base.get(study_id)
            out.append(
                {"id": study_id, "cite": s.cite(), "link": s.url(), "design": s.design.value}
            )
        else:
            out.append({"id": study_id, "cite": None, "link": None, "design": None})
    return out
