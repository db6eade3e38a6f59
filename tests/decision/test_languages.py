"""The assessment in Spanish: the same decision as in English, every sentence translated,
numbers in Spanish notation, one language per context (threads do not mix), and a stored
record read in Spanish only when a re-run reaches the recorded decision."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from locoreg import i18n
from locoreg.decision import assess
from locoreg.decision.assessment import rules_version
from locoreg.decision.facts import MIN_MONTHS_ON_THERAPY
from locoreg.decision.localized import decision_key, localized_assessment
from locoreg.decision.model import Assessment
from locoreg.patient import Patient, load_patient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"
EXAMPLE_FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".json", ".yaml"))
#: Words that give away an English sentence (text quoted from an evidence record, «…», aside).
ENGLISH = re.compile(
    r"\b(the|with|and|of|not|without|for|after|before|is|are|patients?|therapy|surgery|"
    r"months?|disease|survival|primary)\b"
)
#: Findings that read the same in both languages (a code and a number).
SAME_IN_BOTH = re.compile(r"^ECOG \d$")


def texts(a: Assessment) -> dict[str, str]:
    """Every sentence of an assessment, keyed by where it is."""
    out = {
        "headline": a.headline,
        "stage_text": a.stage_text,
        "disclaimer": a.disclaimer,
        "prognosis.basis": a.prognosis.basis,
        "prognosis.population": a.prognosis.population,
        "local_control.summary": a.local_control.summary,
        "local_control.overall_survival": a.local_control.overall_survival,
    }
    for name in ("goals_of_care", "would_change", "missing", "warnings"):
        out |= {f"{name}[{i}]": text for i, text in enumerate(getattr(a, name))}
    for i, f in enumerate(a.factors):
        out |= {f"factors[{i}].finding": f.finding, f"factors[{i}].explanation": f.explanation}
    for i, o in enumerate(a.local_therapy_options):
        out |= {f"options[{i}].reason": o.reason, f"options[{i}].details": o.details}
    out |= {f"harms[{i}]": h.finding for i, h in enumerate(a.harms)}
    for i, r in enumerate(a.prognosis.references):
        out |= {
            f"references[{i}].population": r.population,
            f"references[{i}].eligibility": r.eligibility,
        }
    return {k: v for k, v in out.items() if v}


@pytest.fixture(scope="module")
def both() -> dict[str, tuple[Patient, Assessment, Assessment]]:
    out = {}
    for path in EXAMPLE_FILES:
        patient = load_patient(path)
        out[path.stem] = (patient, assess(patient), assess(patient, lang="es"))
    return out


def test_the_decision_does_not_depend_on_the_language(
    both: dict[str, tuple[Patient, Assessment, Assessment]],
) -> None:
    assert len(both) == 24
    for name, (_, en, es) in both.items():
        assert decision_key(es) == decision_key(en), name
        assert len(es.goals_of_care) == len(en.goals_of_care), name
        assert len(es.would_change) == len(en.would_change), name
        assert len(es.missing) == len(en.missing) and len(es.warnings) == len(en.warnings), name
        assert [h.evidence for h in es.harms] == [h.evidence for h in en.harms], name
        assert es.prognosis.references == [] or [r.evidence for r in es.prognosis.references] == [
            r.evidence for r in en.prognosis.references
        ], name


def test_every_sentence_is_translated_and_none_is_left_in_english(
    both: dict[str, tuple[Patient, Assessment, Assessment]],
) -> None:
    for name, (_, en, es) in both.items():
        en_texts, es_texts = texts(en), texts(es)
        assert en_texts.keys() == es_texts.keys(), name
        for where, english in en_texts.items():
            spanish = es_texts[where]
            if SAME_IN_BOTH.match(english):
                assert spanish == english
                continue
            assert spanish != english, f"{name} {where}: {spanish!r}"
            # what an evidence record says is quoted in its own words («…»)
            leftover = ENGLISH.search(re.sub(r"«[^»]*»", "", spanish))
            assert leftover is None, f"{name} {where}: {leftover.group()!r} in {spanish!r}"


def test_known_spanish_sentences_with_spanish_numbers(
    both: dict[str, tuple[Patient, Assessment, Assessment]],
) -> None:
    _, en, es = both["discuss_bone_oligometastatic"]
    assert es.headline == (
        "Enfermedad controlada con tratamiento sistémico (respuesta parcial tras 6 meses de "
        "tratamiento sistémico): el tratamiento local del tumor primario (cirugía seguida de "
        "radioterapia como en la práctica con intención curativa, o radioterapia locorregional) "
        "puede valorarse caso por caso; en los ensayos aleatorizados mejoró el control "
        "locorregional, pero no la supervivencia global. La evidencia abarca pacientes sin "
        "progresión durante el tratamiento de primera línea."
    )
    # the same figures, in Spanish notation (decimal comma, a space before %)
    assert "16.3% with early local therapy" in en.local_control.summary
    assert "16,3 % con tratamiento local precoz" in es.local_control.summary
    assert "HR 0.42, 95% CI 0.33–0.53" in en.local_control.summary
    assert "HR 0,42; IC del 95 %: 0,33–0,53" in es.local_control.summary
    assert [f.finding for f in es.factors if f.factor.value == "tumour_subtype"] == ["RH+/HER2−"]

    _, _, es = both["palliative_bleeding_workup_pending"]
    assert es.headline == (
        "Tratamiento local paliativo por sangrado sin control: opciones: radioterapia, cuidados "
        "locales de soporte; cirugía: reconsiderar tras el tratamiento sistémico inicial; "
        "primero, radioterapia y cuidados de soporte. Complete el estudio diagnóstico en "
        "paralelo (estado de HER2); no retrase la paliación. Inicie el tratamiento sistémico."
    )

    _, _, es = both["no_routine_heavy_burden"]
    assert es.factors[4].finding == (
        "carga tumoral a distancia elevada: metástasis cerebral, 3 localizaciones distintas "
        "(localizaciones: cerebro, hueso, hígado)"
    )
    assert es.would_change[0].startswith("Con sangrado no controlado del tumor primario: ")
    assert es.disclaimer.startswith("locoreg es una ayuda para la toma de decisiones")


def test_rule_version_hashes_the_english_table_in_every_language() -> None:
    compute = rules_version.__wrapped__  # the uncached function
    english = compute()
    with i18n.language("es"):
        assert compute() == english
    assert rules_version() == english
    # the rule explanations say "about 4 months" in words: the constant they stand for
    assert MIN_MONTHS_ON_THERAPY == 4


def test_concurrent_assessments_in_two_languages_do_not_mix(
    both: dict[str, tuple[Patient, Assessment, Assessment]],
) -> None:
    jobs = [(name, lang) for name in sorted(both)[:8] for lang in ("en", "es")] * 4

    def run(job: tuple[str, str]) -> bool:
        name, lang = job
        patient, en, es = both[name]
        return assess(patient, lang=lang) == (en if lang == "en" else es)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(run, jobs))
    assert i18n.current_language() == "en"  # nothing leaked into this thread


def test_cached_harms_serve_each_language_its_own_text(
    both: dict[str, tuple[Patient, Assessment, Assessment]],
) -> None:
    patient, en, es = both["discuss_bone_oligometastatic"]
    assert en.harms and all(a.finding != b.finding for a, b in zip(en.harms, es.harms, strict=True))
    assert assess(patient).harms == en.harms and assess(patient, lang="es").harms == es.harms


def test_a_list_joins_with_e_before_an_i_sound() -> None:
    with i18n.language("es"):
        assert i18n.and_list(["sangrado", "ulceración", "infección"]) == (
            "sangrado, ulceración e infección"
        )
        assert i18n.and_list(["dolor", "hierro"]) == "dolor y hierro"
    assert i18n.and_list(["bleeding", "ulceration", "infection"]) == (
        "bleeding, ulceration and infection"
    )


# -- a stored record in Spanish --------------------------------------------------------


def _stored(name: str, both: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    patient, en, _ = both[name]
    return en.model_dump(mode="json"), patient.model_dump(mode="json")


def test_a_stored_record_is_re_run_in_spanish_when_the_decision_is_the_same(
    both: dict[str, Any],
) -> None:
    stored, patient_input = _stored("discuss_her2_brisk_response", both)
    found = localized_assessment(stored, patient_input, "es")
    assert found.language == "es" and found.fallback is None
    assert found.assessment == both["discuss_her2_brisk_response"][2]
    same = localized_assessment(stored, patient_input, "en")
    assert same.language == "en" and same.assessment.model_dump(mode="json") == stored


def test_a_changed_engine_or_input_gives_the_stored_english_and_says_why(
    both: dict[str, Any],
) -> None:
    stored, patient_input = _stored("no_routine_declines", both)
    older = {**stored, "versions": {**stored["versions"], "rules": "000000000000"}}
    found = localized_assessment(older, patient_input, "es")
    assert found.language == "en" and found.assessment.model_dump(mode="json") == older
    assert found.fallback is not None and found.fallback.startswith("Se muestra en inglés")
    other_decision = {**stored, "rules_fired": ["R6-discuss", *stored["rules_fired"][1:]]}
    assert localized_assessment(other_decision, patient_input, "es").language == "en"
    unreadable = {**patient_input, "ecog": "two"}
    found = localized_assessment(stored, unreadable, "es")
    assert found.language == "en"
    assert found.fallback is not None and "contrato actual" in found.fallback
    with pytest.raises(i18n.InputError, match="lang: unsupported language 'fr'"):
        localized_assessment(stored, patient_input, "fr")
