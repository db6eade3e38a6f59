"""`locoreg assess FILE --format patient-html [--lang es] [-o OUT]`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from locoreg.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"
EXAMPLE = EXAMPLES / "discuss_bone_oligometastatic.json"
runner = CliRunner()


def test_patient_html_to_stdout_and_to_a_file(tmp_path: Path) -> None:
    r = runner.invoke(app, ["assess", str(EXAMPLE), "--format", "patient-html"])
    assert r.exit_code == 0, r.output
    assert '<html lang="en">' in r.output and "out of 100 women" in r.output
    out = tmp_path / "aid.html"
    r = runner.invoke(
        app, ["assess", str(EXAMPLE), "-f", "patient-html", "--lang", "es", "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert '<html lang="es">' in text and "de cada 100 mujeres" in text
    assert not list(tmp_path.glob("*.partial"))
    assert "?lang=" not in text  # a saved file has no language links that lead nowhere


def test_bad_language_and_misplaced_output_exit_2(tmp_path: Path) -> None:
    r = runner.invoke(app, ["assess", str(EXAMPLE), "-f", "patient-html", "--lang", "fr"])
    assert r.exit_code == 2
    assert "--lang: unsupported language 'fr'; allowed: en, es" in r.output
    r = runner.invoke(app, ["assess", str(EXAMPLE), "-f", "json", "-o", str(tmp_path / "x")])
    assert (
        r.exit_code == 2 and "only --format pdf and --format patient-html write a file" in r.output
    )
    assert not (tmp_path / "x").exists()
    # every format takes --lang since the engine speaks Spanish (tests/cli/test_assess_lang.py)
    r = runner.invoke(app, ["assess", str(EXAMPLE), "-f", "json", "--lang", "fr"])
    assert r.exit_code == 2 and "--lang: unsupported language 'fr'" in r.output
    r = runner.invoke(
        app, ["assess", str(EXAMPLE), "-f", "patient-html", "-o", str(tmp_path / "no/dir.html")]
    )
    assert r.exit_code == 2 and "cannot write" in r.output
