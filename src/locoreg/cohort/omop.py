"""The de novo stage IV breast cancer cohort from an OMOP CDM v5.4 database.

:func:`registry_sql` turns the OMOP tables into a table that follows the
registry contract (CONTRACTS.md §5, one row per patient); the portable
extraction (:mod:`locoreg.cohort.sql`) then makes the analytic table from it,
so OMOP data goes through the same selection and covariates as a registry
file. Both statements are written once (DuckDB dialect) and translated with
sqlglot for PostgreSQL and Spark.

Cohort logic (concept ids in :mod:`locoreg.cohort.omop_concepts`):

1. **Index date** = the first breast cancer diagnosis: the earliest
   ``condition_occurrence`` in the breast cancer set (with descendants through
   ``concept_ancestor``) or, when the oncology extension's ``episode`` table is
   present, the earliest *Disease First Occurrence* episode of that cancer.
2. The index date must lie in an ``observation_period``; its end (or death)
   ends follow-up.
3. **De novo stage IV**: a distant metastasis (secondary malignant neoplasm,
   with descendants) recorded within ``DAYS_BEFORE`` days before to
   ``DAYS_AFTER`` days after the index date. Metastases recorded only later are
   recurrences: the person is not selected.
4. Sites: bone, lung, liver, brain by their sets; any other secondary
   malignancy in the window sets ``mets_other``.
5. ER, PR, HER2: the interpretation measurement nearest the index date within
   the window; value Positive (9191) or Negative (9189), anything else or none
   is ``unknown``. T, N: the category text in ``value_source_value`` of the
   clinical T / N measurements (a leading c or p is dropped; unreadable is TX /
   NX). ECOG: ``value_as_number`` of the ECOG measurement nearest the index date.
6. **Surgery of the primary** is a time-varying exposure: the first procedure
   in the surgery set from ``DAYS_BEFORE`` days before the index date to the
   end of follow-up; ``surgery_months`` = days from index / 30.4375 (0 if
   before). The ladder's time-dependent and emulated-trial rungs use its date.
7. Survival = days from index to death (``death``) or to the end of the
   observation period, / 30.4375; age = completed years at the index date.
8. Systemic therapy (optional contract columns): any ``drug_exposure`` of the
   ingredient sets within the first year after the index date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from locoreg.cohort import omop_concepts as oc
from locoreg.cohort.sql import Dialect, translate
from locoreg.patient import N_CATEGORIES, T_CATEGORIES

# OMOP CDM v5.4 tables the cohort reads; ``episode`` is optional (oncology extension).
TABLES: tuple[str, ...] = (
    "person",
    "observation_period",
    "condition_occurrence",
    "procedure_occurrence",
    "drug_exposure",
    "measurement",
    "death",
    "concept",
    "concept_ancestor",
)
OPTIONAL_TABLES: tuple[str, ...] = ("episode",)
# Attrition counts along the cohort definition (:func:`flow_sql`).
FLOW: tuple[str, ...] = (
    "breast_cancer",
    "observed_at_diagnosis",
    "metastasis_in_window",
    "in_cohort",
)


def _ancestors(concepts: tuple[oc.Concept, ...]) -> str:
    """SQL condition on ``ancestor_concept_id`` selecting the set's ancestors.

    A concept with a source code is found by its (vocabulary, code) in the site's own
    ``concept`` table, so the cohort never depends on a concept id written here being
    right: ids can differ between vocabulary releases, and one (bone metastasis) could not
    be confirmed in public material. Only concepts without a known code are matched by id.
    """
    by_code = [c for c in concepts if c.code]
    by_id = [c for c in concepts if not c.code]
    terms = []
    if by_code:
        codes = " OR ".join(
            f"(vocabulary_id = '{c.vocabulary}' AND concept_code = '{c.code}')" for c in by_code
        )
        terms.append(f"ancestor_concept_id IN (SELECT concept_id FROM concept WHERE {codes})")
    if by_id:
        terms.append(f"ancestor_concept_id IN ({oc.ids(tuple(by_id))})")
    return " OR ".join(terms)


def _descendants(concepts: tuple[oc.Concept, ...], label: str) -> str:
    return (
        f"SELECT descendant_concept_id AS concept_id, '{label}' AS label FROM concept_ancestor "
        f"WHERE {_ancestors(concepts)}"
    )


def _category(raw: str, codes: tuple[str, ...], unknown: str) -> str:
    key = f"UPPER(REGEXP_REPLACE({raw}, '^[cCpP]', ''))"
    arms = " ".join(f"WHEN '{c.upper()}' THEN '{c}'" for c in codes)
    return f"COALESCE(CASE {key} {arms} END, '{unknown}')"


def _days(start: str, end: str) -> str:
    return f"DATE_DIFF('day', {start}, {end})"


def registry_sql(*, with_episode: bool = False) -> str:
    """Canonical SQL (DuckDB dialect) of the contract registry built from the OMOP tables."""
    before, after, per_month = oc.DAYS_BEFORE, oc.DAYS_AFTER, oc.DAYS_PER_MONTH
    sites = " UNION ALL ".join(
        _descendants(concepts, site) for site, concepts in oc.METASTASIS_SITES.items()
    )
    markers = " UNION ALL ".join(
        _descendants(concepts, name) for name, concepts in {**oc.RECEPTORS, **oc.STAGING}.items()
    )
    therapy = " UNION ALL ".join(
        _descendants(concepts, name) for name, concepts in oc.THERAPY.items()
    )
    episode = (
        "UNION ALL SELECT e.person_id, e.episode_start_date AS dx_date FROM episode e "
        "JOIN breast b ON b.concept_id = e.episode_object_concept_id "
        f"WHERE e.episode_concept_id = {oc.DISEASE_FIRST_OCCURRENCE.concept_id}"
        if with_episode
        else ""
    )
    in_window = f"BETWEEN -{before} AND {after}"
    receptor = (
        f"CASE WHEN m.value_as_concept_id = {oc.POSITIVE.concept_id} THEN 'positive' "
        f"WHEN m.value_as_concept_id = {oc.NEGATIVE.concept_id} THEN 'negative' "
        "ELSE 'unknown' END"
    )

    def pick(marker: str, column: str) -> str:
        return f"MAX(CASE WHEN label = '{marker}' THEN {column} END)"

    def site(name: str) -> str:
        return f"COALESCE(mt.{name}, 0) = 1 AS mets_{name}"

    return f"""
WITH
breast AS ({_descendants(oc.BREAST_CANCER, "breast_cancer")}),
metastasis AS ({_descendants(oc.METASTASIS, "metastasis")}),
site_map AS ({sites}),
marker_map AS ({markers}),
surgery_map AS ({_descendants(oc.SURGERY, "surgery")}),
therapy_map AS ({therapy}),
dx_events AS (
  SELECT c.person_id, c.condition_start_date AS dx_date FROM condition_occurrence c
  JOIN breast b ON b.concept_id = c.condition_concept_id
  {episode}
),
dx AS (SELECT person_id, MIN(dx_date) AS index_date FROM dx_events GROUP BY person_id),
observed AS (
  SELECT dx.person_id, dx.index_date, MAX(op.observation_period_end_date) AS obs_end
  FROM dx JOIN observation_period op ON op.person_id = dx.person_id
    AND op.observation_period_start_date <= dx.index_date
    AND dx.index_date <= op.observation_period_end_date
  GROUP BY dx.person_id, dx.index_date
),
met_events AS (
  SELECT o.person_id, COALESCE(s.label, 'other') AS site
  FROM observed o
  JOIN condition_occurrence c ON c.person_id = o.person_id
  JOIN metastasis m ON m.concept_id = c.condition_concept_id
  LEFT JOIN site_map s ON s.concept_id = c.condition_concept_id
  WHERE {_days("o.index_date", "c.condition_start_date")} {in_window}
),
mets AS (
  SELECT person_id,
    MAX(CASE WHEN site = 'bone' THEN 1 ELSE 0 END) AS bone,
    MAX(CASE WHEN site = 'lung' THEN 1 ELSE 0 END) AS lung,
    MAX(CASE WHEN site = 'liver' THEN 1 ELSE 0 END) AS liver,
    MAX(CASE WHEN site = 'brain' THEN 1 ELSE 0 END) AS brain,
    MAX(CASE WHEN site = 'other' THEN 1 ELSE 0 END) AS other
  FROM met_events GROUP BY person_id
),
marker_values AS (
  SELECT o.person_id, mm.label, {receptor} AS status,
    m.value_source_value AS value_text, m.value_as_number AS value_number,
    ROW_NUMBER() OVER (
      PARTITION BY o.person_id, mm.label
      ORDER BY ABS({_days("o.index_date", "m.measurement_date")}), m.measurement_id
    ) AS nearest
  FROM observed o
  JOIN measurement m ON m.person_id = o.person_id
  JOIN marker_map mm ON mm.concept_id = m.measurement_concept_id
  WHERE {_days("o.index_date", "m.measurement_date")} {in_window}
),
markers AS (
  SELECT person_id,
    {pick("er", "status")} AS er, {pick("pr", "status")} AS pr,
    {pick("her2", "status")} AS her2, {pick("t", "value_text")} AS t_text,
    {pick("n", "value_text")} AS n_text, {pick("ecog", "value_number")} AS ecog
  FROM marker_values WHERE nearest = 1 GROUP BY person_id
),
deaths AS (SELECT person_id, MIN(death_date) AS death_date FROM death GROUP BY person_id),
follow_up AS (
  SELECT o.person_id, o.index_date, d.death_date,
    COALESCE(d.death_date, o.obs_end) AS end_date
  FROM observed o LEFT JOIN deaths d ON d.person_id = o.person_id
),
surgery AS (
  SELECT f.person_id, MIN(p.procedure_date) AS surgery_date
  FROM follow_up f
  JOIN procedure_occurrence p ON p.person_id = f.person_id
  JOIN surgery_map s ON s.concept_id = p.procedure_concept_id
  WHERE {_days("f.index_date", "p.procedure_date")} >= -{before}
    AND p.procedure_date <= f.end_date
  GROUP BY f.person_id
),
therapy AS (
  SELECT o.person_id,
    MAX(CASE WHEN t.label = 'chemotherapy' THEN 1 ELSE 0 END) AS chemotherapy,
    MAX(CASE WHEN t.label = 'endocrine_therapy' THEN 1 ELSE 0 END) AS endocrine_therapy
  FROM observed o
  JOIN drug_exposure x ON x.person_id = o.person_id
  JOIN therapy_map t ON t.concept_id = x.drug_concept_id
  WHERE {_days("o.index_date", "x.drug_exposure_start_date")} BETWEEN -{before} AND 365
  GROUP BY o.person_id
),
cohort AS (
  SELECT
    CAST(f.person_id AS VARCHAR) AS patient_id,
    CAST(EXTRACT(YEAR FROM f.index_date) AS INTEGER) AS year_of_diagnosis,
    CAST(EXTRACT(YEAR FROM f.index_date) - p.year_of_birth - CASE
      WHEN COALESCE(p.month_of_birth, 1) > EXTRACT(MONTH FROM f.index_date) THEN 1
      WHEN COALESCE(p.month_of_birth, 1) = EXTRACT(MONTH FROM f.index_date)
        AND COALESCE(p.day_of_birth, 1) > EXTRACT(DAY FROM f.index_date) THEN 1
      ELSE 0 END AS INTEGER) AS age,
    COALESCE(k.er, 'unknown') AS er,
    COALESCE(k.pr, 'unknown') AS pr,
    COALESCE(k.her2, 'unknown') AS her2,
    {_category("k.t_text", T_CATEGORIES, "TX")} AS t,
    {_category("k.n_text", N_CATEGORIES, "NX")} AS n,
    {site("bone")}, {site("lung")}, {site("liver")}, {site("brain")}, {site("other")},
    s.surgery_date IS NOT NULL AS surgery,
    CASE WHEN s.surgery_date IS NOT NULL THEN
      CAST(GREATEST({_days("f.index_date", "s.surgery_date")}, 0) AS DOUBLE) / {per_month}
    END AS surgery_months,
    CAST({_days("f.index_date", "f.end_date")} AS DOUBLE) / {per_month} AS survival_months,
    f.death_date IS NOT NULL AS dead,
    CAST(k.ecog AS INTEGER) AS ecog,
    COALESCE(th.chemotherapy, 0) = 1 AS chemotherapy,
    COALESCE(th.endocrine_therapy, 0) = 1 AS endocrine_therapy
  FROM follow_up f
  JOIN mets mt ON mt.person_id = f.person_id
  JOIN person p ON p.person_id = f.person_id
  LEFT JOIN markers k ON k.person_id = f.person_id
  LEFT JOIN surgery s ON s.person_id = f.person_id
  LEFT JOIN therapy th ON th.person_id = f.person_id
  WHERE f.end_date >= f.index_date
)
SELECT * FROM cohort WHERE age BETWEEN 18 AND 110
""".strip()


def flow_sql(*, with_episode: bool = False, in_cohort: bool = True) -> str:
    """Counts along the cohort definition (attrition), canonical dialect.

    Reads the cohort itself from the table or view ``registry`` (already built), so that
    only the diagnosis, observation and metastasis steps are computed again. With
    ``in_cohort=False`` the last count is left out (the cohort was fetched elsewhere and
    counted there: a read-only database holds no ``registry``).
    """
    body = registry_sql(with_episode=with_episode)
    head, _, _ = body.rpartition("SELECT * FROM cohort")
    counts = (
        "SELECT (SELECT COUNT(*) FROM dx) AS breast_cancer, "
        "(SELECT COUNT(*) FROM observed) AS observed_at_diagnosis, "
        "(SELECT COUNT(*) FROM mets) AS metastasis_in_window"
    )
    return head + counts + (", (SELECT COUNT(*) FROM registry) AS in_cohort" if in_cohort else "")


def omop_sql(dialect: Dialect | str = Dialect.duckdb, *, with_episode: bool = False) -> str:
    """The contract registry from OMOP tables, in ``dialect``; a view named ``registry``."""
    return translate(registry_sql(with_episode=with_episode), dialect)


class OmopTables:
    """What every OMOP source has: the tables present (``episode`` is optional)."""

    tables: Mapping[str, str] | tuple[str, ...]

    @property
    def with_episode(self) -> bool:
        return "episode" in self.tables


@dataclass(frozen=True)
class OmopSource(OmopTables):
    """Where the OMOP tables are: one Parquet file (or a directory of them) per table."""

    directory: Path
    tables: dict[str, str]  # table name -> Parquet glob

    @property
    def shown(self) -> str:
        return self.directory.name

    def prepare(self) -> list[str]:
        """DuckDB statements to run before the tables can be read (none for Parquet)."""
        return []

    def relations(self) -> dict[str, str]:
        """DuckDB relation of each table."""
        return {name: f"read_parquet({_literal(glob)})" for name, glob in self.tables.items()}


@dataclass(frozen=True)
class DuckDBFile(OmopTables):
    """OMOP tables in a DuckDB database file, attached read-only (never written)."""

    path: Path
    schema: str
    tables: tuple[str, ...]

    @property
    def shown(self) -> str:
        return self.path.name

    def prepare(self) -> list[str]:
        return [f"ATTACH {_literal(str(self.path))} AS omop (READ_ONLY)"]

    def relations(self) -> dict[str, str]:
        schema = '"' + self.schema.replace('"', '""') + '"'
        return {name: f"omop.{schema}.{name}" for name in self.tables}


def find_tables(directory: str | Path) -> OmopSource:
    """Locate ``<table>.parquet`` or ``<table>/*.parquet`` for each OMOP table in ``directory``."""
    from locoreg.errors import FieldError, InputError

    directory = Path(directory)
    if not directory.is_dir():
        raise InputError.single("omop", f"no such directory: {directory}")
    found: dict[str, str] = {}
    for name in (*TABLES, *OPTIONAL_TABLES):
        single = directory / f"{name}.parquet"
        many = directory / name
        if single.is_file():
            found[name] = str(single)
        elif many.is_dir() and any(many.glob("*.parquet")):
            found[name] = str(many / "*.parquet")
    missing = [t for t in TABLES if t not in found]
    if missing:
        raise InputError(
            [
                FieldError(f"omop table {t}", f"not found in {directory} ({t}.parquet or {t}/)")
                for t in missing
            ]
        )
    return OmopSource(directory, found)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def duckdb_registry(source: OmopSource | DuckDBFile) -> tuple[Any, dict[str, int]]:
    """A DuckDB connection holding the cohort as table ``registry``, and the attrition counts."""
    import duckdb

    from locoreg.errors import InputError

    con = duckdb.connect(":memory:")
    try:
        for statement in source.prepare():
            con.execute(statement)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError.single("omop", f"cannot open {source.shown}: {first}") from None
    for name, relation in source.relations().items():
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM {relation}")
    try:
        con.execute(f"CREATE TABLE registry AS {registry_sql(with_episode=source.with_episode)}")
        row: Any = con.execute(flow_sql(with_episode=source.with_episode)).fetchone()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError.single("omop", f"cannot build the cohort: {first}") from None
    return con, {k: int(v) for k, v in zip(FLOW, row, strict=True)}


def extract_omop(
    where: str | Path,
    out: str | Path,
    selection: Any,
    *,
    engine: str = "duckdb",
    schema: str | None = None,
) -> dict[str, Any]:
    """Build the cohort from the OMOP tables ``where`` and write the analytic table.

    ``where`` is a directory of Parquet tables, or a database URL
    (:func:`locoreg.cohort.omop_database.open_database`: PostgreSQL, where the cohort
    SQL runs in the database, or a DuckDB file); ``schema`` names the schema of the CDM
    tables in a database. ``engine`` ``duckdb`` (embedded) or ``spark`` (PySpark,
    :mod:`locoreg.cohort.spark`, Parquet directories); every route runs the same
    translated SQL. Returns the provenance written into the file (a URL without its
    password).
    """
    import duckdb

    from locoreg.cohort.analytic import write_query
    from locoreg.cohort.omop_database import (
        PostgresDatabase,
        is_url,
        open_database,
        postgres_registry,
    )
    from locoreg.cohort.select import extraction_sql
    from locoreg.errors import InputError

    if engine not in ("duckdb", "spark"):
        raise InputError.single("engine", f"unknown engine {engine!r}", "duckdb, spark")
    source: OmopSource | DuckDBFile | PostgresDatabase
    if is_url(str(where)):
        if engine == "spark":
            raise InputError.single(
                "engine",
                "spark reads OMOP tables from a Parquet directory; a database URL runs "
                "the cohort SQL in that database",
                "duckdb",
            )
        source = open_database(str(where), schema)
    else:
        if schema is not None:
            raise InputError.single("omop-schema", "applies to a database URL only")
        source = find_tables(where)
    if isinstance(source, PostgresDatabase):
        frame, flow = postgres_registry(source)
        con = duckdb.connect(":memory:")
        con.register("fetched", frame)
        con.execute("CREATE TABLE registry AS SELECT * FROM fetched")
        query = extraction_sql(selection, has_ecog=True)
        where_ran = "PostgreSQL (cohort SQL in the database) + DuckDB embedded"
    elif engine == "spark":
        from locoreg.cohort.spark import spark_extract

        if not isinstance(source, OmopSource):
            raise InputError.single("engine", "spark reads a Parquet directory", "duckdb")
        frame, flow = spark_extract(source, selection)
        con = duckdb.connect(":memory:")
        con.register("extracted", frame)
        query = "SELECT * FROM extracted ORDER BY patient_id"
        where_ran = "Spark (PySpark)"
    else:
        con, flow = duckdb_registry(source)
        query = extraction_sql(selection, has_ecog=True)
        where_ran = "DuckDB embedded"
    n_row: Any = con.execute(f"SELECT COUNT(*) FROM ({query})").fetchone()
    n = int(n_row[0])
    if n == 0:
        raise InputError.single(
            "selection", f"no patient left after selection ({selection.describe()})"
        )
    provenance: dict[str, Any] = {
        "file": source.shown,
        "source": "OMOP CDM v5.4",
        "extraction": f"OMOP cohort SQL + portable SQL, {where_ran}"
        + (" (with the episode table)" if source.with_episode else ""),
        "engine": engine,
        "omop_flow": flow,
        "rows_in_file": flow["in_cohort"],
        "rows_excluded": 0,
        "excluded_by_rule": {},
        "selection": selection.describe(),
        "selected": n,
        "not_selected": flow["in_cohort"] - n,
    }
    try:
        write_query(con, query, Path(out), provenance)
    finally:
        con.close()
    return provenance


__all__ = [
    "OPTIONAL_TABLES",
    "TABLES",
    "DuckDBFile",
    "OmopSource",
    "duckdb_registry",
    "extract_omop",
    "find_tables",
    "flow_sql",
    "omop_sql",
    "registry_sql",
]
