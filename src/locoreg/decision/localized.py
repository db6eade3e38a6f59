"""A stored assessment in another language: the engine re-run, checked against the record.

The audit store keeps the canonical English assessment (its hash chain and the rule-table
version hash English texts). A Spanish reading of a stored record is therefore the engine
run again on the stored patient input in Spanish — valid only if that run reaches the
same decision as the record. :func:`localized_assessment` checks this (the
:func:`decision_key` of both must be equal: recommendation, indicator, stage, rules fired,
factors with their directions, options with their suitability, evidence and versions);
where it does not hold — the engine, the rules or the evidence changed since the record
was made, or the stored input no longer reads as a Patient — the stored English is
returned, with the reason, and never a re-run that could tell a different story.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from locoreg import i18n
from locoreg.decision.assessment import assess
from locoreg.decision.model import Assessment
from locoreg.errors import InputError
from locoreg.i18n import gettext as _
from locoreg.patient import parse_patient


@dataclass(frozen=True, slots=True)
class LocalizedAssessment:
    """An assessment in ``language`` (or the stored English, ``fallback`` saying why)."""

    assessment: Assessment
    language: str
    fallback: str | None = None


def decision_key(assessment: Assessment) -> dict[str, Any]:
    """Everything an assessment decides, without its sentences: codes, ids and versions."""
    return {
        "recommendation": assessment.recommendation.value,
        "indicator": assessment.indicator.value,
        "stage": assessment.stage,
        "rules_fired": list(assessment.rules_fired),
        "factors": [
            (f.factor.value, f.direction.value, f.rule, list(f.evidence))
            for f in assessment.factors
        ],
        "options": [(o.modality.value, o.suitable) for o in assessment.local_therapy_options],
        "evidence": list(assessment.evidence),
        "versions": dict(assessment.versions),
        "prognosis": (
            assessment.prognosis.median_os_months,
            assessment.prognosis.interval_months,
            assessment.prognosis.interval_kind.value,
        ),
        "local_control": assessment.local_control.applies,
    }


def localized_assessment(
    stored_assessment: dict[str, Any], patient_input: dict[str, Any], lang: str
) -> LocalizedAssessment:
    """The stored assessment in ``lang``: re-run in that language when the re-run reaches the
    recorded decision, else the stored English with the reason (``fallback``).

    ``lang`` must be offered (:func:`locoreg.i18n.check_language`; an InputError naming
    ``lang`` otherwise). English returns the stored record as it is.
    """
    i18n.check_language(lang)
    stored = Assessment.model_validate(stored_assessment)
    if lang == i18n.DEFAULT_LANGUAGE:
        return LocalizedAssessment(stored, lang)
    with i18n.language(lang):
        try:
            rerun = assess(parse_patient(patient_input), lang=lang)
        except InputError:
            why = _(
                "Shown in English, as stored: the stored patient input no longer reads as a "
                "patient under the current contract, so the assessment cannot be re-run in "
                "this language."
            )
            return LocalizedAssessment(stored, i18n.DEFAULT_LANGUAGE, why)
        if decision_key(rerun) != decision_key(stored):
            why = _(
                "Shown in English, as stored: the engine, its rules or the evidence have changed "
                "since this assessment was made, and a re-run in this language would not give "
                "the recorded decision."
            )
            return LocalizedAssessment(stored, i18n.DEFAULT_LANGUAGE, why)
    return LocalizedAssessment(rerun, lang)
