"""locoreg — decision support for the intact primary tumour in de novo stage IV breast cancer.

Decision support, not a substitute for clinical judgement.
"""

__version__ = "0.1.0"


def _mark(message: str) -> str:
    """Mark ``message`` for Babel extraction (the ``_mark`` keyword of babel.cfg).

    ``locoreg.i18n.N_`` does the same; it is not imported here so that importing the package
    stays free of Babel. Translate with ``locoreg.i18n.gettext(DISCLAIMER)`` where shown.
    """
    return message


#: The English text (msgid); the engine writes it in the assessment's language.
DISCLAIMER = _mark(
    "locoreg is decision support for a multidisciplinary tumour board. It is not a "
    "substitute for clinical judgement, and it does not make the decision."
)
