"""The meta-analysis page in Spanish: headings, form labels, table headers, diagnostics
and numbers with a decimal comma; English unchanged; the statistical names kept; data
from the evidence base marked English; no cached figure or text crossing languages."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient


def _text(page: str) -> str:
    page = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


SPANISH = (
    "Metanálisis de la base de evidencia",
    "Estimador de τ²",
    "Prueba e intervalos",
    "Moderadores (metarregresión)",
    "FE (efecto fijo)",
    "ensayos aleatorizados frente a estudios observacionales",
    "Estudio Diseño HR Intervalo",
    "Estimador REML, prueba z, intervalos del 95 %.",
    "prueba de diferencia entre diseños: Q = ",
    "Efectos de estudios pequeños y sensibilidad",
    "Conjunto p de Egger p de Begg Trim and fill (recorte y relleno)",
    "Gráfico de embudo con contornos del conjunto más grande",
)
ENGLISH = (
    "Meta-analysis of the evidence base",
    "Estimator of τ²",
    "Test and intervals",
    "Moderators (meta-regression)",
    "FE (fixed effect)",
    "randomised trials vs observational studies",
    "Study Design HR Interval",
    "REML estimator, z test, 95% intervals.",
    "test of difference between designs: Q = ",
    "Small-study effects and sensitivity",
    "Pool Egger p Begg p Trim and fill",
    "Contour-enhanced funnel plot of the largest pool",
)


def _check(client: TestClient, lang: str) -> None:
    params = {"lang": lang} if lang == "es" else {}
    response = client.get("/meta", params=params)
    assert response.status_code == 200
    assert response.headers["content-language"] == lang
    page = response.text
    text = _text(page)
    shown, absent = (SPANISH, ENGLISH) if lang == "es" else (ENGLISH, SPANISH)
    for item in shown:
        assert item in text, item
    for item in absent:
        assert item not in text, item
    # the statistical names stay as metafor and the papers write them
    assert "REML DL ML" in text and "Knapp–Hartung" in text and "τ²" in text
    forest = re.search(r'<figure class="forest">.*?</figure>', page, flags=re.S)
    assert forest is not None
    if lang == "es":
        assert "Combinado, ensayos aleatorizados (k = " in forest.group(0)
        # a study row of the table: HR and interval with decimal commas, level "95 %"
        assert re.search(r"<td>\d,\d\d</td><td>\d,\d\d–\d,\d\d \(95 %\)</td>", page)
        # the page itself is Spanish; only the evidence base's reasons are marked English
        assert '<div lang="en">\n<div class="page-head">' not in page
        assert re.search(r'\(<span lang="en">compares [^<]+</span>\)', page)
        assert 'action="/meta"' in page and 'name="lang" value="es"' in page
    else:
        assert "Pooled randomised (k = " in forest.group(0)
        assert re.search(r"<td>\d\.\d\d</td><td>\d\.\d\d–\d\.\d\d \(95%\)</td>", page)
        assert 'lang="en"' not in page.split("<body", 1)[1]


def test_meta_page_in_spanish_then_english_then_spanish(client: TestClient) -> None:
    for lang in ("es", "en", "es"):
        _check(client, lang)


def test_spanish_diagnostics_and_pools_in_words_and_commas(client: TestClient) -> None:
    text = _text(client.get("/meta", params={"lang": "es", "by": "none"}).text)
    assert re.search(r"Combinado: todos \(k = \d+\) \d,\d\d \d,\d\d–\d,\d\d · I² \d+ %", text)
    assert re.search(r"p del análisis combinado = \d,\d+(e-\d+)?\.", text)
    assert re.search(r"todos \(k = \d+\) \d,\d+(e-\d+)? \d,\d+", text)  # Egger, Begg
    assert re.search(r"\d+ imputados \((izquierda|derecha)\): HR \d,\d\d", text)
    assert re.search(r"\d,\d\d \(sin \w+\) a \d,\d\d \(sin \w+\)", text)
    assert "p de los moderadores = " in text


def test_a_refused_formula_keeps_the_page_spanish(client: TestClient) -> None:
    response = client.get("/meta", params={"lang": "es", "mods": "~ nonsense"})
    assert response.status_code == 422
    text = _text(response.text)
    assert "Moderadores (metarregresión)" in text
    # the message naming the field is the contract's, English in every language
    assert "mods: unknown column 'nonsense'" in text
    assert '<p lang="en">mods: unknown column' in response.text
