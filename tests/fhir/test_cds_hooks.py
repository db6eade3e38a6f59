"""CDS Hooks 2.0 over HTTP: discovery, the patient-view service, FHIR-server fetch, feedback.

Every answer is checked against the JSON shapes of the spec (tests/fhir/schemas/), and
every request these tests send as valid is checked against the request schemas too, so
the tests cannot drift from the spec on either side.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, FormatChecker

from locoreg.fhir.fetch import PREFETCH
from locoreg.store import AuditStore
from locoreg.web.app import create_app
from locoreg.web.settings import Settings

SERVICE = "/cds-services/locoreg-primary-tumour"
FEEDBACK = f"{SERVICE}/feedback"
SCHEMAS = Path(__file__).parent / "schemas"
FHIR_BASE = "https://fhir.hospital.example.org/r4"

# The recommendation each example bundle was written to show (file name → rule).
EXPECTED = {
    "discuss_local_therapy": "discuss_local_therapy",
    "palliative_bleeding": "palliative_local_therapy",
    "systemic_first_symptom_observations": "systemic_therapy_first",
    "workup_her2_unknown": "complete_workup",
    "no_routine_visceral_crisis": "no_routine_local_therapy",
}

HookClient = Callable[..., TestClient]


def validator(name: str) -> Draft202012Validator:
    document = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return Draft202012Validator(document, format_checker=FormatChecker())


def conforms(name: str, document: Any) -> None:
    """Fail with every schema violation listed, not just the first."""
    problems = [
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator(name).iter_errors(document)
    ]
    assert not problems, problems


def post_hook(client: TestClient, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    conforms("request", body)
    response = client.post(SERVICE, json=body, **kwargs)
    if response.status_code == 200:
        conforms("response", response.json())
    return response


def only_card(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert len(cards) == 1
    card: dict[str, Any] = cards[0]
    return card


def fields(response: httpx.Response) -> list[str]:
    return [d["field"] for d in response.json()["detail"]]


# --- discovery --------------------------------------------------------------------------


def test_discovery_lists_the_service_with_its_prefetch_templates(
    make_client: HookClient,
) -> None:
    response = make_client().get("/cds-services")
    assert response.status_code == 200
    conforms("discovery", response.json())
    (service,) = response.json()["services"]
    assert (service["id"], service["hook"]) == ("locoreg-primary-tumour", "patient-view")
    assert set(service["prefetch"]) == {
        "patient",
        "conditions",
        "observations",
        "medicationStatements",
        "medicationRequests",
    }
    # Every template is scoped to the patient in context (no unscoped searches).
    assert all("{{context.patientId}}" in t for t in service["prefetch"].values())
    observations = service["prefetch"]["observations"]
    for loinc in ("21907-1", "85337-4", "85339-0", "85319-2", "89247-1", "97509-4"):
        assert f"http://loinc.org|{loinc}" in observations


# --- the service, with prefetch ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_bundle_gets_its_recommendation_card(
    name: str,
    make_client: HookClient,
    store: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    card = only_card(post_hook(make_client(), make_hook_request(load_example(name))))
    assert card["source"]["topic"]["code"] == EXPECTED[name]
    assert card["source"]["label"] == "locoreg"
    assert card["source"]["url"] == "http://testserver/"
    assert 0 < len(card["summary"]) < 140
    assert card["indicator"] == ("warning" if name == "palliative_bleeding" else "info")
    assert card["detail"].startswith("**") and "**Evidence:**" in card["detail"]
    # Stored once, through the CDS Hooks channel, with the same recommendation.
    (stored,) = store.assessments
    assert stored["source"] == "cds-hooks"
    assert stored["assessment"]["recommendation"] == EXPECTED[name]
    # The card's uuid is the audit record's id, and the link opens that record.
    assert card["uuid"] == stored["id"]
    (link,) = card["links"]
    assert link == {
        "label": "Full assessment in locoreg",
        "url": f"http://testserver/assessments/{stored['id']}",
        "type": "absolute",
    }
    assert {r["code"] for r in card["overrideReasons"]} >= {"tumour-board-decision"}


def test_mcode_discuss_bundle_card_reads_the_record_correctly(
    make_client: HookClient,
    store: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    card = only_card(
        post_hook(make_client(), make_hook_request(load_example("discuss_local_therapy")))
    )
    assert card["summary"].startswith("Primary tumour, stage IV: Discuss local therapy")
    patient = store.assessments[0]["patient_input"]
    assert (patient["age"], patient["er"], patient["her2"], patient["m"]) == (
        52,
        "positive",
        "negative",
        "M1",
    )
    assert patient["metastases"] == [{"site": "bone", "lesions": 2}]
    assert patient["systemic_therapy"]["response"] == "partial_response"
    assert patient["systemic_therapy"]["months"] >= 6  # started 2026-05-04


def test_smart_link_carries_the_assessment_id(
    make_client: HookClient,
    store: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    launch = "https://locoreg.hospital.example.org/smart/launch"
    client = make_client(env={"LOCOREG_SMART_LAUNCH_URL": launch})
    card = only_card(post_hook(client, make_hook_request(load_example("palliative_bleeding"))))
    smart = next(link for link in card["links"] if link["type"] == "smart")
    assert smart["url"] == launch
    assert json.loads(smart["appContext"]) == {"assessment_id": store.assessments[0]["id"]}


def test_public_url_sets_the_links_and_the_jwt_audience(
    make_client: HookClient,
    es384: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    public = "https://locoreg.hospital.example.org"
    client = make_client(jwt_on=True, env={"LOCOREG_PUBLIC_URL": public + "/"})
    body = make_hook_request(load_example("workup_her2_unknown"))
    token = es384.token(aud=f"{public}{SERVICE}")
    card = only_card(post_hook(client, body, headers={"Authorization": f"Bearer {token}"}))
    assert card["links"][0]["url"].startswith(f"{public}/assessments/")
    # A token minted for the internal address is not valid for the public one.
    wrong = es384.token()  # aud = http://testserver/...
    refused = post_hook(client, body, headers={"Authorization": f"Bearer {wrong}"})
    assert refused.status_code == 401


def test_broken_bundle_answers_a_card_naming_what_to_document(
    make_client: HookClient,
    store: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    card = only_card(
        post_hook(make_client(), make_hook_request(load_example("broken_contradictions")))
    )
    assert card["indicator"] == "info"
    assert "4 item(s) missing or contradictory" in card["summary"]
    assert "- Patient/broken-1.birthDate: missing" in card["detail"]
    assert "Observation/pr-a = positive" in card["detail"]
    assert "topic" not in card["source"]
    assert store.assessments == []  # nothing was assessed, nothing stored


def test_prefetch_for_another_patient_is_not_used(
    make_client: HookClient,
    store: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    body = make_hook_request(load_example("discuss_local_therapy"))
    body["context"]["patientId"] = "someone-else"
    card = only_card(post_hook(make_client(), body))
    assert "Patient/discuss-1: the Patient does not match context.patientId" in card["detail"]
    assert store.assessments == []


# --- the service, fetching from the FHIR server ---------------------------------------------


class FakeFhirServer:
    """A FHIR server answering the service's prefetch queries from one example Bundle."""

    def __init__(self, bundle: dict[str, Any], token: str, page_size: int = 3):
        self.resources = [e["resource"] for e in bundle["entry"]]
        self.token = token
        self.page_size = page_size
        self.requests: list[httpx.Request] = []

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(401)
        path = request.url.path.removeprefix(httpx.URL(FHIR_BASE).path + "/")
        query = parse_qs(request.url.query.decode())
        patient = next(r for r in self.resources if r["resourceType"] == "Patient")
        if path == f"Patient/{patient['id']}":
            return httpx.Response(200, json=patient)
        if "/" in path or query.get("patient") != [patient["id"]]:
            return httpx.Response(404)
        found = [r for r in self.resources if r["resourceType"] == path]
        if path == "Observation":
            wanted = set(query["code"][0].split(","))
            found = [
                r
                for r in found
                if any(f"{c['system']}|{c['code']}" in wanted for c in r["code"]["coding"])
            ]
        # Page the searchset so the service has to follow "next" links.
        offset = int(query.get("_offset", ["0"])[0])
        page = found[offset : offset + self.page_size]
        links = []
        if offset + self.page_size < len(found):
            nxt = request.url.copy_merge_params({"_offset": str(offset + self.page_size)})
            links.append({"relation": "next", "url": str(nxt)})
        return httpx.Response(
            200,
            json={
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(found),
                "link": links,
                "entry": [{"resource": r} for r in page],
            },
        )


def fhir_authorization(token: str, patient_id: str) -> dict[str, Any]:
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/Patient.read patient/Condition.read patient/Observation.read",
        "subject": "locoreg-cds",
        "patient": patient_id,
    }


def test_without_prefetch_the_record_is_fetched_from_the_fhir_server(
    make_client: HookClient,
    store: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    bundle = load_example("discuss_local_therapy")
    server = FakeFhirServer(bundle, token="fhir-access-token")
    body = make_hook_request(None)
    assert "prefetch" not in body
    body.update(
        fhirServer=FHIR_BASE, fhirAuthorization=fhir_authorization("fhir-access-token", "discuss-1")
    )
    card = only_card(post_hook(make_client(http=server.client()), body))
    assert card["source"]["topic"]["code"] == "discuss_local_therapy"
    # One read per prefetch template, plus the follow-up pages of the Observation search.
    paths = [r.url.path.rsplit("/", 1)[-1] for r in server.requests]
    assert set(paths) == {"discuss-1", "Condition", "Observation", "MedicationStatement",
                          "MedicationRequest"}  # fmt: skip
    observations = [r for r in server.requests if r.url.path.endswith("/Observation")]
    n_obs = sum(1 for r in bundle["entry"] if r["resource"]["resourceType"] == "Observation")
    assert len(observations) == -(-n_obs // server.page_size) > 1
    assert all(r.headers["accept"] == "application/fhir+json" for r in server.requests)
    assert store.assessments[0]["patient_input"]["metastases"] == [{"site": "bone", "lesions": 2}]


def test_fetched_observations_include_symptom_observations(
    make_client: HookClient,
    store: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    server = FakeFhirServer(load_example("systemic_first_symptom_observations"), token="t")
    body = make_hook_request(None)
    body["context"]["patientId"] = "newdx-1"
    body.update(fhirServer=FHIR_BASE, fhirAuthorization=fhir_authorization("t", "newdx-1"))
    card = only_card(post_hook(make_client(http=server.client()), body))
    assert card["source"]["topic"]["code"] == "systemic_therapy_first"
    patient = store.assessments[0]["patient_input"]
    assert (patient["local_symptoms"], patient["ecog"]) == (["pain"], 1)


def test_only_the_missing_prefetch_items_are_fetched(
    make_client: HookClient,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    bundle = load_example("palliative_bleeding")
    server = FakeFhirServer(bundle, token="t")
    body = make_hook_request(bundle)
    body["prefetch"]["conditions"] = None  # the client could not prefetch this one
    del body["prefetch"]["observations"]
    body.update(fhirServer=FHIR_BASE, fhirAuthorization=fhir_authorization("t", "palliative-1"))
    card = only_card(post_hook(make_client(http=server.client()), body))
    assert card["source"]["topic"]["code"] == "palliative_local_therapy"
    assert {r.url.path.rsplit("/", 1)[-1] for r in server.requests} == {
        "Condition",
        "Observation",
    }


def test_prefetch_absent_and_no_fhir_server_is_412(
    make_client: HookClient, make_hook_request: Callable[..., dict[str, Any]]
) -> None:
    response = post_hook(make_client(), make_hook_request(None))
    assert response.status_code == 412
    (problem,) = response.json()["detail"]
    assert problem["field"] == "prefetch"
    assert "no fhirServer" in problem["message"] and "patient" in problem["message"]


def test_fhir_server_refusing_the_token_is_412(
    make_client: HookClient,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    server = FakeFhirServer(load_example("discuss_local_therapy"), token="the-right-one")
    body = make_hook_request(None)
    body.update(fhirServer=FHIR_BASE, fhirAuthorization=fhir_authorization("stale", "discuss-1"))
    response = post_hook(make_client(http=server.client()), body)
    assert response.status_code == 412
    assert "FHIR server answered 401" in response.json()["detail"][0]["message"]


def test_fhir_server_allow_list(
    make_client: HookClient,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    server = FakeFhirServer(load_example("discuss_local_therapy"), token="t")
    allowed = "https://fhir.other.example/, https://fhir.hospital.example.org"
    client = make_client(http=server.client(), env={"LOCOREG_CDS_FHIR_SERVERS": allowed})
    body = make_hook_request(None)
    body["fhirAuthorization"] = fhir_authorization("t", "discuss-1")
    # A longer host name that merely starts like an allowed base is not that server.
    for lookalike in ("https://fhir.hospital.example.org.evil.net/r4", "https://fhir.oth"):
        response = post_hook(client, {**body, "fhirServer": lookalike})
        assert response.status_code == 400 and fields(response) == ["fhirServer"]
    assert server.requests == []
    assert post_hook(client, {**body, "fhirServer": FHIR_BASE}).status_code == 200


# --- invalid requests ----------------------------------------------------------------------


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        body = body[part]
    if value is _DELETE:
        del body[last]
    else:
        body[last] = value


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("hook", "order-sign", "hook"),
        ("hookInstance", _DELETE, "hookInstance"),
        ("context", "discuss-1", "context"),
        ("context.patientId", _DELETE, "context.patientId"),
        ("context.userId", 42, "context.userId"),
        ("prefetch", ["not", "an", "object"], "prefetch"),
        ("prefetch.patient", "Patient/discuss-1", "prefetch.patient"),
        ("prefetch.conditions", {"entry": []}, "prefetch.conditions"),
        ("fhirServer", "ftp://fhir.example.org", "fhirServer"),
        (
            "fhirAuthorization",
            {"access_token": "t", "token_type": "Bearer", "expires_in": 60, "scope": "x"},
            "fhirAuthorization.subject",
        ),
    ],
)
def test_malformed_request_is_400_naming_the_field(
    path: str,
    value: Any,
    field: str,
    make_client: HookClient,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    body = make_hook_request(load_example("discuss_local_therapy"))
    _set(body, path, value)
    response = make_client().post(SERVICE, json=body)
    assert response.status_code == 400
    assert field in fields(response)


def test_fhir_authorization_needs_a_fhir_server_and_a_bearer_token(
    make_client: HookClient,
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    body = make_hook_request(None)
    body["fhirAuthorization"] = {**fhir_authorization("t", "x"), "token_type": "MAC"}
    response = make_client().post(SERVICE, json=body)
    assert response.status_code == 400
    assert sorted(fields(response)) == ["fhirAuthorization.token_type", "fhirServer"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"null"])
def test_body_that_is_not_a_json_object_is_400(raw: bytes, make_client: HookClient) -> None:
    response = make_client().post(
        SERVICE, content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert fields(response) == [""]


# --- JWT on the HTTP endpoints ----------------------------------------------------------------


def test_jwt_is_required_when_on(
    make_client: HookClient,
    es384: Any,
    rs384: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    client = make_client(jwt_on=True)
    body = make_hook_request(load_example("discuss_local_therapy"))
    missing = client.post(SERVICE, json=body)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert fields(missing) == ["Authorization"]
    for signer in (es384, rs384):
        token = signer.token()
        ok = post_hook(client, body, headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        replay = client.post(SERVICE, json=body, headers={"Authorization": f"Bearer {token}"})
        assert replay.status_code == 401
        assert "replay" in replay.json()["detail"][0]["message"]


def test_jwt_for_another_service_is_refused(
    make_client: HookClient,
    es384: Any,
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    token = es384.token(aud="http://testserver/cds-services/another-service")
    response = make_client(jwt_on=True).post(
        SERVICE, json=make_hook_request(None), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert "aud" in response.json()["detail"][0]["message"]


# --- feedback -------------------------------------------------------------------------------


def feedback_item(card: str, outcome: str, **extra: Any) -> dict[str, Any]:
    return {"card": card, "outcome": outcome, "outcomeTimestamp": "2026-11-04T10:15:00Z", **extra}


OVERRIDE = {
    "reason": {
        "system": "http://locoreg.example.org/fhir/CodeSystem/locoreg",
        "code": "tumour-board-decision",
        "display": "Tumour board decided otherwise",
    },
    "userComment": "Board prefers radiotherapy to the primary.",
}


def test_feedback_accepted_and_overridden_are_recorded(
    make_client: HookClient,
    store: Any,
    es384: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    client = make_client()
    card = only_card(post_hook(client, make_hook_request(load_example("discuss_local_therapy"))))
    body = {
        "feedback": [
            feedback_item(card["uuid"], "accepted"),
            feedback_item(card["uuid"], "overridden", overrideReason=OVERRIDE),
        ]
    }
    conforms("feedback", body)
    response = client.post(FEEDBACK, json=body)
    assert response.status_code == 200
    accepted, overridden = store.feedback
    assert (accepted["card_uuid"], accepted["outcome"]) == (card["uuid"], "accepted")
    assert accepted["override_reasons"] == []
    assert overridden["outcome"] == "overridden"
    assert overridden["override_reasons"] == [OVERRIDE]
    assert overridden["payload"]["outcomeTimestamp"] == "2026-11-04T10:15:00Z"
    # Feedback joins to the assessment the card was made from.
    assert {f["card_uuid"] for f in store.feedback} == {store.assessments[0]["id"]}


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (feedback_item("c-1", "ignored"), "feedback.0.outcome"),
        ({"outcome": "accepted", "outcomeTimestamp": "2026-11-04T10:15:00Z"}, "feedback.0.card"),
        (feedback_item("c-1", "accepted", overrideReason=OVERRIDE), "feedback.0.overrideReason"),
        (
            feedback_item("c-1", "overridden", overrideReason={"reason": {"code": "x"}}),
            "feedback.0.overrideReason.reason",
        ),
        ({"card": "c-1", "outcome": "accepted"}, "feedback.0.outcomeTimestamp"),
    ],
)
def test_malformed_feedback_is_400_naming_the_field(
    item: dict[str, Any], field: str, make_client: HookClient, store: Any
) -> None:
    body = {"feedback": [item]}
    assert list(validator("feedback").iter_errors(body)), "the spec schema refuses it too"
    response = make_client().post(FEEDBACK, json=body)
    assert response.status_code == 400
    assert field in fields(response)
    assert store.feedback == []


def test_feedback_needs_a_valid_jwt_when_on(
    make_client: HookClient, es384: Any, store: Any
) -> None:
    client = make_client(jwt_on=True)
    card = store.record_assessment({}, {}, {}, "cds-hooks")  # a card this service issued
    body = {"feedback": [feedback_item(card, "accepted")]}
    assert client.post(FEEDBACK, json=body).status_code == 401
    token = es384.token()  # aud = the service endpoint, as the spec says
    ok = client.post(FEEDBACK, json=body, headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200


# --- the whole app, on a real audit store ------------------------------------------------------


@pytest.fixture
def real_app(tmp_path: Path) -> tuple[TestClient, AuditStore]:
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    store = AuditStore(url)
    settings = Settings.from_env({"LOCOREG_CDS_JWT": "off"}, database_url=url)
    return TestClient(create_app(settings, store)), store


# The first render of the result page in a process loads the plotting stack (seconds).
@pytest.mark.slow
def test_card_link_opens_the_stored_assessment_and_feedback_is_audited(
    real_app: tuple[TestClient, AuditStore],
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    client, store = real_app
    card = only_card(post_hook(client, make_hook_request(load_example("palliative_bleeding"))))
    page = client.get(card["links"][0]["url"])
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    (summary,) = store.list_assessments()
    assert (summary.id, summary.source) == (card["uuid"], "cds-hooks")
    assert summary.recommendation == "palliative_local_therapy"
    body = {"feedback": [feedback_item(card["uuid"], "overridden", overrideReason=OVERRIDE)]}
    assert client.post(FEEDBACK, json=body).status_code == 200
    (stored,) = store.list_feedback()
    assert (stored.service_id, stored.card_uuid, stored.outcome) == (
        "locoreg-primary-tumour",
        card["uuid"],
        "overridden",
    )
    assert stored.override_reasons == [OVERRIDE]


def test_jwt_check_is_on_unless_switched_off_explicitly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    settings = Settings.from_env({}, database_url=url)  # no LOCOREG_CDS_JWT at all
    assert settings.cds_jwt_enabled is True
    client = TestClient(create_app(settings, AuditStore(url)))
    response = client.post(SERVICE, json={"hook": "patient-view"})
    assert response.status_code == 401  # refused before the body is even read
    body = {"feedback": [feedback_item("c-1", "accepted")]}
    assert client.post(FEEDBACK, json=body).status_code == 401


def test_discovery_on_the_real_app_matches_the_module(
    real_app: tuple[TestClient, AuditStore],
) -> None:
    client, _ = real_app
    response = client.get("/cds-services")
    conforms("discovery", response.json())
    assert response.json()["services"][0]["prefetch"] == PREFETCH


def test_overlapping_prefetch_items_count_each_resource_once(
    make_client: HookClient,
    store: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    """Searchsets plus the whole record again in one item: the same card, no double count."""
    client = make_client()
    bundle = load_example("discuss_local_therapy")
    split = only_card(post_hook(client, make_hook_request(bundle)))
    nested = make_hook_request(bundle)
    everything = copy.deepcopy(bundle)
    # The record again, whole, in an item that is empty for this patient.
    assert nested["prefetch"]["medicationRequests"]["entry"] == []
    nested["prefetch"]["medicationRequests"] = everything
    again = only_card(post_hook(client, nested))
    assert split["source"]["topic"] == again["source"]["topic"]
    assert split["detail"] == again["detail"]
    # Two bone lesions, not four: the duplicated Condition is read once.
    assert [a["patient_input"]["metastases"] for a in store.assessments] == [
        [{"site": "bone", "lesions": 2}]
    ] * 2


def test_issuers_from_the_environment_are_trusted_end_to_end(
    tmp_path: Path,
    es384: Any,
    rs384: Any,
    load_example: Callable[[str], dict[str, Any]],
    make_hook_request: Callable[..., dict[str, Any]],
) -> None:
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    issuers = {"https://ehr.example.org": {"jwks": {"keys": [es384.jwk]}, "sub": ["ehr-client"]}}
    settings = Settings.from_env(
        {"LOCOREG_CDS_ISSUERS": json.dumps(issuers)},
        database_url=url,
        listen_url="http://testserver",
    )
    client = TestClient(create_app(settings, AuditStore(url)))
    body = make_hook_request(load_example("workup_her2_unknown"))

    def call(token: str) -> httpx.Response:
        return post_hook(client, body, headers={"Authorization": f"Bearer {token}"})

    assert call(es384.token()).status_code == 200
    assert call(es384.token(sub="another-client")).status_code == 401
    assert call(rs384.token()).status_code == 401  # a key this issuer does not publish
