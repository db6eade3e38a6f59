"""``/assessments/{id}/patient``: the stored assessment's decision aid, language by
``?lang=`` then ``Accept-Language``; linked from the result page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from web.support import EXAMPLE_FILES, load_example


def _record(client: TestClient) -> str:
    stem = next(p for p in EXAMPLE_FILES if p.stem == "discuss_bone_oligometastatic")
    response = client.post("/api/assessments", json=load_example(stem))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_patient_page_in_english_and_spanish(client: TestClient) -> None:
    record = _record(client)
    english = client.get(f"/assessments/{record}/patient")
    assert english.status_code == 200
    assert english.headers["content-language"] == "en"
    assert "Accept-Language" in english.headers["vary"]
    assert '<html lang="en">' in english.text and record in english.text
    spanish = client.get(f"/assessments/{record}/patient", headers={"Accept-Language": "es-ES"})
    assert spanish.headers["content-language"] == "es"
    assert "¿Qué es lo más importante para usted?" in spanish.text
    assert 'href="?lang=en" hreflang="en"' in spanish.text
    forced = client.get(f"/assessments/{record}/patient?lang=en", headers={"Accept-Language": "es"})
    assert forced.headers["content-language"] == "en"
    # Unknown language: English, not an error (a link with a stale ?lang= still opens).
    assert client.get(f"/assessments/{record}/patient?lang=xx").headers["content-language"] == "en"
    result = client.get(f"/assessments/{record}").text
    assert f'href="/assessments/{record}/patient"' in result
    assert f'href="/assessments/{record}/patient?lang=es"' in result


def test_patient_page_of_an_unknown_record_is_not_found(client: TestClient) -> None:
    response = client.get("/assessments/does-not-exist/patient")
    assert response.status_code == 404


def test_page_chrome_follows_the_language(client: TestClient) -> None:
    from locoreg import DISCLAIMER

    english = client.get("/history").text
    assert '<html lang="en">' in english and ">New assessment</a>" in english
    assert DISCLAIMER in english
    spanish = client.get("/history", headers={"Accept-Language": "es"}).text
    assert '<html lang="es">' in spanish and ">Nueva evaluación</a>" in spanish
    assert "No sustituye el juicio clínico" in spanish and DISCLAIMER not in spanish
    assert 'href="/history?lang=en"' in spanish
    missing = client.get("/assessments/nothing-here?lang=es")
    assert missing.status_code == 404
    assert "No existe esa evaluación" in missing.text
