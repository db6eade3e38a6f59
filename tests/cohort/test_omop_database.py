"""`cohort extract --omop URL`: OMOP tables in a database (PostgreSQL, a DuckDB file)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from locoreg.cli import app
from locoreg.cohort.analytic import read_analytic
from locoreg.cohort.omop_simulate import omop_tables, write_omop
from locoreg.cohort.simulate import simulate_registry

pytestmark = pytest.mark.xdist_group("omop_database")


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200"})


def _from_directory(runner: CliRunner, tmp_path: Path, seed: int) -> tuple[Path, dict]:
    """The analytic table of the same simulated site extracted from Parquet tables."""
    directory = write_omop(simulate_registry(400, seed=seed), tmp_path / "omop", seed=seed)
    out = tmp_path / "from_directory.parquet"
    res = runner.invoke(app, ["cohort", "extract", "--omop", str(directory), "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out, read_analytic(out)[1]


def _rows(path: Path) -> pd.DataFrame:
    return duckdb.connect().execute(f"SELECT * FROM '{path}' ORDER BY patient_id").df()


def _same_table(a: Path, b: Path) -> None:
    fa, fb = _rows(a), _rows(b)
    assert list(fa.columns) == list(fb.columns)
    assert len(fa) == len(fb) == 400
    for column in fa.columns:
        x, y = fa[column].to_numpy(), fb[column].to_numpy()
        if x.dtype.kind == "f":
            assert ((abs(x - y) <= 1e-12) | ((x != x) & (y != y))).all(), column
        else:
            assert (x == y).all(), column


def test_extract_from_a_duckdb_file_in_a_schema(runner: CliRunner, tmp_path: Path) -> None:
    want, want_prov = _from_directory(runner, tmp_path, seed=21)
    path = tmp_path / "site.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA cdm")
    for name, frame in omop_tables(simulate_registry(400, seed=21), seed=21).items():
        con.register("frame", frame)
        cols = ", ".join(
            f'CAST("{c}" AS DATE) AS "{c}"' if c.endswith("_date") else f'"{c}"'
            for c in frame.columns
        )
        con.execute(f"CREATE TABLE cdm.{name} AS SELECT {cols} FROM frame")
        con.unregister("frame")
    con.close()
    out = tmp_path / "a.parquet"
    url = f"duckdb:///{path}"
    res = runner.invoke(app, ["cohort", "extract", "--omop", url, "-o", str(out)])
    assert res.exit_code == 2 and "omop table person: not found in schema 'main'" in res.output
    res = runner.invoke(
        app, ["cohort", "extract", "--omop", url, "--omop-schema", "cdm", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    prov = read_analytic(out)[1]
    _same_table(out, want)
    assert prov["omop_flow"] == want_prov["omop_flow"]
    assert prov["file"] == "site.duckdb"


def test_extract_in_postgresql_read_only(runner: CliRunner, tmp_path: Path) -> None:
    """The cohort SQL runs in PostgreSQL (schema cdm) and gives the Parquet route's table;
    the provenance keeps the URL without its password."""
    from sqlalchemy import create_engine, make_url
    from tests.helpers.postgresql import temporary_database

    want, want_prov = _from_directory(runner, tmp_path, seed=22)
    tables = omop_tables(simulate_registry(400, seed=22), seed=22)
    with temporary_database() as url:
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("CREATE SCHEMA cdm")
            for name, frame in tables.items():
                frame.to_sql(name, engine, schema="cdm", index=False)
        finally:
            engine.dispose()
        out = tmp_path / "pg.parquet"
        res = runner.invoke(
            app, ["cohort", "extract", "--omop", url, "--omop-schema", "cdm", "-o", str(out)]
        )
        assert res.exit_code == 0, res.output
        prov = read_analytic(out)[1]
        _same_table(out, want)
        assert prov["omop_flow"] == want_prov["omop_flow"]
        password = make_url(url).password
        assert password and f":{password}@" not in prov["file"] and ":***@" in prov["file"]
        assert "PostgreSQL" in prov["extraction"]

        res = runner.invoke(app, ["cohort", "extract", "--omop", url, "-o", str(out)])
        assert res.exit_code == 2 and "omop table person: not found in schema 'public'" in (
            res.output
        )


def test_bad_database_urls_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    out = str(tmp_path / "a.parquet")
    cases = {
        "mysql://u@h/db": "unsupported database 'mysql'",
        f"duckdb:///{tmp_path / 'none.duckdb'}": "no such DuckDB file",
        "postgresql+psycopg://u:secret@127.0.0.1:9/db": "cannot read postgresql+psycopg://u:***@",
    }
    for url, message in cases.items():
        res = runner.invoke(app, ["cohort", "extract", "--omop", url, "-o", out])
        assert res.exit_code == 2, (url, res.output)
        assert message in res.output and "Traceback" not in res.output, res.output
        assert "secret" not in res.output
    res = runner.invoke(
        app, ["cohort", "extract", "--omop", "duckdb:///x.duckdb", "--engine", "spark", "-o", out]
    )
    assert res.exit_code == 2 and "spark reads OMOP tables from a Parquet directory" in res.output
    res = runner.invoke(
        app,
        ["cohort", "extract", "--omop", str(tmp_path), "--omop-schema", "cdm", "-o", out],
    )
    assert res.exit_code == 2 and "omop-schema" in res.output
