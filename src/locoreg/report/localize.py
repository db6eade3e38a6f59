"""A stored assessment told in another language, or in English with the reason why not.

The audit store keeps the canonical English assessment. To show a record in another
language, the engine is run again on the stored input in that language; the re-run is
shown only when it reaches the same decision as the record (the same recommendation,
the same rules fired, the same versions of rules, evidence and engine). Otherwise (the
rules or the evidence changed since the record was made, or the stored input no longer
reads as a Patient) the stored English texts are shown with a note saying so: a
translation must never put words in the record's mouth that it did not say.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from locoreg import i18n
from locoreg.decision.model import Assessment
from locoreg.errors import InputError


def same_decision(a: Assessment, b: Assessment) -> bool:
    """The fields that make a decision what it is: recommendation, rules fired, versions."""
    return (a.recommendation, a.rules_fired, a.versions) == (
        b.recommendation,
        b.rules_fired,
        b.versions,
    )


def localized(
    assessment: Assessment, patient_input: Mapping[str, Any], lang: str
) -> tuple[Assessment, bool]:
    """``(assessment in lang, True)``, or ``(the stored assessment, False)`` when the
    re-run in ``lang`` would not be the same decision (see the module docstring).

    English is the stored language: returned as it is, without a re-run.
    """
    from locoreg.decision import assess
    from locoreg.patient import parse_patient

    i18n.check_language(lang)
    if lang == i18n.DEFAULT_LANGUAGE:
        return assessment, True
    try:
        rerun = assess(parse_patient(dict(patient_input)), lang=lang)
    except InputError:  # an input of an older contract: it cannot be re-run as it was
        return assessment, False
    if not same_decision(assessment, rerun):
        return assessment, False
    return rerun, True
