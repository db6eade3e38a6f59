"""The tumour-board PDF, read back: page budget, running header and footer, page 1, a pack."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from locoreg.decision import assess
from locoreg.decision.model import Assessment
from locoreg.patient import parse_patient
from locoreg.report.assessment import patient_rows
from locoreg.report.pdf import MAX_PAGES, BoardSheet, content_record_id, render_board_pdf

from helpers.pdf_text import pdf_pages, weasyprint_or_skip

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"
NOTICE = "Decision support, not a substitute for clinical judgement"
# Characters that would break out of a CSS string or an HTML element if pasted unescaped.
TRICKY_LABEL = 'MDT 12/06 "JS" <b>; }'


def _sheet(name: str, label: str | None, record_id: str) -> BoardSheet:
    data = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    patient = parse_patient({**data, "label": label})
    return BoardSheet(assess(patient), patient.model_dump(mode="json"), record_id)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def pack() -> tuple[list[BoardSheet], list[str]]:
    """A two-patient pack: the longest example (labelled) and one without a label."""
    weasyprint_or_skip()
    sheets = [
        _sheet("discuss_inflammatory_t4d", TRICKY_LABEL, "rec-0001"),
        _sheet("palliative_bleeding", None, "rec-0002"),
    ]
    return sheets, pdf_pages(render_board_pdf(sheets))


def test_every_page_carries_its_own_label_record_versions_and_notice(
    pack: tuple[list[BoardSheet], list[str]],
) -> None:
    sheets, pages = pack
    first = [p for p in pages if "record rec-0001" in p]
    second = [p for p in pages if "record rec-0002" in p]
    # Each page belongs to exactly one record: sheets cannot be swapped unnoticed.
    assert len(first) + len(second) == len(pages)
    assert 1 <= len(first) <= MAX_PAGES and 1 <= len(second) <= MAX_PAGES
    assert pages[: len(first)] == first  # bound in order
    for page in pages:
        assert NOTICE in page
        assert re.search(r"page \d of \d", page)
    for sheet, own in zip(sheets, (first, second), strict=True):
        versions = sheet.assessment.versions
        for page in own:
            assert f"engine {versions['engine']}" in page and f"rules {versions['rules']}" in page
    assert all(TRICKY_LABEL in p for p in first)  # printed as typed, not interpreted
    assert all("no label" in p and TRICKY_LABEL not in p for p in second)


def test_page_one_is_the_patient_and_the_recommendation(
    pack: tuple[list[BoardSheet], list[str]],
) -> None:
    sheets, pages = pack
    a: Assessment = sheets[0].assessment
    page1 = pages[0]
    assert "Patient as entered" in page1
    for label, text in patient_rows(sheets[0].patient_input):  # no row lost to the layout
        assert f"{label} {_flat(text)}" in page1, label
    assert _flat(a.headline) in page1
    assert a.recommendation.value in page1
    assert "Local therapy options" in page1
    assert "What would change the recommendation" in page1
    assert _flat(a.would_change[0]) in page1


def test_the_body_holds_factors_prognosis_local_control_harms_forest_references(
    pack: tuple[list[BoardSheet], list[str]],
) -> None:
    _, pages = pack
    body = " ".join(p for p in pages if "record rec-0001" in p)
    for heading in (
        "Factors",
        "Prognosis",
        "Local control",
        "Harms of surgery in the trials",
        "Overall survival: trials vs registries",
        "Pooled randomised",  # the forest plot's own text
        "Evidence",
    ):
        assert heading in body, heading
    assert "https://pmc.ncbi.nlm.nih.gov/articles/PMC8937009" in body  # E2108, khan2022


def test_the_content_id_of_an_unrecorded_pdf_follows_the_content() -> None:
    sheet = _sheet("palliative_bleeding", "A", "x")
    same = content_record_id(dict(sheet.patient_input), sheet.assessment)
    assert same == content_record_id(dict(sheet.patient_input), sheet.assessment)
    assert same.startswith("not recorded, content hash ") and len(same.split()[-1]) == 12
    other = content_record_id({**sheet.patient_input, "label": "B"}, sheet.assessment)
    assert other != same


def test_an_empty_pack_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one record"):
        render_board_pdf([])
