"""Every recommendation rule, every precedence step, every factor rule."""

from __future__ import annotations

import pytest

from locoreg.decision import Direction, FactorName, Recommendation, assess
from locoreg.decision.facts import derive
from locoreg.decision.rules import (
    FACTOR_RULES,
    RECOMMENDATION_RULES,
    Rule,
    cited_evidence,
    rule_table_markdown,
)

from helpers.patients import make

R = Recommendation


def rec(**changes: object) -> Recommendation:
    return assess(make(**changes)).recommendation


def test_baseline_is_discuss() -> None:
    assert rec() is R.discuss_local_therapy


# --- each recommendation and its condition -------------------------------------------


def test_out_of_scope_for_m0() -> None:
    assert rec(m="M0", metastases=[]) is R.out_of_scope


@pytest.mark.parametrize(
    "changes",
    [{"histology_confirmed": False}, {"er": "unknown"}, {"pr": "unknown"}, {"her2": "unknown"}],
)
def test_complete_workup(changes: dict) -> None:
    assert rec(**changes) is R.complete_workup


@pytest.mark.parametrize("symptom", ["bleeding", "ulceration", "infection", "fungation"])
def test_palliative_for_each_uncontrolled_indication(symptom: str) -> None:
    assert rec(local_symptoms=[symptom]) is R.palliative_local_therapy
    assert rec(local_symptoms=[symptom], local_symptoms_controlled=True) is R.discuss_local_therapy


def test_pain_alone_is_not_a_palliative_indication() -> None:
    assert rec(local_symptoms=["pain"]) is R.discuss_local_therapy


def test_progression() -> None:
    assert rec(systemic_therapy={"months": 6, "response": "progressive_disease"}) is (
        R.no_routine_local_therapy
    )


@pytest.mark.parametrize(
    "therapy",
    [
        None,
        {"months": 3.9, "response": "partial_response"},
        {"months": 8, "response": "not_evaluated"},
        {"months": 0},
    ],
)
def test_systemic_therapy_first(therapy: dict | None) -> None:
    assert rec(systemic_therapy=therapy) is R.systemic_therapy_first


@pytest.mark.parametrize("response", ["complete_response", "partial_response", "stable_disease"])
def test_discuss_for_each_controlled_response_at_4_months(response: str) -> None:
    assert rec(systemic_therapy={"months": 4, "response": response}) is R.discuss_local_therapy


@pytest.mark.parametrize(
    "changes",
    [
        {"surgical_risk": "high"},
        {"ecog": 3},
        {"ecog": 4},
        {"resectable": False},
        {"patient_preference": "declines_local_therapy"},
        {"metastases": [{"site": "brain", "lesions": 1}]},
        {
            "metastases": [
                {"site": "bone", "lesions": 1},
                {"site": "lung", "lesions": 1},
                {"site": "liver", "lesions": 1},
            ]
        },
        {"metastases": [{"site": "bone", "lesions": 6}]},
        {"metastases": [{"site": "bone", "lesions": 3}, {"site": "lung", "lesions": 3}]},
    ],
)
def test_no_routine_when_a_discussion_condition_fails(changes: dict) -> None:
    assert rec(**changes) is R.no_routine_local_therapy


def test_definitions_of_fit_and_burden_edges() -> None:
    # Unknown ECOG counts as fit and is reported missing.
    a = assess(make(ecog=None))
    assert a.recommendation is R.discuss_local_therapy
    assert any("ECOG" in m for m in a.missing_data)
    # Exactly 5 lesions, two sites: not heavy. Unknown counts add nothing.
    assert rec(metastases=[{"site": "bone", "lesions": 3}, {"site": "lung", "lesions": 2}]) is (
        R.discuss_local_therapy
    )
    a = assess(make(metastases=[{"site": "bone", "lesions": 5}, {"site": "lung"}]))
    assert a.recommendation is R.discuss_local_therapy
    assert any("lesions" in m for m in a.missing_data)
    # Resectability not assessed does not block, but is reported.
    a = assess(make(resectable=None))
    assert a.recommendation is R.discuss_local_therapy
    assert any("resectab" in m for m in a.missing_data)
    # Low surgical risk and ECOG 2 are fit.
    assert rec(surgical_risk="low", ecog=2) is R.discuss_local_therapy


# --- precedence: each earlier rule wins over every later one -----------------------------


def test_precedence_chain() -> None:
    everything = {
        "histology_confirmed": False,
        "local_symptoms": ["bleeding"],
        "systemic_therapy": {"months": 6, "response": "progressive_disease"},
    }
    assert rec(m="M0", metastases=[], **everything) is R.out_of_scope
    assert rec(**everything) is R.complete_workup
    del everything["histology_confirmed"]
    assert rec(**everything) is R.palliative_local_therapy
    del everything["local_symptoms"]
    assert rec(**everything) is R.no_routine_local_therapy
    # progression outranks "too early": progression at 2 months is still progression
    assert rec(systemic_therapy={"months": 2, "response": "progressive_disease"}) is (
        R.no_routine_local_therapy
    )
    # too early outranks the fitness/burden conditions
    assert rec(systemic_therapy=None, ecog=4, metastases=[{"site": "brain"}]) is (
        R.systemic_therapy_first
    )
    # palliative outranks unfit/unresectable/declining
    assert (
        rec(
            local_symptoms=["infection"],
            ecog=4,
            resectable=False,
            patient_preference="declines_local_therapy",
        )
        is R.palliative_local_therapy
    )


def test_recommendation_table_order_is_the_contract_order() -> None:
    order = [r.recommendation for r in RECOMMENDATION_RULES]
    assert order == [
        R.out_of_scope,
        R.complete_workup,
        R.palliative_local_therapy,
        R.no_routine_local_therapy,
        R.systemic_therapy_first,
        R.discuss_local_therapy,
        R.no_routine_local_therapy,
    ]


# --- factors -------------------------------------------------------------------------

FACTOR_CASES: dict[str, dict] = {
    "F-symptoms-uncontrolled": {"local_symptoms": ["bleeding"]},
    "F-symptoms-controlled": {"local_symptoms": ["ulceration"], "local_symptoms_controlled": True},
    "F-symptoms-pain-only": {"local_symptoms": ["pain"]},
    "F-symptoms-none": {},
    "F-surgical-risk-high": {"surgical_risk": "high"},
    "F-surgical-risk-acceptable": {},
    "F-not-resectable": {"resectable": False},
    "F-resectable": {},
    "F-resectability-unknown": {"resectable": None},
    "F-t4-inflammatory": {"t": "T4d"},
    "F-t4-locally-advanced": {"t": "T4b"},
    "F-preference-wants": {"patient_preference": "wants_local_therapy"},
    "F-preference-declines": {"patient_preference": "declines_local_therapy"},
    "F-preference-undecided": {},
    "F-burden-heavy": {"metastases": [{"site": "brain", "lesions": 1}]},
    "F-burden-bone-only-oligo": {},
    "F-burden-bone-only": {"metastases": [{"site": "bone"}]},
    "F-burden-limited-visceral": {"metastases": [{"site": "liver", "lesions": 1}]},
    "F-response-not-started": {"systemic_therapy": None},
    "F-response-too-early": {"systemic_therapy": {"months": 2, "response": "stable_disease"}},
    "F-response-controlled": {},
    "F-response-progression": {
        "systemic_therapy": {"months": 5, "response": "progressive_disease"}
    },
    "F-her2-brisk-response": {
        "her2": "positive",
        "systemic_therapy": {"months": 6, "response": "complete_response"},
    },
    "F-her2-positive-other": {
        "her2": "positive",
        "systemic_therapy": {"months": 6, "response": "stable_disease"},
    },
    "F-ecog-poor": {"ecog": 3},
    "F-ecog-fit": {},
    "F-ecog-unknown": {"ecog": None},
    "F-subtype-triple-negative": {"er": "negative", "pr": "negative"},
    "F-subtype-hr-positive": {},
    "F-subtype-hr-negative-her2-positive": {"er": "negative", "pr": "negative", "her2": "positive"},
    "F-subtype-unknown": {"pr": "unknown"},
}


def test_every_factor_rule_has_a_case() -> None:
    assert set(FACTOR_CASES) == {r.id for r in FACTOR_RULES}


@pytest.mark.parametrize("rule_id", sorted(FACTOR_CASES))
def test_factor_rule_fires(rule_id: str) -> None:
    a = assess(make(**FACTOR_CASES[rule_id]))
    assert rule_id in a.rules_fired
    rule = next(r for r in FACTOR_RULES if r.id == rule_id)
    produced = [f for f in a.factors if f.rule == rule_id]
    assert len(produced) == 1
    assert produced[0].factor is rule.factor
    assert produced[0].direction is rule.direction
    assert produced[0].evidence == list(rule.evidence)


def test_directions_where_the_topic_weighs_them() -> None:
    a = assess(
        make(her2="positive", systemic_therapy={"months": 6, "response": "complete_response"})
    )
    her2 = next(f for f in a.factors if f.factor is FactorName.her2_status_and_response)
    assert her2.direction is Direction.favours_local_therapy
    a = assess(make(metastases=[{"site": "brain", "lesions": 1}]))
    burden = next(f for f in a.factors if f.factor is FactorName.distant_disease_burden)
    assert burden.direction is Direction.against_local_therapy
    assert "brain" in burden.finding


def test_rule_table_integrity() -> None:
    with pytest.raises(ValueError, match="evidence"):
        Rule(
            id="x", when=lambda f: True, explanation="", evidence=(), recommendation=R.out_of_scope
        )
    with pytest.raises(ValueError, match="direction"):
        Rule(
            id="x",
            when=lambda f: True,
            explanation="",
            evidence=("a",),
            factor=FactorName.tumour_subtype,
        )
    ids = [r.id for r in RECOMMENDATION_RULES + FACTOR_RULES]
    assert len(ids) == len(set(ids))


def test_every_cited_study_exists_in_the_evidence_base() -> None:
    from locoreg.evidence.base import load_evidence_base

    base = load_evidence_base()
    missing = sorted(cited_evidence() - set(base.ids))
    assert not missing, f"rules cite studies absent from the evidence base: {missing}"


def test_facts_are_pure() -> None:
    p = make()
    assert derive(p) == derive(p)


def test_clinical_logic_doc_is_current() -> None:
    """docs/clinical-logic.md carries the generated rule table (scripts/gen_docs.py)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "clinical-logic.md").read_text(encoding="utf-8")
    assert rule_table_markdown() in doc
