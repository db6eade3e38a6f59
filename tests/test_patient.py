"""The Patient contract (CONTRACTS.md §1): normalisation, defaults, consistency, rejection."""

from __future__ import annotations

import json

import pytest

from locoreg.errors import InputError
from locoreg.patient import (
    MetastaticSite,
    MStage,
    PatientPreference,
    ReceptorStatus,
    SurgicalRisk,
    load_patient,
    parse_patient,
)

VALID = {
    "age": 52,
    "sex": "female",
    "histology_confirmed": True,
    "er": "positive",
    "pr": "negative",
    "her2": "negative",
    "m": "M1",
    "metastases": [{"site": "bone", "lesions": 2}],
}


def errors_of(data: object) -> dict[str, str]:
    with pytest.raises(InputError) as info:
        parse_patient(data)
    return {e.field: e.message for e in info.value.errors}


def test_minimal_patient_gets_least_assuming_defaults() -> None:
    p = parse_patient(VALID)
    assert p.ecog is None
    assert p.systemic_therapy is None
    assert p.local_symptoms == []
    assert p.local_symptoms_controlled is False
    assert p.surgical_risk is SurgicalRisk.standard
    assert p.resectable is None
    assert p.patient_preference is PatientPreference.undecided
    assert p.t is None and p.n is None


def test_enums_are_case_insensitive_and_tnm_prefixes_accepted() -> None:
    p = parse_patient(
        {
            **VALID,
            "sex": "FEMALE",
            "er": "Positive",
            "t": "cT4D",
            "n": "pN1MI",
            "m": "cm1",
            "metastases": [{"site": "Distant_Lymph_Nodes"}],
        }
    )
    assert p.er is ReceptorStatus.positive
    assert (p.t, p.n, p.m) == ("T4d", "N1mi", MStage.M1)
    assert p.metastases[0].site is MetastaticSite.distant_lymph_nodes
    assert p.metastases[0].lesions is None


@pytest.mark.parametrize(
    "field", ["age", "sex", "m", "histology_confirmed", "er", "pr", "her2", "metastases"]
)
def test_each_required_field(field: str) -> None:
    data = {k: v for k, v in VALID.items() if k != field}
    assert errors_of(data) == {field: "required field is missing"}


def test_unknown_fields_are_named() -> None:
    errs = errors_of({**VALID, "tumour_size": 3, "grade": 2})
    assert set(errs) == {"tumour_size", "grade"}
    assert all("unknown field" in m for m in errs.values())


@pytest.mark.parametrize(
    ("patch", "field", "fragment"),
    [
        ({"age": 17}, "age", "greater than or equal to 18"),
        ({"age": 111}, "age", "less than or equal to 110"),
        ({"ecog": 5}, "ecog", "less than or equal to 4"),
        ({"er": "weak"}, "er", "'positive', 'negative' or 'unknown'"),
        ({"t": "T5"}, "t", "allowed: TX, T0, Tis"),
        ({"n": "N4"}, "n", "allowed: NX, N0"),
        ({"metastases": [{"site": "spleen"}]}, "metastases.0.site", "'bone'"),
        ({"metastases": [{"site": "bone", "lesions": 0}]}, "metastases.0.lesions", ">= 1"),
        ({"systemic_therapy": {"months": -1}}, "systemic_therapy.months", "greater than or equal"),
        (
            {"systemic_therapy": {"months": 3, "response": "good"}},
            "systemic_therapy.response",
            "'complete_response'",
        ),
        ({"local_symptoms": ["itch"]}, "local_symptoms.0", "'bleeding'"),
        ({"surgical_risk": "moderate"}, "surgical_risk", "'low', 'standard' or 'high'"),
        ({"patient_preference": "yes"}, "patient_preference", "'wants_local_therapy'"),
    ],
)
def test_bad_values_name_field_and_allowed(patch: dict, field: str, fragment: str) -> None:
    errs = errors_of({**VALID, **patch})
    assert field in errs, errs
    assert fragment.replace(">= 1", "greater than or equal to 1") in errs[field]


def test_m1_needs_metastases_and_m0_has_none() -> None:
    assert "metastases" in errors_of({**VALID, "metastases": []})
    assert "metastases" in errors_of({**VALID, "m": "M0"})
    assert parse_patient({**VALID, "m": "M0", "metastases": []}).m is MStage.M0


def test_every_problem_reported_at_once() -> None:
    errs = errors_of({**VALID, "age": 5, "er": "x", "foo": 1})
    assert set(errs) == {"age", "er", "foo"}


def test_non_object_rejected() -> None:
    assert errors_of([1, 2]) == {"": "a patient must be a JSON/YAML object with named fields"}


def test_derived_vocabulary() -> None:
    p = parse_patient({**VALID, "metastases": [{"site": "bone", "lesions": 2}, {"site": "liver"}]})
    assert p.hormone_receptor_positive
    assert p.total_lesions == 2 and p.lesion_count_unknown
    assert p.sites == {MetastaticSite.bone, MetastaticSite.liver}


def test_symptoms_deduplicated() -> None:
    p = parse_patient({**VALID, "local_symptoms": ["bleeding", "Bleeding", "pain"]})
    assert [s.value for s in p.local_symptoms] == ["bleeding", "pain"]


def test_load_json_yaml_and_errors(tmp_path) -> None:
    (tmp_path / "p.json").write_text(json.dumps(VALID))
    (tmp_path / "p.yaml").write_text(
        "age: 52\nsex: female\nhistology_confirmed: true\n"
        "er: positive\npr: negative\nher2: negative\nm: M1\n"
        "metastases: [{site: bone}]\n"
    )
    assert load_patient(tmp_path / "p.json").age == 52
    assert load_patient(tmp_path / "p.yaml").metastases[0].lesions is None
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON/YAML"):
        load_patient(tmp_path / "bad.json")
    with pytest.raises(InputError, match="file not found"):
        load_patient(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("patch", "field", "fragment"),
    [
        ({"ecog": True}, "ecog", "not true"),
        ({"age": "52"}, "age", 'not "52"'),
        ({"age": 52.5}, "age", "whole number"),
        ({"resectable": "no"}, "resectable", 'true or false, not "no"'),
        ({"histology_confirmed": 1}, "histology_confirmed", "true or false, not 1"),
        ({"local_symptoms_controlled": "yes"}, "local_symptoms_controlled", "true or false"),
        ({"visceral_crisis": "true"}, "visceral_crisis", "true or false"),
        ({"metastases": [{"site": "bone", "lesions": True}]}, "metastases.0.lesions", "not true"),
        ({"metastases": [{"site": "bone", "lesions": "3"}]}, "metastases.0.lesions", 'not "3"'),
        ({"systemic_therapy": {"months": "6"}}, "systemic_therapy.months", "must be a number"),
        ({"systemic_therapy": {"months": True}}, "systemic_therapy.months", "must be a number"),
        (
            {"systemic_therapy": {"months": float("nan")}},
            "systemic_therapy.months",
            "finite number (NaN and infinity are not allowed)",
        ),
        (
            {"systemic_therapy": {"months": float("inf")}},
            "systemic_therapy.months",
            "finite number",
        ),
    ],
)
def test_strict_types_name_field_and_what_is_allowed(
    patch: dict, field: str, fragment: str
) -> None:
    errs = errors_of({**VALID, **patch})
    assert field in errs, errs
    assert fragment in errs[field]


def test_new_v2_fields() -> None:
    p = parse_patient(
        {
            **VALID,
            "local_symptoms": ["impending_ulceration", "nodal_complication"],
            "patient_preference": "Declines_Surgery",
            "visceral_crisis": True,
            "label": "  AB 2026-12-01  ",
        }
    )
    assert p.patient_preference.value == "declines_surgery"
    assert p.visceral_crisis is True
    assert p.label == "AB 2026-12-01"
    assert errors_of({**VALID, "label": "x" * 41})["label"]
    assert "printable" in errors_of({**VALID, "label": "a\nb"})["label"]
    dup = {**VALID, "metastases": [{"site": "bone", "lesions": 1}, {"site": "bone", "lesions": 2}]}
    assert "listed twice" in errors_of(dup)["metastases"]
