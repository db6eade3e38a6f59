"""The REST API (CONTRACTS.md §6): assessments, evidence, meta-analysis, liveness.

Thin: it validates, calls ``decision.assess`` / the evidence base / ``meta.rma``,
records assessments in the audit store and answers JSON. Bad input is a 422 with
every problem listed (``{"detail": [{"field", "message", "allowed"?}]}``).

Writes are idempotent on request: a ``POST /api/assessments`` or
``POST /api/assessments/fhir`` with an ``Idempotency-Key`` header that was already used
for the same request (same path, same JSON body up to key order) answers with the first
record (201, same body and ``Location``, ``Idempotent-Replayed: true``) and writes
nothing; the same key with a different request is a 422 naming ``Idempotency-Key``.
The engine and the write run in a worker thread, never on the event loop.

Languages: ``?lang=en|es`` on ``POST /api/assessments`` (and ``/fhir``) and
``GET /api/assessments/{id}`` gives the assessment's sentences in that language (codes,
enum values and JSON keys stay English); the answer says which language it is in with
``Content-Language``. ``Accept-Language`` is not read by the JSON API (docs/web.md
"Languages"): an integration gets the same texts whatever its machine's locale. The
audit record is always the English assessment; another language is the engine re-run on
the stored input and checked to reach the same decision
(:func:`locoreg.decision.localized.localized_assessment`), else the stored English with a
``language_note`` saying why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from locoreg import __version__
from locoreg.decision.model import Assessment
from locoreg.errors import FieldError, InputError
from locoreg.i18n import check_language
from locoreg.patient import Patient
from locoreg.store import AuditStore, Idempotency, IdempotencyConflict, Provenance, Source
from locoreg.store.tables import IDEMPOTENCY_KEY_MAX_LENGTH
from locoreg.web.deps import StoreDep
from locoreg.web.meta_service import MetaRequest, run_meta
from locoreg.web.problems import BODY_REFUSED, INVALID, Problems, problem_response

router = APIRouter()

_ERRORS = {**INVALID, **BODY_REFUSED}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problems, "description": "No such record"},
    **INVALID,
}
IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENT_WRITE: dict[str, Any] = {
    "parameters": [
        {
            "name": IDEMPOTENCY_HEADER,
            "in": "header",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
            "description": "A retry of the same request with the same key returns the first "
            "record (Idempotent-Replayed: true) instead of writing a new one; the same key "
            "with a different request is a 422.",
        }
    ]
}


_LANGUAGE_NOTE = (
    "present only when the requested language could not be given: why the stored English "
    "assessment is shown"
)
_LANG_QUERY = Query(
    "en",
    description="Language of the assessment's sentences: en, es (codes and keys stay English).",
)


class AssessmentCreated(Assessment):
    """The Assessment (§2) plus the id of its audit record."""

    id: str = Field(description="audit record id (UUID); GET /api/assessments/{id}")
    language_note: str | None = Field(None, description=_LANGUAGE_NOTE)


class StoredAssessmentOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    created_at: datetime
    source: str
    patient_input: dict[str, Any]
    assessment: dict[str, Any]
    versions: dict[str, str]
    fhir_resources: list[dict[str, Any]] | None = Field(
        None, description="FHIR and CDS Hooks records: the resources the mapping read"
    )
    provenance: dict[str, str | None] = Field(
        default_factory=dict, description="who asked and for whom, as far as the channel says"
    )
    record_hash: str | None = Field(None, description="this record's link in the hash chain")
    language_note: str | None = Field(None, description=_LANGUAGE_NOTE)


class AssessmentSummaryOut(BaseModel):
    id: str
    created_at: datetime
    source: str
    recommendation: str | None
    headline: str | None


class AssessmentHistory(BaseModel):
    items: list[AssessmentSummaryOut]
    total: int
    limit: int
    offset: int


class Health(BaseModel):
    status: str
    version: str
    database: str


def assess_and_record(
    store: AuditStore,
    patient: Patient,
    patient_input: dict[str, Any],
    source: Source,
    *,
    provenance: Provenance | None = None,
    fhir_resources: list[dict[str, Any]] | None = None,
    idempotency: Idempotency | None = None,
) -> tuple[str, Assessment]:
    """Run the engine and record input, answer and versions; shared by API and pages.

    Blocking (engine and database): call it from a worker thread.
    """
    from locoreg.decision import assess

    assessment = assess(patient)
    record_id = store.record_assessment(
        patient_input,
        assessment.model_dump(mode="json"),
        assessment.versions,
        source,
        provenance=provenance,
        fhir_resources=fhir_resources,
        idempotency=idempotency,
    )
    return record_id, assessment


def _localized(
    assessment: dict[str, Any], patient_input: dict[str, Any], lang: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The stored (English) ``assessment`` in ``lang``, with its language headers; a
    ``language_note`` key where the stored English had to be given instead."""
    from pydantic import ValidationError

    from locoreg.decision.localized import localized_assessment

    if lang == "en":  # the record itself, untouched
        return assessment, {"Content-Language": "en"}
    try:
        found = localized_assessment(assessment, patient_input, lang)
    except ValidationError:  # a stored answer no current model reads: give it as stored
        return assessment, {"Content-Language": "en"}
    body = assessment if found.language == "en" else found.assessment.model_dump(mode="json")
    if found.fallback is not None:
        body = {**body, "language_note": found.fallback}
    return body, {"Content-Language": found.language}


def _created(
    record_id: str,
    assessment: dict[str, Any],
    patient_input: dict[str, Any],
    lang: str,
    *,
    replayed: bool = False,
) -> JSONResponse:
    body, headers = _localized(assessment, patient_input, lang)
    headers["Location"] = f"/api/assessments/{record_id}"
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse({**body, "id": record_id}, status_code=201, headers=headers)


def _idempotency(request: Request, body: Any) -> Idempotency | None:
    """The request's Idempotency-Key (keyed on path and body), or None without the header."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not (1 <= len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH and key.isascii() and key.isprintable()):
        raise InputError.single(
            IDEMPOTENCY_HEADER,
            f"must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters",
        )
    return Idempotency.of("api", key, {"path": request.url.path, "body": body})


def _record_once(
    store: AuditStore,
    patient: Patient,
    patient_input: dict[str, Any],
    provenance: Provenance,
    idempotency: Idempotency | None,
    fhir_resources: list[dict[str, Any]] | None = None,
    lang: str = "en",
) -> JSONResponse:
    """Assess and record (in English), or answer with the first record of a retried
    request; the answer in ``lang``."""
    try:
        if idempotency is not None and (first := store.find_idempotent(idempotency)):
            return _created(first.id, first.assessment, first.patient_input, lang, replayed=True)
        record_id, assessment = assess_and_record(
            store,
            patient,
            patient_input,
            "api",
            provenance=provenance,
            fhir_resources=fhir_resources,
            idempotency=idempotency,
        )
    except IdempotencyConflict as exc:
        message = (
            f"already used for a different request (record {exc.record_id}); "
            "send a new key for a new request"
        )
        return problem_response([FieldError(IDEMPOTENCY_HEADER, message)], 422)
    return _created(record_id, assessment.model_dump(mode="json"), patient_input, lang)


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post(
    "/api/assessments",
    status_code=201,
    response_model=AssessmentCreated,
    responses=_ERRORS,
    tags=["assessments"],
    summary="Assess a patient (Patient JSON, CONTRACTS §1)",
    openapi_extra=_IDEMPOTENT_WRITE,
)
async def create_assessment(
    patient: Patient, request: Request, store: StoreDep, lang: str = _LANG_QUERY
) -> JSONResponse:
    check_language(lang)  # before anything is written
    # Record the input exactly as received; FastAPI has already validated it.
    raw = await request.json()
    idempotency = _idempotency(request, raw)
    provenance = Provenance(client_address=_client(request))
    return await run_in_threadpool(
        _record_once, store, patient, raw, provenance, idempotency, None, lang
    )


@router.post(
    "/api/assessments/fhir",
    status_code=201,
    response_model=AssessmentCreated,
    responses=_ERRORS,
    tags=["assessments"],
    summary="Assess a patient from a FHIR R4 Bundle (mCODE profiles)",
    openapi_extra=_IDEMPOTENT_WRITE,
)
def create_assessment_from_fhir(
    request: Request,
    store: StoreDep,
    bundle: dict[str, Any] = Body(..., description="FHIR R4 Bundle resource"),
    lang: str = _LANG_QUERY,
) -> JSONResponse:
    # A plain ``def``: FastAPI runs it in a worker thread (mapping, engine and write block).
    from locoreg.fhir.mapping import bundle_to_patient
    from locoreg.fhir.relevant import mapped_resources

    check_language(lang)  # before anything is written
    idempotency = _idempotency(request, bundle)
    patient = bundle_to_patient(bundle)  # InputError → 422 naming what is missing
    # The record keeps the Patient the mapping produced (what the engine read, what the
    # edit form and the summary show) and the resources it was read from, not the body.
    resources = mapped_resources(bundle)
    patient_ids = [r.get("id") for r in resources if r.get("resourceType") == "Patient"]
    provenance = Provenance(
        patient_id=str(patient_ids[0]) if patient_ids and patient_ids[0] else None,
        client_address=_client(request),
    )
    return _record_once(
        store,
        patient,
        patient.model_dump(mode="json"),
        provenance,
        idempotency,
        fhir_resources=resources,
        lang=lang,
    )


@router.get(
    "/api/assessments/{assessment_id}",
    response_model=StoredAssessmentOut,
    responses=_NOT_FOUND,
    tags=["assessments"],
    summary="A stored assessment: input, Assessment, versions, time and channel",
)
def get_assessment(
    assessment_id: str, store: StoreDep, response: Response, lang: str = _LANG_QUERY
) -> Any:
    check_language(lang)
    record = store.get_assessment(assessment_id)
    if record is None:
        return problem_response([FieldError("id", "no assessment with this id")], 404)
    data = record.as_dict()
    assessment, headers = _localized(record.assessment, record.patient_input, lang)
    note = assessment.pop("language_note", None)
    data["assessment"] = assessment
    if note is not None:
        data["language_note"] = note
    response.headers.update(headers)
    return data


@router.get(
    "/api/assessments",
    response_model=AssessmentHistory,
    responses=_ERRORS,
    tags=["assessments"],
    summary="Stored assessments, newest first (no patient data)",
)
def list_assessments(
    store: StoreDep,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10**9),
) -> Any:
    return {
        "items": [s.as_dict() for s in store.list_assessments(limit, offset)],
        "total": store.count_assessments(),
        "limit": limit,
        "offset": offset,
    }


@router.get(
    "/api/audit/export",
    tags=["assessments"],
    summary="The whole audit store as JSON lines (assessments, then CDS Hooks feedback)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def export_audit(store: StoreDep) -> StreamingResponse:
    # Streamed from the database in batches; each line is one record (see AuditStore.iter_jsonl).
    return StreamingResponse(
        store.iter_jsonl(),
        media_type="application/x-ndjson",
        headers={
            "Content-Disposition": 'attachment; filename="locoreg-audit.jsonl"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/api/evidence", tags=["evidence"], responses=INVALID, summary="Studies of the evidence base"
)
def list_evidence(
    design: str | None = Query(None, description="e.g. rct, meta_analysis"),
    outcome: str | None = Query(None, description="e.g. overall_survival"),
) -> Any:
    from locoreg.web.evidence_view import filter_studies, study_json

    base, studies = filter_studies(design, outcome)
    return {"snapshot": base.snapshot, "studies": [study_json(s) for s in studies]}


@router.get(
    "/api/evidence/{study_id}",
    tags=["evidence"],
    responses=_NOT_FOUND,
    summary="One study: numbers, sources, risk of bias",
)
def get_evidence(study_id: str) -> Any:
    from locoreg.evidence.base import load_evidence_base
    from locoreg.web.evidence_view import study_json

    base = load_evidence_base()
    if study_id not in base:
        close = base.close_matches(study_id)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return problem_response([FieldError("id", f"no study with this id{hint}")], 404)
    return study_json(base.get(study_id))


@router.post(
    "/api/meta",
    responses=_ERRORS,
    tags=["meta-analysis"],
    summary="Random- or fixed-effects meta-analysis of yi/vi or hazard ratios with CIs",
)
def meta(request: MetaRequest) -> Any:
    return run_meta(request)


@router.get("/healthz", response_model=Health, tags=["service"], summary="Liveness")
def healthz(store: StoreDep, response: Response) -> Any:
    response.headers["Cache-Control"] = "no-store"
    return {"status": "ok", "version": __version__, "database": store.backend}
