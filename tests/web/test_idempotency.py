"""REST writes: Idempotency-Key retries, the FHIR record's Patient, writes off the event loop."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from locoreg.store import AuditStore
from web.support import ROOT, load_example, read_form

from helpers.patients import DISCUSS

BUNDLE = json.loads((ROOT / "examples" / "fhir" / "discuss_local_therapy.json").read_text())


@pytest.mark.parametrize(
    ("path", "body"), [("/api/assessments", DISCUSS), ("/api/assessments/fhir", BUNDLE)]
)
def test_a_retried_write_returns_the_first_record(
    client: TestClient, store: AuditStore, path: str, body: dict[str, Any]
) -> None:
    headers = {"Idempotency-Key": "7f1c-retry"}
    first = client.post(path, json=body, headers=headers)
    again = client.post(path, json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert store.count_assessments() == 1
    # Without the header, or with another key, each POST is a new record.
    assert client.post(path, json=body).json()["id"] != first.json()["id"]
    assert client.post(path, json=body, headers={"Idempotency-Key": "k2"}).json()["id"] not in {
        first.json()["id"]
    }
    assert store.count_assessments() == 3


def test_a_reused_key_with_a_different_body_is_422(client: TestClient, store: AuditStore) -> None:
    headers = {"Idempotency-Key": "once"}
    assert client.post("/api/assessments", json=DISCUSS, headers=headers).status_code == 201
    for path, body in (
        ("/api/assessments", {**DISCUSS, "age": DISCUSS["age"] + 1}),
        ("/api/assessments/fhir", BUNDLE),  # same key on the other endpoint
    ):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 422
        (problem,) = response.json()["detail"]
        assert problem["field"] == "Idempotency-Key"
        assert "different request" in problem["message"]
    assert store.count_assessments() == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "ключ".encode()])
def test_a_malformed_key_is_422(client: TestClient, store: AuditStore, key: str | bytes) -> None:
    response = client.post("/api/assessments", json=DISCUSS, headers={"Idempotency-Key": key})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "Idempotency-Key"
    assert store.count_assessments() == 0


def test_concurrent_retries_give_one_record(client: TestClient, store: AuditStore) -> None:
    headers = {"Idempotency-Key": "concurrent"}
    with ThreadPoolExecutor(6) as pool:
        responses = list(
            pool.map(
                lambda _: client.post("/api/assessments", json=DISCUSS, headers=headers), range(12)
            )
        )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert store.count_assessments() == 1


def test_the_engine_and_the_write_run_off_the_event_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from locoreg.web import api

    loops: list[bool] = []
    real = api.assess_and_record

    def spy(*args: Any, **kwargs: Any) -> Any:
        try:
            asyncio.get_running_loop()
            loops.append(True)
        except RuntimeError:
            loops.append(False)
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "assess_and_record", spy)
    assert client.post("/api/assessments", json=DISCUSS).status_code == 201
    assert client.post("/api/assessments/fhir", json=BUNDLE).status_code == 201
    assert loops == [False, False]


def test_a_fhir_record_opens_a_filled_form_and_a_summary_with_the_patient(
    client: TestClient, store: AuditStore
) -> None:
    created = client.post("/api/assessments/fhir", json=BUNDLE).json()
    record = store.get_assessment(created["id"])
    assert record is not None
    edit = client.get(f"/assessments/{created['id']}/edit")
    fields = dict(read_form(edit.text).fields)
    assert fields["age"] == str(record.patient_input["age"])
    assert fields["ecog"] == str(record.patient_input["ecog"])
    summary = client.get(f"/assessments/{created['id']}/summary")
    assert "FHIR R4 Bundle" not in summary.text
    assert str(record.patient_input["age"]) in summary.text


def test_the_rest_record_names_the_client(client: TestClient, store: AuditStore) -> None:
    created = client.post(
        "/api/assessments",
        json=load_example(ROOT / "examples" / "patients" / "discuss_bone_oligometastatic.json"),
    ).json()
    record = store.get_assessment(created["id"])
    assert record is not None and record.provenance.client_address == "testclient"
    assert (
        client.get(f"/api/assessments/{created['id']}").json()["provenance"]["client_address"]
        == "testclient"
    )
