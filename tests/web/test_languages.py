"""The clinicians' pages in Spanish: chrome, labels, dates and numbers, the language
switch, the form round trip, and a stored record told in Spanish only when the engine,
run again, gives the same decision (else its English texts and a note)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from locoreg import i18n
from locoreg.decision.model import Assessment
from locoreg.store import AuditStore
from web.support import FormReader

from helpers.patients import DISCUSS
from helpers.pdf_text import pdf_pages, weasyprint_or_skip

LABEL = "MDT-A 1 JS"
KEPT_ENGLISH_ES = "Este registro se muestra con los textos en inglés que se guardaron"
DISCLAIMER_ES = "Apoyo a la decisión; no sustituye el juicio clínico"


def _text(page: str) -> str:
    page = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture
def record_id(client: TestClient) -> str:
    created = client.post("/api/assessments", json={**DISCUSS, "label": LABEL})
    assert created.status_code == 201
    return str(created.json()["id"])


def _spanish(response: Any) -> str:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-language"] == "es"
    assert "Accept-Language" in response.headers["vary"]
    assert '<html lang="es">' in response.text
    return _text(response.text)


def test_the_result_page_in_spanish(client: TestClient, record_id: str, store: AuditStore) -> None:
    text = _spanish(client.get(f"/assessments/{record_id}?lang=es"))
    for shown in (
        "Recomendación",
        "Valorar el tratamiento local (caso por caso)",  # the recommendation's display name
        "Paciente: datos introducidos",
        "Factores a favor y en contra del tratamiento local",
        "Opciones de tratamiento local",
        "Pronóstico",
        "Daños de la cirugía de la mama en los ensayos",
        "Metástasis hueso (2 lesiones)",  # field name and site display name; code stays "bone"
        "Tratamiento sistémico 6 meses, respuesta parcial",
        "Estado funcional",  # a factor's display name
        "Resumen para el comité de tumores (imprimir)",
        "No sustituye el juicio clínico",  # the footer's disclaimer
    ):
        assert shown in text, shown
    record = store.get_assessment(record_id)
    assert record is not None
    created = record.created_at
    assert f"Registrada el {i18n.day(created, 'es')}, {created:%H:%M} UTC vía api" in text
    assert "discuss_local_therapy" in text  # the code is still shown, as in English
    assert KEPT_ENGLISH_ES not in text
    html = client.get(f"/assessments/{record_id}?lang=es").text
    assert "de cada 100 pacientes: progresión locorregional" in html  # icon arrays' names
    assert "out of 100 patients" not in html
    # Links the page renders keep the language.
    assert (
        f'href="/assessments/{record_id}/summary?lang=es"'
        in client.get(f"/assessments/{record_id}?lang=es").text
    )


def test_english_is_unchanged_and_accept_language_chooses_spanish(
    client: TestClient, record_id: str
) -> None:
    english = client.get(f"/assessments/{record_id}")
    assert english.headers["content-language"] == "en" and '<html lang="en">' in english.text
    text = _text(english.text)
    assert "Discuss local therapy (case by case)" in text and "Patient as entered" in text
    assert "metastases bone (2 lesions)" in text.lower()
    assert f'href="/assessments/{record_id}/summary"' in english.text  # no ?lang= in English
    chosen = client.get(f"/assessments/{record_id}", headers={"Accept-Language": "es-ES,es"})
    assert "Pronóstico" in _spanish(chosen)


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/", ["Nueva evaluación", "Edad al diagnóstico *", "Estado funcional ECOG", "Evaluar"]),
        ("/history", ["Evaluaciones guardadas", "Cuándo (UTC)", "Recomendación"]),
        ("/board", ["Comité de tumores del", "La etiqueta del comité empieza por"]),
        ("/evidence", ["Base de evidencia", "cualquier diseño", "ensayo aleatorizado"]),
        ("/evidence/khan2022", ["Riesgo de sesgo", "Variable de resultado", "Fuente"]),
        ("/nothing-here", ["No existe esa página"]),
    ],
)
def test_each_page_has_spanish_chrome(
    client: TestClient, record_id: str, path: str, shown: list[str]
) -> None:
    response = client.get(path, params={"lang": "es"}, headers={"Accept": "text/html"})
    if path == "/nothing-here":
        assert response.status_code == 404
        assert response.headers["content-language"] == "es"
        text = _text(response.text)
    else:
        text = _spanish(response)
    for item in shown:
        assert item in text, item


def test_the_form_shows_spanish_names_but_sends_the_english_codes(client: TestClient) -> None:
    page = client.get("/", params={"lang": "es"}).text
    assert '<option value="bone">hueso</option>' in page
    assert 'value="partial_response">respuesta parcial</option>' in page
    assert 'value="bleeding"> sangrado' in page
    assert 'action="/assess?lang=es"' in page


def test_the_board_in_spanish_formats_the_date_and_keeps_the_language(
    client: TestClient, record_id: str, store: AuditStore
) -> None:
    record = store.get_assessment(record_id)
    assert record is not None
    day = record.created_at.date()
    page = client.get("/board", params={"date": day.isoformat(), "lang": "es"})
    text = _spanish(page)
    assert f"Comité de tumores del {i18n.day(day, 'es')}" in text
    assert "Dosier del comité (PDF, 1 evaluación)" in text
    assert "Valorar el tratamiento local (caso por caso)" in text
    assert f"/board/report.pdf?date={day.isoformat()}&amp;label=&amp;lang=es" in page.text
    assert f'href="/assessments/{record_id}?lang=es"' in page.text


def test_the_language_switch_keeps_the_path_and_the_query(
    client: TestClient, record_id: str
) -> None:
    page = client.get("/evidence", params={"design": "rct", "lang": "es"}).text
    assert 'href="/evidence?design=rct&amp;lang=en" hreflang="en"' in page
    english = client.get(f"/assessments/{record_id}").text
    assert f'href="/assessments/{record_id}?lang=es" hreflang="es"' in english


def test_the_form_round_trip_keeps_the_language(client: TestClient, form_of: Any) -> None:
    page = client.get("/", params={"lang": "es"})
    form: FormReader = form_of(page.text)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action is not None and action.group(1) == "/assess?lang=es"
    fields = dict(form.fields)
    fields.update(
        {
            "age": "52",
            "sex": "female",
            "histology_confirmed": "true",
            "er": "positive",
            "pr": "positive",
            "her2": "negative",
            "m": "M1",
            "metastases-0-site": "bone",
            "metastases-0-lesions": "2",
        }
    )
    posted = client.post(action.group(1), data=fields, follow_redirects=False)
    assert posted.status_code == 303, _text(posted.text)[:400]
    assert posted.headers["location"].endswith("?lang=es")
    assert "Recomendación" in _spanish(client.get(posted.headers["location"]))
    # A refused form comes back in Spanish too.
    fields["age"] = ""
    refused = client.post(action.group(1), data=fields)
    assert refused.status_code == 422 and refused.headers["content-language"] == "es"
    assert "Corrija 1 campo marcado abajo." in _text(refused.text)


def _changed_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine of today fires other rules than when the record was made."""
    from locoreg.decision import localized

    real = localized.assess

    def assess(patient: Any, *, lang: str = "en") -> Assessment:
        fresh = real(patient, lang=lang)
        return fresh.model_copy(update={"rules_fired": [*fresh.rules_fired, "a_new_rule"]})

    monkeypatch.setattr(localized, "assess", assess)


def test_a_record_the_engine_now_decides_differently_stays_english_with_a_note(
    client: TestClient, record_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = client.get(f"/api/assessments/{record_id}").json()["assessment"]
    _changed_engine(monkeypatch)
    text = _spanish(client.get(f"/assessments/{record_id}?lang=es"))
    assert KEPT_ENGLISH_ES in text
    assert stored["headline"] in text  # the stored English sentences, not a re-run's
    assert "Pronóstico" in text  # the page's own texts are still Spanish
    summary = _spanish(client.get(f"/assessments/{record_id}/summary?lang=es"))
    assert KEPT_ENGLISH_ES in summary and stored["headline"] in summary
    # English is the stored language: no re-run, no note.
    assert "stored English texts" not in _text(client.get(f"/assessments/{record_id}").text)


def test_the_spanish_pdf_names_label_record_versions_and_disclaimer_on_every_page(
    client: TestClient, record_id: str
) -> None:
    weasyprint_or_skip()
    response = client.get(f"/assessments/{record_id}/report.pdf", params={"lang": "es"})
    assert response.status_code == 200 and response.headers["content-language"] == "es"
    versions = client.get(f"/api/assessments/{record_id}").json()["assessment"]["versions"]
    pages = pdf_pages(response.content)
    assert 1 <= len(pages) <= 4
    for number, page in enumerate(pages, start=1):
        assert LABEL in page
        assert f"registro {record_id}" in page
        assert DISCLAIMER_ES in page
        assert f"página {number} de {len(pages)}" in page
        squeezed = re.sub(r"\s", "", page)  # the footer may wrap a long version
        for name, value in versions.items():
            assert f"{name}{value}" in squeezed
        assert "Decision support, not a substitute" not in page
    assert "Opciones de tratamiento local" in " ".join(pages)


def test_the_spanish_board_pack_keeps_each_sheet_in_spanish(
    client: TestClient, record_id: str, store: AuditStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    weasyprint_or_skip()
    record = store.get_assessment(record_id)
    assert record is not None
    _changed_engine(monkeypatch)
    pack = client.get(
        "/board/report.pdf", params={"date": record.created_at.date().isoformat(), "lang": "es"}
    )
    assert pack.status_code == 200 and pack.headers["content-language"] == "es"
    pages = pdf_pages(pack.content)
    assert all(DISCLAIMER_ES in p and f"registro {record_id}" in p for p in pages)
    assert "Este registro se muestra con los textos en inglés" in pages[0]
