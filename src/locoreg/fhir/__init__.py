"""FHIR R4 / mCODE input and CDS Hooks 2.0 support (docs/ehr-integration.md).

Names are resolved lazily so that ``import locoreg.fhir`` loads neither
``fhir.resources`` nor PyJWT until they are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from locoreg._lazy import lazy_attribute

if TYPE_CHECKING:  # what mypy sees; tests/test_lazy_exports.py keeps it equal to _EXPORTS
    from .auth import (
        AuthError as AuthError,
    )
    from .auth import (
        JwtVerifier as JwtVerifier,
    )
    from .auth import (
        cds_jwt_enabled as cds_jwt_enabled,
    )
    from .cards import (
        assessment_card as assessment_card,
    )
    from .cards import (
        missing_data_card as missing_data_card,
    )
    from .fetch import (
        gather_bundle as gather_bundle,
    )
    from .mapping import (
        bundle_to_patient as bundle_to_patient,
    )
    from .mapping import (
        bundle_to_patient_input as bundle_to_patient_input,
    )

_EXPORTS: dict[str, str] = {
    # name -> submodule
    "bundle_to_patient": "mapping",
    "bundle_to_patient_input": "mapping",
    "JwtVerifier": "auth",
    "AuthError": "auth",
    "cds_jwt_enabled": "auth",
    "assessment_card": "cards",
    "missing_data_card": "cards",
    "gather_bundle": "fetch",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _EXPORTS, name)
