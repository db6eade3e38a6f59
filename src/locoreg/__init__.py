"""locoreg — decision support for the intact primary tumour in de novo stage IV breast cancer.

Decision support, not a substitute for clinical judgement.
"""

__version__ = "0.1.0"

DISCLAIMER = (
    "locoreg is decision support for a multidisciplinary tumour board. It is not a "
    "substitute for clinical judgement, and it does not make the decision."
)
