"""The REST API (CONTRACTS.md §6): assessments, evidence, meta-analysis, liveness.

Thin: it validates, calls ``decision.assess`` / the evidence base / ``meta.rma``,
records assessments in the audit store and answers JSON. Bad input is a 422 with
every problem listed (``{"detail": [{"field", "message", "allowed"?}]}``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from locoreg import __version__
from locoreg.decision.model import Assessment
from locoreg.errors import FieldError
from locoreg.patient import Patient
from locoreg.store import AuditStore, Source
from locoreg.web.deps import StoreDep
from locoreg.web.meta_service import MetaRequest, run_meta
from locoreg.web.problems import BODY_REFUSED, INVALID, Problems, problem_response

router = APIRouter()

_ERRORS = {**INVALID, **BODY_REFUSED}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problems, "description": "No such record"},
    **INVALID,
}


class AssessmentCreated(Assessment):
    """The Assessment (§2) plus the id of its audit record."""

    id: str = Field(description="audit record id (UUID); GET /api/assessments/{id}")


class StoredAssessmentOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    created_at: datetime
    source: str
    patient_input: dict[str, Any]
    assessment: dict[str, Any]
    versions: dict[str, str]


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
    store: AuditStore, patient: Patient, patient_input: dict[str, Any], source: Source
) -> tuple[str, Assessment]:
    """Run the engine and record input, answer and versions; shared by API and pages."""
    from locoreg.decision import assess

    assessment = assess(patient)
    record_id = store.record_assessment(
        patient_input, assessment.model_dump(mode="json"), assessment.versions, source
    )
    return record_id, assessment


def _created(record_id: str, assessment: Assessment) -> JSONResponse:
    body = {**assessment.model_dump(mode="json"), "id": record_id}
    return JSONResponse(
        body, status_code=201, headers={"Location": f"/api/assessments/{record_id}"}
    )


@router.post(
    "/api/assessments",
    status_code=201,
    response_model=AssessmentCreated,
    responses=_ERRORS,
    tags=["assessments"],
    summary="Assess a patient (Patient JSON, CONTRACTS §1)",
)
async def create_assessment(patient: Patient, request: Request, store: StoreDep) -> JSONResponse:
    # Record the input exactly as received; FastAPI has already validated it.
    raw = await request.json()
    record_id, assessment = assess_and_record(store, patient, raw, "api")
    return _created(record_id, assessment)


@router.post(
    "/api/assessments/fhir",
    status_code=201,
    response_model=AssessmentCreated,
    responses=_ERRORS,
    tags=["assessments"],
    summary="Assess a patient from a FHIR R4 Bundle (mCODE profiles)",
)
def create_assessment_from_fhir(
    store: StoreDep,
    bundle: dict[str, Any] = Body(..., description="FHIR R4 Bundle resource"),
) -> JSONResponse:
    from locoreg.fhir.mapping import bundle_to_patient

    patient = bundle_to_patient(bundle)  # InputError → 422 naming what is missing
    record_id, assessment = assess_and_record(store, patient, {"fhir_bundle": bundle}, "api")
    return _created(record_id, assessment)


@router.get(
    "/api/assessments/{assessment_id}",
    response_model=StoredAssessmentOut,
    responses=_NOT_FOUND,
    tags=["assessments"],
    summary="A stored assessment: input, Assessment, versions, time and channel",
)
def get_assessment(assessment_id: str, store: StoreDep) -> Any:
    record = store.get_assessment(assessment_id)
    if record is None:
        return problem_response([FieldError("id", "no assessment with this id")], 404)
    return record.as_dict()


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
