"""The registry contract (CONTRACTS.md §5): column names, types and allowed codes.

One row per patient with de novo stage IV breast cancer. The loader
(:mod:`locoreg.cohort.load`) checks a file against this description and the
extraction (:mod:`locoreg.cohort.select`) turns it into an analytic table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from locoreg.patient import N_CATEGORIES, T_CATEGORIES


class Kind(StrEnum):
    """How a column is parsed (every value is read as text first, then checked)."""

    text = "text"
    integer = "integer"
    number = "number"
    boolean = "boolean"
    receptor = "receptor"
    t_category = "t_category"
    n_category = "n_category"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    required: bool
    meaning: str
    nullable: bool = False
    low: float | None = None
    high: float | None = None


RECEPTOR_CODES: tuple[str, ...] = ("positive", "negative", "unknown")
# Booleans as registries write them; compared case-insensitively after trimming.
TRUE_CODES: tuple[str, ...] = ("true", "t", "yes", "y", "1")
FALSE_CODES: tuple[str, ...] = ("false", "f", "no", "n", "0")
MET_SITES: tuple[str, ...] = ("bone", "lung", "liver", "brain", "other")

COLUMNS: tuple[Column, ...] = (
    Column("patient_id", Kind.text, True, "unique identifier"),
    Column("year_of_diagnosis", Kind.integer, True, "calendar year", low=1900, high=2100),
    Column("age", Kind.integer, True, "years at diagnosis", low=18, high=110),
    Column("er", Kind.receptor, True, "oestrogen receptor"),
    Column("pr", Kind.receptor, True, "progesterone receptor"),
    Column("her2", Kind.receptor, True, "HER2 (HER2-low counts as negative)"),
    Column("t", Kind.t_category, True, "clinical T (AJCC 8th)"),
    Column("n", Kind.n_category, True, "clinical N (AJCC 8th)"),
    *(
        Column(f"mets_{site}", Kind.boolean, True, f"{site} metastasis at diagnosis")
        for site in MET_SITES
    ),
    Column("surgery", Kind.boolean, True, "surgery of the primary site"),
    Column(
        "surgery_months",
        Kind.number,
        True,
        "months from diagnosis to surgery; empty when no surgery",
        nullable=True,
        low=0,
    ),
    Column("survival_months", Kind.number, True, "months to death or last contact", low=0),
    Column("dead", Kind.boolean, True, "death observed"),
    # Optional columns: used when present.
    Column("ecog", Kind.integer, False, "ECOG performance status", nullable=True, low=0, high=4),
    Column("grade", Kind.integer, False, "histological grade", nullable=True, low=1, high=3),
    Column("chemotherapy", Kind.boolean, False, "chemotherapy given", nullable=True),
    Column("radiotherapy", Kind.boolean, False, "radiotherapy given", nullable=True),
    Column("endocrine_therapy", Kind.boolean, False, "endocrine therapy given", nullable=True),
)

REQUIRED: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)
OPTIONAL: tuple[str, ...] = tuple(c.name for c in COLUMNS if not c.required)
BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}


def allowed_codes(kind: Kind) -> tuple[str, ...]:
    """The canonical codes of a categorical kind (empty for non-categorical kinds)."""
    if kind is Kind.receptor:
        return RECEPTOR_CODES
    if kind is Kind.t_category:
        return T_CATEGORIES
    if kind is Kind.n_category:
        return N_CATEGORIES
    if kind is Kind.boolean:
        return ("true", "false")
    return ()
