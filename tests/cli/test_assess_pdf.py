"""`locoreg assess --format pdf -o OUT.pdf`: the file, read back; bad use -> exit 2, no file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from locoreg.cli import app

from helpers.pdf_text import pdf_pages, weasyprint_or_skip

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"
runner = CliRunner()


def _labelled(tmp_path: Path) -> Path:
    data = json.loads((EXAMPLES / "discuss_bone_oligometastatic.json").read_text("utf-8"))
    path = tmp_path / "patient.json"
    path.write_text(json.dumps({**data, "label": "MDT 2026-12-06 AB"}), encoding="utf-8")
    return path


def test_the_pdf_is_written_and_every_page_names_the_patient(tmp_path: Path) -> None:
    weasyprint_or_skip()
    out = tmp_path / "board.pdf"
    result = runner.invoke(
        app, ["assess", str(_labelled(tmp_path)), "--format", "pdf", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    pages = pdf_pages(out.read_bytes())
    assert 1 <= len(pages) <= 4
    for page in pages:
        assert "MDT 2026-12-06 AB" in page
        assert "record not recorded, content hash " in page
        assert "not a substitute for clinical judgement" in page
    assert "Discuss local therapy" in pages[0] and "Patient as entered" in pages[0]
    # written whole, by rename: no temporary file left behind
    assert {p.name for p in tmp_path.iterdir()} == {"board.pdf", "patient.json"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "pdf"], "-o: --format pdf writes to a file"),
        (
            ["--format", "json", "-o", "x.pdf"],
            "-o: only --format pdf and --format patient-html write a file",
        ),
        (["--format", "pdf", "-o", "no/such/dir/x.pdf"], "does not exist"),
    ],
)
def test_bad_use_of_pdf_output_exits_2_with_a_message(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    extra = [str(tmp_path / e) if e.endswith(".pdf") else e for e in extra]
    result = runner.invoke(app, ["assess", str(_labelled(tmp_path)), *extra])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.rglob("*.pdf"))


def test_an_invalid_patient_writes_no_pdf(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"age": "52"}), encoding="utf-8")
    out = tmp_path / "x.pdf"
    result = runner.invoke(app, ["assess", str(bad), "--format", "pdf", "-o", str(out)])
    assert result.exit_code == 2 and "age" in result.output
    assert not out.exists()


def test_without_weasyprint_the_command_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails as if not installed
    out = tmp_path / "x.pdf"
    args = ["assess", str(_labelled(tmp_path)), "--format", "pdf", "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "PDF output needs WeasyPrint" in result.output
    assert "Traceback" not in result.output and not out.exists()
