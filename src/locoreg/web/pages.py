"""Server-rendered pages: assessment form and result, history, evidence, meta-analysis.

The pages call the same functions as the API; the result page and the printable
summary render the stored Assessment, so a re-opened record shows what was said
at the time, with the versions it was said under.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from locoreg import i18n
from locoreg.errors import InputError
from locoreg.patient import (
    N_CATEGORIES,
    T_CATEGORIES,
    LocalSymptom,
    MetastaticSite,
    PatientPreference,
    ReceptorStatus,
    SurgicalRisk,
    parse_patient,
)
from locoreg.patient import (
    Response as TherapyResponse,
)
from locoreg.store import Provenance
from locoreg.web import csrf
from locoreg.web.api import assess_and_record
from locoreg.web.deps import StoreDep, get_settings
from locoreg.web.forms import FormState, attach_errors, form_to_input, input_to_values
from locoreg.web.templating import (
    language_headers,
    request_language,
    templates,
    with_language,
)

router = APIRouter(include_in_schema=False)

CHOICES: dict[str, list[str]] = {
    "receptor": [s.value for s in ReceptorStatus],
    "t": list(T_CATEGORIES),
    "n": list(N_CATEGORIES),
    "site": [s.value for s in MetastaticSite],
    "response": [r.value for r in TherapyResponse],
    "symptom": [s.value for s in LocalSymptom],
    "surgical_risk": [s.value for s in SurgicalRisk],
    "preference": [p.value for p in PatientPreference],
}


def _examples(request: Request) -> dict[str, Path]:
    directory = get_settings(request).examples_dir
    if directory is None or not directory.is_dir():
        return {}
    files = sorted(p for p in directory.iterdir() if p.suffix in (".json", ".yaml", ".yml"))
    return {p.stem: p for p in files}


def patient_label(patient_input: Mapping[str, Any]) -> str | None:
    """The board's ``label`` of a stored input; None when it has none (or is a FHIR Bundle)."""
    label = patient_input.get("label")
    return label if isinstance(label, str) and label.strip() else None


def _gettext(request: Request) -> Any:
    """gettext in the language of the page answering ``request``."""
    return i18n.translations(request_language(request)).gettext


def _not_found(request: Request, what: str) -> HTMLResponse:
    return templates.TemplateResponse(request, "not_found.html", {"what": what}, status_code=404)


def _form_page(request: Request, state: FormState, status_code: int = 200) -> HTMLResponse:
    token = csrf.token(request, get_settings(request).secret_key)
    response = templates.TemplateResponse(
        request,
        "form.html",
        {
            "state": state,
            "choices": CHOICES,
            "examples": list(_examples(request)),
            "csrf_field": csrf.FIELD,
            "csrf_token": token,
        },
        status_code=status_code,
    )
    csrf.set_cookie(response, request, token)
    return response


@router.get("/", response_class=HTMLResponse)
def form_page(request: Request, example: str | None = None) -> HTMLResponse:
    state = FormState()
    if example is not None:
        path = _examples(request).get(example)
        gettext = _gettext(request)
        if path is None:
            state.general.append(gettext("no example named %(name)r") % {"name": example})
        else:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
            state = input_to_values(data)
            state.general.append(
                gettext("Loaded example %(name)r; check every field before use.")
                % {"name": example}
            )
    return _form_page(request, state)


@router.post("/assess", response_model=None)
async def submit(request: Request, store: StoreDep) -> Response:
    form = await request.form()
    symptoms = [str(s) for s in form.getlist("local_symptoms")]
    data, row_of = form_to_input(dict(form), symptoms)
    state = FormState(values={**dict(form), "local_symptoms": symptoms})
    state.rows = max(3, *(row + 1 for row in row_of.values()), 0)
    if not csrf.verified(request, get_settings(request).secret_key, str(form.get(csrf.FIELD, ""))):
        # Expired (server restarted) or posted from another site: nothing is assessed;
        # the entries come back with a fresh token, to be checked and sent again.
        state.general.append(
            _gettext(request)(
                "This form could not be verified (it expired, or it was sent from another "
                "site). Nothing was recorded; check the entries and press Assess again."
            )
        )
        return _form_page(request, state, status_code=403)
    try:
        patient = parse_patient(data)
    except InputError as exc:
        attach_errors(state, list(exc.errors), row_of)
        return _form_page(request, state, status_code=422)
    # The form sends text; the record keeps the input as the contract reads it (typed JSON).
    # Engine and write block: in a worker thread, never on the event loop.
    client = Provenance(client_address=request.client.host if request.client else None)
    record_id, _ = await run_in_threadpool(
        assess_and_record,
        store,
        patient,
        patient.model_dump(mode="json"),
        "web",
        provenance=client,
    )
    # The language chosen on the form (``?lang=`` of its action) is kept on the result.
    lang = request.query_params.get("lang")
    target = f"/assessments/{record_id}"
    if lang in i18n.LANGUAGES:
        target = with_language(target, lang)
    return RedirectResponse(target, status_code=303)


@router.get("/assessments/{record_id}", response_class=HTMLResponse)
def result_page(request: Request, record_id: str, store: StoreDep) -> HTMLResponse:
    from locoreg.decision.localized import localized_assessment
    from locoreg.report.assessment import assessment_context, patient_rows
    from locoreg.report.pdf import overall_survival_forest
    from locoreg.web.evidence_view import cite_all

    record = store.get_assessment(record_id)
    if record is None:
        return _not_found(request, "assessment")
    lang = request_language(request)
    told = localized_assessment(record.assessment, record.patient_input, lang)
    a, in_language = told.assessment, told.fallback is None
    return templates.TemplateResponse(
        request,
        "result.html",
        {
            **assessment_context(a, lang),
            "record": record,
            "patient_label": patient_label(record.patient_input),
            "patient_rows": patient_rows(record.patient_input, lang),
            "studies": cite_all(a.evidence),
            "forest": overall_survival_forest(lang),
            "kept_english": not in_language,
        },
    )


@router.get("/assessments/{record_id}/summary", response_class=HTMLResponse)
def summary_page(request: Request, record_id: str, store: StoreDep) -> HTMLResponse:
    from locoreg.decision.localized import localized_assessment
    from locoreg.report.assessment import render_assessment_html
    from locoreg.report.pdf import overall_survival_forest

    record = store.get_assessment(record_id)
    if record is None:
        return _not_found(request, "assessment")
    lang = request_language(request)
    told = localized_assessment(record.assessment, record.patient_input, lang)
    a, in_language = told.assessment, told.fallback is None
    html = render_assessment_html(
        a,
        record_id=record.id,
        created_at=record.created_at,
        patient_input=record.patient_input,
        forest=overall_survival_forest(lang),
        lang=lang,
        kept_english=not in_language,
    )
    return HTMLResponse(html, headers=language_headers(lang))


@router.get("/assessments/{record_id}/edit", response_class=HTMLResponse)
def edit_page(request: Request, record_id: str, store: StoreDep) -> HTMLResponse:
    record = store.get_assessment(record_id)
    if record is None:
        return _not_found(request, "assessment")
    state = input_to_values(record.patient_input)
    state.general.append(
        _gettext(request)("A new assessment is recorded; the original stays unchanged.")
    )
    return _form_page(request, state)


@router.get("/history", response_class=HTMLResponse)
def history_page(request: Request, store: StoreDep, page: int = 1) -> HTMLResponse:
    per_page = 25
    page = max(1, min(page, 10**6))
    total = store.count_assessments()
    items = store.list_assessments(per_page, (page - 1) * per_page)
    # The history summary holds no patient data; the board's label is read from each
    # record's input (one page, at most 25 reads).
    records = (store.get_assessment(item.id) for item in items)
    labels = {r.id: patient_label(r.patient_input) for r in records if r is not None}
    return templates.TemplateResponse(
        request,
        "history.html",
        {
            "items": items,
            "patient_labels": labels,
            "page": page,
            "pages": max(1, -(-total // per_page)),
            "total": total,
        },
    )


@router.get("/evidence", response_class=HTMLResponse)
def evidence_page(
    request: Request, design: str | None = None, outcome: str | None = None
) -> HTMLResponse:
    from locoreg.evidence.model import Design, OutcomeKind
    from locoreg.web.evidence_view import filter_studies

    problems: list[str] = []
    try:
        base, studies = filter_studies(design, outcome)
    except InputError as exc:
        problems = [str(e) for e in exc.errors]
        base, studies = filter_studies(None, None)
        design = outcome = None
    from locoreg.evidence.changelog import read_changelog

    return templates.TemplateResponse(
        request,
        "evidence.html",
        {
            "studies": studies,
            "snapshot": base.snapshot,
            "changelog": read_changelog(base.path, base.snapshot),
            "designs": [d.value for d in Design],
            "outcomes": [o.value for o in OutcomeKind],
            "design": design or "",
            "outcome": outcome or "",
            "problems": problems,
        },
        status_code=422 if problems else 200,
    )


@router.get("/evidence/{study_id}", response_class=HTMLResponse)
def study_page(request: Request, study_id: str) -> HTMLResponse:
    from locoreg.evidence.base import load_evidence_base

    base = load_evidence_base()
    if study_id not in base:
        return _not_found(request, "study")
    study = base.get(study_id)
    rob = study.risk_of_bias
    return templates.TemplateResponse(
        request,
        "study.html",
        {"s": study, "rob_domains": rob.domains() if rob is not None else {}},
    )


@router.get("/meta", response_class=HTMLResponse)
def meta_page(
    request: Request,
    outcome: str = "overall_survival",
    method: str = "REML",
    test: str = "z",
    by: str = "design",
    mods: str = "~ decade",
) -> HTMLResponse:
    from locoreg.web.meta_diagnostics import MODERATORS
    from locoreg.web.meta_page import META_BY, META_METHODS, META_TESTS, pooled_evidence

    mods_invalid = False
    problems: list[str] = []
    result: dict[str, Any] | None = None
    try:
        result = pooled_evidence(outcome, method, test, by, mods, lang=request_language(request))
    except InputError as exc:
        problems = [str(e) for e in exc.errors]
        mods_invalid = any(e.field == "mods" for e in exc.errors)
    return templates.TemplateResponse(
        request,
        "meta.html",
        {
            "result": result,
            "problems": problems,
            "outcome": outcome,
            "method": method,
            "test": test,
            "by": by,
            "methods": META_METHODS,
            "tests": META_TESTS,
            "bys": META_BY,
            "mods": mods,
            "mods_invalid": mods_invalid,
            "moderators": MODERATORS,
        },
        status_code=422 if problems else 200,
    )
