"""The tumour-board workflow: one record's PDF, the board list of a day, the board pack.

A board is the set of assessments recorded on one date (UTC), optionally narrowed to
the board labels starting with a prefix (``?label=MDT-A`` keeps "MDT-A 12/06 JS",
case-insensitive): records are entered in the days before the meeting under a label
the team chooses, and the list is printed on the day. Records are listed oldest first
(the order they were entered). A pack holds at most :data:`MAX_BOARD` records: more
than a meeting discusses, and the PDF of each takes about a second to render.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from locoreg.decision.localized import localized_assessment
from locoreg.report.pdf import BoardSheet, render_board_pdf
from locoreg.store import AuditStore
from locoreg.store.audit import StoredAssessment
from locoreg.web.deps import StoreDep
from locoreg.web.pages import patient_label
from locoreg.web.templating import language_headers, request_language, templates

router = APIRouter(include_in_schema=False)

MAX_BOARD = 40
_SCAN_BATCH = 100


def _sheet(record: StoredAssessment, lang: str) -> BoardSheet:
    """The record's sheet in ``lang`` (its stored English texts when the re-run differs)."""
    told = localized_assessment(record.assessment, record.patient_input, lang)
    return BoardSheet(
        told.assessment,
        record.patient_input,
        record.id,
        record.created_at,
        kept_english=told.fallback is not None,
    )


def _pdf(content: bytes, filename: str, lang: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', **language_headers(lang)},
    )


@router.get("/assessments/{record_id}/report.pdf", response_model=None)
def report_pdf(request: Request, record_id: str, store: StoreDep) -> Response:
    record = store.get_assessment(record_id)
    if record is None:
        return templates.TemplateResponse(
            request, "not_found.html", {"what": "assessment"}, status_code=404
        )
    lang = request_language(request)
    pdf = render_board_pdf([_sheet(record, lang)], lang=lang)
    return _pdf(pdf, f"locoreg-{record.id}.pdf", lang)


def board_records(store: AuditStore, day: date, label_prefix: str) -> list[StoredAssessment]:
    """The records of ``day`` (UTC) whose label starts with ``label_prefix``, oldest first.

    The history is read newest first and the scan stops at the first record older than
    ``day``; at most :data:`MAX_BOARD` + 1 are returned (the caller says when it is cut).
    """
    prefix = label_prefix.strip().casefold()
    chosen: list[StoredAssessment] = []
    offset = 0
    while batch := store.list_assessments(_SCAN_BATCH, offset):
        offset += len(batch)
        for item in batch:
            when = item.created_at.astimezone(UTC).date()
            if when > day:
                continue
            if when < day:
                return chosen[::-1]
            record = store.get_assessment(item.id)
            label = patient_label(record.patient_input) if record else None
            if record is None or not (label or "").casefold().startswith(prefix):
                continue
            chosen.append(record)
            if len(chosen) > MAX_BOARD:
                return chosen[::-1]
    return chosen[::-1]


def _parse_day(text: str | None) -> tuple[date, str | None]:
    today = datetime.now(UTC).date()
    if not text:
        return today, None
    try:
        return date.fromisoformat(text), None
    except ValueError:
        return today, f"date: {text!r} is not a date; give it as YYYY-MM-DD"


DayQuery = Annotated[str | None, Query(alias="date", max_length=40)]
LabelQuery = Annotated[str, Query(max_length=40)]


@router.get("/board", response_class=HTMLResponse)
def board_page(
    request: Request, store: StoreDep, day_text: DayQuery = None, label: LabelQuery = ""
) -> HTMLResponse:
    day, problem = _parse_day(day_text)
    records = [] if problem else board_records(store, day, label)
    return templates.TemplateResponse(
        request,
        "board.html",
        {
            "day": day.isoformat(),
            "board_day": day,
            "label_prefix": label,
            "problem": problem,
            "records": records[:MAX_BOARD],
            "cut": len(records) > MAX_BOARD,
            "max_board": MAX_BOARD,
            "patient_labels": {r.id: patient_label(r.patient_input) for r in records},
            "recommendations": {r.id: r.assessment.get("recommendation") for r in records},
            "headlines": {r.id: r.assessment.get("headline") for r in records},
        },
        status_code=422 if problem else 200,
    )


@router.get("/board/report.pdf", response_model=None)
def board_pdf(
    request: Request, store: StoreDep, day_text: DayQuery = None, label: LabelQuery = ""
) -> Response:
    day, problem = _parse_day(day_text)
    if problem:
        return board_page(request, store, day_text, label)
    records = board_records(store, day, label)
    if not records:
        return templates.TemplateResponse(
            request, "not_found.html", {"what": "board"}, status_code=404
        )
    if len(records) > MAX_BOARD:  # a partial pack would look complete: refuse it
        page = board_page(request, store, day_text, label)
        page.status_code = 422
        return page
    lang = request_language(request)
    sheets = [_sheet(r, lang) for r in records]
    name = f"locoreg-board-{day.isoformat()}.pdf"
    return _pdf(render_board_pdf(sheets, lang=lang), name, lang)
