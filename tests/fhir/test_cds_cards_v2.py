"""The CDS Hooks card carries the Assessment v2 keys: stage, local therapy options, harms,
local control only where it applies, and the rule table's indicator (issue 10 on the card)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from locoreg.decision.model import Assessment
from locoreg.report.markdown import harm_lines, option_lines

SERVICE = "/cds-services/locoreg-primary-tumour"


def card_and_record(
    client: TestClient, store: Any, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    response = client.post(SERVICE, json=body)
    assert response.status_code == 200, response.text
    (card,) = response.json()["cards"]
    return card, store.assessments[-1]["assessment"]


def test_the_card_shows_stage_options_and_harms_of_the_assessment(
    make_client: Callable[..., TestClient],
    store: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    card, stored = card_and_record(
        make_client(), store, make_hook_request(load_example("discuss_local_therapy"))
    )
    assessment = Assessment.model_validate(stored)
    detail = card["detail"]
    assert "**Stage:** IV — AJCC 8th edition anatomic stage IV" in detail
    assert assessment.local_therapy_options and assessment.harms
    for line in option_lines(assessment):
        assert f"- {line}" in detail
    assert "- Surgery: suitable" in detail and "- Radiotherapy: suitable" in detail
    for line in harm_lines(assessment):
        assert f"- {line}" in detail
    assert "HR 1.42 (1.08–1.86)" in detail
    assert assessment.local_control.applies and "**Local control:**" in detail
    assert card["indicator"] == assessment.indicator.value == "info"


def test_palliative_card_has_the_rule_tables_indicator_and_no_local_control_figures(
    make_client: Callable[..., TestClient],
    store: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    card, stored = card_and_record(
        make_client(), store, make_hook_request(load_example("palliative_bleeding"))
    )
    assert card["indicator"] == stored["indicator"] == "warning"
    assert stored["local_control"]["applies"] is False
    assert "**Local control:**" not in card["detail"]
    assert "- Supportive local care: suitable" in card["detail"]


def test_a_card_outside_stage_iv_names_its_stage_not_stage_iv(
    make_client: Callable[..., TestClient],
    store: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    bundle = copy.deepcopy(load_example("discuss_local_therapy"))
    bundle["entry"] = [
        e for e in bundle["entry"] if e["resource"]["id"] not in {"met-bone", "stage-group"}
    ]
    tnm_m = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "tnm-m")
    tnm_m["valueCodeableConcept"] = {"text": "cM0"}
    card, stored = card_and_record(make_client(), store, make_hook_request(bundle))
    assert stored["recommendation"] == "out_of_scope"
    assert stored["stage"] and stored["stage"] != "IV"
    assert card["summary"].startswith(f"Primary tumour, stage {stored['stage']}: Out of scope")
    assert f"**Stage:** {stored['stage']}" in card["detail"]
