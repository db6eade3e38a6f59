"""The REST API of CONTRACTS.md §6, through FastAPI's test client.

Status codes, JSON keys, the 422 answers (every problem, each naming its field),
stored assessments read back unchanged, the JSON-lines export, and the audit
record refusing changes. Meta-analysis numbers are checked against R metafor
(tests/fixtures/web/make_meta_api.R → meta_api.json) to 1e-6 relative.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from locoreg import __version__
from locoreg.fhir.mapping import bundle_to_patient
from locoreg.store import AuditStore
from web.support import EXAMPLE_FILES, ROOT, expected_recommendation, load_example

from helpers.patients import DISCUSS

FIXTURES = ROOT / "tests" / "fixtures" / "web"
FHIR = ROOT / "examples" / "fhir"
ASSESSMENT_KEYS = {
    "recommendation",
    "headline",
    "factors",
    "prognosis",
    "local_control",
    "evidence",
    "warnings",
    "versions",
}


def fields(response: Any) -> list[str]:
    return [e["field"] for e in response.json()["detail"]]


# -- POST /api/assessments ------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_each_example_is_assessed_and_stored(client: TestClient, path: Path) -> None:
    patient = load_example(path)
    r = client.post("/api/assessments", json=patient)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body.keys() >= ASSESSMENT_KEYS
    assert body["recommendation"] == expected_recommendation(path.stem)
    assert r.headers["location"] == f"/api/assessments/{body['id']}"
    assert body["versions"]["engine"] == __version__ and "evidence" in body["versions"]
    for factor in body["factors"]:
        assert {"factor", "finding", "direction", "explanation", "evidence"} <= factor.keys()
        assert factor["direction"] in (
            "favours_local_therapy",
            "against_local_therapy",
            "neutral",
        )
    assert {"median_os_months", "interval_months", "basis", "evidence"} <= body["prognosis"].keys()

    stored = client.get(f"/api/assessments/{body['id']}")
    assert stored.status_code == 200
    record = stored.json()
    assert record["patient_input"] == patient  # the input exactly as sent
    assert record["source"] == "api"
    assert record["versions"] == body["versions"]
    assert record["assessment"] == {k: v for k, v in body.items() if k != "id"}


def test_422_lists_every_problem_with_its_field(client: TestClient) -> None:
    bad = {
        **DISCUSS,
        "age": 12,  # below 18
        "sex": "other",  # not an allowed value
        "ecog": 7,  # above 4
        "her2": "maybe",
        "colour": "blue",  # unknown field
    }
    del bad["er"]  # required
    r = client.post("/api/assessments", json=bad)
    assert r.status_code == 422
    assert sorted(fields(r)) == ["age", "colour", "ecog", "er", "her2", "sex"]
    by_field = {e["field"]: e for e in r.json()["detail"]}
    assert by_field["sex"]["allowed"] == "female, male"
    assert by_field["her2"]["allowed"] == "positive, negative, unknown"
    assert "required" in by_field["er"]["message"]
    assert "unknown field" in by_field["colour"]["message"]


def test_422_for_nested_fields_and_inconsistent_input(client: TestClient) -> None:
    r = client.post(
        "/api/assessments",
        json={
            **DISCUSS,
            "metastases": [{"site": "spleen", "lesions": 0}],
            "systemic_therapy": {"months": -1, "response": "great"},
        },
    )
    assert r.status_code == 422
    assert set(fields(r)) >= {
        "metastases.0.site",
        "metastases.0.lesions",
        "systemic_therapy.months",
        "systemic_therapy.response",
    }
    # M1 without any metastasis is an inconsistent input, named on the field.
    r = client.post("/api/assessments", json={**DISCUSS, "metastases": []})
    assert r.status_code == 422
    assert "metastases" in fields(r)[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"a string"', "must be a JSON object"),
        (b"", "body is empty"),
    ],
)
def test_unreadable_bodies_are_422_not_500(
    client: TestClient, content: bytes, message: str
) -> None:
    r = client.post(
        "/api/assessments", content=content, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    (problem,) = r.json()["detail"]
    assert problem["field"] == "" and message in problem["message"]


# -- GET /api/assessments[/{id}] --------------------------------------------------------


def test_unknown_assessment_is_404_naming_the_id(client: TestClient) -> None:
    r = client.get("/api/assessments/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404
    assert fields(r) == ["id"]


def test_history_is_newest_first_and_pages(client: TestClient) -> None:
    ids = [client.post("/api/assessments", json=DISCUSS).json()["id"] for _ in range(3)]
    r = client.get("/api/assessments", params={"limit": 2, "offset": 0})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 3 and body["limit"] == 2 and body["offset"] == 0
    assert [i["id"] for i in body["items"]] == [ids[2], ids[1]]
    assert body["items"][0]["recommendation"] == "discuss_local_therapy"
    assert "patient_input" not in body["items"][0]  # the list carries no patient data
    r = client.get("/api/assessments", params={"limit": 2, "offset": 2})
    assert [i["id"] for i in r.json()["items"]] == [ids[0]]
    r = client.get("/api/assessments", params={"limit": 0, "offset": -1})
    assert r.status_code == 422 and sorted(fields(r)) == ["limit", "offset"]


# -- append-only ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_stored_assessments_cannot_be_changed_through_the_api(
    client: TestClient, store: AuditStore, method: str
) -> None:
    record_id = client.post("/api/assessments", json=DISCUSS).json()["id"]
    before = client.get(f"/api/assessments/{record_id}").json()
    r = client.request(method, f"/api/assessments/{record_id}", json={**DISCUSS, "age": 90})
    assert r.status_code == 405
    assert "PUT" not in r.headers["allow"] and "DELETE" not in r.headers["allow"]
    r = client.request(method, "/api/assessments", json={})
    assert r.status_code == 405
    assert client.get(f"/api/assessments/{record_id}").json() == before
    assert store.count_assessments() == 1


def test_openapi_offers_no_way_to_change_a_record(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        if path.startswith("/api/assessments") or path.startswith("/api/audit"):
            assert set(operations) <= {"get", "post"}, path


# -- FHIR -----------------------------------------------------------------------------


def test_fhir_bundle_is_assessed_and_stored(client: TestClient) -> None:
    bundle = json.loads((FHIR / "discuss_local_therapy.json").read_text())
    r = client.post("/api/assessments/fhir", json=bundle)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["recommendation"] == "discuss_local_therapy"
    record = client.get(f"/api/assessments/{body['id']}").json()
    # The record keeps the Patient the mapping produced and the resources it read.
    assert record["patient_input"] == bundle_to_patient(bundle).model_dump(mode="json")
    kinds = {r["resourceType"] for r in record["fhir_resources"]}
    assert "Patient" in kinds and "Condition" in kinds
    assert record["provenance"]["patient_id"] == next(
        e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )


def test_broken_fhir_bundle_is_422_naming_each_problem(client: TestClient) -> None:
    bundle = json.loads((FHIR / "broken_contradictions.json").read_text())
    r = client.post("/api/assessments/fhir", json=bundle)
    assert r.status_code == 422
    named = " | ".join(fields(r))
    assert "birthDate" in named and "ER" in named and "PR" in named
    assert any("contradict" in e["message"] for e in r.json()["detail"])


def test_fhir_endpoint_refuses_a_non_object(client: TestClient) -> None:
    r = client.post("/api/assessments/fhir", json=[1, 2])
    assert r.status_code == 422


# -- evidence -------------------------------------------------------------------------


def test_evidence_list_and_filters(client: TestClient) -> None:
    everything = client.get("/api/evidence").json()
    assert everything["snapshot"]
    ids = {s["id"] for s in everything["studies"]}
    assert {"badwe2015", "khan2022", "soran2018", "harris2013"} <= ids
    rcts = client.get("/api/evidence", params={"design": "rct"}).json()["studies"]
    assert rcts and all(s["design"] == "rct" for s in rcts)
    assert "harris2013" not in {s["id"] for s in rcts}
    local = client.get("/api/evidence", params={"outcome": "locoregional_progression"}).json()
    assert "khan2022" in {s["id"] for s in local["studies"]}
    assert all(
        any(o["outcome"] == "locoregional_progression" for o in s["outcomes"])
        for s in local["studies"]
    )


def test_evidence_filter_with_unknown_value_is_422(client: TestClient) -> None:
    r = client.get("/api/evidence", params={"design": "anecdote", "outcome": "luck"})
    assert r.status_code == 422
    (problem,) = r.json()["detail"]  # design is checked first
    assert problem["field"] == "design" and "rct" in problem["allowed"]


def test_one_study_with_its_numbers_and_sources(client: TestClient) -> None:
    r = client.get("/api/evidence/badwe2015")
    assert r.status_code == 200
    study = r.json()
    assert study["id"] == "badwe2015" and study["design"] == "rct"
    assert study["link"].startswith("http")
    hrs = [o for o in study["outcomes"] if o.get("measure") == "HR" and o.get("estimate")]
    assert any(math.isclose(o["estimate"], 1.04) for o in hrs)
    r = client.get("/api/evidence/badwe2051")
    assert r.status_code == 404 and "badwe2015" in r.json()["detail"][0]["message"]


# -- meta-analysis --------------------------------------------------------------------

REFERENCE = json.loads((FIXTURES / "meta_api.json").read_text())
RESULT_KEYS = {
    "k",
    "method",
    "test",
    "estimate",
    "se",
    "statistic",
    "p_value",
    "ci_low",
    "ci_high",
    "tau2",
    "tau2_ci_low",
    "tau2_ci_high",
    "i2",
    "h2",
    "q",
    "q_df",
    "q_p",
    "pi_low",
    "pi_high",
}


def _close(got: dict[str, Any], want: dict[str, Any]) -> None:
    for key, value in want.items():
        if key == "k":
            assert got[key] == value
        else:
            assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-10), key


@pytest.mark.parametrize(
    ("case", "options"),
    [("reml_z", {"method": "REML", "test": "z"}), ("dl_knha", {"method": "DL", "test": "knha"})],
)
def test_meta_matches_metafor_from_hr_and_from_yi(
    client: TestClient, case: str, options: dict[str, str]
) -> None:
    data = REFERENCE["input"]
    from_hr = client.post(
        "/api/meta",
        json={"hr": data["hr"], "ci_low": data["ci_low"], "ci_high": data["ci_high"], **options},
    )
    assert from_hr.status_code == 200, from_hr.text
    body = from_hr.json()
    assert body.keys() >= RESULT_KEYS
    _close(body, REFERENCE[case])
    assert body["hr"] == pytest.approx(math.exp(REFERENCE[case]["estimate"]), rel=1e-6)
    assert body["hr_ci_low"] == pytest.approx(math.exp(REFERENCE[case]["ci_low"]), rel=1e-6)

    from_yi = client.post("/api/meta", json={"yi": data["yi"], "vi": data["vi"], **options})
    assert from_yi.status_code == 200
    _close(from_yi.json(), REFERENCE[case])
    assert "hr" not in from_yi.json()


def test_meta_subgroups(client: TestClient) -> None:
    data = REFERENCE["input"]
    r = client.post(
        "/api/meta",
        json={"yi": data["yi"], "vi": data["vi"], "by": ["a", "a", "b"], "method": "FE"},
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body["subgroups"]) == {"a", "b"}
    assert body["subgroups"]["b"]["k"] == 1
    # A single study pools to itself.
    assert body["subgroups"]["b"]["estimate"] == pytest.approx(data["yi"][2], rel=1e-12)
    assert 0 <= body["q_between_p"] <= 1


def test_meta_422_lists_every_shape_problem(client: TestClient) -> None:
    r = client.post(
        "/api/meta",
        json={"hr": [1.2, 1.0, 0.9], "ci_low": [0.8, 0.5], "ci_high": [1.5, 2.0, 0.95, 3.0]},
    )
    assert r.status_code == 422
    assert set(fields(r)) == {"ci_low", "ci_high"}
    # Each value's range is the request model's: refused before the shape is looked at.
    r = client.post("/api/meta", json={"hr": [1.2, -1.0], "ci_low": [0.8], "ci_high": [1.5]})
    assert r.status_code == 422 and fields(r) == ["hr.1"]
    r = client.post("/api/meta", json={"yi": [0.1], "hr": [1.0]})
    assert r.status_code == 422 and fields(r) == [""]
    r = client.post("/api/meta", json={"yi": [0.1, 0.2], "vi": [0.1, 0.1], "method": "XX"})
    assert r.status_code == 422 and fields(r) == ["method"]
    assert "REML" in r.json()["detail"][0]["allowed"]


# -- CDS Hooks, liveness, export ------------------------------------------------------


def _prefetch(bundle: dict[str, Any]) -> dict[str, Any]:
    resources = [e["resource"] for e in bundle["entry"]]

    def searchset(kind: str) -> dict[str, Any]:
        found = [{"resource": r} for r in resources if r["resourceType"] == kind]
        return {"resourceType": "Bundle", "type": "searchset", "total": len(found), "entry": found}

    return {
        "patient": next(r for r in resources if r["resourceType"] == "Patient"),
        "conditions": searchset("Condition"),
        "observations": searchset("Observation"),
        "medicationStatements": searchset("MedicationStatement"),
        "medicationRequests": searchset("MedicationRequest"),
    }


def test_cds_hooks_discovery_and_service(client: TestClient, store: AuditStore) -> None:
    discovery = client.get("/cds-services")
    assert discovery.status_code == 200
    (service,) = discovery.json()["services"]
    assert service["id"] == "locoreg-primary-tumour" and service["hook"] == "patient-view"
    assert {"patient", "conditions", "observations"} <= service["prefetch"].keys()

    bundle = json.loads((FHIR / "discuss_local_therapy.json").read_text())
    prefetch = _prefetch(bundle)
    request = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/1", "patientId": prefetch["patient"]["id"]},
        "prefetch": prefetch,
    }
    r = client.post("/cds-services/locoreg-primary-tumour", json=request)
    assert r.status_code == 200, r.text
    (card,) = r.json()["cards"]
    assert {"summary", "indicator", "source"} <= card.keys()
    (summary,) = store.list_assessments()
    assert summary.source == "cds-hooks"
    assert summary.recommendation == "discuss_local_therapy"
    links = " ".join(link["url"] for link in card.get("links", []))
    assert f"/assessments/{summary.id}" in links


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": __version__, "database": "sqlite"}
    assert r.headers["cache-control"] == "no-store"


def test_export_is_json_lines_of_every_record(client: TestClient, store: AuditStore) -> None:
    first = client.post("/api/assessments", json=DISCUSS).json()["id"]
    second = client.post("/api/assessments", json={**DISCUSS, "age": 70}).json()["id"]
    store.record_feedback("locoreg-primary-tumour", "card-1", "accepted", [], {"card": "card-1"})
    r = client.get("/api/audit/export")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [(x["kind"], x.get("id")) for x in lines[:2]] == [
        ("assessment", first),
        ("assessment", second),
    ]
    assert lines[1]["patient_input"]["age"] == 70
    assert lines[2]["kind"] == "feedback" and lines[2]["card_uuid"] == "card-1"
    assert len(lines) == 3


def test_openapi_document_describes_the_contract(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    for path, method in [
        ("/api/assessments", "post"),
        ("/api/assessments/{assessment_id}", "get"),
        ("/api/assessments/fhir", "post"),
        ("/api/evidence", "get"),
        ("/api/evidence/{study_id}", "get"),
        ("/api/meta", "post"),
        ("/healthz", "get"),
    ]:
        assert method in paths[path], (path, method)
    patient = doc["components"]["schemas"]["Patient"]
    assert {"age", "sex", "m", "er", "pr", "her2", "metastases"} <= set(patient["required"])


def test_cds_hooks_needs_a_jwt_unless_switched_off(tmp_path: Path) -> None:
    from web.support import make_app

    # The default (no LOCOREG_CDS_JWT) checks the EHR's token: without one, 401.
    app, store = make_app(tmp_path, LOCOREG_CDS_JWT="on")
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            bundle = json.loads((FHIR / "discuss_local_therapy.json").read_text())
            prefetch = _prefetch(bundle)
            request = {
                "hook": "patient-view",
                "hookInstance": "5d3c1b1e-5a8e-4d7e-9a47-0c1f2b0d9e11",
                "context": {"userId": "Practitioner/1", "patientId": prefetch["patient"]["id"]},
                "prefetch": prefetch,
            }
            r = c.post("/cds-services/locoreg-primary-tumour", json=request)
            assert r.status_code == 401
            assert r.json()["detail"][0]["field"] == "Authorization"
            assert store.count_assessments() == 0  # nothing assessed, nothing recorded
    finally:
        store.close()
