"""Shared test patients: a patient who qualifies for a discussion, changed one thing at a time."""

from __future__ import annotations

from typing import Any

from locoreg.patient import Patient, parse_patient

DISCUSS: dict[str, Any] = {
    "age": 52,
    "sex": "female",
    "ecog": 1,
    "histology_confirmed": True,
    "er": "positive",
    "pr": "positive",
    "her2": "negative",
    "t": "T2",
    "n": "N1",
    "m": "M1",
    "metastases": [{"site": "bone", "lesions": 2}],
    "systemic_therapy": {"months": 6, "response": "partial_response"},
    "resectable": True,
}


def make(**changes: Any) -> Patient:
    return parse_patient({**DISCUSS, **changes})
