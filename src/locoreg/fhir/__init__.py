"""FHIR R4 / mCODE input and CDS Hooks 2.0 support (docs/ehr-integration.md).

Names are resolved lazily so that ``import locoreg.fhir`` loads neither
``fhir.resources`` nor PyJWT until they are used.
"""

from __future__ import annotations

from typing import Any

from locoreg._lazy import lazy_attribute

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
