"""The patient decision aid of a stored assessment: ``/assessments/{id}/patient``.

The language is ``?lang=`` when offered, else the browser's ``Accept-Language``,
else English (:func:`locoreg.i18n.negotiate`). The page is the standalone aid of
:mod:`locoreg.report.patient_aid` (inline style, no script), so it prints and reads
the same from the web, the CLI and a saved file.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from locoreg.decision.model import Assessment
from locoreg.i18n import negotiate
from locoreg.web.deps import StoreDep
from locoreg.web.templating import templates

router = APIRouter(include_in_schema=False)


@router.get("/assessments/{record_id}/patient", response_class=HTMLResponse)
def patient_aid_page(
    request: Request, record_id: str, store: StoreDep, lang: str | None = None
) -> HTMLResponse:
    from locoreg.report.patient_aid import render_patient_aid

    record = store.get_assessment(record_id)
    if record is None:
        return templates.TemplateResponse(
            request, "not_found.html", {"what": "assessment"}, status_code=404
        )
    language = negotiate(lang, request.headers.get("accept-language"))
    html = render_patient_aid(
        Assessment.model_validate(record.assessment),
        lang=language,
        record_id=record.id,
        created_at=record.created_at,
        language_links=True,
    )
    # The answer depends on Accept-Language: caches must keep one copy per language.
    return HTMLResponse(html, headers={"Content-Language": language, "Vary": "Accept-Language"})
