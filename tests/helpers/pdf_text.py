"""Read a PDF back as text, one string per page (whitespace collapsed), with pypdf."""

from __future__ import annotations

import io
import re

import pytest


def pdf_pages(content: bytes) -> list[str]:
    """The text of each page; lines that a table or a paragraph wrapped are joined by spaces."""
    pypdf = pytest.importorskip("pypdf", reason="pypdf (test extra) reads the PDFs back")
    assert content.startswith(b"%PDF-"), content[:20]
    reader = pypdf.PdfReader(io.BytesIO(content))
    return [re.sub(r"\s+", " ", page.extract_text()) for page in reader.pages]


def weasyprint_or_skip() -> None:
    """Skip (with the reason) where WeasyPrint or its system libraries (Pango) are missing."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        pytest.skip(f"WeasyPrint cannot render here: {exc}")
