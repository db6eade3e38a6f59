"""The FHIR resources an assessment rests on: what the audit record keeps of a Bundle.

A Bundle (or a CDS Hooks prefetch) may carry far more than the mapping reads —
documents, attachments, every vital sign of a long admission, 50 MB of it. The audit
record keeps the resources the mapping (:mod:`locoreg.fhir.mapping`) reads, and only
those: the usable Patient, the primary, secondary and symptom Conditions, the
Observations coded with a LOINC or locoreg code the mapping asks for (receptors, TNM,
stage group, ECOG, disease status, surgical risk, ASA class, resectability, preference)
or recording a local symptom, and the mCODE cancer-related medication statements and
requests. Each kept resource is stored whole, as received, once.
"""

from __future__ import annotations

from typing import Any

from locoreg.fhir import codes as c
from locoreg.fhir.mapping import (
    ResourceIndex,
    has_code,
    is_primary_breast,
    is_secondary,
    local_symptom,
    profiles_of,
    resources_of,
)

#: LOINC codes of the Observations the mapping reads.
MAPPED_LOINC: frozenset[str] = frozenset(c.MAPPED_LOINC_CODES)
#: locoreg CodeSystem codes of the Observations the mapping reads.
MAPPED_LOCOREG: frozenset[str] = frozenset(
    {c.SURGICAL_RISK, c.ASA_CLASS, c.RESECTABLE, c.PREFERENCE}
)
_MEDICATION_PROFILES = {c.PROFILE_MEDICATION_STATEMENT, c.PROFILE_MEDICATION_REQUEST}


def mapped_resources(bundle: Any) -> list[dict[str, Any]]:
    """The resources of ``bundle`` the mapping reads (call after a successful mapping)."""
    idx = ResourceIndex.of(resources_of(bundle))
    kept = [
        *idx.patients,
        *(
            r
            for r in idx.conditions
            if is_primary_breast(r) or is_secondary(r) or local_symptom(r) is not None
        ),
        *(
            r
            for r in idx.observations
            if has_code(r.get("code"), c.LOINC, MAPPED_LOINC)
            or has_code(r.get("code"), c.LOCOREG_CS, MAPPED_LOCOREG)
            or local_symptom(r) is not None
        ),
        *(r for r in idx.medications if profiles_of(r) & _MEDICATION_PROFILES),
    ]
    return [dict(r) for r in kept]
