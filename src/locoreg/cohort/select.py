"""Cohort selection and extraction: SQL that turns the checked registry into an analytic table.

The SQL (:func:`extraction_sql`) is written once over the contract columns and
translated to the user's engine (DuckDB, PostgreSQL, Spark SQL;
:mod:`locoreg.cohort.sql`), so it runs on a national registry where it lives;
the statistics then run on the extracted table, here as numpy arrays
(:class:`AnalyticTable`; read back from a file by :mod:`locoreg.cohort.analytic`).

De novo stage IV is implied by the registry (one row per patient with distant
metastasis at diagnosis); the options below narrow it further.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from locoreg.cohort.load import Registry
from locoreg.cohort.schema import MET_SITES
from locoreg.errors import InputError

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Selection:
    """Who enters the analysis. Bounds are inclusive; ``None`` means no bound.

    ``de_novo_stage_iv`` (default on) keeps only rows with at least one metastatic
    site at diagnosis: a row without any is not de novo stage IV, whatever the
    registry's stage field said, and is left out (counted in the output).
    """

    de_novo_stage_iv: bool = True
    age_min: int | None = None
    age_max: int | None = None
    year_min: int | None = None
    year_max: int | None = None
    exclude_unknown_receptors: bool = False
    exclude_brain_metastases: bool = False

    def where(self) -> list[str]:
        out: list[str] = []
        if self.de_novo_stage_iv:
            out.append("(" + " OR ".join(f"mets_{site}" for site in MET_SITES) + ")")
        if self.age_min is not None:
            out.append(f"age >= {int(self.age_min)}")
        if self.age_max is not None:
            out.append(f"age <= {int(self.age_max)}")
        if self.year_min is not None:
            out.append(f"year_of_diagnosis >= {int(self.year_min)}")
        if self.year_max is not None:
            out.append(f"year_of_diagnosis <= {int(self.year_max)}")
        if self.exclude_unknown_receptors:
            out.append("er <> 'unknown' AND pr <> 'unknown' AND her2 <> 'unknown'")
        if self.exclude_brain_metastases:
            out.append("NOT mets_brain")
        return out

    def describe(self) -> str:
        """The selection in words, e.g. ``de novo stage IV (a metastatic site), age >= 18``."""
        parts = self.where()
        if self.de_novo_stage_iv:
            parts[0] = "de novo stage IV (a metastatic site at diagnosis)"
        return ", ".join(parts) if parts else "all patients"


# Covariates built by the SQL; every one is numeric (0/1 indicators or centred scales).
BASE_COVARIATES: tuple[str, ...] = (
    "age10",  # (age - 60) / 10
    "hrpos_her2pos",  # subtype indicators, reference HR+/HER2-
    "hrneg_her2pos",
    "triple_negative",
    "subtype_unknown",
    "mets_bone",
    "mets_lung",
    "mets_liver",
    "mets_brain",
    "mets_other",
    "bone_only",
    "t4",
    "t_unknown",
    "node_positive",
    "n_unknown",
    "year_c",  # year_of_diagnosis - 2015
)
OPTIONAL_COVARIATES: tuple[str, ...] = ("ecog", "ecog_missing")

# Named adjustment sets, smallest first; "full" uses ECOG when the registry has it.
COVARIATE_SETS: dict[str, tuple[str, ...]] = {
    "minimal": ("age10", "hrpos_her2pos", "hrneg_her2pos", "triple_negative", "subtype_unknown"),
    "standard": tuple(c for c in BASE_COVARIATES if c != "year_c"),
    "full": (*BASE_COVARIATES, *OPTIONAL_COVARIATES),
}

LABELS: dict[str, str] = {
    "age10": "age (per 10 years)",
    "hrpos_her2pos": "HR+/HER2+",
    "hrneg_her2pos": "HR−/HER2+",
    "triple_negative": "triple negative",
    "subtype_unknown": "subtype unknown",
    "mets_bone": "bone metastases",
    "mets_lung": "lung metastases",
    "mets_liver": "liver metastases",
    "mets_brain": "brain metastases",
    "mets_other": "other metastases",
    "bone_only": "bone only",
    "t4": "T4",
    "t_unknown": "T unknown",
    "node_positive": "N1–3",
    "n_unknown": "N unknown",
    "year_c": "year of diagnosis",
    "ecog": "ECOG",
    "ecog_missing": "ECOG missing",
}


def extraction_sql(
    selection: Selection = Selection(), *, has_ecog: bool = False, dialect: str = "duckdb"
) -> str:
    """The SQL that extracts the analytic table from a contract table named ``registry``.

    Written once (:mod:`locoreg.cohort.sql`) and translated to ``dialect``
    (``duckdb``, ``postgres``, ``spark``); it runs as printed in that engine.
    """
    from locoreg.cohort.sql import extraction_sql as portable

    return portable(selection.where(), has_ecog=has_ecog, dialect=dialect)


@dataclass(frozen=True)
class AnalyticTable:
    """One row per selected patient, as numpy arrays.

    ``time`` months to death or last contact, ``event`` 1 = death, ``surgery``
    1 = operated, ``surgery_time`` months to surgery (nan if none),
    ``covariates`` name → array. ``source_row`` numbers the rows of the
    extracted table from 1 (ordered by ``patient_id``).
    """

    time: FloatArray
    event: FloatArray
    surgery: FloatArray
    surgery_time: FloatArray
    age: FloatArray
    source_row: NDArray[np.int64]
    covariates: dict[str, FloatArray] = field(repr=False)
    has_ecog: bool = False

    @property
    def n(self) -> int:
        return int(self.time.size)

    def subset(self, keep: NDArray[np.bool_] | NDArray[np.int64]) -> AnalyticTable:
        """Rows selected by a boolean mask or by indices (repeats allowed: bootstrap)."""
        return AnalyticTable(
            time=self.time[keep],
            event=self.event[keep],
            surgery=self.surgery[keep],
            surgery_time=self.surgery_time[keep],
            age=self.age[keep],
            source_row=self.source_row[keep],
            covariates={k: v[keep] for k, v in self.covariates.items()},
            has_ecog=self.has_ecog,
        )

    def design(self, names: Sequence[str]) -> tuple[FloatArray, tuple[str, ...]]:
        """Covariate matrix for ``names``, without columns that do not vary in this table.

        A constant column (e.g. no patient with unknown subtype, or no ECOG in the
        registry) carries no information and would make the fit singular.
        """
        usable = [
            k
            for k in names
            if k in self.covariates
            and np.ptp(self.covariates[k]) > 0
            and (self.has_ecog or k not in OPTIONAL_COVARIATES)
        ]
        if not usable:
            return np.zeros((self.n, 0)), ()
        return np.column_stack([self.covariates[k] for k in usable]), tuple(usable)


def extract(registry: Registry, selection: Selection = Selection()) -> AnalyticTable:
    """Run :func:`extraction_sql` in the registry's DuckDB and return the analytic table."""
    from locoreg.cohort.analytic import from_columns

    has_ecog = "ecog" in registry.columns
    cols = registry.con.execute(extraction_sql(selection, has_ecog=has_ecog)).fetchnumpy()
    if len(cols["time"]) == 0:
        raise InputError.single(
            "selection", f"no patient left after selection ({selection.describe()})"
        )
    return from_columns(cols, has_ecog=has_ecog)
