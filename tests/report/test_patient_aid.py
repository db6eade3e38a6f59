"""The patient decision aid: numbers from the Assessment and the evidence base, plain
language, options only where local treatment is on the table, both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from locoreg.decision import assess
from locoreg.decision.model import Assessment
from locoreg.evidence.base import load_evidence_base
from locoreg.patient import load_patient
from locoreg.report.patient_aid import aid_figures, render_patient_aid
from report.readability import fernandez_huerta, flesch_kincaid_grade, prose

EXAMPLES = Path(__file__).parents[2] / "examples" / "patients"


def _assessment(stem: str) -> Assessment:
    return assess(load_patient(EXAMPLES / f"{stem}.json"))


@pytest.fixture(scope="module")
def discuss() -> Assessment:
    return _assessment("discuss_bone_oligometastatic")


def test_local_control_numbers_are_the_assessments_with_their_source(discuss: Assessment) -> None:
    lc = discuss.local_control
    figures = aid_figures(discuss, load_evidence_base())
    assert figures.local_progression is not None and figures.survival is not None
    assert figures.local_progression.with_local == lc.with_local_therapy_pct
    assert figures.local_progression.without_local == lc.without_local_therapy_pct
    html = render_patient_aid(discuss)
    for pct in (lc.with_local_therapy_pct, lc.without_local_therapy_pct):
        assert pct is not None
        assert f"about {round(pct)} out of 100 women had the cancer grow again" in html
        assert f'aria-label="{round(pct)} out of 100 women like you' in html
    # Survival at the same horizon, from the same trial, read from the evidence base.
    study = load_evidence_base().get(figures.survival.study_id)
    values = {a.arm: a.value for o in study.outcomes for a in o.arms if a.metric == "os_3y_percent"}
    assert f"about {round(values['local_therapy'])} out of 100 women were alive" in html
    # Every figure names its source with a link.
    assert html.count('class="src"') >= 3
    assert f'href="{figures.local_progression.url}"' in html
    assert figures.local_progression.url and figures.local_progression.url.startswith("https://")


def test_the_aid_offers_medicine_alone_and_the_suitable_treatments(discuss: Assessment) -> None:
    html = render_patient_aid(discuss)
    assert "Medicine only." in html and "This is a real choice." in html
    assert "Surgery, then radiation." in html and "Radiation." in html
    assert "What matters most to you?" in html and "Questions to ask your team" in html
    assert "What is not known" in html
    assert "not a substitute for the advice of your care team" in html
    assert "<script" not in html
    assert html.count("<svg") == 4 and html.count("<title>") == 5  # 4 arrays + page title


@pytest.mark.parametrize(
    ("stem", "sentence"),
    [
        ("out_of_scope_m0", "This guide does not fit your situation."),
        ("complete_workup_her2_unknown", "There is no choice to make yet."),
        ("no_routine_progression", "does not suggest surgery or radiation to the breast"),
        ("systemic_therapy_first_new_diagnosis", "is not a choice to make now"),
    ],
)
def test_without_local_treatment_on_the_table_the_aid_says_so(stem: str, sentence: str) -> None:
    html = render_patient_aid(_assessment(stem))
    assert sentence in html
    assert "Your options" not in html and "<svg" not in html


def test_palliative_aid_offers_symptom_care_without_trial_numbers() -> None:
    html = render_patient_aid(_assessment("palliative_bleeding"))
    assert "The goal is comfort, not cure." in html
    assert "Wound care and symptom care." in html
    assert "No study gives numbers for women in your exact situation." in html
    assert "<svg" not in html


@pytest.mark.parametrize(
    "stem", ["discuss_bone_oligometastatic", "palliative_bleeding", "out_of_scope_m0"]
)
def test_plain_language_at_about_grade_8(stem: str) -> None:
    a = _assessment(stem)
    english = prose(render_patient_aid(a, lang="en"))
    assert len(english.split()) > 100
    assert flesch_kincaid_grade(english) <= 9
    spanish = prose(render_patient_aid(a, lang="es"))
    assert fernandez_huerta(spanish) >= 65  # "normal" or easier


def test_readability_measure_tells_hard_from_plain_text() -> None:
    """The heuristic can fail: the engine's clinical headline reads far above grade 9."""
    headline = _assessment("discuss_bone_oligometastatic").headline
    assert flesch_kincaid_grade(headline) > 12
    assert flesch_kincaid_grade("You can choose. Both are good choices.") < 5


def test_spanish_aid_translates_text_and_numbers(discuss: Assessment) -> None:
    html = render_patient_aid(discuss, lang="es")
    assert '<html lang="es">' in html
    assert "¿Qué es lo más importante para usted?" in html
    assert "unas 16 de cada 100 mujeres" in html
    # Decimals in Spanish notation (Babel): 15 per 1000 is "1,5" de cada 100.
    assert re.search(r"unas 1,5 de cada 100 mujeres con tratamiento", html)
    assert "out of 100" not in html and "What matters" not in html
    assert "No sustituye el consejo de su equipo médico." in html


def test_english_decimals_use_a_point(discuss: Assessment) -> None:
    assert "about 1.5 out of 100 women with breast treatment" in render_patient_aid(discuss)
