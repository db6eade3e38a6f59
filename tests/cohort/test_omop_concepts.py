"""The concept table in docs/registry.md gives the same ids, names and checked state as the code."""

from __future__ import annotations

from pathlib import Path

from locoreg.cohort import omop_concepts as oc

REGISTRY_DOC = Path(__file__).resolve().parents[2] / "docs" / "registry.md"


def _doc_rows() -> list[tuple[str, int, str, bool]]:
    rows = []
    for line in REGISTRY_DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[1].isdigit():
            checked = cells[4]
            assert checked.startswith("yes") or checked == "**verify**", line
            rows.append((cells[0], int(cells[1]), cells[2], checked.startswith("yes")))
    return rows


def test_docs_concept_table_matches_the_code() -> None:
    in_code = [
        (name, c.concept_id, c.name, c.checked)
        for name, concepts in oc.all_sets().items()
        for c in concepts
    ]
    assert _doc_rows() == in_code
