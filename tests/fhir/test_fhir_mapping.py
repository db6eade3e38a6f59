"""FHIR Bundle (mCODE) → Patient: the example bundles, each code path, and broken input."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from locoreg.errors import InputError
from locoreg.fhir.mapping import bundle_to_patient, bundle_to_patient_input
from locoreg.patient import load_patient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "fhir"
LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def resource(bundle: dict[str, Any], rid: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"].get("id") == rid)


def drop(bundle: dict[str, Any], *rids: str) -> dict[str, Any]:
    out = copy.deepcopy(bundle)
    out["entry"] = [e for e in out["entry"] if e["resource"].get("id") not in rids]
    return out


def add(bundle: dict[str, Any], *resources: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(bundle)
    out["entry"] += [{"resource": r} for r in resources]
    return out


def errors_of(bundle: Any) -> list[str]:
    with pytest.raises(InputError) as info:
        bundle_to_patient(bundle)
    return [str(e) for e in info.value.errors]


def test_discuss_bundle_maps_to_the_same_patient_as_the_json_example() -> None:
    patient = bundle_to_patient(example("discuss_local_therapy"))
    expected = load_patient(EXAMPLES.parent / "patients" / "discuss_bone_oligometastatic.json")
    assert patient == expected


def test_palliative_bundle_reads_loinc_answers_interpretation_icd10_and_symptoms() -> None:
    p = bundle_to_patient(example("palliative_bleeding"))
    assert (p.age, p.sex.value, p.ecog) == (71, "female", 2)
    assert (p.er.value, p.pr.value, p.her2.value) == ("positive", "positive", "negative")
    assert (p.t, p.n, p.m.value) == ("T4b", "N2", "M1")  # N2 from a SNOMED CT code
    assert [(m.site.value, m.lesions) for m in p.metastases] == [("lung", 3), ("bone", None)]
    assert [s.value for s in p.local_symptoms] == ["bleeding", "ulceration"]
    assert p.local_symptoms_controlled is False
    assert p.resectable is False
    # MedicationRequest authoredOn 2026-09-04 → Bundle timestamp 2026-11-04: 61 days.
    assert p.systemic_therapy is not None
    assert p.systemic_therapy.months == pytest.approx(2.0)
    assert p.systemic_therapy.response.value == "not_evaluated"


def test_workup_bundle_has_unknown_her2_and_m1_from_stage_group() -> None:
    p = bundle_to_patient(example("workup_her2_unknown"))
    assert p.her2.value == "unknown"
    assert p.m.value == "M1"  # no M observation: stage IV and a secondary imply M1
    assert p.histology_confirmed is True  # verificationStatus confirmed, no histology code
    assert [(m.site.value, m.lesions) for m in p.metastases] == [("bone", None)]
    assert p.systemic_therapy is None


def test_broken_bundle_names_every_problem_with_its_resource() -> None:
    messages = errors_of(example("broken_contradictions"))
    assert any(m.startswith("Patient/broken-1.birthDate: missing") for m in messages)
    assert any(m.startswith("Observation(ER, LOINC 85337-4") and "missing" in m for m in messages)
    pr = next(m for m in messages if m.startswith("Observation(PR"))
    assert "Observation/pr-a = positive" in pr and "Observation/pr-b = negative" in pr
    m0 = next(m for m in messages if "M0" in m)
    assert "Condition/met-liver" in m0
    assert len(messages) == 4


def test_histology_rule_provisional_without_histology_code_is_unconfirmed() -> None:
    bundle = copy.deepcopy(example("discuss_local_therapy"))
    primary = resource(bundle, "primary")
    primary["verificationStatus"]["coding"][0]["code"] = "provisional"
    assert bundle_to_patient_input(bundle)["histology_confirmed"] is True  # histology ext present
    del primary["extension"]
    assert bundle_to_patient_input(bundle)["histology_confirmed"] is False


def test_age_is_at_diagnosis_from_recorded_date_or_asserted_date() -> None:
    bundle = copy.deepcopy(example("discuss_local_therapy"))
    primary = resource(bundle, "primary")
    del primary["onsetDateTime"]
    primary["recordedDate"] = "2026-02-10"  # one day before the 52nd birthday
    assert bundle_to_patient_input(bundle)["age"] == 51
    del primary["recordedDate"]
    primary["extension"].append(
        {
            "url": "http://hl7.org/fhir/StructureDefinition/condition-assertedDate",
            "valueDateTime": "2026-02-11",
        }
    )
    assert bundle_to_patient_input(bundle)["age"] == 52
    primary["extension"].pop()
    assert any("onsetDateTime: missing" in m for m in errors_of(bundle))


def test_months_on_therapy_count_to_as_of() -> None:
    bundle = example("discuss_local_therapy")
    data = bundle_to_patient_input(bundle, as_of=date(2027, 5, 4))
    assert data["systemic_therapy"] == {"months": 12.0, "response": "partial_response"}


@pytest.mark.parametrize(
    ("code", "response"),
    [
        ("359746009", "stable_disease"),
        ("271299001", "progressive_disease"),
        ("277022003", "complete_response"),
    ],
)
def test_disease_status_codes(code: str, response: str) -> None:
    bundle = copy.deepcopy(example("discuss_local_therapy"))
    resource(bundle, "disease-status")["valueCodeableConcept"]["coding"][0]["code"] = code
    assert bundle_to_patient_input(bundle)["systemic_therapy"]["response"] == response


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"coding": [{"system": SCT, "code": "67673008"}]}, "T2"),
        ({"coding": [{"system": "http://cancerstaging.org", "code": "pT4d"}]}, "T4d"),
        ({"text": "American Joint Committee on Cancer cT1c"}, "T1c"),
    ],
)
def test_t_category_from_snomed_ajcc_or_text(value: dict[str, Any], expected: str) -> None:
    bundle = copy.deepcopy(example("discuss_local_therapy"))
    resource(bundle, "tnm-t")["valueCodeableConcept"] = value
    assert bundle_to_patient_input(bundle)["t"] == expected


def test_pathological_t_used_when_no_clinical_t() -> None:
    bundle = copy.deepcopy(example("discuss_local_therapy"))
    t = resource(bundle, "tnm-t")
    t["code"]["coding"][0]["code"] = "21899-0"
    t["valueCodeableConcept"]["coding"][0]["code"] = "pT3"
    assert bundle_to_patient_input(bundle)["t"] == "T3"


def test_ecog_from_loinc_answer_and_latest_wins() -> None:
    bundle = copy.deepcopy(example("discuss_local_therapy"))
    later = copy.deepcopy(resource(bundle, "ecog"))
    later.update(id="ecog-2", effectiveDateTime="2026-10-01")
    del later["valueInteger"]
    later["valueCodeableConcept"] = {"coding": [{"system": LOINC, "code": "LA9625-0"}]}
    assert bundle_to_patient_input(add(bundle, later))["ecog"] == 3


def test_contradictory_er_results_are_refused() -> None:
    bundle = example("discuss_local_therapy")
    second = copy.deepcopy(resource(bundle, "er"))
    second["id"] = "er-2"
    second["valueCodeableConcept"] = {"coding": [{"system": SCT, "code": "260385009"}]}
    messages = errors_of(add(bundle, second))
    assert any("Observation(ER" in m and "contradictory" in m for m in messages)


def test_stage_group_contradicting_m_is_refused() -> None:
    bundle = copy.deepcopy(example("discuss_local_therapy"))
    resource(bundle, "stage-group")["valueCodeableConcept"] = {"text": "Stage IIIA"}
    assert any("stage III contradicts M1" in m for m in errors_of(bundle))


def test_mx_is_overruled_by_stage_iv_and_a_secondary_condition() -> None:
    bundle = copy.deepcopy(example("discuss_local_therapy"))
    resource(bundle, "tnm-m")["valueCodeableConcept"] = {"text": "cMX"}
    assert bundle_to_patient_input(bundle)["m"] == "M1"


def test_m1_without_secondary_condition_is_refused() -> None:
    messages = errors_of(drop(example("discuss_local_therapy"), "met-bone"))
    assert any(m.startswith("Condition(SecondaryCancerCondition): missing") for m in messages)


def test_symptom_rules_breast_site_clinical_status_and_controlled_flag() -> None:
    bundle = copy.deepcopy(example("palliative_bleeding"))
    bleeding = resource(bundle, "bleeding")
    del bleeding["bodySite"]  # "Bleeding" without a breast site is not a breast symptom
    resource(bundle, "ulceration")["extension"][0]["valueBoolean"] = True
    data = bundle_to_patient_input(bundle)
    assert data["local_symptoms"] == ["ulceration"]
    assert data["local_symptoms_controlled"] is True
    resource(bundle, "ulceration")["clinicalStatus"]["coding"][0]["code"] = "resolved"
    assert "local_symptoms" not in bundle_to_patient_input(bundle)


def test_lesion_counts_at_one_site_add_up() -> None:
    bundle = example("discuss_local_therapy")
    second = copy.deepcopy(resource(bundle, "met-bone"))
    second["id"] = "met-bone-2"
    second["extension"][0]["valueInteger"] = 3
    assert bundle_to_patient_input(add(bundle, second))["metastases"] == [
        {"site": "bone", "lesions": 5}
    ]


def test_locoreg_observations_surgical_risk_asa_and_preference() -> None:
    cs = "http://locoreg.example.org/fhir/CodeSystem/locoreg"

    def obs(rid: str, code: str, **value: Any) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "code": {"coding": [{"system": cs, "code": code}]},
            **value,
        }

    bundle = add(
        example("discuss_local_therapy"),
        obs("asa", "asa-class", valueInteger=4),
        obs(
            "pref",
            "patient-preference",
            valueCodeableConcept={"coding": [{"system": cs, "code": "declines_local_therapy"}]},
        ),
    )
    p = bundle_to_patient(bundle)
    assert p.surgical_risk.value == "high"
    assert p.patient_preference.value == "declines_local_therapy"


def test_contract_errors_name_the_fhir_source() -> None:
    bundle = copy.deepcopy(example("discuss_local_therapy"))
    resource(bundle, "ecog")["valueInteger"] = 7
    messages = errors_of(bundle)
    assert any(m.startswith("Observation(ECOG, LOINC 89247-1) (ecog)") for m in messages)


def test_structurally_invalid_fhir_is_refused_with_its_path() -> None:
    bundle = copy.deepcopy(example("discuss_local_therapy"))
    del resource(bundle, "er")["status"]
    messages = errors_of(bundle)
    assert messages and all(m.startswith("Observation/er.status") for m in messages)


@pytest.mark.parametrize("bad", [None, [], {"resourceType": "Patient"}])
def test_not_a_bundle(bad: Any) -> None:
    assert errors_of(bad) == ["Bundle: expected a FHIR Bundle (resourceType 'Bundle')"]


# --- symptom Observations and the newer example ------------------------------------------


def test_symptom_observations_bundle_latest_observation_decides() -> None:
    p = bundle_to_patient(example("systemic_first_symptom_observations"))
    assert (p.age, p.ecog) == (65, 1)  # ECOG from the LOINC answer LA9623-5
    assert [(m.site.value, m.lesions) for m in p.metastases] == [("bone", 2), ("lung", 1)]
    # Pain observed present; bleeding observed present, then absent (latest wins).
    assert [s.value for s in p.local_symptoms] == ["pain"]
    assert p.local_symptoms_controlled is False
    assert p.systemic_therapy is None


def test_symptom_observation_present_absent_and_controlled() -> None:
    bundle = copy.deepcopy(example("systemic_first_symptom_observations"))
    resource(bundle, "bleeding-2")["effectiveDateTime"] = "2026-10-01"  # absent, then present
    data = bundle_to_patient_input(bundle)
    assert data["local_symptoms"] == ["pain", "bleeding"]
    ext = {
        "url": "http://locoreg.example.org/fhir/StructureDefinition/symptom-controlled",
        "valueBoolean": True,
    }
    resource(bundle, "pain")["extension"] = [ext]
    assert bundle_to_patient_input(bundle)["local_symptoms_controlled"] is False  # bleeding not
    resource(bundle, "bleeding-1")["extension"] = [ext]
    assert bundle_to_patient_input(bundle)["local_symptoms_controlled"] is True
    # valueBoolean false records the symptom as absent; no breast site, no breast symptom.
    pain = resource(bundle, "pain")
    del pain["valueCodeableConcept"]
    pain["valueBoolean"] = False
    assert bundle_to_patient_input(bundle)["local_symptoms"] == ["bleeding"]
    del resource(bundle, "bleeding-1")["bodySite"]
    assert "local_symptoms" not in bundle_to_patient_input(bundle)


def test_active_condition_and_observation_of_one_symptom_are_one_symptom() -> None:
    bundle = copy.deepcopy(example("palliative_bleeding"))
    observed = copy.deepcopy(resource(example("systemic_first_symptom_observations"), "bleeding-1"))
    observed["subject"] = {"reference": "Patient/palliative-1"}
    data = bundle_to_patient_input(add(bundle, observed))
    assert data["local_symptoms"] == ["bleeding", "ulceration"]


@pytest.mark.parametrize("code", ["260415000", "281900007"])
def test_earlier_mcode_no_disease_codes_are_complete_response(code: str) -> None:
    bundle = copy.deepcopy(example("discuss_local_therapy"))
    resource(bundle, "disease-status")["valueCodeableConcept"]["coding"][0]["code"] = code
    assert bundle_to_patient_input(bundle)["systemic_therapy"]["response"] == "complete_response"


def test_a_resource_sent_twice_is_read_once() -> None:
    bundle = example("discuss_local_therapy")
    twice = add(bundle, resource(bundle, "met-bone"), resource(bundle, "er"))
    assert bundle_to_patient_input(twice)["metastases"] == [{"site": "bone", "lesions": 2}]


# --- broken bundles: one per kind of problem ----------------------------------------------

CS = "http://locoreg.example.org/fhir/CodeSystem/locoreg"


def _obs(rid: str, system: str, code: str, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "effectiveDateTime": "2026-11-01",
        **value,
    }


def _set(rid: str, path: str, value: Any) -> Any:
    """A mutation: set (or delete, for None) one element of one resource."""

    def apply(bundle: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(bundle)
        target = resource(out, rid)
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is None:
            del target[last]
        else:
            target[last] = value
        return out

    return apply


def _drop(*rids: str) -> Any:
    return lambda bundle: drop(bundle, *rids)


def _add(*resources: dict[str, Any]) -> Any:
    return lambda bundle: add(bundle, *resources)


T3 = {"coding": [{"system": "http://cancerstaging.org", "code": "cT3"}]}


@pytest.mark.parametrize(
    ("mutation", "field", "message"),
    [
        (_drop("discuss-1"), "Patient", "missing: the Bundle has no Patient"),
        (
            _add({"resourceType": "Patient", "id": "other", "gender": "male"}),
            "Patient",
            "more than one Patient",
        ),
        (_set("discuss-1", "gender", "unknown"), "Patient/discuss-1.gender", "cannot be mapped"),
        (_set("discuss-1", "birthDate", None), "Patient/discuss-1.birthDate", "missing"),
        (
            _set("discuss-1", "birthDate", "2015-01-01"),
            "Patient.birthDate (age)",
            "",  # age 11: the contract's range error, relabelled with its FHIR source
        ),
        (_drop("primary"), "Condition(PrimaryCancerCondition)", "missing"),
        (_set("primary", "onsetDateTime", None), "Condition/primary.onsetDateTime", "missing"),
        (_drop("her2"), "Observation(HER2, LOINC 85319-2 / 48676-1 / 85318-4)", "missing"),
        (
            _set("tnm-t", "valueCodeableConcept", {"text": "large"}),
            "Observation/tnm-t.valueCodeableConcept",
            "cannot read a T category",
        ),
        (
            _add(_obs("tnm-t-2", LOINC, "21905-5", valueCodeableConcept=T3)),
            "Observation(TNM primary tumour, LOINC 21905-5)",
            "contradictory values",
        ),
        (
            lambda b: _set("tnm-m", "valueCodeableConcept", {"text": "cMX"})(
                drop(b, "stage-group", "met-bone")
            ),
            "Observation(TNM distant metastases, LOINC 21907-1 / 21901-4)",
            "MX: distant metastases not assessed",
        ),
        (
            _drop("tnm-m", "stage-group", "met-bone"),
            "Observation(TNM distant metastases, LOINC 21907-1 / 21901-4)",
            "missing (no M category, stage group or SecondaryCancerCondition)",
        ),
        (
            _set("met-bone", "extension.0.valueInteger", 0),
            "Condition/met-bone.extension(lesion-count)",
            "must be an integer >= 1",
        ),
        (
            _set("ecog", "valueInteger", None),
            "Observation/ecog.valueInteger",
            "missing or unreadable ECOG grade",
        ),
        (
            _set("systemic-1", "effectivePeriod", None),
            "MedicationStatement/systemic-1.effectivePeriod.start",
            "missing",
        ),
        (
            _set(
                "disease-status", "valueCodeableConcept", {"coding": [{"system": SCT, "code": "1"}]}
            ),
            "Observation/disease-status.valueCodeableConcept",
            "unknown disease status code '1'",
        ),
        (
            _add(_obs("asa", CS, "asa-class", valueInteger=9)),
            "Observation/asa.valueInteger",
            "ASA class must be an integer",
        ),
        (
            _set("resectable", "valueBoolean", None),
            "Observation/resectable.valueBoolean",
            "missing",
        ),
        (
            _add(
                _obs(
                    "risk",
                    CS,
                    "surgical-risk",
                    valueCodeableConcept={"coding": [{"system": CS, "code": "extreme"}]},
                )
            ),
            f"Observation({CS}#surgical-risk) (surgical_risk)",
            "",
        ),
        (
            _add({"resourceType": "Spaceship", "id": "x"}),
            "Spaceship/x",
            "unknown FHIR resource type 'Spaceship'",
        ),
        (
            _set("er", "contained", [{"resourceType": None}]),  # fhir.resources: TypeError
            "Observation/er",
            "not valid FHIR",
        ),
        (lambda b: {**b, "entry": {"resource": {}}}, "Bundle/discuss-1-bundle.entry", "array"),
        (lambda b: {**b, "entry": [*b["entry"], 7]}, "Bundle/discuss-1-bundle.entry.14", "object"),
    ],
)
def test_broken_bundle_names_the_resource_and_element(
    mutation: Any, field: str, message: str
) -> None:
    with pytest.raises(InputError) as info:
        bundle_to_patient(mutation(example("discuss_local_therapy")))
    found = [(e.field, e.message) for e in info.value.errors]
    assert any(f == field and message in m for f, m in found), found
