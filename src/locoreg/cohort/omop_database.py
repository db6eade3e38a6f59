"""OMOP CDM tables in a database: the cohort SQL runs where the data live.

A site's OMOP CDM usually sits in PostgreSQL (often in a schema such as
``cdm``), sometimes in a DuckDB file. :func:`open_database` reads a URL:

- ``postgresql+psycopg://user:password@host:5432/db`` (SQLAlchemy form; also
  ``postgresql://``): the cohort SQL (:func:`locoreg.cohort.omop.registry_sql`,
  translated to PostgreSQL by sqlglot) runs in the database inside a
  **read-only** transaction; only the cohort rows (one per patient, the registry
  contract's columns) and the attrition counts come back. Nothing is created in
  the database, so a read-only account is enough.
- ``duckdb:///path/to/omop.duckdb``: the file is attached read-only to an
  embedded DuckDB and read as the Parquet directories are.

``--omop-schema`` names the schema of the CDM tables (PostgreSQL default
``public``, DuckDB ``main``); the vocabulary tables (``concept``,
``concept_ancestor``) are read from the same schema. The URL shown in the
provenance never carries the password.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from locoreg.cohort.omop import (
    FLOW,
    OPTIONAL_TABLES,
    TABLES,
    DuckDBFile,
    OmopTables,
    flow_sql,
    registry_sql,
)
from locoreg.cohort.sql import translate
from locoreg.errors import FieldError, InputError

if TYPE_CHECKING:
    import pandas as pd

FIELD = "omop"
SCHEMES = "postgresql+psycopg://user@host/db, postgresql://…, duckdb:///path/file.duckdb"


def is_url(text: str) -> bool:
    """A database URL rather than a directory."""
    return "://" in text


@dataclass(frozen=True)
class PostgresDatabase(OmopTables):
    """OMOP tables in PostgreSQL (read through SQLAlchemy and psycopg)."""

    url: str
    schema: str
    tables: tuple[str, ...]

    @property
    def shown(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)


def _first_line(exc: BaseException) -> str:
    """The first line of the driver's message (SQLAlchemy wraps it as ``orig``)."""
    exc = getattr(exc, "orig", None) or exc
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _missing(found: set[str], where: str) -> list[FieldError]:
    return [
        FieldError(f"omop table {t}", f"not found in {where}") for t in TABLES if t not in found
    ]


def open_database(url: str, schema: str | None = None) -> PostgresDatabase | DuckDBFile:
    """The OMOP source at ``url``, its tables checked (an InputError names what is wrong)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError.single(FIELD, "not a database URL", SCHEMES) from None
    backend = parsed.get_backend_name()
    if backend == "duckdb":
        return _duckdb_file(Path(parsed.database or ""), schema or "main")
    if backend == "postgresql":
        if parsed.drivername == "postgresql":  # the driver locoreg installs is psycopg 3
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(False)
        return _postgres(url, schema or "public")
    raise InputError.single(FIELD, f"unsupported database {backend!r}", SCHEMES)


def _duckdb_file(path: Path, schema: str) -> DuckDBFile:
    import duckdb

    if not path.is_file():
        raise InputError.single(FIELD, f"no such DuckDB file: {path}")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise InputError.single(FIELD, f"cannot open {path.name}: {_first_line(exc)}") from None
    try:
        rows = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [schema]
        ).fetchall()
    finally:
        con.close()
    found = {str(r[0]).lower() for r in rows}
    if missing := _missing(found, f"schema {schema!r} of {path.name}"):
        raise InputError(missing)
    present = tuple(t for t in (*TABLES, *OPTIONAL_TABLES) if t in found)
    return DuckDBFile(path, schema, present)


def _engine(url: str) -> Any:
    from sqlalchemy import create_engine

    try:
        return create_engine(url, connect_args={"connect_timeout": 10})
    except ModuleNotFoundError as exc:
        raise InputError.single(
            FIELD,
            f"the database driver is not installed ({exc.name}); "
            "install it with: pip install 'locoreg[postgresql]'",
        ) from None


def _postgres(url: str, schema: str) -> PostgresDatabase:
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    shown = PostgresDatabase(url, schema, ()).shown
    engine = _engine(url)
    try:
        found = {t.lower() for t in inspect(engine).get_table_names(schema=schema)}
    except SQLAlchemyError as exc:
        raise InputError.single(FIELD, f"cannot read {shown}: {_first_line(exc)}") from None
    finally:
        engine.dispose()
    if missing := _missing(found, f"schema {schema!r} of {shown}"):
        raise InputError(missing)
    present = tuple(t for t in (*TABLES, *OPTIONAL_TABLES) if t in found)
    return PostgresDatabase(url, schema, present)


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """PostgreSQL ``numeric`` arrives as ``Decimal``: the registry's months are floats."""
    from decimal import Decimal

    for column in frame.columns:
        values = frame[column].dropna()
        if frame[column].dtype == object and len(values) and isinstance(values.iloc[0], Decimal):
            frame[column] = frame[column].astype(float)
    return frame


def postgres_registry(db: PostgresDatabase) -> tuple[pd.DataFrame, dict[str, int]]:
    """The cohort (a DataFrame with the registry contract's columns) and the attrition
    counts, computed in the database in one read-only transaction."""
    import pandas as pd
    from sqlalchemy.exc import SQLAlchemyError

    # psycopg reads "%" as a placeholder marker even without parameters.
    cohort = translate(registry_sql(with_episode=db.with_episode), "postgres").replace("%", "%%")
    counts = translate(flow_sql(with_episode=db.with_episode, in_cohort=False), "postgres").replace(
        "%", "%%"
    )
    engine = _engine(db.url)
    try:
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            conn.exec_driver_sql(
                "SELECT set_config('search_path', %(schema)s, true)", {"schema": db.schema}
            )
            result = conn.exec_driver_sql(cohort)
            frame = _numeric(pd.DataFrame(result.fetchall(), columns=list(result.keys())))
            row: Any = conn.exec_driver_sql(counts).fetchone()
    except SQLAlchemyError as exc:
        raise InputError.single(
            FIELD,
            f"cannot build the cohort in {db.shown}: {_first_line(exc)}",
        ) from None
    finally:
        engine.dispose()
    flow = {k: int(v) for k, v in zip(FLOW[:-1], row, strict=True)}
    flow[FLOW[-1]] = len(frame)
    return frame, flow


__all__ = ["PostgresDatabase", "is_url", "open_database", "postgres_registry"]
