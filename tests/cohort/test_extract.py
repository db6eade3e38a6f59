"""Portable extraction: `cohort sql --dialect`, `cohort extract`, analysing an extracted table.

The printed SQL must run *as printed* on a table named ``registry`` that has
the contract columns and nothing else (no hidden row numbers): in DuckDB always,
in PostgreSQL when ``LOCOREG_TEST_POSTGRESQL_URL`` names a server.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from tests.helpers.postgresql import temporary_database
from typer.testing import CliRunner

from locoreg.cli import app
from locoreg.cohort.analytic import ANALYTIC_COLUMNS, read_analytic
from locoreg.cohort.load import load_registry
from locoreg.cohort.select import extract
from locoreg.cohort.simulate import simulate_registry, write_registry

RUNGS = ("naive", "adjusted", "iptw", "matched", "landmark", "time_dependent", "emulated_trial")


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200"})


def _printed_sql(runner: CliRunner, *args: str) -> str:
    res = runner.invoke(app, ["cohort", "sql", *args])
    assert res.exit_code == 0, res.output
    return res.stdout


def _contract_frame(n: int, seed: int, tmp_path: Path) -> pd.DataFrame:
    """A contract registry as typed columns (booleans, integers, numbers, text) and no others."""
    path = write_registry(simulate_registry(n, seed=seed), tmp_path / "contract.parquet")
    frame = duckdb.connect().execute(f"SELECT * FROM read_parquet('{path}')").df()
    # A few rows that the default selection must leave out (no metastatic site).
    for site in ("bone", "lung", "liver", "brain", "other"):
        frame.loc[:4, f"mets_{site}"] = False
    return frame


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.columns = [str(c).lower() for c in out.columns]
    return out[list(ANALYTIC_COLUMNS)].reset_index(drop=True)


def _embedded(frame: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    """The analytic table as ``locoreg`` extracts it from the same registry file."""
    path = tmp_path / "embedded.parquet"
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute(f"COPY frame TO '{path}' (FORMAT PARQUET)")
    table = extract(load_registry(path))
    cols = {"time": table.time, "event": table.event, "surgery": table.surgery}
    cols |= {"surgery_time": table.surgery_time, "age": table.age, **table.covariates}
    return pd.DataFrame(cols)


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "spark"])
def test_printed_sql_reads_only_contract_columns(runner: CliRunner, dialect: str) -> None:
    sql = _printed_sql(runner, "--dialect", dialect, "--ecog")
    assert "_row" not in sql and "::" not in sql
    assert "FROM registry" in sql and "patient_id" in sql


def test_duckdb_sql_runs_as_printed_on_a_contract_table(runner: CliRunner, tmp_path: Path) -> None:
    frame = _contract_frame(400, 3, tmp_path)
    con = duckdb.connect()
    con.execute("CREATE TABLE registry AS SELECT * FROM frame")
    got = _rows(con.execute(_printed_sql(runner, "--dialect", "duckdb", "--ecog")).df())
    assert len(got) == 395  # the 5 rows without a metastatic site are left out
    assert list(got["patient_id"]) == sorted(got["patient_id"])
    want = _embedded(frame, tmp_path)
    pd.testing.assert_frame_equal(got.drop(columns="patient_id"), want[got.columns[1:]])


def test_postgres_sql_runs_as_printed(runner: CliRunner, tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    frame = _contract_frame(300, 5, tmp_path)
    sql = _printed_sql(runner, "--dialect", "postgres", "--ecog", "--age-min", "40")
    with temporary_database() as url:
        engine = create_engine(url)
        try:
            # Contract types in PostgreSQL: boolean, bigint, double precision, text.
            frame.to_sql("registry", engine, index=False)
            with engine.connect() as conn:
                got = _rows(pd.read_sql_query(sql.replace("%", "%%"), conn))
        finally:
            engine.dispose()
    con = duckdb.connect()
    con.execute("CREATE TABLE registry AS SELECT * FROM frame")
    want = _rows(con.execute(_printed_sql(runner, "--ecog", "--age-min", "40")).df())
    assert len(got) == len(want) > 0
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_extract_then_analyze_gives_the_registry_ladder(runner: CliRunner, tmp_path: Path) -> None:
    reg = write_registry(simulate_registry(1500, seed=11), tmp_path / "reg.csv")
    out = tmp_path / "analytic.parquet"
    res = runner.invoke(app, ["cohort", "extract", str(reg), "-o", str(out)])
    assert res.exit_code == 0, res.output
    table, provenance = read_analytic(out)
    assert table.n == 1500 and provenance["file"] == "reg.csv"
    assert provenance["engine"] == "duckdb"

    direct = runner.invoke(app, ["cohort", "analyze", str(reg), "--format", "json"])
    via = runner.invoke(app, ["cohort", "analyze", str(out), "--format", "json"])
    assert direct.exit_code == 0 and via.exit_code == 0, via.output
    a, b = json.loads(direct.stdout), json.loads(via.stdout)
    for rung in RUNGS:
        assert b[rung]["hr"] == pytest.approx(a[rung]["hr"], rel=1e-9), rung
        assert b[rung]["n"] == a[rung]["n"]
    assert b["cohort"]["source"] == "analytic table extracted from registry file reg.csv"

    report = tmp_path / "r.html"
    res = runner.invoke(app, ["cohort", "analyze", str(out), "--report", str(report)])
    assert res.exit_code == 0, res.output
    assert "Source: analytic table extracted from registry file reg.csv" in report.read_text()


def test_extract_applies_the_selection_and_analyze_refuses_a_second_one(
    runner: CliRunner, tmp_path: Path
) -> None:
    reg = write_registry(simulate_registry(600, seed=2), tmp_path / "reg.parquet")
    out = tmp_path / "a.parquet"
    res = runner.invoke(app, ["cohort", "extract", str(reg), "--age-min", "60", "-o", str(out)])
    assert res.exit_code == 0, res.output
    table, provenance = read_analytic(out)
    assert table.age.min() >= 60 and provenance["not_selected"] == 600 - table.n
    res = runner.invoke(app, ["cohort", "analyze", str(out), "--age-max", "70"])
    assert res.exit_code == 2 and "extracted analytic table" in res.output


def _write(frame: pd.DataFrame, path: Path) -> Path:
    duckdb.connect().execute(f"COPY (SELECT * FROM frame) TO '{path}' (FORMAT PARQUET)")
    return path


def test_bad_analytic_tables_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    cols = {c: np.ones(20) for c in ANALYTIC_COLUMNS if c != "patient_id"}
    cols["surgery_time"] = np.full(20, np.nan)  # operated without a time
    res = runner.invoke(
        app, ["cohort", "analyze", str(_write(pd.DataFrame(cols), tmp_path / "a.parquet"))]
    )
    assert res.exit_code == 2 and "column surgery_time: 20 rows operated" in res.output
    del cols["age10"]
    res = runner.invoke(
        app, ["cohort", "analyze", str(_write(pd.DataFrame(cols), tmp_path / "b.parquet"))]
    )
    assert res.exit_code == 2 and "column age10: required column" in res.output
    res = runner.invoke(app, ["cohort", "extract", "x.parquet", "-o", str(tmp_path / "x.csv")])
    assert res.exit_code == 2 and ".parquet" in res.output
