"""The tumour-board PDF in Spanish, made outside the web (as the CLI will): the longest
example keeps the page budget, and the running header and footer are Spanish."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from locoreg.decision import assess
from locoreg.errors import InputError
from locoreg.patient import parse_patient
from locoreg.report.assessment import patient_rows
from locoreg.report.pdf import MAX_PAGES, render_assessment_pdf

from helpers.pdf_text import pdf_pages, weasyprint_or_skip

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"


def test_the_longest_example_in_spanish_keeps_the_page_budget() -> None:
    weasyprint_or_skip()
    data = json.loads((EXAMPLES / "discuss_inflammatory_t4d.json").read_text(encoding="utf-8"))
    patient = parse_patient({**data, "label": "MDT-A 12/06 JS"})
    entered = patient.model_dump(mode="json")
    pdf = render_assessment_pdf(
        assess(patient, lang="es"), record_id="rec-es-1", patient_input=entered, lang="es"
    )
    pages = pdf_pages(pdf)
    assert 1 <= len(pages) <= MAX_PAGES
    for number, page in enumerate(pages, start=1):
        assert "MDT-A 12/06 JS" in page and "registro rec-es-1" in page
        assert "Apoyo a la decisión; no sustituye el juicio clínico" in page
        assert f"página {number} de {len(pages)}" in page
    # Page 1 holds the patient as entered, field names and values in Spanish.
    assert "Paciente: datos introducidos" in pages[0]
    for label, text in patient_rows(entered, "es"):
        flat = re.sub(r"\s+", " ", text)
        assert f"{label} {flat}" in pages[0], label
    assert ("Edad", "58") in patient_rows(entered, "es")


def test_an_unknown_language_is_refused_naming_the_field() -> None:
    patient = parse_patient(json.loads((EXAMPLES / "palliative_bleeding.json").read_text()))
    with pytest.raises(InputError, match="lang: unsupported language 'fr'; allowed: en, es"):
        render_assessment_pdf(
            assess(patient), record_id="x", patient_input=patient.model_dump(mode="json"), lang="fr"
        )


def test_the_spanish_pdf_draws_the_forest_in_spanish() -> None:
    weasyprint_or_skip()
    patient = parse_patient(json.loads((EXAMPLES / "palliative_bleeding.json").read_text()))
    entered = patient.model_dump(mode="json")
    pdf = render_assessment_pdf(
        assess(patient, lang="es"), record_id="rec-es-2", patient_input=entered, lang="es"
    )
    text = re.sub(r"\s+", " ", " ".join(pdf_pages(pdf)))
    for shown in (
        "Supervivencia global: ensayos frente a registros",
        "Ensayos aleatorizados",
        "Estudios observacionales",
        "Combinado, ensayos aleatorizados (k =",
        "HR (IC del 95 %)",
        "Diferencia entre diseños: Q =",
    ):
        assert shown in text, shown
    assert re.search(r"\d,\d\d \(\d,\d\d a \d,\d\d\)", text)  # a row, decimal commas
    for english in ("Randomised trials", "Pooled randomised", "HR (95% CI)"):
        assert english not in text, english
