"""The tumour-board PDF: the printable summary rendered to A4 by WeasyPrint.

One template (``assessment.html.j2``) makes the web summary and the PDF; with
``pdf=True`` it adds the ``@page`` rules whose margin boxes repeat, on every page,
the board's label, the record id, the versions and the decision-support notice.
The running strings are taken from the document itself (CSS ``string-set``), so
the label, which the user typed, never enters a style sheet.

A board pack is the PDFs of several records bound into one file, page after page:
each record is laid out on its own, so every sheet keeps its own label and record id
(sheets cannot be swapped between patients unnoticed).

Reference: WeasyPrint, https://doc.courtbouillon.org/weasyprint/stable/ (``@page``
margin boxes, CSS Generated Content for Paged Media, ``string-set``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from locoreg import i18n
from locoreg.decision.model import Assessment
from locoreg.report.assessment import render_assessment_html
from locoreg.store.chain import digest

#: the page budget of issue 15: a board sheet is read in the meeting, not filed
MAX_PAGES = 4


@dataclass(frozen=True, slots=True)
class BoardSheet:
    """One record to print: the Assessment and the input as entered.

    ``kept_english``: the sheet is printed in another language but shows the record's
    stored English texts (see :func:`locoreg.decision.localized.localized_assessment`), with a note.
    """

    assessment: Assessment
    patient_input: dict[str, Any]
    record_id: str
    created_at: datetime | None = None
    kept_english: bool = False


def content_record_id(patient_input: dict[str, Any], assessment: Assessment) -> str:
    """The id printed on a PDF made outside the audit store (the CLI).

    Nothing is recorded, so the sheet says so, followed by the first 12 hex digits of the
    SHA-256 of the canonical JSON of the input and the assessment's decision (its codes,
    ids and versions, :func:`~locoreg.decision.localized.decision_key`): the same input
    under the same versions gives the same id in every language, any change gives another.
    """
    from locoreg.decision.localized import decision_key

    content = {"patient_input": patient_input, "assessment": decision_key(assessment)}
    # In the language of the sentence being built (the CLI sets it with i18n.language).
    return i18n.gettext("not recorded, content hash %(hash)s") % {"hash": digest(content)[:12]}


def overall_survival_forest(lang: str = i18n.DEFAULT_LANGUAGE) -> str | None:
    """Pooled overall survival, trials vs registries (REML, z), as inline SVG with its
    texts and numbers in ``lang``; None if the evidence base has nothing to pool."""
    from locoreg.errors import InputError
    from locoreg.web.meta_page import pooled_evidence

    try:
        pooled = pooled_evidence("overall_survival", "REML", "z", "design", lang=lang)
        svg: str | None = pooled["svg"]
    except InputError:  # an evidence base without poolable hazard ratios: no figure
        return None
    return svg


class PdfUnavailable(RuntimeError):
    """WeasyPrint cannot run here (not installed, or the system lacks Pango)."""


def _document(sheet: BoardSheet, forest: str | None, lang: str) -> Any:
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: a system library (Pango) is missing
        raise PdfUnavailable(
            "PDF output needs WeasyPrint and the Pango library "
            f"(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0): {exc}"
        ) from exc

    html = render_assessment_html(
        sheet.assessment,
        record_id=sheet.record_id,
        created_at=sheet.created_at,
        patient_input=sheet.patient_input,
        forest=forest,
        pdf=True,
        lang=lang,
        kept_english=sheet.kept_english,
    )
    return HTML(string=html).render()


def render_board_pdf(sheets: Sequence[BoardSheet], *, lang: str = i18n.DEFAULT_LANGUAGE) -> bytes:
    """The PDFs of ``sheets`` bound in order into one file (at least one sheet).

    ``lang``: the language of the pages' own texts, running header and footer included
    (each sheet's assessment brings its own sentences).
    """
    if not sheets:
        raise ValueError("a board pack needs at least one record")
    i18n.check_language(lang)
    forest = overall_survival_forest(lang)
    documents = [_document(sheet, forest, lang) for sheet in sheets]
    pages = [page for document in documents for page in document.pages]
    pdf: bytes = documents[0].copy(pages).write_pdf()
    return pdf


def render_assessment_pdf(
    assessment: Assessment,
    *,
    record_id: str,
    patient_input: dict[str, Any],
    created_at: datetime | None = None,
    lang: str = i18n.DEFAULT_LANGUAGE,
    kept_english: bool = False,
) -> bytes:
    """One record's tumour-board PDF (A4, at most :data:`MAX_PAGES` pages) in ``lang``."""
    sheet = BoardSheet(assessment, patient_input, record_id, created_at, kept_english)
    return render_board_pdf([sheet], lang=lang)
