"""CDS Hooks 2.0 service: discovery, the ``patient-view`` service and its feedback.

Include with ``app.include_router(router)``. The router reads, when present:

* ``app.state.settings`` (``cds_jwt_enabled`` and ``cds``, the typed
  :class:`~locoreg.web.settings.CdsSettings`); without it, ``os.environ``;
* ``app.state.store`` — ``record_assessment`` / ``record_feedback`` (audit, with who
  asked: ``context.userId`` / ``patientId``, ``hookInstance``, the JWT's ``iss`` / ``sub``),
  ``find_idempotent`` (a retried call with the same ``hookInstance`` answers from its first
  record; the same ``hookInstance`` with a different request is a 422) and ``seen_jti``,
  the replay guard shared through the database;
* ``app.state.cds_verifier`` — a :class:`~locoreg.fhir.auth.JwtVerifier` (built from
  the settings and the store's replay guard on first use if absent; with the JWT check
  on and neither a verifier nor a store, the service answers 503);
* ``app.state.cds_http_client`` — an ``httpx.Client`` for FHIR-server reads.

Status codes follow the spec: 400 malformed request (:mod:`locoreg.web.cds_models`) or a
``fhirServer`` the token may not go to, 401 JWT refused, 412 the data cannot be obtained
(prefetch incomplete and no ``fhirServer``, or the FHIR reads failed), 200 with cards
otherwise — including a card listing what is missing or contradictory in the record.
Beyond the spec: 422 for a ``hookInstance`` reused with a different request (a retry of
the same request is answered from its first record), 404 for feedback on a card this
service did not issue.
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
from locoreg.store import Idempotency, IdempotencyConflict, Provenance
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
        # Kept for the audit record: who asked (iss, sub).
        request.state.cds_claims = verifier.verify_header(
            request.headers.get("authorization"), audiences
        )
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
        404: "Feedback on a card this service did not issue (nothing is recorded)",
        422: "hookInstance already used for a different request",
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


@router.post(SERVICE_PATH, **_documented(HookRequest, 400, 401, 412, 422, 503))
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


def _provenance(request: Request, body: Mapping[str, Any] | None = None) -> Provenance:
    """Who asked and for whom: the hook's context, the verified JWT, the client address."""
    claims = getattr(request.state, "cds_claims", None) or {}
    context = (body or {}).get("context") or {}
    hook_instance = (body or {}).get("hookInstance")

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) and value else None

    return Provenance(
        user_id=text(context.get("userId")),
        patient_id=text(context.get("patientId")),
        hook_instance=text(hook_instance),
        token_issuer=text(claims.get("iss")),
        token_subject=text(claims.get("sub")),
        client_address=request.client.host if request.client else None,
    )


def _hook_idempotency(body: Mapping[str, Any]) -> Idempotency:
    """A retry of one hook call repeats its ``hookInstance``; the digest covers what the
    assessment depends on (not ``fhirAuthorization``, whose token may be renewed)."""
    request = {k: body.get(k) for k in ("hook", "context", "prefetch", "fhirServer")}
    return Idempotency.of("cds-hooks", str(body["hookInstance"]), request)


def _answer(request: Request, body: Mapping[str, Any]) -> JSONResponse:
    from locoreg.decision import assess
    from locoreg.decision.model import Assessment
    from locoreg.fhir.cards import assessment_card, missing_data_card
    from locoreg.fhir.fetch import FetchError, gather_bundle
    from locoreg.fhir.mapping import bundle_to_patient
    from locoreg.fhir.relevant import mapped_resources

    base = _link_base(request)
    source_url = f"{base}/"
    store = getattr(request.app.state, "store", None)
    try:
        idempotency = _hook_idempotency(body)
    except ValueError as exc:  # the store keeps keys of bounded length
        return _problem(400, [FieldError("hookInstance", str(exc))])

    def answer(record_id: str | None, assessment: Assessment) -> JSONResponse:
        card = assessment_card(
            assessment,
            # The card's uuid is the audit record's id: feedback on the card joins to it.
            card_uuid=record_id,
            assessment_url=f"{base}/assessments/{record_id}" if record_id else None,
            smart_launch_url=_cds(request).smart_launch_url,
            source_url=source_url,
        )
        return JSONResponse({"cards": [card]})

    try:
        # A retried hook call (same hookInstance) answers from its first record.
        if store is not None and (first := store.find_idempotent(idempotency)) is not None:
            return answer(first.id, Assessment.model_validate(first.assessment))
    except IdempotencyConflict:
        return _hook_instance_reused()

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

    try:
        # Only the open chart's patient: another Patient, or records about another
        # subject, are refused (a card), never merged.
        patient = bundle_to_patient(bundle, patient_id=patient_id)
    except InputError as exc:
        card = missing_data_card(exc.errors, source_url=source_url)
        return JSONResponse({"cards": [card]})

    assessment = assess(patient)
    if store is None:
        return answer(None, assessment)
    try:
        record_id = store.record_assessment(
            patient.model_dump(mode="json"),
            assessment.model_dump(mode="json"),
            assessment.versions,
            source="cds-hooks",
            provenance=_provenance(request, body),
            fhir_resources=mapped_resources(bundle),
            idempotency=idempotency,
        )
    except IdempotencyConflict:
        return _hook_instance_reused()
    return answer(record_id, assessment)


def _hook_instance_reused() -> JSONResponse:
    message = "already used for a different request; each hook call has its own hookInstance"
    return _problem(422, [FieldError("hookInstance", message)])


@router.post(FEEDBACK_PATH, **_documented(Feedback, 400, 401, 404, 503))
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
    provenance = _provenance(request)

    def record() -> JSONResponse:
        # Every card must be one this service issued (its uuid is an assessment's id);
        # nothing is recorded unless all are.
        unknown = [
            FieldError(f"feedback.{i}.card", "no card with this uuid was issued by this service")
            for i, item in enumerate(body["feedback"])
            if not store.has_assessment(item["card"])
        ]
        if unknown:
            return _problem(404, unknown)
        for item in body["feedback"]:
            store.record_feedback(
                SERVICE_ID,
                item["card"],
                item["outcome"],
                [item["overrideReason"]] if item.get("overrideReason") else [],
                item,
                provenance=provenance,
            )
        log.info("CDS Hooks feedback recorded: %d item(s)", len(body["feedback"]))
        return JSONResponse({})

    return await run_in_threadpool(record)
