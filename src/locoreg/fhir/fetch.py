"""Prefetch for the CDS service: templates, and fetching what the EHR did not send.

A CDS client may send each prefetch item, send ``null`` for one it could not get,
or omit it; the service then reads it from ``fhirServer`` with the access token the
client gave (``fhirAuthorization``). The results are merged into one collection
Bundle for :func:`locoreg.fhir.mapping.bundle_to_patient`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from locoreg.fhir import codes as c

_OBSERVATION_CODES = ",".join(
    [
        *(
            f"{c.LOINC}|{code}"
            for code in (
                c.TNM_T_CLINICAL,
                c.TNM_N_CLINICAL,
                c.TNM_M_CLINICAL,
                c.TNM_T_PATHOLOGICAL,
                c.TNM_N_PATHOLOGICAL,
                c.TNM_M_PATHOLOGICAL,
                c.STAGE_GROUP_CLINICAL,
                c.STAGE_GROUP_PATHOLOGICAL,
                *c.ER_CODES,
                *c.PR_CODES,
                *c.HER2_CODES,
                c.ECOG,
                c.DISEASE_STATUS,
            )
        ),
        *(
            f"{c.LOCOREG_CS}|{code}"
            for code in (
                c.SURGICAL_RISK,
                c.ASA_CLASS,
                c.RESECTABLE,
                c.PREFERENCE,
                c.VISCERAL_CRISIS,
            )
        ),
        # Local symptoms recorded as Observations (as Conditions they come with all
        # Conditions).
        *(
            f"{c.SNOMED}|{code}"
            for code in (*c.SYMPTOM_SNOMED_NEEDS_BREAST_SITE, *c.SYMPTOM_SNOMED_BREAST)
        ),
        *(f"{c.LOCOREG_CS}|{code}" for code in sorted(c.SYMPTOM_LOCOREG)),
    ]
)

PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": f"Observation?patient={{{{context.patientId}}}}&code={_OBSERVATION_CODES}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
}


class FetchError(Exception):
    """The FHIR server could not provide what the service needs (HTTP 412 to the client)."""


def render(template: str, patient_id: str) -> str:
    return template.replace("{{context.patientId}}", patient_id)


def _get(client: httpx.Client, base: str, query: str, token: str | None) -> Any:
    headers = {"Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = f"{base.rstrip('/')}/{query}"
    try:
        response = client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise FetchError(f"FHIR server unreachable ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise FetchError(f"FHIR server answered {response.status_code} for {query.split('?')[0]}")
    try:
        return response.json()
    except ValueError:
        raise FetchError(f"FHIR server sent no JSON for {query.split('?')[0]}") from None


def _searchset_pages(
    client: httpx.Client, first: Mapping[str, Any], token: str | None
) -> list[Mapping[str, Any]]:
    """Follow ``next`` links (bounded) so a long searchset is read in full."""
    pages = [first]
    for _ in range(20):
        nxt = next(
            (x.get("url") for x in pages[-1].get("link") or [] if x.get("relation") == "next"), None
        )
        if not nxt:
            break
        headers = {"Accept": "application/fhir+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = client.get(nxt, headers=headers)
            response.raise_for_status()
            pages.append(response.json())
        except (httpx.HTTPError, ValueError):
            raise FetchError("FHIR server failed while paging a search result") from None
    return pages


def gather_bundle(
    prefetch: Mapping[str, Any] | None,
    patient_id: str,
    *,
    fhir_server: str | None = None,
    access_token: str | None = None,
    client: httpx.Client | None = None,
) -> dict[str, Any]:
    """One collection Bundle from the prefetch, fetching the missing items from the server."""
    prefetch = prefetch or {}
    missing = [key for key in PREFETCH if prefetch.get(key) is None]
    if missing and not fhir_server:
        raise FetchError(
            "prefetch is incomplete (" + ", ".join(missing) + ") and no fhirServer was given"
        )
    items: list[Mapping[str, Any]] = [v for v in prefetch.values() if isinstance(v, Mapping)]
    if missing:
        own = client is None
        http = client or httpx.Client(timeout=10.0)
        try:
            for key in missing:
                result = _get(
                    http, str(fhir_server), render(PREFETCH[key], patient_id), access_token
                )
                if isinstance(result, Mapping) and result.get("resourceType") == "Bundle":
                    items.extend(_searchset_pages(http, result, access_token))
                elif isinstance(result, Mapping):
                    items.append(result)
        finally:
            if own:
                http.close()
    entries = [{"resource": item} for item in items]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "entry": entries,
    }
