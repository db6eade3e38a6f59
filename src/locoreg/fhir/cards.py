"""CDS Hooks 2.0 cards from an Assessment (or from what is missing to make one).

One card per call: the recommendation with its reasons, evidence and a link to the
stored assessment. When the record lacks what the Patient contract needs, the card
says what is missing instead — an EHR shows a card, not an error, and the
clinician learns what to document.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from locoreg.decision.model import RECOMMENDATION_LABELS, Assessment, Recommendation
from locoreg.errors import FieldError
from locoreg.fhir.codes import LOCOREG_CS
from locoreg.report.markdown import harm_lines, months_text, option_lines, reference_lines

SERVICE_ID = "locoreg-primary-tumour"
SUMMARY_MAX = 140  # CDS Hooks 2.0: summary SHALL be < 140 characters
SOURCE_LABEL = "locoreg"

# Reasons a clinician may give when overriding the card (sent back in feedback).
OVERRIDE_REASONS: tuple[dict[str, str], ...] = (
    {
        "system": LOCOREG_CS,
        "code": "tumour-board-decision",
        "display": "Tumour board decided otherwise",
    },
    {"system": LOCOREG_CS, "code": "patient-preference", "display": "Patient preference"},
    {
        "system": LOCOREG_CS,
        "code": "record-incomplete",
        "display": "The record is incomplete or wrong",
    },
    {"system": LOCOREG_CS, "code": "not-applicable", "display": "Not applicable to this patient"},
)


def _summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) < SUMMARY_MAX else text[: SUMMARY_MAX - 2].rstrip() + "…"


def _bullets(items: Iterable[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def assessment_detail(assessment: Assessment) -> str:
    """The card body in GitHub-flavoured markdown (CDS Hooks ``detail``): the Assessment v2
    keys a clinician needs in the EHR — stage, factors, local therapy options, harms,
    prognosis, local control where it applies — worded as in the report."""
    a = assessment
    label = RECOMMENDATION_LABELS[a.recommendation]
    parts = [f"**{label}.** {a.headline}"]
    stage = f"**Stage:** {a.stage}" if a.stage else "**Stage:** not assigned"
    parts.append(stage + (f" — {a.stage_text}" if a.stage_text else ""))
    if a.factors:
        parts.append(
            "**Key factors**\n"
            + _bullets(
                f"{f.finding} — {f.direction.value.replace('_', ' ')}"
                + (f" ({', '.join(f.evidence)})" if f.evidence else "")
                for f in a.factors
            )
        )
    if a.local_therapy_options:
        parts.append("**Local therapy options**\n" + _bullets(option_lines(a)))
    if a.harms:
        parts.append("**Harms (trial signals against local therapy)**\n" + _bullets(harm_lines(a)))
    p = a.prognosis
    cite = f" [{', '.join(p.evidence)}]" if p.evidence and p.median_os_months is not None else ""
    prognosis = f"**Prognosis:** median overall survival {months_text(a)}; {p.basis}{cite}"
    if p.references:
        prognosis += "\n" + _bullets(reference_lines(a))
    parts.append(prognosis)
    lc = a.local_control
    if lc.applies:
        lc_text = lc.summary + (f" {lc.overall_survival}" if lc.overall_survival else "")
        if lc.evidence:
            lc_text += f" [{', '.join(lc.evidence)}]"
        parts.append(f"**Local control:** {lc_text}")
    for title, items in (
        ("Goals of care", a.goals_of_care),
        ("Missing data", a.missing),
        ("What would change this", a.would_change),
        ("Warnings", a.warnings),
    ):
        if items:
            parts.append(f"**{title}**\n" + _bullets(items))
    if a.evidence:
        parts.append("**Evidence:** " + ", ".join(a.evidence))
    if a.disclaimer:
        parts.append(f"*{a.disclaimer}*")
    return "\n\n".join(parts)


def _source(topic: Recommendation | None = None, url: str | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {"label": SOURCE_LABEL}
    if url:
        source["url"] = url
    if topic is not None:
        source["topic"] = {
            "system": LOCOREG_CS,
            "code": topic.value,
            "display": RECOMMENDATION_LABELS[topic],
        }
    return source


def assessment_card(
    assessment: Assessment,
    *,
    card_uuid: str | None = None,
    assessment_url: str | None = None,
    smart_launch_url: str | None = None,
    source_url: str | None = None,
) -> dict[str, Any]:
    """The card for one assessment; links to the stored record and the SMART app if given.

    ``card_uuid`` should be the audit-store id of the assessment, so that feedback on
    the card (which names the card's uuid) joins to the assessment it is about. The
    SMART link (``type: smart``) carries that id in ``appContext`` for the launched app.
    """
    label = RECOMMENDATION_LABELS[assessment.recommendation]
    stage = f"stage {assessment.stage}" if assessment.stage else "stage not assigned"
    card_id = card_uuid or str(uuid.uuid4())
    links: list[dict[str, Any]] = []
    if assessment_url:
        links.append(
            {"label": "Full assessment in locoreg", "url": assessment_url, "type": "absolute"}
        )
    if smart_launch_url:
        link: dict[str, Any] = {
            "label": "Open locoreg (SMART app)",
            "url": smart_launch_url,
            "type": "smart",
        }
        if card_uuid:
            link["appContext"] = json.dumps({"assessment_id": card_uuid})
        links.append(link)
    card: dict[str, Any] = {
        "uuid": card_id,
        "summary": _summary(f"Primary tumour, {stage}: {label}. {assessment.headline}"),
        # The rule table holds each recommendation's indicator (decision/rules.py).
        "indicator": assessment.indicator.value,
        "detail": assessment_detail(assessment),
        "source": _source(assessment.recommendation, source_url),
        "overrideReasons": [dict(r) for r in OVERRIDE_REASONS],
    }
    if links:
        card["links"] = links
    return card


def missing_data_card(
    problems: Sequence[FieldError], *, source_url: str | None = None
) -> dict[str, Any]:
    """An info card that lists what the record lacks for an assessment (not an error)."""
    detail = (
        "locoreg could not assess the primary tumour from the record. "
        "Document the following, then reopen the chart:\n\n" + _bullets(str(p) for p in problems)
    )
    return {
        "uuid": str(uuid.uuid4()),
        "summary": _summary(
            f"Primary tumour, stage IV: {len(problems)} item(s) missing or contradictory"
            " in the record"
        ),
        "indicator": "info",
        "detail": detail,
        "source": _source(url=source_url),
    }
