"""The extracted analytic table as a file: written by ``cohort extract``, read by ``analyze``.

One row per selected patient with the columns of the extraction SQL
(:mod:`locoreg.cohort.sql`): ``patient_id``, ``time``, ``event``, ``surgery``,
``surgery_time`` (empty when not operated), ``age`` and the covariates. The
Parquet file carries its provenance (source, engine, selection, counts) as
key-value metadata under the key ``locoreg``, so that an analysis of the table
can name where it came from.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from numpy.typing import NDArray

from locoreg.cohort.select import BASE_COVARIATES, OPTIONAL_COVARIATES, AnalyticTable
from locoreg.errors import FieldError, InputError

OUTCOME_COLUMNS: tuple[str, ...] = ("time", "event", "surgery", "surgery_time", "age")
ANALYTIC_COLUMNS: tuple[str, ...] = (
    "patient_id",
    *OUTCOME_COLUMNS,
    *BASE_COVARIATES,
    *OPTIONAL_COVARIATES,
)
METADATA_KEY = "locoreg"


def from_columns(cols: Mapping[str, Any], *, has_ecog: bool) -> AnalyticTable:
    """An :class:`AnalyticTable` from columns named as in the extraction SQL (NULL → NaN)."""

    def arr(name: str) -> NDArray[np.float64]:
        values = cols[name]
        if isinstance(values, np.ma.MaskedArray):  # DuckDB's fetchnumpy masks NULLs
            return np.asarray(np.ma.filled(values.astype(np.float64), np.nan), dtype=np.float64)
        return np.asarray(values, dtype=np.float64)

    n = len(cols["time"])
    return AnalyticTable(
        time=arr("time"),
        event=arr("event"),
        surgery=arr("surgery"),
        surgery_time=arr("surgery_time"),
        age=arr("age"),
        source_row=np.arange(1, n + 1, dtype=np.int64),
        covariates={k: arr(k) for k in (*BASE_COVARIATES, *OPTIONAL_COVARIATES)},
        has_ecog=has_ecog,
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def write_query(
    con: duckdb.DuckDBPyConnection, query: str, path: Path, provenance: Mapping[str, Any]
) -> int:
    """Write the result of ``query`` as Parquet with ``provenance``; returns the row count.

    Written to a temporary file beside ``path`` and renamed, so that a failure
    never leaves a half-written table behind.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(suffix=".parquet", dir=path.resolve().parent)
    os.close(fd)
    try:
        meta = _literal(json.dumps(dict(provenance), default=str))
        con.execute(
            f"COPY ({query}) TO {_literal(tmp)} (FORMAT PARQUET, KV_METADATA {{locoreg: {meta}}})"
        )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    row: Any = con.execute(f"SELECT COUNT(*) FROM read_parquet({_literal(str(path))})").fetchone()
    return int(row[0])


def columns_of(path: Path) -> set[str]:
    """Lower-cased column names of a Parquet or CSV file (empty set if unreadable)."""
    from locoreg.cohort.load import _reader

    try:
        con = duckdb.connect(":memory:")
        try:
            rows = con.execute(f"DESCRIBE SELECT * FROM {_reader(path)}").fetchall()
        finally:
            con.close()
    except (duckdb.Error, InputError):
        return set()
    return {str(r[0]).lower() for r in rows}


def is_analytic(path: Path) -> bool:
    """Whether ``path`` holds an extracted analytic table rather than a registry."""
    cols = columns_of(path)
    return {"time", "event", "surgery_time"} <= cols and "survival_months" not in cols


def provenance_of(path: Path) -> dict[str, Any]:
    """The provenance stored by :func:`write_query` (empty for a table made elsewhere)."""
    con = duckdb.connect(":memory:")
    try:
        rows = con.execute(
            f"SELECT key, value FROM parquet_kv_metadata({_literal(str(path))})"
        ).fetchall()
    except duckdb.Error:
        return {}
    finally:
        con.close()
    for key, value in rows:
        if bytes(key).decode() == METADATA_KEY:
            try:
                out = json.loads(bytes(value).decode())
            except ValueError:
                return {}
            return out if isinstance(out, dict) else {}
    return {}


def read_analytic(path: str | Path) -> tuple[AnalyticTable, dict[str, Any]]:
    """Read and check an analytic table (Parquet or CSV); returns it with its provenance."""
    from locoreg.cohort.load import _reader

    path = Path(path)
    if not path.is_file():
        raise InputError.single("file", f"no such file: {path}")
    present = columns_of(path)
    required = [c for c in ANALYTIC_COLUMNS if c != "patient_id"]
    missing = [c for c in required if c not in present]
    if missing:
        raise InputError(
            [FieldError(f"column {c}", "required column of an analytic table") for c in missing]
        )
    con = duckdb.connect(":memory:")
    try:
        casts = ", ".join(f'TRY_CAST("{c}" AS DOUBLE) AS "{c}"' for c in required)
        con.execute(f"CREATE TABLE t AS SELECT {casts} FROM {_reader(path)}")
        errors = []
        for c in required:
            allowed_null = c == "surgery_time"
            bad: Any = con.execute(
                f'SELECT COUNT(*) FROM t WHERE "{c}" IS NULL OR isnan("{c}")'
                if not allowed_null
                else "SELECT COUNT(*) FROM t WHERE surgery = 1 AND surgery_time IS NULL"
            ).fetchone()
            if int(bad[0]):
                what = (
                    "rows operated without a surgery time"
                    if allowed_null
                    else "rows with a missing or non-numeric value"
                )
                errors.append(FieldError(f"column {c}", f"{int(bad[0])} {what}"))
        n_bad_time: Any = con.execute("SELECT COUNT(*) FROM t WHERE time <= 0").fetchone()
        if int(n_bad_time[0]):
            errors.append(FieldError("column time", f"{int(n_bad_time[0])} rows not > 0"))
        for c in ("event", "surgery"):
            n01: Any = con.execute(f"SELECT COUNT(*) FROM t WHERE {c} NOT IN (0, 1)").fetchone()
            if int(n01[0]):
                errors.append(FieldError(f"column {c}", f"{int(n01[0])} rows", "0, 1"))
        if errors:
            raise InputError(errors)
        cols = con.execute("SELECT * FROM t").fetchnumpy()
    finally:
        con.close()
    if len(cols["time"]) == 0:
        raise InputError.single("file", f"{path.name} has no rows")
    ecog_missing = np.asarray(cols["ecog_missing"], dtype=np.float64)
    table = from_columns(cols, has_ecog=bool(ecog_missing.min() < 1))
    return table, provenance_of(path) if path.suffix.lower() == ".parquet" else {}


def extract_registry(registry: Any, selection: Any, path: str | Path) -> dict[str, Any]:
    """Run the portable extraction on a loaded registry and write the analytic table to ``path``.

    Returns the provenance written into the file (with ``selected``).
    """
    from locoreg.cohort.select import extraction_sql

    has_ecog = "ecog" in registry.columns
    provenance: dict[str, Any] = {
        "file": Path(registry.source).name,
        "source": "registry file",
        "extraction": "locoreg cohort extract (portable SQL, DuckDB embedded)",
        "engine": "duckdb",
        "rows_in_file": registry.n_rows,
        "rows_excluded": registry.n_excluded,
        "excluded_by_rule": registry.excluded_by_rule,
        "selection": selection.describe(),
    }
    query = extraction_sql(selection, has_ecog=has_ecog)
    n_row: Any = registry.con.execute(f"SELECT COUNT(*) FROM ({query})").fetchone()
    n = int(n_row[0])
    if n == 0:
        raise InputError.single(
            "selection", f"no patient left after selection ({selection.describe()})"
        )
    provenance["selected"] = n
    provenance["not_selected"] = registry.n_kept - n
    write_query(registry.con, query, Path(path), provenance)
    return provenance


__all__ = [
    "ANALYTIC_COLUMNS",
    "extract_registry",
    "from_columns",
    "is_analytic",
    "provenance_of",
    "read_analytic",
    "write_query",
]
