"""Every recommendation rule, every precedence step, every factor rule (contract v2)."""

from __future__ import annotations

import pytest

from locoreg.decision import Direction, FactorName, Recommendation, assess
from locoreg.decision.facts import derive
from locoreg.decision.model import Indicator, Modality
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


def option(a: object, modality: Modality):  # type: ignore[no-untyped-def]
    return next(o for o in a.local_therapy_options if o.modality is modality)  # type: ignore[attr-defined]


def test_baseline_is_discuss() -> None:
    a = assess(make())
    assert a.recommendation is R.discuss_local_therapy
    assert a.stage == "IV"
    assert option(a, Modality.surgery).suitable and option(a, Modality.radiotherapy).suitable
    assert "without progression on first-line therapy" in a.headline


# --- scope --------------------------------------------------------------------------


def test_out_of_scope_for_m0_gives_the_stage_group() -> None:
    a = assess(make(m="M0", metastases=[], t="T2", n="N1"))
    assert a.recommendation is R.out_of_scope
    assert a.stage == "IIB"
    assert "IIB" in a.headline
    assert a.local_therapy_options == [] and a.harms == []


def test_t0_is_out_of_scope_with_stage_iv() -> None:
    a = assess(make(t="T0"))
    assert a.recommendation is R.out_of_scope
    assert a.stage == "IV"
    assert "T0" in a.headline
    # even with symptoms or progression: there is no primary to treat
    assert rec(t="T0", local_symptoms=["bleeding"]) is R.out_of_scope


def test_tis_m1_gets_a_warning_and_stage_always_present() -> None:
    a = assess(make(t="Tis"))
    assert any("Tis with M1" in w for w in a.warnings)
    assert a.stage == "IV"
    assert assess(make(t=None, n=None)).stage == "IV"


def test_single_lesion_or_nodes_or_skin_only_asks_to_confirm_the_metastasis() -> None:
    for mets in (
        [{"site": "bone", "lesions": 1}],
        [{"site": "distant_lymph_nodes", "lesions": 3}],
        [{"site": "skin_soft_tissue"}, {"site": "distant_lymph_nodes"}],
    ):
        assert any("confirm the metastasis" in w for w in assess(make(metastases=mets)).warnings)
    assert not any(
        "confirm the metastasis" in w
        for w in assess(make(metastases=[{"site": "lung", "lesions": 2}])).warnings
    )


# --- palliation first -----------------------------------------------------------------


@pytest.mark.parametrize("symptom", ["bleeding", "ulceration", "infection", "fungation"])
def test_palliative_for_each_wound_indication_at_any_time(symptom: str) -> None:
    for therapy in (None, {"months": 1, "response": "not_evaluated"}):
        a = assess(make(local_symptoms=[symptom], systemic_therapy=therapy))
        assert a.recommendation is R.palliative_local_therapy
        assert a.indicator is Indicator.warning
        assert option(a, Modality.supportive_local_care).suitable
    assert rec(local_symptoms=[symptom], local_symptoms_controlled=True) is (
        R.discuss_local_therapy
    )


@pytest.mark.parametrize("symptom", ["pain", "impending_ulceration", "nodal_complication"])
def test_pain_impending_nodal_are_indications_once_therapy_started(symptom: str) -> None:
    assert rec(local_symptoms=[symptom]) is R.palliative_local_therapy
    a = assess(make(local_symptoms=[symptom], systemic_therapy=None))
    assert a.recommendation is R.systemic_therapy_first
    assert "systemic therapy" in a.headline


def test_nodal_complication_before_therapy_wording() -> None:
    a = assess(make(local_symptoms=["nodal_complication"], systemic_therapy=None))
    assert "palliative radiotherapy if it is not relieved" in a.headline
    assert "neurological deficit or venous obstruction" in a.headline


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({"her2": "unknown"}, "HER2"),
        ({"histology_confirmed": False}, "histological confirmation"),
        ({"er": "unknown", "pr": "unknown"}, "ER status, PR status"),
    ],
)
def test_palliation_is_never_deferred_behind_the_workup(changes: dict, missing: str) -> None:
    a = assess(make(local_symptoms=["bleeding"], **changes))
    assert a.recommendation is R.palliative_local_therapy
    assert "in parallel" in a.headline and missing in a.headline
    assert "bleeding" in " ".join(a.goals_of_care)


def test_palliation_with_progression_says_change_systemic_therapy() -> None:
    a = assess(
        make(
            local_symptoms=["bleeding"],
            systemic_therapy={"months": 5, "response": "progressive_disease"},
        )
    )
    assert a.recommendation is R.palliative_local_therapy
    assert "change systemic therapy" in a.headline


def test_palliation_when_declining_local_therapy_supportive_care_only() -> None:
    a = assess(make(local_symptoms=["fungation"], patient_preference="declines_local_therapy"))
    assert a.recommendation is R.palliative_local_therapy
    assert "supportive local care" in a.headline and "only option" in a.headline
    assert [o.modality for o in a.local_therapy_options if o.suitable] == [
        Modality.supportive_local_care
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"systemic_therapy": None},
        {"her2": "unknown"},
        {"visceral_crisis": True},
        {
            "metastases": [{"site": "liver", "lesions": 2}],
            "systemic_therapy": {"months": 5, "response": "progressive_disease"},
        },
        {
            "metastases": [{"site": "brain", "lesions": 1}],
            "systemic_therapy": {"months": 5, "response": "progressive_disease"},
        },
    ],
)
def test_palliative_surgery_reconsidered_after_systemic_therapy(changes: dict) -> None:
    a = assess(make(local_symptoms=["bleeding"], **changes))
    surgery = option(a, Modality.surgery)
    assert not surgery.suitable
    assert "reconsider after initial systemic therapy" in surgery.reason
    assert "reconsider after initial systemic therapy" in a.headline
    assert option(a, Modality.radiotherapy).suitable


@pytest.mark.parametrize(("ecog", "suitable"), [(None, True), (3, True), (4, False)])
def test_palliative_radiotherapy_up_to_ecog_3(ecog: int | None, suitable: bool) -> None:
    a = assess(make(local_symptoms=["bleeding"], ecog=ecog))
    assert option(a, Modality.radiotherapy).suitable is suitable
    assert not option(a, Modality.surgery).suitable


# --- work-up, progression, timing -----------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [{"histology_confirmed": False}, {"er": "unknown"}, {"pr": "unknown"}, {"her2": "unknown"}],
)
def test_complete_workup(changes: dict) -> None:
    assert rec(**changes) is R.complete_workup


def test_progression_says_change_systemic_therapy() -> None:
    a = assess(make(systemic_therapy={"months": 6, "response": "progressive_disease"}))
    assert a.recommendation is R.no_routine_local_therapy
    assert "change systemic therapy" in a.headline
    assert not a.local_control.applies
    assert all(not o.suitable for o in a.local_therapy_options)


@pytest.mark.parametrize(
    "therapy",
    [None, {"months": 3.9, "response": "partial_response"}, {"months": 0}],
)
def test_systemic_therapy_first(therapy: dict | None) -> None:
    assert rec(systemic_therapy=therapy) is R.systemic_therapy_first


def test_not_evaluated_at_4_months_reads_restage_now() -> None:
    a = assess(make(systemic_therapy={"months": 8, "response": "not_evaluated"}))
    assert a.recommendation is R.systemic_therapy_first
    assert a.headline.startswith("Restage now")


@pytest.mark.parametrize("response", ["complete_response", "partial_response", "stable_disease"])
def test_discuss_for_each_controlled_response_at_4_months(response: str) -> None:
    assert rec(systemic_therapy={"months": 4, "response": response}) is R.discuss_local_therapy


def test_stable_disease_is_worded_as_stable_disease() -> None:
    a = assess(make(her2="positive", systemic_therapy={"months": 6, "response": "stable_disease"}))
    her2 = next(f for f in a.factors if f.factor is FactorName.her2_status_and_response)
    assert "stable disease" in her2.finding
    assert "no objective response documented" not in a.model_dump_json()


# --- suitability at the discussion step ------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"resectable": False}, "negative margins"),
        ({"surgical_risk": "high"}, "risk"),
        ({"patient_preference": "declines_surgery"}, "declines surgery"),
    ],
)
def test_radiotherapy_only_when_surgery_unsuitable(changes: dict, why: str) -> None:
    a = assess(make(**changes))
    assert a.recommendation is R.discuss_local_therapy
    assert not option(a, Modality.surgery).suitable
    assert option(a, Modality.radiotherapy).suitable
    assert "radiotherapy may be discussed for local control only" in a.headline
    assert why in a.headline
    assert "No randomised trial tested radiotherapy alone" in a.headline


@pytest.mark.parametrize(
    "changes",
    [
        {"ecog": 3},
        {"ecog": 4},
        {"patient_preference": "declines_local_therapy"},
        {"metastases": [{"site": "brain", "lesions": 1}]},
        {"visceral_crisis": True},
        {
            "metastases": [
                {"site": "bone", "lesions": 1},
                {"site": "lung", "lesions": 1},
                {"site": "distant_lymph_nodes", "lesions": 1},
            ]
        },
        {"metastases": [{"site": "bone", "lesions": 3}, {"site": "lung", "lesions": 6}]},
        {"metastases": [{"site": "liver", "lesions": 3}, {"site": "lung", "lesions": 3}]},
    ],
)
def test_no_routine_when_a_discussion_condition_fails(changes: dict) -> None:
    assert rec(**changes) is R.no_routine_local_therapy


def test_bone_lesions_never_make_the_burden_heavy() -> None:
    a = assess(make(metastases=[{"site": "bone", "lesions": 12}]))
    assert a.recommendation is R.discuss_local_therapy
    burden = next(f for f in a.factors if f.factor is FactorName.distant_disease_burden)
    assert burden.direction is Direction.neutral and "bone-only" in burden.finding
    assert rec(metastases=[{"site": "bone", "lesions": 20}, {"site": "lung", "lesions": 5}]) is (
        R.discuss_local_therapy
    )


def test_missing_facts_favourable_and_unfavourable() -> None:
    # ECOG unknown: favourable passes, unfavourable fails -> complete_workup naming it
    a = assess(make(ecog=None))
    assert a.recommendation is R.complete_workup
    assert "record performance status" in a.headline
    assert not option(a, Modality.surgery).suitable
    # a null non-bone count: restage
    a = assess(make(metastases=[{"site": "bone", "lesions": 2}, {"site": "lung"}]))
    assert a.recommendation is R.complete_workup
    assert "restage" in a.headline and "lung" in a.headline
    # unknown bone counts and unknown resectability never block
    assert rec(metastases=[{"site": "bone"}]) is R.discuss_local_therapy
    assert rec(resectable=None) is R.discuss_local_therapy
    # neither passes (brain) -> no routine, even with unknowns
    assert rec(ecog=None, metastases=[{"site": "brain"}]) is R.no_routine_local_therapy
    # exactly 5 non-bone lesions is not heavy; 6 is
    assert rec(metastases=[{"site": "lung", "lesions": 5}]) is R.discuss_local_therapy
    assert rec(metastases=[{"site": "lung", "lesions": 6}]) is R.no_routine_local_therapy


# --- precedence: each earlier rule wins over every later one -----------------------------


def test_precedence_chain() -> None:
    everything = {
        "histology_confirmed": False,
        "local_symptoms": ["bleeding"],
        "systemic_therapy": {"months": 6, "response": "progressive_disease"},
    }
    assert rec(m="M0", metastases=[], **everything) is R.out_of_scope
    assert rec(t="T0", **everything) is R.out_of_scope
    assert rec(**everything) is R.palliative_local_therapy
    del everything["local_symptoms"]
    assert rec(**everything) is R.complete_workup
    del everything["histology_confirmed"]
    assert rec(**everything) is R.no_routine_local_therapy
    assert rec(systemic_therapy={"months": 2, "response": "progressive_disease"}) is (
        R.no_routine_local_therapy
    )
    assert rec(systemic_therapy=None, ecog=4, metastases=[{"site": "brain"}]) is (
        R.systemic_therapy_first
    )
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
        R.out_of_scope,
        R.palliative_local_therapy,
        R.complete_workup,
        R.no_routine_local_therapy,
        R.systemic_therapy_first,
        R.discuss_local_therapy,
        R.complete_workup,
        R.no_routine_local_therapy,
    ]
    assert all(r.headline is not None for r in RECOMMENDATION_RULES)


# --- would change ----------------------------------------------------------------------


def test_would_change_keeps_the_bleeding_trigger_with_pain() -> None:
    a = assess(make(local_symptoms=["pain"], systemic_therapy=None))
    assert any("bleeding" in w for w in a.would_change)


# --- wording ---------------------------------------------------------------------------


def test_no_she_for_male_patients() -> None:
    import re

    a = assess(make(sex="male", patient_preference="wants_local_therapy"))
    text = a.model_dump_json()
    assert not re.search(r"\b(she|her own)\b", text, flags=re.IGNORECASE)
    assert any("men" in w for w in a.warnings)


@pytest.mark.parametrize(
    ("t", "words"),
    [
        ("T4a", "chest wall"),
        ("T4b", "skin ulceration"),
        ("T4c", "T4a and T4b"),
        ("T4", "subcategory not recorded"),
    ],
)
def test_t4_subcategories_worded_separately(t: str, words: str) -> None:
    a = assess(make(t=t))
    finding = next(f.finding for f in a.factors if f.rule == "F-t4-locally-advanced")
    assert finding.startswith(t + ":") or finding.startswith(t + " ")
    assert words in finding


def test_t4d_surgery_details() -> None:
    a = assess(make(t="T4d"))
    details = option(a, Modality.surgery).details
    for words in (
        "modified radical mastectomy",
        "axillary dissection",
        "post-mastectomy radiotherapy",
        "no breast conservation",
        "no sentinel node",
        "no immediate reconstruction",
    ):
        assert words in details


def test_surgery_details_a_surgeon_expects() -> None:
    details = option(assess(make()), Modality.surgery).details
    for words in ("negative margins", "axillary", "radiotherapy", "4–8 months", "bevacizumab"):
        assert words in details


# --- factors -------------------------------------------------------------------------

FACTOR_CASES: dict[str, dict] = {
    "F-symptoms-uncontrolled": {"local_symptoms": ["bleeding"]},
    "F-symptoms-awaiting-systemic-therapy": {"local_symptoms": ["pain"], "systemic_therapy": None},
    "F-symptoms-controlled": {"local_symptoms": ["ulceration"], "local_symptoms_controlled": True},
    "F-symptoms-none": {},
    "F-surgical-risk-high": {"surgical_risk": "high"},
    "F-surgical-risk-acceptable": {},
    "F-not-resectable": {"resectable": False},
    "F-resectable": {},
    "F-resectability-unknown": {"resectable": None},
    "F-t4-inflammatory": {"t": "T4d"},
    "F-t4-locally-advanced": {"t": "T4b"},
    "F-preference-wants": {"patient_preference": "wants_local_therapy"},
    "F-preference-declines-surgery": {"patient_preference": "declines_surgery"},
    "F-preference-declines": {"patient_preference": "declines_local_therapy"},
    "F-preference-undecided": {},
    "F-burden-heavy": {"metastases": [{"site": "brain", "lesions": 1}]},
    "F-burden-bone-only": {},
    "F-burden-limited": {"metastases": [{"site": "liver", "lesions": 1}]},
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
    assert "{" not in produced[0].explanation, "every figure placeholder resolved"


def test_visceral_crisis_is_heavy_burden() -> None:
    a = assess(make(visceral_crisis=True))
    burden = next(f for f in a.factors if f.factor is FactorName.distant_disease_burden)
    assert burden.direction is Direction.against_local_therapy
    assert "visceral crisis" in burden.finding


def test_rule_table_integrity() -> None:
    with pytest.raises(ValueError, match="evidence"):
        Rule(
            id="x",
            when=lambda f: True,
            explanation="",
            evidence=(),
            recommendation=R.out_of_scope,
            headline=lambda f: "",
        )
    with pytest.raises(ValueError, match="direction"):
        Rule(
            id="x",
            when=lambda f: True,
            explanation="",
            evidence=("a",),
            factor=FactorName.tumour_subtype,
        )
    with pytest.raises(ValueError, match="headline"):
        Rule(
            id="x",
            when=lambda f: True,
            explanation="",
            evidence=("a",),
            recommendation=R.out_of_scope,
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


def test_every_typed_figure_in_a_rule_occurs_in_a_record_it_cites() -> None:
    """Percentages and month counts typed in rule text trace to the records the rule names
    (pooled and single-study effects are placeholders, read from the snapshot)."""
    import re

    from locoreg.evidence.base import DATA_DIR

    for rule in RECOMMENDATION_RULES + FACTOR_RULES:
        texts = [(DATA_DIR / f"{e}.yaml").read_text(encoding="utf-8") for e in rule.evidence]
        for number in re.findall(
            r"(\d+(?:\.\d+)?)(?:\s*(?:to|–)\s*\d+)?\s*(?:%|months)", rule.explanation
        ):
            pattern = rf"(?<![\d.]){re.escape(number)}(?!\d)"
            assert any(re.search(pattern, t) for t in texts), (rule.id, number)
        assert "HR 0." not in rule.explanation and "HR 1." not in rule.explanation, rule.id
