"""Portable extraction SQL: written once, translated to the user's engine with sqlglot.

The canonical statement (:func:`canonical_sql`) reads only the contract columns
of a table named ``registry`` (CONTRACTS.md §5) — no hidden row numbers, no
engine-specific casts — and returns the analytic table: one row per selected
patient, ordered by ``patient_id``. :func:`extraction_sql` translates it with
sqlglot (https://sqlglot.com) into DuckDB, PostgreSQL or Spark SQL; the three
printed statements are tested on real engines (DuckDB always, PostgreSQL and
Spark where available).

Portability rules the canonical text follows (each one broke an engine once):

* indicators are ``CAST(CASE WHEN c THEN 1 ELSE 0 END AS DOUBLE)``: PostgreSQL
  cannot cast a boolean to a float, and Spark reads ``1.0`` as a DECIMAL;
* integer arithmetic is cast to DOUBLE before dividing (PostgreSQL divides
  integers as integers);
* "no surgery" is a typed NULL (``CAST(NULL AS DOUBLE)``), read as NaN in numpy.
"""

from __future__ import annotations

from enum import StrEnum

from locoreg.cohort.schema import MET_SITES

TABLE = "registry"
# A survival of 0 months (common in registries that round down) is counted as
# this many months, so that every patient has a non-empty (start, stop] interval.
MIN_TIME = 0.01


class Dialect(StrEnum):
    """Engines the extraction is printed for (sqlglot dialect names)."""

    duckdb = "duckdb"
    postgres = "postgres"
    spark = "spark"


def _flag(condition: str) -> str:
    return f"CAST(CASE WHEN {condition} THEN 1 ELSE 0 END AS DOUBLE)"


def canonical_sql(where: list[str], *, has_ecog: bool = False, table: str = TABLE) -> str:
    """The extraction in the canonical (DuckDB-read) dialect; ``where`` are ANDed conditions."""
    hr = (
        "CASE WHEN er = 'positive' OR pr = 'positive' THEN 'positive' "
        "WHEN er = 'negative' AND pr = 'negative' THEN 'negative' ELSE 'unknown' END"
    )
    ecog = (
        f"CAST(COALESCE(ecog, 0) AS DOUBLE) AS ecog, {_flag('ecog IS NULL')} AS ecog_missing"
        if has_ecog
        else "CAST(0 AS DOUBLE) AS ecog, CAST(1 AS DOUBLE) AS ecog_missing"
    )
    sites = ", ".join(f"{_flag(f'mets_{s}')} AS mets_{s}" for s in MET_SITES)
    others = " OR ".join(f"mets_{s}" for s in MET_SITES if s != "bone")
    filters = f"WHERE {' AND '.join(where)}" if where else ""
    return f"""
WITH base AS (
  SELECT *, {hr} AS hr_status FROM {table} {filters}
)
SELECT
  CAST(patient_id AS VARCHAR) AS patient_id,
  CAST(GREATEST(survival_months, {MIN_TIME}) AS DOUBLE) AS time,
  {_flag("dead")} AS event,
  {_flag("surgery")} AS surgery,
  CASE WHEN surgery THEN CAST(surgery_months AS DOUBLE) ELSE CAST(NULL AS DOUBLE) END
    AS surgery_time,
  CAST(age AS DOUBLE) AS age,
  CAST(age - 60 AS DOUBLE) / 10 AS age10,
  {_flag("hr_status = 'positive' AND her2 = 'positive'")} AS hrpos_her2pos,
  {_flag("hr_status = 'negative' AND her2 = 'positive'")} AS hrneg_her2pos,
  {_flag("hr_status = 'negative' AND her2 = 'negative'")} AS triple_negative,
  {_flag("hr_status = 'unknown' OR her2 = 'unknown'")} AS subtype_unknown,
  {sites},
  {_flag(f"mets_bone AND NOT ({others})")} AS bone_only,
  {_flag("t LIKE 'T4%'")} AS t4,
  {_flag("t = 'TX'")} AS t_unknown,
  {_flag("n NOT IN ('NX', 'N0')")} AS node_positive,
  {_flag("n = 'NX'")} AS n_unknown,
  CAST(year_of_diagnosis - 2015 AS DOUBLE) AS year_c,
  {ecog}
FROM base
ORDER BY patient_id
""".strip()


def translate(sql: str, dialect: Dialect | str) -> str:
    """Translate canonical SQL into ``dialect`` (pretty-printed, one statement)."""
    import sqlglot

    dialect = Dialect(dialect)
    out = sqlglot.transpile(sql, read="duckdb", write=dialect.value, pretty=True)
    if len(out) != 1:  # pragma: no cover - the canonical text is one statement
        raise ValueError("expected one SQL statement")
    return out[0]


def extraction_sql(
    where: list[str], *, has_ecog: bool = False, dialect: Dialect | str = Dialect.duckdb
) -> str:
    """The extraction for ``dialect``; runs as printed on a contract table named ``registry``."""
    return translate(canonical_sql(where, has_ecog=has_ecog), dialect)


__all__ = ["MIN_TIME", "TABLE", "Dialect", "canonical_sql", "extraction_sql", "translate"]
