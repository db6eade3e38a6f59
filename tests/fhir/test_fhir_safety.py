"""Patient safety of the FHIR mapping (issue 11, points 1 and 2).

Same-date contradictions are never decided by entry order, and records about another
subject are never merged: each test sends the Bundle in both entry orders, and both the
REST path (``POST /api/assessments/fhir``, 422) and the CDS Hooks path (an information
card) must refuse it, naming the resources.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from locoreg.errors import InputError
from locoreg.fhir.mapping import bundle_to_patient, bundle_to_patient_input
from locoreg.store import AuditStore
from locoreg.web.app import create_app
from locoreg.web.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "fhir"
LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
CS = "http://locoreg.example.org/fhir/CodeSystem/locoreg"
SERVICE = "/cds-services/locoreg-primary-tumour"


def example(name: str) -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return bundle


def resource(bundle: dict[str, Any], rid: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        e["resource"] for e in bundle["entry"] if e["resource"].get("id") == rid
    )
    return found


def variant(bundle: dict[str, Any], rid: str, new_id: str, **changes: Any) -> dict[str, Any]:
    """A copy of one resource of ``bundle`` under a new id, with ``changes`` (None deletes)."""
    out = copy.deepcopy(resource(bundle, rid))
    out["id"] = new_id
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def both_orders(bundle: dict[str, Any], extra: dict[str, Any]) -> list[dict[str, Any]]:
    """The Bundle with ``extra`` appended, and with ``extra`` first."""
    last = copy.deepcopy(bundle)
    last["entry"] = [*last["entry"], {"resource": extra}]
    first = copy.deepcopy(bundle)
    first["entry"] = [{"resource": extra}, *first["entry"]]
    return [last, first]


def messages(bundle: dict[str, Any], **kwargs: Any) -> list[str]:
    with pytest.raises(InputError) as info:
        bundle_to_patient(bundle, **kwargs)
    return [str(e) for e in info.value.errors]


def concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def locoreg_obs(rid: str, code: str, day: str = "2026-10-20", **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": concept(CS, code),
        "subject": {"reference": "Patient/discuss-1"},
        "effectiveDateTime": day,
        **value,
    }


# --- 1. same-date contradictions ---------------------------------------------------------

DISCUSS = example("discuss_local_therapy")

# (the second record, the resources the error must name, the field it is reported under)
CONTRADICTIONS: dict[str, tuple[dict[str, Any], tuple[str, str], str]] = {
    "ecog 1 and 4": (
        variant(DISCUSS, "ecog", "ecog-b", valueInteger=4),
        ("Observation/ecog = 1", "Observation/ecog-b = 4"),
        "Observation(ECOG, LOINC 89247-1)",
    ),
    "partial response and progression": (
        variant(
            DISCUSS, "disease-status", "status-b", valueCodeableConcept=concept(SCT, "271299001")
        ),
        ("Observation/disease-status = partial_response", "status-b = progressive_disease"),
        "Observation(disease status, LOINC 97509-4)",
    ),
    "resectable and not": (
        variant(DISCUSS, "resectable", "resectable-b", valueBoolean=False),
        ("Observation/resectable = true", "Observation/resectable-b = false"),
        f"Observation({CS}#resectable)",
    ),
    "stage IV and stage IIIA": (
        variant(DISCUSS, "stage-group", "stage-b", valueCodeableConcept={"text": "Stage IIIA"}),
        ("Observation/stage-group = IV", "Observation/stage-b = III"),
        "Observation(stage group, LOINC 21908-9)",
    ),
    "ER positive and negative": (
        variant(DISCUSS, "er", "er-b", valueCodeableConcept=concept(SCT, "260385009")),
        ("Observation/er = positive", "Observation/er-b = negative"),
        "Observation(ER, LOINC 85337-4 / 16112-5)",
    ),
}


@pytest.mark.parametrize("case", sorted(CONTRADICTIONS))
def test_same_date_contradiction_is_refused_in_either_order(case: str) -> None:
    second, named, label = CONTRADICTIONS[case]
    for bundle in both_orders(DISCUSS, second):
        found = [m for m in messages(bundle) if m.startswith(label)]
        assert len(found) == 1, messages(bundle)
        assert "contradictory" in found[0] and all(n in found[0] for n in named), found


def test_a_later_date_decides_whatever_the_order() -> None:
    later = variant(DISCUSS, "ecog", "ecog-b", valueInteger=4, effectiveDateTime="2026-05-05")
    assert {bundle_to_patient(b).ecog for b in both_orders(DISCUSS, later)} == {4}


def test_same_date_at_different_times_is_still_a_contradiction() -> None:
    """Compared by calendar date: a time of day does not make one record the latest."""
    bundle = copy.deepcopy(DISCUSS)
    resource(bundle, "ecog")["effectiveDateTime"] = "2026-05-04T16:00:00Z"
    early = variant(DISCUSS, "ecog", "ecog-b", valueInteger=4)
    early["effectiveDateTime"] = "2026-05-04T08:00:00Z"
    for each in both_orders(bundle, early):
        assert any("contradictory values on 2026-05-04" in m for m in messages(each))


def test_the_same_value_twice_on_one_date_is_no_contradiction() -> None:
    again = variant(DISCUSS, "disease-status", "status-b")
    assert {
        bundle_to_patient(b).systemic_therapy.response.value  # type: ignore[union-attr]
        for b in both_orders(DISCUSS, again)
    } == {"partial_response"}


def test_symptom_present_and_absent_on_one_date_is_a_contradiction() -> None:
    bundle = example("systemic_first_symptom_observations")
    present = copy.deepcopy(resource(bundle, "bleeding-1"))
    present.update(
        id="bleeding-3", effectiveDateTime=resource(bundle, "bleeding-2")["effectiveDateTime"]
    )
    for each in both_orders(bundle, present):
        (found,) = [m for m in messages(each) if "local symptom bleeding" in m]
        assert (
            "Observation/bleeding-2 = false" in found and "Observation/bleeding-3 = true" in found
        )


@pytest.mark.parametrize(
    ("code", "first", "second"),
    [
        ("patient-preference", {"valueCodeableConcept": concept(CS, "wants_local_therapy")},
         {"valueCodeableConcept": concept(CS, "declines_surgery")}),
        ("surgical-risk", {"valueCodeableConcept": concept(CS, "low")},
         {"valueCodeableConcept": concept(CS, "high")}),
        ("visceral-crisis", {"valueBoolean": True}, {"valueBoolean": False}),
        ("asa-class", {"valueInteger": 1}, {"valueInteger": 4}),
    ],
)  # fmt: skip
def test_locoreg_observations_contradicting_on_one_date(
    code: str, first: dict[str, Any], second: dict[str, Any]
) -> None:
    bundle = copy.deepcopy(DISCUSS)
    bundle["entry"].append({"resource": locoreg_obs("a", code, **first)})
    for each in both_orders(bundle, locoreg_obs("b", code, **second)):
        (found,) = [m for m in messages(each) if "contradictory" in m]
        assert "Observation/a" in found and "Observation/b" in found


def test_two_primary_conditions_that_disagree_are_refused() -> None:
    other = variant(DISCUSS, "primary", "primary-b", onsetDateTime="2020-01-10", extension=None)
    other["verificationStatus"] = concept(
        "http://terminology.hl7.org/CodeSystem/condition-ver-status", "provisional"
    )
    for each in both_orders(DISCUSS, other):
        (found,) = [m for m in messages(each) if m.startswith("Condition(PrimaryCancerCondition)")]
        assert "Condition/primary:" in found and "Condition/primary-b:" in found


def test_one_resource_id_twice_with_different_content_is_refused() -> None:
    changed = copy.deepcopy(resource(DISCUSS, "ecog"))
    changed["valueInteger"] = 4
    for each in both_orders(DISCUSS, changed):
        assert messages(each) == [
            "Observation/ecog: present twice with different content (valueInteger); "
            "send one version of the resource"
        ]
    # The same resource again, even with other metadata, is read once.
    same = copy.deepcopy(resource(DISCUSS, "ecog"))
    same["meta"] = {"lastUpdated": "2026-11-01T10:00:00Z"}
    assert {bundle_to_patient(b).ecog for b in both_orders(DISCUSS, same)} == {1}


# --- 2. another patient's records ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ecog", "met-bone", "systemic-1"])
def test_a_record_about_another_patient_is_refused(kind: str) -> None:
    foreign = variant(DISCUSS, kind, f"{kind}-x", subject={"reference": "Patient/someone-else"})
    for each in both_orders(DISCUSS, foreign):
        (found,) = messages(each)
        assert found.startswith(f"{foreign['resourceType']}/{kind}-x.subject: refers to")
        assert "'Patient/someone-else'" in found and "not Patient/discuss-1" in found


@pytest.mark.parametrize(
    "reference",
    [
        "Patient/discuss-1",
        "https://fhir.hospital.example.org/r4/Patient/discuss-1",
        "https://fhir.hospital.example.org/r4/Patient/discuss-1/_history/3",
        "urn:uuid:discuss-1",  # the Patient entry's fullUrl
    ],
)
def test_the_patient_may_be_referenced_by_id_url_or_full_url(reference: str) -> None:
    bundle = copy.deepcopy(DISCUSS)
    resource(bundle, "ecog")["subject"] = {"reference": reference}
    assert bundle_to_patient(bundle).ecog == 1


@pytest.mark.parametrize(
    "subject",
    [
        {"reference": "https://elsewhere.example/Patient/discuss-1x"},
        {"reference": "Group/discuss-1"},
        {"identifier": {"system": "urn:mrn", "value": "discuss-1"}},
        {"display": "the patient"},
    ],
)
def test_a_subject_that_is_not_the_patient_is_refused(subject: dict[str, Any]) -> None:
    bundle = copy.deepcopy(DISCUSS)
    resource(bundle, "ecog")["subject"] = subject
    (found,) = messages(bundle)
    assert found.startswith("Observation/ecog.subject: refers to another subject")


def test_with_a_patient_id_the_records_must_be_about_that_patient() -> None:
    """CDS Hooks: ``context.patientId`` names the patient, not the Bundle."""
    assert bundle_to_patient(DISCUSS, patient_id="discuss-1").ecog == 1
    assert messages(DISCUSS, patient_id="other") == [
        "Patient/discuss-1: the Patient does not match context.patientId 'other'"
    ]
    # Without the Patient resource, the records themselves are checked against the id.
    no_patient = copy.deepcopy(DISCUSS)
    no_patient["entry"] = [e for e in no_patient["entry"] if e["resource"]["id"] != "discuss-1"]
    assert all(
        "not Patient/other" in m
        for m in messages(no_patient, patient_id="other")
        if ".subject" in m
    )
    assert any(".subject" in m for m in messages(no_patient, patient_id="other"))


def test_a_patient_known_only_by_its_full_url_still_has_its_records_checked() -> None:
    """A collection Bundle may send the Patient without an id, referenced by its fullUrl."""
    bundle = copy.deepcopy(DISCUSS)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            del resource["id"]
        elif "subject" in resource:
            resource["subject"] = {"reference": "urn:uuid:discuss-1"}
    assert bundle_to_patient(bundle).ecog == 1
    foreign = variant(DISCUSS, "ecog", "ecog-x", subject={"reference": "Patient/someone-else"})
    for each in both_orders(bundle, foreign):
        (found,) = messages(each)
        assert found.startswith("Observation/ecog-x.subject: refers to another subject")
        assert "not urn:uuid:discuss-1" in found


# --- the new Patient fields (contract v2) --------------------------------------------------------


def test_visceral_crisis_preference_and_new_local_symptoms_are_mapped() -> None:
    bundle = copy.deepcopy(DISCUSS)
    for extra in (
        locoreg_obs("crisis", "visceral-crisis", valueBoolean=True),
        locoreg_obs(
            "pref", "patient-preference", valueCodeableConcept=concept(CS, "declines_surgery")
        ),
        locoreg_obs("impending", "impending_ulceration", valueBoolean=True),
        locoreg_obs("nodal", "nodal_complication", valueBoolean=True),
    ):
        bundle["entry"].append({"resource": extra})
    patient = bundle_to_patient(bundle)
    assert patient.visceral_crisis is True
    assert patient.patient_preference.value == "declines_surgery"
    assert [s.value for s in patient.local_symptoms] == [
        "impending_ulceration",
        "nodal_complication",
    ]
    data = bundle_to_patient_input(DISCUSS)
    assert "visceral_crisis" not in data  # not recorded: the contract's default (false)


def test_visceral_crisis_example_bundle() -> None:
    """Bone and 4 liver lesions are not a heavy burden by count; the visceral crisis is."""
    patient = bundle_to_patient(example("no_routine_visceral_crisis"))
    assert patient.visceral_crisis is True
    assert patient.patient_preference.value == "declines_surgery"
    assert [(m.site.value, m.lesions) for m in patient.metastases] == [("bone", 2), ("liver", 4)]
    without = copy.deepcopy(example("no_routine_visceral_crisis"))
    without["entry"] = [e for e in without["entry"] if e["resource"]["id"] != "visceral-crisis"]
    assert bundle_to_patient(without).visceral_crisis is False


def test_an_unknown_preference_code_names_its_fhir_source() -> None:
    bundle = copy.deepcopy(DISCUSS)
    bundle["entry"].append(
        {
            "resource": locoreg_obs(
                "pref", "patient-preference", valueCodeableConcept=concept(CS, "maybe")
            )
        }
    )
    (found,) = messages(bundle)
    assert found.startswith(f"Observation({CS}#patient-preference) (patient_preference)")


# --- both delivery paths ---------------------------------------------------------------------


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[tuple[TestClient, AuditStore]]:
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    store = AuditStore(url)
    settings = Settings.from_env({"LOCOREG_CDS_JWT": "off"}, database_url=url)
    with TestClient(create_app(settings, store)) as client:
        yield client, store
    store.close()


def hook(prefetch: dict[str, Any], patient_id: str = "discuss-1") -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/onc-1", "patientId": patient_id},
        "prefetch": prefetch,
    }


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "ECOG 1 and 4 on one date": lambda: CONTRADICTIONS["ecog 1 and 4"][0],
    "disease status on one date": lambda: CONTRADICTIONS["partial response and progression"][0],
    "another patient's ECOG": lambda: variant(
        DISCUSS, "ecog", "ecog-x", valueInteger=0, subject={"reference": "Patient/someone-else"}
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rest_answers_422_and_cds_an_information_card_in_either_order(
    case: str,
    app_client: tuple[TestClient, AuditStore],
    make_prefetch: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    client, store = app_client
    extra = CASES[case]()
    for bundle in both_orders(DISCUSS, extra):
        rest = client.post("/api/assessments/fhir", json=bundle)
        assert rest.status_code == 422, rest.text
        text = json.dumps(rest.json())
        assert f"Observation/{extra['id']}" in text
        if "someone-else" not in text:
            assert "Observation/ecog" in text or "Observation/disease-status" in text
        cds = client.post(SERVICE, json=hook(make_prefetch(bundle)))
        assert cds.status_code == 200, cds.text
        (card,) = cds.json()["cards"]
        assert card["indicator"] == "info" and "topic" not in card["source"]
        assert f"Observation/{extra['id']}" in card["detail"]
    assert store.list_assessments() == []  # nothing was assessed from a refused record
