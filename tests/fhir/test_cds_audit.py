"""What the CDS Hooks service writes to the audit store: once per hook call, who asked and
for whom, the resources the mapping read, and feedback only for cards it issued."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from locoreg.store import AuditStore
from locoreg.web.app import create_app
from locoreg.web.settings import Settings

SERVICE = "/cds-services/locoreg-primary-tumour"
FEEDBACK = f"{SERVICE}/feedback"


@pytest.fixture
def app_store(tmp_path: Path) -> Iterator[tuple[TestClient, AuditStore]]:
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    store = AuditStore(url)
    settings = Settings.from_env({"LOCOREG_CDS_JWT": "off"}, database_url=url)
    with TestClient(create_app(settings, store)) as client:
        yield client, store
    store.close()


def _card(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    (card,) = response.json()["cards"]
    return dict(card)


def _feedback(card: str) -> dict[str, Any]:
    return {
        "feedback": [
            {"card": card, "outcome": "accepted", "outcomeTimestamp": "2026-12-01T10:00:00Z"}
        ]
    }


def test_a_retried_hook_call_gives_one_record_and_the_same_card(
    app_store: tuple[TestClient, AuditStore],
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    client, store = app_store
    body = make_hook_request(load_example("discuss_local_therapy"))
    first = _card(client.post(SERVICE, json=body))
    again = _card(client.post(SERVICE, json=body))
    assert again == first
    assert store.count_assessments() == 1
    # A new call (new hookInstance) is a new record.
    other = _card(client.post(SERVICE, json={**body, "hookInstance": "another-instance"}))
    assert other["uuid"] != first["uuid"] and store.count_assessments() == 2


def test_a_reused_hook_instance_with_another_request_is_422(
    app_store: tuple[TestClient, AuditStore],
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    client, store = app_store
    body = make_hook_request(load_example("discuss_local_therapy"))
    _card(client.post(SERVICE, json=body))
    changed = copy.deepcopy(body)
    changed["context"]["userId"] = "Practitioner/someone-else"
    response = client.post(SERVICE, json=changed)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["field"] == "hookInstance" and "different request" in problem["message"]
    assert store.count_assessments() == 1


def test_the_record_names_who_asked_for_whom_and_keeps_only_the_mapped_resources(
    app_store: tuple[TestClient, AuditStore],
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    client, store = app_store
    body = make_hook_request(load_example("discuss_local_therapy"))
    # An EHR may send far more than the mapping reads: an attachment, a heart rate.
    padding = "x" * 200_000
    body["prefetch"]["observations"]["entry"].append(
        {
            "resource": {
                "resourceType": "Observation",
                "id": "heart-rate",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                "subject": {"reference": f"Patient/{body['context']['patientId']}"},
                "valueQuantity": {"value": 72, "unit": "/min"},
                "note": [{"text": padding}],
            }
        }
    )
    card = _card(client.post(SERVICE, json=body))
    record = store.get_assessment(card["uuid"])
    assert record is not None
    assert record.provenance.user_id == "Practitioner/onc-1"
    assert record.provenance.patient_id == body["context"]["patientId"]
    assert record.provenance.hook_instance == body["hookInstance"]
    assert record.provenance.client_address == "testclient"
    assert record.fhir_resources is not None
    ids = {r["id"] for r in record.fhir_resources}
    assert "heart-rate" not in ids and body["context"]["patientId"] in ids
    assert padding not in str(record.fhir_resources)
    # The Patient the mapping produced: the edit form and the summary read it.
    assert record.patient_input["ecog"] is not None
    edit = client.get(f"/assessments/{card['uuid']}/edit")
    assert edit.status_code == 200 and f'value="{record.patient_input["age"]}"' in edit.text


def test_jwt_issuer_and_subject_are_recorded(
    make_client: Callable[..., TestClient],
    store: Any,
    es384: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    client = make_client(jwt_on=True)
    token = es384.token(sub="ehr-client-7")
    body = make_hook_request(load_example("discuss_local_therapy"))
    response = client.post(SERVICE, json=body, headers={"Authorization": f"Bearer {token}"})
    _card(response)
    (record,) = store.assessments
    who = record["provenance"]
    assert (who.token_issuer, who.token_subject) == ("https://ehr.example.org", "ehr-client-7")
    assert who.user_id == "Practitioner/onc-1"
    card = record["id"]
    feedback_token = es384.token(sub="ehr-client-7")
    client.post(
        FEEDBACK, json=_feedback(card), headers={"Authorization": f"Bearer {feedback_token}"}
    )
    (item,) = store.feedback
    assert item["provenance"].token_subject == "ehr-client-7"


def test_feedback_for_an_unknown_card_is_404_and_nothing_is_recorded(
    app_store: tuple[TestClient, AuditStore],
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    client, store = app_store
    card = _card(client.post(SERVICE, json=make_hook_request(load_example("palliative_bleeding"))))
    body = _feedback(card["uuid"])
    body["feedback"].append({**body["feedback"][0], "card": "no-such-card"})
    response = client.post(FEEDBACK, json=body)
    assert response.status_code == 404
    assert [p["field"] for p in response.json()["detail"]] == ["feedback.1.card"]
    assert store.list_feedback() == []
    assert client.post(FEEDBACK, json=_feedback(card["uuid"])).status_code == 200
    assert [f.card_uuid for f in store.list_feedback()] == [card["uuid"]]


def test_an_overlong_hook_instance_is_400(
    app_store: tuple[TestClient, AuditStore],
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    client, store = app_store
    body = make_hook_request(load_example("discuss_local_therapy"), hookInstance="h" * 256)
    response = client.post(SERVICE, json=body)
    assert response.status_code == 400
    assert response.json()["detail"][0]["field"] == "hookInstance"
    assert store.count_assessments() == 0
