"""Every renderer of an Assessment shows the keys of contract v2."""

from __future__ import annotations

import html
import re

from locoreg.decision import assess
from locoreg.report.assessment import render_assessment_html
from locoreg.report.markdown import assessment_markdown

from helpers.patients import make


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_report_shows_stage_options_harms_references_and_local_control() -> None:
    a = assess(make())
    text = _text(render_assessment_html(a))
    assert "Local therapy options" in text and "Trial signals against local therapy" in text
    for option in a.local_therapy_options:
        assert " ".join(option.reason.split()) in text
    for harm in a.harms:
        assert " ".join(harm.finding.split()) in text
    assert "Reference only" in text and "range of published medians" in text
    assert a.local_control.overall_survival in text


def test_local_control_block_hidden_where_it_does_not_apply() -> None:
    a = assess(make(local_symptoms=["bleeding"]))
    page = render_assessment_html(a)
    assert 'class="icon-array"' not in page
    assert "16.3" not in _text(page)
    md = assessment_markdown(a)
    assert "16.3" not in md and "Not shown" in md


def test_markdown_shows_every_option_and_harm() -> None:
    a = assess(make(resectable=False))
    md = assessment_markdown(a)
    assert "Stage IV" in md
    assert "- Surgery: not suitable — negative margins not achievable" in md
    assert "- Radiotherapy: suitable" in md
    assert "HR 1.42 (1.08–1.86)" in md


def test_an_assessment_stored_under_contract_v1_still_reads() -> None:
    from locoreg.decision.model import Assessment

    v2 = assess(make()).model_dump(mode="json")
    v1 = {k: v for k, v in v2.items() if k not in ("stage", "local_therapy_options", "harms")}
    v1["missing_data"] = v1.pop("missing")
    v1["local_control"] = {k: v for k, v in v2["local_control"].items() if k != "applies"}
    for key in ("indicator", "stage_text"):
        v1.pop(key)
    v1["prognosis"] = {
        k: v
        for k, v in v2["prognosis"].items()
        if k not in ("interval_kind", "population", "references")
    }
    a = Assessment.model_validate(v1)
    assert a.stage is None and a.local_control.applies
    assert a.prognosis.interval_kind.value == "range_of_published_medians"
    assert a.missing == v2["missing"]
    assert "Local control" in assessment_markdown(a)
