"""`?lang=es` on the assessment API: Spanish sentences, English codes and keys, the audit
record English; a stored record read in Spanish only when a re-run reaches its decision."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from locoreg.store import AuditStore
from web.support import EXAMPLES, ROOT, load_example

EXAMPLE = EXAMPLES / "discuss_inflammatory_t4d.json"
CODES = ("recommendation", "rules_fired", "evidence", "versions", "indicator", "stage")


def test_post_in_spanish_answers_in_spanish_and_records_english(client: TestClient) -> None:
    patient = load_example(EXAMPLE)
    es = client.post("/api/assessments?lang=es", json=patient)
    assert es.status_code == 201, es.text
    assert es.headers["content-language"] == "es"
    body = es.json()
    assert body["headline"].startswith("Enfermedad controlada con tratamiento sistémico")
    assert "language_note" not in body
    stored = client.get(f"/api/assessments/{body['id']}")
    assert stored.headers["content-language"] == "en"
    record = stored.json()["assessment"]
    assert record["headline"].startswith("Disease controlled on systemic therapy")
    assert all(record[key] == body[key] for key in CODES)
    en = client.post("/api/assessments", json=patient).json()
    assert en["headline"] == record["headline"]
    assert [f["factor"] for f in en["factors"]] == [f["factor"] for f in body["factors"]]


def test_get_in_spanish_re_runs_the_stored_patient(client: TestClient) -> None:
    created = client.post("/api/assessments", json=load_example(EXAMPLE)).json()
    r = client.get(f"/api/assessments/{created['id']}?lang=es")
    assert r.status_code == 200 and r.headers["content-language"] == "es"
    data = r.json()
    assert data["assessment"]["headline"].startswith("Enfermedad controlada")
    assert all(data["assessment"][key] == created[key] for key in CODES)
    assert data["patient_input"] == load_example(EXAMPLE) and data.get("language_note") is None


def test_a_record_the_engine_no_longer_reproduces_stays_english(
    client: TestClient, store: AuditStore
) -> None:
    patient = load_example(EXAMPLE)
    answer = client.post("/api/assessments", json=patient).json()
    answer.pop("id")
    older = {**answer, "versions": {**answer["versions"], "rules": "000000000000"}}
    record_id = store.record_assessment(patient, older, older["versions"], "api")
    r = client.get(f"/api/assessments/{record_id}?lang=es")
    assert r.status_code == 200 and r.headers["content-language"] == "en"
    data = r.json()
    assert data["assessment"] == older  # the stored English, untouched
    assert data["language_note"].startswith("Se muestra en inglés, tal como se guardó")


def test_an_unknown_language_is_a_422_and_writes_nothing(
    client: TestClient, store: AuditStore
) -> None:
    before = store.count_assessments()
    r = client.post("/api/assessments?lang=fr", json=load_example(EXAMPLE))
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "lang"
    assert "allowed: en, es" in r.json()["detail"][0]["message"]
    assert store.count_assessments() == before
    created = client.post("/api/assessments", json=load_example(EXAMPLE)).json()
    r = client.get(f"/api/assessments/{created['id']}?lang=xx")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "lang"


def test_a_fhir_bundle_answers_in_spanish_too(client: TestClient) -> None:
    bundle = json.loads((ROOT / "examples" / "fhir" / "palliative_bleeding.json").read_text())
    r = client.post("/api/assessments/fhir?lang=es", json=bundle)
    assert r.status_code == 201, r.text
    assert r.headers["content-language"] == "es"
    assert r.json()["headline"].startswith("Tratamiento local paliativo por sangrado")
    stored = client.get(r.headers["location"]).json()["assessment"]
    assert stored["headline"].startswith("Palliative local treatment")
    assert client.post("/api/assessments/fhir?lang=de", json=bundle).status_code == 422
