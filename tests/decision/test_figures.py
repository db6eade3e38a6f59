"""Figures are read from the evidence snapshot: a new or corrected record changes them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from locoreg.decision import Recommendation, assess, figures, harms
from locoreg.decision.model import IntervalKind
from locoreg.evidence.base import DATA_DIR, load_evidence_base

from helpers.patients import make


def _base_with(tmp_path: Path, study: str, outcome: dict) -> object:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    path = data / f"{study}.yaml"
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    record["outcomes"].append(outcome)
    path.write_text(yaml.safe_dump(record, sort_keys=False), encoding="utf-8")
    return load_evidence_base(data)


def _listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, label: str, **outcome: object
) -> list[str]:
    """Harm findings once shien2023 carries one more (test) outcome with ``label``."""
    record = {
        "outcome": "distant_progression",
        "label": label,
        "measure": "HR",
        "ci_level": 0.95,
        "source_url": "https://example.org/test",
        **outcome,
    }
    base = _base_with(tmp_path, "shien2023", record)
    monkeypatch.setattr(harms, "base", lambda: base)
    return [h.finding for h in harms.trial_harms() if label in h.finding]


def test_current_harms_are_the_source_figures() -> None:
    found = harms.trial_harms()
    tata = [h for h in found if "badwe2015" in h.evidence]
    assert len(tata) == 1
    assert "HR 1.42 (1.08–1.86)" in tata[0].finding and "tosello2018" in tata[0].evidence
    assert "as summarised by tosello2018" in tata[0].finding
    abcsg = [h for h in found if h.evidence == ["fitzal2019"]]
    assert len(abcsg) == 1
    assert "34.6 months with local therapy vs 54.8" in abcsg[0].finding
    assert "not statistically significant" in abcsg[0].finding
    assert "does not state the direction" in abcsg[0].finding
    jcog = [h for h in found if h.evidence == ["shien2023"]]
    assert len(jcog) == 1
    assert "67.3% with local therapy vs 81.5% without (p = 0.0014)" in jcog[0].finding
    assert "time point" in jcog[0].finding  # what the record could not confirm is said


def _proportions(local: float, other: float, metric: str) -> list[dict[str, object]]:
    return [
        {"arm": "local_therapy", "metric": metric, "value": local, "unit": "percent"},
        {"arm": "no_local_therapy", "metric": metric, "value": other, "unit": "percent"},
    ]


@pytest.mark.parametrize(
    ("p_value", "arms", "listed"),
    [
        ("0.01", _proportions(60.0, 75.0, "free_of_progression_percent"), True),
        ("0.20", _proportions(60.0, 75.0, "free_of_progression_percent"), False),
        ("0.01", _proportions(75.0, 60.0, "free_of_progression_percent"), False),
        ("<0.001", _proportions(40.0, 25.0, "progressed_percent"), True),
        ("0.01", _proportions(25.0, 40.0, "progressed_percent"), False),
    ],
)
def test_a_proportion_is_a_signal_when_worse_with_local_therapy_and_p_below_005(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    p_value: str,
    arms: list[dict[str, object]],
    listed: bool,
) -> None:
    found = _listed(
        tmp_path, monkeypatch, "test proportion", measure="proportion", p_value=p_value, arms=arms
    )
    assert bool(found) is listed
    if listed:
        assert f"(p = {p_value})" in found[0] and "worse with local therapy" in found[0]


def test_a_new_trial_signal_is_listed_without_new_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = _listed(tmp_path, monkeypatch, "test signal", estimate=1.3, ci_low=1.1, ci_high=1.5)
    assert len(found) == 1 and "HR 1.3 (1.1–1.5)" in found[0]
    assert found[0].startswith("JCOG1017")


def test_a_signal_whose_interval_includes_1_is_not_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not _listed(tmp_path, monkeypatch, "test null", estimate=1.3, ci_low=0.9, ci_high=1.8)


def test_an_inferred_direction_is_not_a_significant_signal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reported = {"estimate": 0.7, "ci_low": 0.6, "ci_high": 0.9, "comparison": "inverted"}
    found = _listed(
        tmp_path, monkeypatch, "test inferred", estimate=1.43, ci_low=1.11, ci_high=1.67,
        converted=True, conversion="direction inferred", reported=reported,
    )  # fmt: skip
    assert not found


def test_pooled_hr_is_recomputed_from_the_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = figures.pooled_trials_os()
    assert set(before.studies) >= {"khan2022", "shien2023", "badwe2015", "soran2021"}
    assert "soran2018" not in before.studies  # superseded by the 10-year report
    text = assess(make()).local_control.overall_survival
    assert before.text() in text
    assert "HR 0.71, 95% CI 0.59–0.86" in text  # MF07-01 from its 10-year report
    # A (fictional) strongly positive trial changes the pooled figure the engine quotes.
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    record = yaml.safe_load((data / "khan2022.yaml").read_text(encoding="utf-8"))
    record["id"] = "zz_test_trial"
    record.pop("csv_id", None)
    for o in record["outcomes"]:
        if o["outcome"] == "overall_survival":
            o.update(estimate=0.3, ci_low=0.2, ci_high=0.45, ci_level=0.95)
    (data / "zz_test_trial.yaml").write_text(yaml.safe_dump(record), encoding="utf-8")
    base = load_evidence_base(data)
    monkeypatch.setattr(figures, "base", lambda: base)
    after = figures.pooled_trials_os()
    assert "zz_test_trial" in after.studies
    assert after.estimate < before.estimate


def test_local_control_stated_exactly_and_only_where_it_applies() -> None:
    lc = assess(make()).local_control
    assert lc.applies
    assert "16.3%" in lc.summary and "39.8%" in lc.summary
    assert "HR 0.42, 95% CI 0.33–0.53" in lc.summary
    assert "halves" not in lc.summary
    assert (lc.with_local_therapy_pct, lc.without_local_therapy_pct) == (16.3, 39.8)
    for changes in (
        {"local_symptoms": ["bleeding"]},
        {"systemic_therapy": {"months": 6, "response": "progressive_disease"}},
        {"ecog": 3},
        {"metastases": [{"site": "brain", "lesions": 1}]},
        {"systemic_therapy": None},
    ):
        a = assess(make(**changes))
        assert not a.local_control.applies, changes
        assert a.local_control.with_local_therapy_pct is None


def test_prognosis_order_and_labels() -> None:
    # triple-negative controlled on therapy: her subtype figure, never the E2108 arms
    p = assess(make(er="negative", pr="negative")).prognosis
    assert p.median_os_months == 11
    assert "triple-negative" in p.population
    assert p.interval_kind is IntervalKind.range_of_published_medians
    assert "not conditional on response" in p.basis
    assert {r.evidence[0] for r in p.references} >= {"khan2022", "shien2023"}
    # bone: any bone involvement, then all de novo
    p = assess(make()).prognosis
    assert "any bone involvement" in p.population
    # lung only, HR+/HER2-: all de novo stage IV, a single figure
    p = assess(make(metastases=[{"site": "lung", "lesions": 2}])).prognosis
    assert p.population.startswith("all de novo stage IV")
    assert p.interval_months is None and p.interval_kind is IntervalKind.none
    # ECOG 3-4, brain, visceral crisis: no figure borrowed
    for changes in ({"ecog": 3, "age": 87}, {"metastases": [{"site": "brain", "lesions": 1}]}):
        p = assess(make(**changes)).prognosis
        assert p.median_os_months is None and "No figure is borrowed" in p.basis


@pytest.mark.parametrize(
    ("changes", "trials"),
    [
        ({}, {"khan2022", "shien2023", "badwe2015"}),
        ({"age": 70}, {"khan2022", "shien2023"}),
        (
            {"systemic_therapy": {"months": 3, "response": "stable_disease"}},
            {"shien2023", "badwe2015"},
        ),
        ({"systemic_therapy": None, "age": 70}, {"soran2021"}),
        ({"systemic_therapy": {"months": 6, "response": "progressive_disease"}, "age": 70}, set()),
    ],
)
def test_trial_references_only_where_eligible(changes: dict, trials: set[str]) -> None:
    p = assess(make(**changes)).prognosis
    assert {r.evidence[0] for r in p.references} == trials
    for r in p.references:
        assert "not a figure for this patient" in r.population


def test_palliation_without_any_suitable_modality_says_supportive_care() -> None:
    a = assess(make(local_symptoms=["pain"], ecog=4))
    assert a.recommendation is Recommendation.palliative_local_therapy
    assert "no local modality is suitable" in a.headline
    assert "analgesia" in a.headline


def test_a_ratio_favourable_when_higher_is_a_harm_below_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = _listed(
        tmp_path, monkeypatch, "test odds of surviving", outcome="overall_survival",
        measure="OR", estimate=0.6, ci_low=0.4, ci_high=0.9, favourable_side="higher",
    )  # fmt: skip
    assert len(found) == 1 and "OR 0.6 (0.4–0.9)" in found[0]


def test_90_percent_intervals_are_labelled() -> None:
    a = assess(make())
    response = next(f for f in a.factors if f.rule == "F-response-controlled")
    assert "HR 1.11, 90% CI 0.82–1.52" in response.explanation  # E2108
    assert "HR 0.86, 90% CI 0.69–1.07" in response.explanation  # JCOG1017
