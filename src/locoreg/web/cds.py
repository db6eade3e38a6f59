"""CDS Hooks 2.0 service: discovery, the ``patient-view`` service and its feedback.

Include with ``app.include_router(router)``. The router reads, when present:

* ``app.state.settings`` (``cds_jwt_enabled`` and ``cds``, the typed
  :class:`~locoreg.web.settings.CdsSettings`); without it, ``os.environ``;
* ``app.state.store`` — ``record_assessment`` / ``record_feedback`` (audit) and
  ``seen_jti``, the replay guard shared through the database;
* ``app.state.cds_verifier`` — a :class:`~locoreg.fhir.auth.JwtVerifier` (built from
  the settings and the store's replay guard on first use if absent; with the JWT check
  on and neither a verifier nor a store, the service answers 503);
* ``app.state.cds_http_client`` — an ``httpx.Client`` for FHIR-server reads.

Status codes follow the spec: 400 malformed request (:mod:`locoreg.web.cds_models`) or a
``fhirServer`` the token may not go to, 401 JWT refused, 412 the data cannot be obtained
(prefetch incomplete and no ``fhirServer``, or the FHIR reads failed), 200 with cards
otherwise — including a card listing what is missing or contradictory in the record.
docs/ehr-integration.md describes the service.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from locoreg.errors import FieldError, InputError
from locoreg.fhir.auth import AuthError, JwtVerifier, cds_jwt_enabled, parse_issuers
from locoreg.fhir.cards import SERVICE_ID
from locoreg.fhir.fetch import PREFETCH, server_problem
from locoreg.web.cds_models import (
    HOOK,
    Feedback,
    HookRequest,
    Problems,
    feedback_problems,
    hook_request_problems,
    inline_schema,
)
from locoreg.web.settings import CdsSettings

log = logging.getLogger("locoreg.web.cds")

router = APIRouter(tags=["cds-hooks"])

SERVICE_PATH = f"/cds-services/{SERVICE_ID}"
FEEDBACK_PATH = f"{SERVICE_PATH}/feedback"
SERVICE: dict[str, Any] = {
    "hook": HOOK,
    "id": SERVICE_ID,
    "title": "locoreg: the intact primary tumour in de novo stage IV breast cancer",
    "description": (
        "Evidence-based decision support on local therapy of the intact primary tumour in "
        "de novo stage IV breast cancer, from the mCODE record (staging, receptors, "
        "metastatic sites, performance status, symptoms, systemic therapy). Decision "
        "support for the tumour board, not a substitute for clinical judgement."
    ),
    "prefetch": PREFETCH,
}


def _cds(request: Request) -> CdsSettings:
    """The typed CDS settings of the app (``app.state.settings.cds``), else the environment."""
    settings = getattr(request.app.state, "settings", None)
    cds = getattr(settings, "cds", None)
    return cds if isinstance(cds, CdsSettings) else CdsSettings.from_env(os.environ)


def _jwt_enabled(request: Request) -> bool:
    settings = getattr(request.app.state, "settings", None)
    enabled = getattr(settings, "cds_jwt_enabled", None)
    return cds_jwt_enabled() if enabled is None else bool(enabled)


def _audiences(request: Request, *paths: str) -> list[str]:
    """The ``aud`` values a token may carry: this service's configured URL and nothing
    derived from the request (Host and X-Forwarded-* are the caller's to choose)."""
    base = _cds(request).public_url
    return [f"{base}{path}" for path in paths] if base else []


def _link_base(request: Request) -> str:
    """Base of the links on cards: the configured URL, else the URL the caller used
    (a link only leads the caller back to where it already is)."""
    return (_cds(request).public_url or str(request.base_url)).rstrip("/")


def _problem(status: int, errors: list[FieldError], **headers: str) -> JSONResponse:
    return JSONResponse(
        {"detail": [e.as_dict() for e in errors]}, status_code=status, headers=headers or None
    )


def _authenticate(request: Request, audiences: list[str]) -> JSONResponse | None:
    """None when the request may proceed; a 401 answer otherwise (503 without a store)."""
    if not _jwt_enabled(request):
        return None
    state = request.app.state
    verifier = getattr(state, "cds_verifier", None)
    if verifier is None:
        # Replay protection lives in the store's database, shared by every worker and host.
        replay = getattr(getattr(state, "store", None), "seen_jti", None)
        if replay is None:
            log.error("CDS Hooks JWT check has no replay guard: no audit store")
            return _problem(
                503, [FieldError("", "requests cannot be authenticated: no audit store")]
            )
        try:
            verifier = JwtVerifier(parse_issuers(_cds(request).issuers), replay=replay)
        except ValueError as exc:
            log.error("CDS Hooks JWT configuration is invalid: %s", exc)
            return _problem(401, [FieldError("Authorization", "no trusted issuers configured")])
        state.cds_verifier = verifier
    try:
        if not audiences:
            raise AuthError(
                "this service's URL is not configured (LOCOREG_PUBLIC_URL), "
                "so no token audience can be accepted"
            )
        verifier.verify_header(request.headers.get("authorization"), audiences)
    except AuthError as exc:
        log.warning("CDS Hooks request refused: %s", exc.reason)
        return _problem(
            401,
            [FieldError("Authorization", exc.reason)],
            **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return None


async def _json_body(request: Request) -> tuple[Any, JSONResponse | None]:
    raw = await request.body()
    try:
        return json.loads(raw), None
    except ValueError:
        return None, _problem(400, [FieldError("", "the request body is not valid JSON")])


@router.get("/cds-services")
def discovery() -> dict[str, Any]:
    """CDS Hooks discovery: the one service this server offers."""
    return {"services": [SERVICE]}


def _documented(model: type[Any], *statuses: int) -> dict[str, Any]:
    """OpenAPI for an endpoint that reads its own body (so that a malformed call is a 400
    naming the field, checked after the JWT): the request schema and the problem answers."""
    described = {
        400: "Malformed request: every problem with its field",
        401: "JWT refused (missing, untrusted issuer, wrong aud, expired, replayed, "
        "longer-lived than 5 minutes)",
        412: "The record cannot be obtained: prefetch incomplete and no fhirServer, or the "
        "FHIR server failed, sent a link outside its origin, or missed the deadline",
        503: "No audit store: requests cannot be authenticated or recorded",
    }
    return {
        "responses": {s: {"model": Problems, "description": described[s]} for s in statuses},
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": inline_schema(model)}},
            }
        },
    }


@router.post(SERVICE_PATH, **_documented(HookRequest, 400, 401, 412, 503))
async def patient_view(request: Request) -> JSONResponse:
    """``patient-view``: map the mCODE record, assess, store, and answer with one card."""
    audiences = _audiences(request, SERVICE_PATH)
    # In a worker thread: the check may fetch a JWKS and writes the replay guard's row.
    if (refused := await run_in_threadpool(_authenticate, request, audiences)) is not None:
        return refused
    body, bad = await _json_body(request)
    if bad is not None:
        return bad
    if problems := hook_request_problems(body):
        return _problem(400, problems)
    server = body.get("fhirServer")
    cds = _cds(request)
    if isinstance(server, str) and (
        why := server_problem(server, cds.fhir_servers, own=[cds.public_url, str(request.base_url)])
    ):
        return _problem(400, [FieldError("fhirServer", why)])
    return await run_in_threadpool(_answer, request, body)


def _answer(request: Request, body: Mapping[str, Any]) -> JSONResponse:
    from locoreg.decision import assess
    from locoreg.fhir.cards import assessment_card, missing_data_card
    from locoreg.fhir.fetch import FetchError, gather_bundle
    from locoreg.fhir.mapping import bundle_to_patient

    cds = _cds(request)
    patient_id = str(body["context"]["patientId"])
    auth = body.get("fhirAuthorization") or {}
    try:
        bundle = gather_bundle(
            body.get("prefetch"),
            patient_id,
            fhir_server=body.get("fhirServer"),
            access_token=auth.get("access_token"),
            client=getattr(request.app.state, "cds_http_client", None),
            allowed=cds.fhir_servers,
            deadline_seconds=cds.fhir_deadline_seconds,
        )
    except FetchError as exc:
        log.warning("CDS Hooks %s: data unavailable: %s", body["hookInstance"], exc)
        return _problem(412, [FieldError("prefetch", str(exc))])

    base = _link_base(request)
    source_url = f"{base}/"
    try:
        # Only the open chart's patient: another Patient, or records about another
        # subject, are refused (a card), never merged.
        patient = bundle_to_patient(bundle, patient_id=patient_id)
    except InputError as exc:
        card = missing_data_card(exc.errors, source_url=source_url)
        return JSONResponse({"cards": [card]})

    assessment = assess(patient)
    store = getattr(request.app.state, "store", None)
    assessment_url = record_id = None
    if store is not None:
        record_id = store.record_assessment(
            patient.model_dump(mode="json"),
            assessment.model_dump(mode="json"),
            assessment.versions,
            source="cds-hooks",
        )
        assessment_url = f"{base}/assessments/{record_id}"
    card = assessment_card(
        assessment,
        # The card's uuid is the audit record's id: feedback on the card joins to it.
        card_uuid=record_id,
        assessment_url=assessment_url,
        smart_launch_url=cds.smart_launch_url,
        source_url=source_url,
    )
    return JSONResponse({"cards": [card]})


@router.post(FEEDBACK_PATH, **_documented(Feedback, 400, 401, 503))
async def feedback(request: Request) -> JSONResponse:
    """Feedback on a card (accepted / overridden with a reason), recorded in the audit store."""
    # The spec names the service endpoint as aud; a client may also use the feedback URL.
    audiences = _audiences(request, SERVICE_PATH, FEEDBACK_PATH)
    if (refused := await run_in_threadpool(_authenticate, request, audiences)) is not None:
        return refused
    body, bad = await _json_body(request)
    if bad is not None:
        return bad
    if problems := feedback_problems(body):
        return _problem(400, problems)
    store = getattr(request.app.state, "store", None)
    if store is None:
        return _problem(503, [FieldError("", "feedback cannot be recorded: no audit store")])

    def record() -> list[str]:
        return [
            store.record_feedback(
                SERVICE_ID,
                item["card"],
                item["outcome"],
                [item["overrideReason"]] if item.get("overrideReason") else [],
                item,
            )
            for item in body["feedback"]
        ]

    ids = await run_in_threadpool(record)
    log.info("CDS Hooks feedback recorded: %d item(s)", len(ids))
    return JSONResponse({})
