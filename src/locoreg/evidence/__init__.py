"""The cited evidence base: one YAML record per study, validated and queryable.

``from locoreg.evidence import load_evidence_base``; names resolve lazily so that
importing the package costs nothing until it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from locoreg._lazy import lazy_attribute

if TYPE_CHECKING:  # what mypy sees; tests/test_lazy_exports.py keeps it equal to _EXPORTS
    from .base import (
        EvidenceBase as EvidenceBase,
    )
    from .base import (
        EvidenceError as EvidenceError,
    )
    from .base import (
        ValidationProblem as ValidationProblem,
    )
    from .base import (
        cite as cite,
    )
    from .base import (
        load_evidence_base as load_evidence_base,
    )
    from .base import (
        url as url,
    )
    from .base import (
        using_evidence_base as using_evidence_base,
    )
    from .base import (
        validate_evidence as validate_evidence,
    )
    from .model import (
        Certainty as Certainty,
    )
    from .model import (
        Citation as Citation,
    )
    from .model import (
        DataSource as DataSource,
    )
    from .model import (
        Design as Design,
    )
    from .model import (
        GradeRating as GradeRating,
    )
    from .model import (
        Measure as Measure,
    )
    from .model import (
        Outcome as Outcome,
    )
    from .model import (
        OutcomeKind as OutcomeKind,
    )
    from .model import (
        Study as Study,
    )
    from .model import (
        SurgeryTiming as SurgeryTiming,
    )
    from .pool import (
        PoolResult as PoolResult,
    )
    from .pool import (
        pool_by_design as pool_by_design,
    )

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
