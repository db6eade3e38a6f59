"""`locoreg assess FILE --lang es` for json, text and markdown: Spanish sentences and labels,
the same codes and keys as in English."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from locoreg.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "patients" / "no_routine_declines.json"
runner = CliRunner()


def _run(*args: str) -> str:
    r = runner.invoke(app, ["assess", str(EXAMPLE), *args])
    assert r.exit_code == 0, r.output
    return r.output


def test_json_in_spanish_keeps_codes_and_keys() -> None:
    en, es = json.loads(_run("-f", "json")), json.loads(_run("-f", "json", "--lang", "es"))
    assert es.keys() == en.keys()
    assert es["recommendation"] == en["recommendation"] == "no_routine_local_therapy"
    assert es["rules_fired"] == en["rules_fired"] and es["evidence"] == en["evidence"]
    assert [f["factor"] for f in es["factors"]] == [f["factor"] for f in en["factors"]]
    assert es["headline"] == (
        "Continúe el tratamiento sistémico; el tratamiento local del tumor primario no se "
        "ofrece de rutina: el paciente rechaza el tratamiento local."
    )


def test_text_and_markdown_translate_labels_and_titles() -> None:
    text = _run("--lang", "es")
    assert "Sin tratamiento local de rutina  (no_routine_local_therapy)" in text
    assert "En contra del tratamiento local" in text and "Opciones de tratamiento local" in text
    assert "Preferencia del paciente: rechaza el tratamiento local." in text
    assert "For local therapy" not in text and "Local therapy options" not in text
    markdown = _run("-f", "markdown", "--lang", "es")
    assert markdown.startswith("## Sin tratamiento local de rutina\n")
    assert (
        "### Factores" in markdown and "| factor | hallazgo | orientación | evidencia |" in markdown
    )
    assert "| Preferencia del paciente | rechaza el tratamiento local | en contra del" in markdown
    assert "Código de la recomendación: `no_routine_local_therapy`" in markdown
    assert "### Factors" in _run("-f", "markdown")  # English stays the default


def test_an_unknown_language_exits_2_naming_the_option_and_choices() -> None:
    for fmt in ("json", "text", "markdown"):
        r = runner.invoke(app, ["assess", str(EXAMPLE), "-f", fmt, "--lang", "pt"])
        assert r.exit_code == 2
        assert "--lang: unsupported language 'pt'; allowed: en, es" in r.output
        assert "Traceback" not in r.output


def test_pdf_in_spanish_has_spanish_frame_and_the_english_record_id(tmp_path: Path) -> None:
    """The CLI's PDF follows --lang (frame and engine sentences); its content hash is the
    same in both languages (the decision, not its wording, is hashed)."""
    from tests.helpers.pdf_text import pdf_pages, weasyprint_or_skip

    weasyprint_or_skip()
    out = {}
    for lang in ("en", "es"):
        path = tmp_path / f"{lang}.pdf"
        _run("-f", "pdf", "--lang", lang, "-o", str(path))
        out[lang] = pdf_pages(path.read_bytes())
    en_hash = out["en"][0].split("content hash ")[1][:12]
    for page in out["es"]:
        assert f"no registrado, hash del contenido {en_hash}" in page
        assert "página" in page
    assert "el paciente rechaza el tratamiento local" in " ".join(out["es"])
