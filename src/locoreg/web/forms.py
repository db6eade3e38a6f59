"""The assessment form ↔ the Patient contract.

Form fields carry the contract's names; metastases are repeatable rows named
``metastases-<row>-site`` / ``metastases-<row>-lesions`` and systemic therapy is
``systemic_therapy-started`` / ``-months`` / ``-response``. Blank entries are left
out, so the Patient contract itself reports what is required; its error paths
(``metastases.0.site``) are mapped back to the row the user typed in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from locoreg.errors import FieldError

_ROW = re.compile(r"^metastases-(\d+)-(site|lesions)$")
_SCALARS = (
    "age",
    "sex",
    "ecog",
    "histology_confirmed",
    "er",
    "pr",
    "her2",
    "t",
    "n",
    "m",
    "surgical_risk",
    "resectable",
    "patient_preference",
    "visceral_crisis",
    "label",
)
MAX_ROWS = 8  # one per metastatic site
# The contract's defaults for optional fields, pre-selected in a blank form.
DEFAULTS: dict[str, str] = {
    "surgical_risk": "standard",
    "patient_preference": "undecided",
    "systemic_therapy-started": "no",
    "visceral_crisis": "false",
}


@dataclass
class FormState:
    """What the form shows: values by input name, and messages by input name."""

    values: dict[str, Any] = field(default_factory=lambda: dict(DEFAULTS))
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    rows: int = 3

    def symptoms(self) -> list[str]:
        value = self.values.get("local_symptoms", [])
        return list(value) if isinstance(value, list) else [value]


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


# The Patient contract's types are strict (v2): the form converts its own strings.
_INTEGERS = frozenset({"age", "ecog"})
_BOOLEANS = frozenset({"histology_confirmed", "resectable", "visceral_crisis"})
_BOOLEAN_TEXT = {"true": True, "yes": True, "false": False, "no": False}


def _number(text: str, kind: type[int] | type[float]) -> Any:
    """A form string as a number; an unconvertible value is passed on as typed, so that
    the contract names the field and what it allows."""
    try:
        return kind(text)
    except ValueError:
        return text


def _typed(name: str, text: str) -> Any:
    if name in _INTEGERS:
        return _number(text, int)
    if name in _BOOLEANS:
        return _BOOLEAN_TEXT.get(text.lower(), text)
    return text


def form_to_input(
    form: Mapping[str, Any], symptoms: list[str]
) -> tuple[dict[str, Any], dict[int, int]]:
    """Patient JSON from the form, and ``{metastasis index: form row}`` for error paths."""
    data: dict[str, Any] = {}
    for name in _SCALARS:
        value = _text(form, name)
        if value:
            data[name] = _typed(name, value)
    rows: dict[int, dict[str, str]] = {}
    for key in form:
        match = _ROW.match(key)
        if match and int(match.group(1)) < MAX_ROWS:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = _text(form, key)
    metastases: list[dict[str, Any]] = []
    row_of: dict[int, int] = {}
    for row in sorted(rows):
        site, lesions = rows[row].get("site", ""), rows[row].get("lesions", "")
        if not site and not lesions:
            continue
        item: dict[str, Any] = {}
        if site:
            item["site"] = site
        item["lesions"] = _number(lesions, int) if lesions else None
        row_of[len(metastases)] = row
        metastases.append(item)
    data["metastases"] = metastases
    if _text(form, "systemic_therapy-started") == "yes":
        therapy: dict[str, Any] = {}
        if months := _text(form, "systemic_therapy-months"):
            therapy["months"] = _number(months, float)
        if response := _text(form, "systemic_therapy-response"):
            therapy["response"] = response
        data["systemic_therapy"] = therapy
    data["local_symptoms"] = [s for s in symptoms if s]
    data["local_symptoms_controlled"] = _text(form, "local_symptoms_controlled") == "true"
    return data, row_of


def _normalised(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The input as the contract normalises it (``Female`` → ``female``, ``cT2`` → ``T2``).

    A select only shows a value that equals one of its options, so a valid input is
    shown in its canonical spelling; an invalid one is shown as given, for correction.
    """
    from locoreg.errors import InputError
    from locoreg.patient import parse_patient

    try:
        patient = parse_patient(data)
    except InputError:
        return data
    out: dict[str, Any] = patient.model_dump(mode="json")
    return out


def input_to_values(data: Mapping[str, Any]) -> FormState:
    """Form values from Patient JSON (to re-open an assessment or load an example)."""
    data = _normalised(data)
    values: dict[str, Any] = dict(DEFAULTS)
    for name in _SCALARS:
        value = data.get(name)
        if value is None:
            continue
        values[name] = str(value).lower() if isinstance(value, bool) else str(value)
    metastases = data.get("metastases") or []
    for i, item in enumerate(metastases if isinstance(metastases, list) else []):
        if isinstance(item, Mapping):
            values[f"metastases-{i}-site"] = str(item.get("site") or "")
            lesions = item.get("lesions")
            values[f"metastases-{i}-lesions"] = "" if lesions is None else str(lesions)
    therapy = data.get("systemic_therapy")
    if isinstance(therapy, Mapping):
        values["systemic_therapy-started"] = "yes"
        months = therapy.get("months", "")
        values["systemic_therapy-months"] = (
            f"{months:g}" if isinstance(months, float) else str(months)
        )
        values["systemic_therapy-response"] = str(therapy.get("response", ""))
    else:
        values["systemic_therapy-started"] = "no"
    symptoms = data.get("local_symptoms") or []
    values["local_symptoms"] = [str(s) for s in symptoms] if isinstance(symptoms, list) else []
    values["local_symptoms_controlled"] = "true" if data.get("local_symptoms_controlled") else ""
    n_rows = len(metastases) if isinstance(metastases, list) else 0
    return FormState(values=values, rows=min(max(3, n_rows + 1), MAX_ROWS))


def input_name(path: str, row_of: Mapping[int, int]) -> str:
    """Form input name for a contract field path (``metastases.0.site`` → row's input)."""
    parts = path.split(".")
    if parts[0] == "metastases" and len(parts) >= 2 and parts[1].isdigit():
        row = row_of.get(int(parts[1]), int(parts[1]))
        return f"metastases-{row}-{parts[2]}" if len(parts) > 2 else f"metastases-{row}-site"
    if parts[0] == "systemic_therapy":
        return f"systemic_therapy-{parts[1]}" if len(parts) > 1 else "systemic_therapy-started"
    if parts[0] == "local_symptoms":
        return "local_symptoms"
    return parts[0]


def attach_errors(state: FormState, errors: list[FieldError], row_of: Mapping[int, int]) -> None:
    """Put each message next to its input; problems of the whole input go on top."""
    for err in errors:
        text = err.message
        if err.allowed and err.allowed not in text:
            text += f" (allowed: {err.allowed})"
        if not err.field:
            state.general.append(text)
            continue
        state.errors.setdefault(input_name(err.field, row_of), []).append(text)
