"""The board workflow: one record's PDF, the board list of a day, the board pack read back."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from locoreg.store import AuditStore

from helpers.patients import DISCUSS
from helpers.pdf_text import pdf_pages, weasyprint_or_skip

LABELS = ("MDT-A 1 JS", "MDT-A 2 KL", "MDT-B 1 MN")


def _text(page: str) -> str:
    page = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture
def board(client: TestClient, store: AuditStore) -> tuple[str, list[str]]:
    """Three labelled records; the board date is the date they were stored (UTC)."""
    ids = [
        client.post("/api/assessments", json={**DISCUSS, "label": label}).json()["id"]
        for label in LABELS
    ]
    record = store.get_assessment(ids[0])
    assert record is not None
    return record.created_at.date().isoformat(), ids


def test_the_board_lists_a_days_records_in_entry_order(
    client: TestClient, board: tuple[str, list[str]]
) -> None:
    day, ids = board
    page = client.get("/board", params={"date": day})
    assert page.status_code == 200
    text = _text(page.text)
    assert [text.index(label) for label in LABELS] == sorted(text.index(label) for label in LABELS)
    for record_id in ids:
        assert f"/assessments/{record_id}/report.pdf" in page.text
    assert f"/board/report.pdf?date={day}&amp;label=" in page.text


def test_a_label_prefix_narrows_the_board(client: TestClient, board: tuple[str, list[str]]) -> None:
    day, _ = board
    text = _text(client.get("/board", params={"date": day, "label": "mdt-a"}).text)
    assert "MDT-A 1 JS" in text and "MDT-A 2 KL" in text and "MDT-B 1 MN" not in text
    assert "Board pack (PDF, 2 assessments)" in text


def test_another_day_is_empty_and_a_bad_date_is_named(
    client: TestClient, board: tuple[str, list[str]]
) -> None:
    empty = client.get("/board", params={"date": "2001-01-01"})
    assert empty.status_code == 200 and "No assessments recorded on 1 January 2001" in empty.text
    bad = client.get("/board", params={"date": "06/12/2026"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in _text(bad.text)
    assert client.get("/board/report.pdf", params={"date": "2001-01-01"}).status_code == 404
    assert client.get("/assessments/not-a-record/report.pdf").status_code == 404


def test_the_board_is_linked_from_the_nav_and_history(
    client: TestClient, board: tuple[str, list[str]]
) -> None:
    day, _ = board
    history = client.get("/history").text
    assert 'href="/board"' in history  # nav and lead
    assert f'href="/board?date={day}"' in history


def test_the_board_pack_keeps_each_records_label_and_id_on_its_pages(
    client: TestClient, board: tuple[str, list[str]]
) -> None:
    weasyprint_or_skip()
    day, ids = board
    r = client.get("/board/report.pdf", params={"date": day, "label": "MDT-A"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pages = pdf_pages(r.content)
    owners = [[i for i, rid in enumerate(ids) if f"record {rid}" in p] for p in pages]
    assert all(len(o) == 1 for o in owners)  # every page names exactly one record
    order = [o[0] for o in owners]
    assert order == sorted(order) and set(order) == {0, 1}  # both, in entry order
    for page, (owner,) in zip(pages, owners, strict=True):
        assert LABELS[owner] in page
        assert "not a substitute for clinical judgement" in page
    assert sum(1 for o in order if o == 0) <= 4 and sum(1 for o in order if o == 1) <= 4


def test_one_records_pdf_is_served_inline(client: TestClient, board: tuple[str, list[str]]) -> None:
    weasyprint_or_skip()
    _, ids = board
    r = client.get(f"/assessments/{ids[2]}/report.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert f'filename="locoreg-{ids[2]}.pdf"' in r.headers["content-disposition"]
    pages = pdf_pages(r.content)
    assert 1 <= len(pages) <= 4
    assert all("MDT-B 1 MN" in p and f"record {ids[2]}" in p for p in pages)


def test_the_printable_summary_shares_the_forest_plot(
    client: TestClient, board: tuple[str, list[str]]
) -> None:
    _, ids = board
    summary = client.get(f"/assessments/{ids[0]}/summary").text
    assert "Overall survival: trials vs registries" in summary and "<svg" in summary
    assert "@page" not in summary  # the paged-media rules are the PDF's only


def test_a_pdf_without_weasyprint_is_a_503_saying_what_to_install(
    client: TestClient, board: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_weasyprint(name: str, *args: object, **kwargs: object) -> object:
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_weasyprint)
    r = client.get(f"/assessments/{board[1][0]}/report.pdf")
    assert r.status_code == 503
    assert "Pango" in r.json()["detail"][0]["message"]
