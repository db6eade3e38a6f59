"""The cited evidence base: one YAML record per study, validated and queryable.

``from locoreg.evidence import load_evidence_base``; names resolve lazily so that
importing the package costs nothing until it is used.
"""

from __future__ import annotations

from typing import Any

from locoreg._lazy import lazy_attribute

_EXPORTS: dict[str, str] = {
    # name -> submodule
    "load_evidence_base": "base",
    "using_evidence_base": "base",
    "validate_evidence": "base",
    "EvidenceBase": "base",
    "EvidenceError": "base",
    "ValidationProblem": "base",
    "cite": "base",
    "url": "base",
    "Study": "model",
    "Outcome": "model",
    "Citation": "model",
    "Design": "model",
    "DataSource": "model",
    "OutcomeKind": "model",
    "Measure": "model",
    "SurgeryTiming": "model",
    "GradeRating": "model",
    "Certainty": "model",
    "pool_by_design": "pool",
    "PoolResult": "pool",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _EXPORTS, name)
