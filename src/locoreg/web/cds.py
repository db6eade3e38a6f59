"""CDS Hooks 2.0 service: discovery, the ``patient-view`` service and its feedback.

Include with ``app.include_router(router)``. The router reads, when present:

* ``app.state.settings`` (``cds_jwt_enabled``, ``env`` with ``LOCOREG_CDS_ISSUERS``,
  ``LOCOREG_PUBLIC_URL``, ``LOCOREG_SMART_LAUNCH_URL``, ``LOCOREG_CDS_FHIR_SERVERS``);
  without it, ``os.environ``;
* ``app.state.store`` — ``record_assessment`` / ``record_feedback`` (audit, with who
  asked: ``context.userId`` / ``patientId``, ``hookInstance``, the JWT's ``iss`` / ``sub``),
  ``find_idempotent`` (a retried call with the same ``hookInstance`` answers from its first
  record; the same ``hookInstance`` with a different request is a 422) and ``seen_jti``,
  the replay guard shared through the database;
* ``app.state.cds_verifier`` — a :class:`~locoreg.fhir.auth.JwtVerifier` (built from
  the settings and the store's replay guard on first use if absent; with the JWT check
  on and neither a verifier nor a store, the service answers 503);
* ``app.state.cds_http_client`` — an ``httpx.Client`` for FHIR-server reads.

Status codes follow the spec: 400 malformed request, 401 JWT refused, 412 the data
cannot be obtained (prefetch incomplete and no usable ``fhirServer``), 200 with
cards otherwise — including a card listing what is missing from the record. Beyond
the spec: 422 for a ``hookInstance`` reused with a different request (a retry of the
same request is answered from its first record), 404 for feedback on a card this
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
from locoreg.fhir.auth import AuthError, JwtVerifier, cds_jwt_enabled
from locoreg.fhir.cards import SERVICE_ID
from locoreg.fhir.fetch import PREFETCH
from locoreg.store import Idempotency, IdempotencyConflict, Provenance

log = logging.getLogger("locoreg.web.cds")

router = APIRouter(tags=["cds-hooks"])

HOOK = "patient-view"
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


def _env(request: Request) -> Mapping[str, str]:
    settings = getattr(request.app.state, "settings", None)
    env = getattr(settings, "env", None)
    return env if env else os.environ


def _jwt_enabled(request: Request) -> bool:
    settings = getattr(request.app.state, "settings", None)
    enabled = getattr(settings, "cds_jwt_enabled", None)
    return cds_jwt_enabled(_env(request)) if enabled is None else bool(enabled)


def _public_base(request: Request) -> str:
    return (_env(request).get("LOCOREG_PUBLIC_URL") or str(request.base_url)).rstrip("/")


def _fhir_server_allowed(request: Request, url: str) -> bool:
    """``LOCOREG_CDS_FHIR_SERVERS`` (comma-separated base URLs), when set, limits which
    FHIR servers the service will call with the token it was handed.

    A base matches itself and the paths under it, never a longer host name
    (``https://fhir.example.org`` does not admit ``https://fhir.example.org.evil.net``).
    """
    raw = _env(request).get("LOCOREG_CDS_FHIR_SERVERS", "")
    bases = [p.strip().rstrip("/") for p in raw.split(",") if p.strip()]
    url = url.rstrip("/")
    return not bases or any(url == b or url.startswith(b + "/") for b in bases)


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
            verifier = JwtVerifier.from_env(_env(request), replay=replay)
        except ValueError as exc:
            log.error("CDS Hooks JWT configuration is invalid: %s", exc)
            return _problem(401, [FieldError("Authorization", "no trusted issuers configured")])
        state.cds_verifier = verifier
    try:
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


def _request_problems(body: Any) -> list[FieldError]:
    """Shape of a CDS Hooks 2.0 request (the parts this service relies on)."""
    if not isinstance(body, Mapping):
        return [FieldError("", "the request body must be a JSON object")]
    problems: list[FieldError] = []
    if body.get("hook") != HOOK:
        problems.append(FieldError("hook", f"must be {HOOK!r}, got {body.get('hook')!r}", HOOK))
    if not isinstance(body.get("hookInstance"), str) or not body["hookInstance"]:
        problems.append(FieldError("hookInstance", "required: a UUID string"))
    context = body.get("context")
    if not isinstance(context, Mapping):
        problems.append(FieldError("context", "required: an object"))
    else:
        for key, what in (
            ("userId", "the FHIR reference of the user (e.g. Practitioner/123)"),
            ("patientId", "the FHIR id of the patient"),
        ):
            if not isinstance(context.get(key), str) or not context[key]:
                problems.append(FieldError(f"context.{key}", f"required: {what}"))
    prefetch = body.get("prefetch")
    if prefetch is not None:
        if not isinstance(prefetch, Mapping):
            problems.append(FieldError("prefetch", "must be an object keyed by prefetch template"))
        else:
            for key, value in prefetch.items():
                if value is not None and not (
                    isinstance(value, Mapping) and isinstance(value.get("resourceType"), str)
                ):
                    problems.append(
                        FieldError(f"prefetch.{key}", "must be a FHIR resource or null")
                    )
    server = body.get("fhirServer")
    if server is not None and not (
        isinstance(server, str) and server.startswith(("https://", "http://"))
    ):
        problems.append(FieldError("fhirServer", "must be the http(s) base URL of the FHIR server"))
    auth = body.get("fhirAuthorization")
    if auth is not None:
        if not isinstance(auth, Mapping):
            problems.append(FieldError("fhirAuthorization", "must be an object"))
        else:
            for key in ("access_token", "token_type", "scope", "subject"):
                if not isinstance(auth.get(key), str):
                    problems.append(FieldError(f"fhirAuthorization.{key}", "required: a string"))
            if isinstance(auth.get("token_type"), str) and auth["token_type"] != "Bearer":
                problems.append(
                    FieldError("fhirAuthorization.token_type", "must be Bearer", "Bearer")
                )
            if not isinstance(auth.get("expires_in"), int):
                problems.append(FieldError("fhirAuthorization.expires_in", "required: seconds"))
        if not body.get("fhirServer"):
            problems.append(FieldError("fhirServer", "required when fhirAuthorization is given"))
    return problems


@router.get("/cds-services")
def discovery() -> dict[str, Any]:
    """CDS Hooks discovery: the one service this server offers."""
    return {"services": [SERVICE]}


@router.post(SERVICE_PATH)
async def patient_view(request: Request) -> JSONResponse:
    """``patient-view``: map the mCODE record, assess, store, and answer with one card."""
    service_url = f"{_public_base(request)}{SERVICE_PATH}"
    # In a worker thread: the check may fetch a JWKS and writes the replay guard's row.
    if (refused := await run_in_threadpool(_authenticate, request, [service_url])) is not None:
        return refused
    body, bad = await _json_body(request)
    if bad is not None:
        return bad
    if problems := _request_problems(body):
        return _problem(400, problems)
    server = body.get("fhirServer")
    if isinstance(server, str) and not _fhir_server_allowed(request, server):
        return _problem(
            400, [FieldError("fhirServer", "this FHIR server is not in LOCOREG_CDS_FHIR_SERVERS")]
        )
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
    from locoreg.fhir.mapping import bundle_to_patient, ref, resources_of
    from locoreg.fhir.relevant import mapped_resources

    base = _public_base(request)
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
            smart_launch_url=_env(request).get("LOCOREG_SMART_LAUNCH_URL") or None,
            source_url=source_url,
        )
        return JSONResponse({"cards": [card]})

    try:
        # A retried hook call (same hookInstance) answers from its first record.
        if store is not None and (first := store.find_idempotent(idempotency)) is not None:
            return answer(first.id, Assessment.model_validate(first.assessment))
    except IdempotencyConflict:
        return _hook_instance_reused()

    patient_id = str(body["context"]["patientId"])
    auth = body.get("fhirAuthorization") or {}
    try:
        bundle = gather_bundle(
            body.get("prefetch"),
            patient_id,
            fhir_server=body.get("fhirServer"),
            access_token=auth.get("access_token"),
            client=getattr(request.app.state, "cds_http_client", None),
        )
    except FetchError as exc:
        log.warning("CDS Hooks %s: data unavailable: %s", body["hookInstance"], exc)
        return _problem(412, [FieldError("prefetch", str(exc))])

    try:
        others = [
            ref(r)
            for r in resources_of(bundle)
            if r.get("resourceType") == "Patient" and r.get("id") not in (None, patient_id)
        ]
        if others:
            raise InputError.single(
                others[0], f"the Patient does not match context.patientId {patient_id!r}"
            )
        patient = bundle_to_patient(bundle)
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


def _feedback_problems(body: Any) -> list[FieldError]:
    if not isinstance(body, Mapping) or not isinstance(body.get("feedback"), list):
        return [FieldError("feedback", "required: an array of feedback entries")]
    problems: list[FieldError] = []
    for i, item in enumerate(body["feedback"]):
        where = f"feedback.{i}"
        if not isinstance(item, Mapping):
            problems.append(FieldError(where, "must be an object"))
            continue
        if not isinstance(item.get("card"), str) or not item["card"]:
            problems.append(FieldError(f"{where}.card", "required: the uuid of the card"))
        outcome = item.get("outcome")
        if outcome not in ("accepted", "overridden"):
            problems.append(FieldError(f"{where}.outcome", "required", "accepted, overridden"))
        if not isinstance(item.get("outcomeTimestamp"), str):
            problems.append(FieldError(f"{where}.outcomeTimestamp", "required: an ISO timestamp"))
        reason = item.get("overrideReason")
        if reason is not None:
            if outcome != "overridden":
                problems.append(
                    FieldError(f"{where}.overrideReason", "only allowed when outcome is overridden")
                )
            if not isinstance(reason, Mapping):
                problems.append(FieldError(f"{where}.overrideReason", "must be an object"))
            else:
                coding = reason.get("reason")
                if coding is not None and not (
                    isinstance(coding, Mapping)
                    and isinstance(coding.get("code"), str)
                    and isinstance(coding.get("system"), str)
                ):
                    problems.append(
                        FieldError(
                            f"{where}.overrideReason.reason", "must be a Coding (system, code)"
                        )
                    )
                comment = reason.get("userComment")
                if comment is not None and not isinstance(comment, str):
                    problems.append(
                        FieldError(f"{where}.overrideReason.userComment", "must be a string")
                    )
        accepted = item.get("acceptedSuggestions")
        if accepted is not None and not isinstance(accepted, list):
            problems.append(FieldError(f"{where}.acceptedSuggestions", "must be an array"))
    return problems


@router.post(FEEDBACK_PATH)
async def feedback(request: Request) -> JSONResponse:
    """Feedback on a card (accepted / overridden with a reason), recorded in the audit store."""
    base = _public_base(request)
    # The spec names the service endpoint as aud; a client may also use the feedback URL.
    audiences = [f"{base}{SERVICE_PATH}", f"{base}{FEEDBACK_PATH}"]
    if (refused := await run_in_threadpool(_authenticate, request, audiences)) is not None:
        return refused
    body, bad = await _json_body(request)
    if bad is not None:
        return bad
    if problems := _feedback_problems(body):
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
