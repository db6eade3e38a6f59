"""The forest plot of trials vs registries follows the page's language: Spanish group
titles, labels, column header and decimal commas on the Spanish result page and summary,
the English figure unchanged, and no cached figure leaking from one language to the
other."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from locoreg.web.meta_page import pooled_evidence

from helpers.patients import DISCUSS

SPANISH = (
    "Ensayos aleatorizados",
    "Estudios observacionales",
    "Combinado, ensayos aleatorizados (k = ",
    "Combinado, estudios observacionales (k = ",
    "Un estudio por fuente de datos (k = ",
    "Diferencia entre diseños: Q = ",
    "HR (IC del 95 %)",
    "Favorece el tratamiento local",
    "Intervalo de predicción",
    "† intervalo publicado al 90 %",
)
ENGLISH = (
    "Randomised trials",
    "Observational studies",
    "Pooled randomised (k = ",
    "Pooled observational (k = ",
    "One study per data source (k = ",
    "Difference between designs: Q = ",
    "HR (95% CI)",
    "Favours local therapy",
    "Prediction interval",
    "† interval reported at 90% in the publication",
)
#: a study row's "HR (lower to upper)" in each language
ROW = {
    "es": re.compile(r">\d,\d\d \(\d,\d\d a \d,\d\d\)<"),
    "en": re.compile(r">\d\.\d\d \(\d\.\d\d to \d\.\d\d\)<"),
}


def _forest(page: str) -> str:
    """The figure's texts: the forest's inline SVG, entities decoded."""
    found = re.search(r'<figure class="forest">\s*<svg\b.*?</svg>', page, flags=re.S)
    assert found is not None, "no forest plot on the page"
    return html.unescape(found.group(0))


def _assert_language(svg: str, lang: str) -> None:
    shown, absent = (SPANISH, ENGLISH) if lang == "es" else (ENGLISH, SPANISH)
    for text in shown:
        assert text in svg, text
    for text in absent:
        assert text not in svg, text
    assert ROW[lang].search(svg), f"no study row written in {lang}"
    # Study labels (author year, journal) are citations: the same in both languages.
    assert "Khan 2022, J Clin Oncol †" in svg


@pytest.fixture
def record_id(client: TestClient) -> str:
    created = client.post("/api/assessments", json=DISCUSS)
    assert created.status_code == 201
    return str(created.json()["id"])


def test_result_page_and_summary_draw_the_forest_in_the_page_language(
    client: TestClient, record_id: str
) -> None:
    # es, then en, then es again: each answer in its own language (no cache leak).
    for lang in ("es", "en", "es"):
        query = "?lang=es" if lang == "es" else ""
        for page in (f"/assessments/{record_id}", f"/assessments/{record_id}/summary"):
            response = client.get(page + query)
            assert response.status_code == 200
            _assert_language(_forest(response.text), lang)


def test_english_figure_is_the_one_drawn_without_a_language() -> None:
    args = ("overall_survival", "REML", "z", "design")
    english = pooled_evidence(*args)["svg"]
    spanish = pooled_evidence(*args, lang="es")["svg"]
    assert pooled_evidence(*args, lang="en")["svg"] == english != spanish
    assert 'aria-label="Forest plot of hazard ratios' in english
    assert 'aria-label="Diagrama de bosque (forest plot) de los hazard ratios' in spanish
    # The numbers are computed once for both languages: only the figure differs.
    assert pooled_evidence(*args, lang="es")["result"] is pooled_evidence(*args)["result"]
