"""OMOP CDM v5.4 route: synthetic OMOP tables → cohort → analytic table → ladder (truth known)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from locoreg.cli import app
from locoreg.cohort import omop_concepts as oc
from locoreg.cohort.analytic import read_analytic
from locoreg.cohort.omop import duckdb_registry, find_tables
from locoreg.cohort.omop_simulate import write_omop
from locoreg.cohort.simulate import simulate_registry, write_registry

CONTRACT = (
    "year_of_diagnosis",
    "age",
    "er",
    "pr",
    "her2",
    "t",
    "n",
    "mets_bone",
    "mets_lung",
    "mets_liver",
    "mets_brain",
    "mets_other",
    "surgery",
    "dead",
    "ecog",
)


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200"})


def test_cohort_from_omop_equals_the_simulated_registry(tmp_path: Path) -> None:
    """Every contract column comes back; times to within the rounding to whole days."""
    sim = simulate_registry(1200, seed=3)
    source = find_tables(write_omop(sim, tmp_path / "omop", seed=3))
    con, flow = duckdb_registry(source)
    # 10 % without metastasis, 10 % with metastasis only later, 10 % without breast cancer.
    assert flow == {
        "breast_cancer": 1440,
        "observed_at_diagnosis": 1440,
        "metastasis_in_window": 1200,
        "in_cohort": 1200,
    }
    got = con.execute("SELECT * FROM registry ORDER BY CAST(patient_id AS INTEGER)").df()
    path = write_registry(sim, tmp_path / "r.parquet")
    want = duckdb.connect().execute(f"SELECT * FROM '{path}' ORDER BY patient_id").df()
    for column in CONTRACT:
        assert (got[column].to_numpy() == want[column].to_numpy()).all(), column
    half_day = 0.5 / oc.DAYS_PER_MONTH + 1e-9
    assert np.abs(got["survival_months"] - want["survival_months"]).max() <= half_day
    op = want["surgery"].to_numpy()
    diff = got["surgery_months"].to_numpy()[op] - want["surgery_months"].to_numpy()[op]
    assert np.abs(diff).max() <= half_day


def test_omop_route_recovers_the_truth(runner: CliRunner, tmp_path: Path) -> None:
    """True HR 1.0: the time-dependent and emulated-trial rungs recover it from OMOP data."""
    omop = tmp_path / "omop"
    res = runner.invoke(
        app,
        ["cohort", "simulate", "--n", "5000", "--seed", "2", "--format", "omop", "-o", str(omop)],
    )
    assert res.exit_code == 0, res.output
    assert {p.name for p in omop.iterdir()} >= {"person.parquet", "concept_ancestor.parquet"}
    out = tmp_path / "analytic.parquet"
    res = runner.invoke(app, ["cohort", "extract", "--omop", str(omop), "-o", str(out)])
    assert res.exit_code == 0, res.output
    table, provenance = read_analytic(out)
    assert table.n == 5000 and provenance["source"] == "OMOP CDM v5.4"
    assert provenance["omop_flow"]["breast_cancer"] == 6000

    res = runner.invoke(app, ["cohort", "analyze", str(out), "--format", "json"])
    assert res.exit_code == 0, res.output
    ladder = json.loads(res.stdout)
    assert ladder["naive"]["ci_high"] < 0.6  # the biases are still there
    for rung in ("time_dependent", "emulated_trial"):
        e = ladder[rung]
        assert e["ci_low"] < 1.0 < e["ci_high"], rung
        assert 0.85 < e["hr"] < 1.15, rung
    assert ladder["cohort"]["source"] == f"analytic table extracted from OMOP CDM v5.4 {omop.name}"


def test_omop_errors_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    res = runner.invoke(
        app,
        ["cohort", "extract", "--omop", str(tmp_path / "empty"), "-o", str(tmp_path / "a.parquet")],
    )
    assert res.exit_code == 2 and "omop table person: not found" in res.output
    res = runner.invoke(app, ["cohort", "extract", "-o", str(tmp_path / "a.parquet")])
    assert res.exit_code == 2 and "either a registry file or --omop" in res.output
    res = runner.invoke(
        app, ["cohort", "simulate", "--n", "10", "--format", "fhir", "-o", str(tmp_path / "x")]
    )
    assert res.exit_code == 2 and "allowed: registry, omop" in res.output


def test_printed_omop_sql_reads_only_omop_tables(runner: CliRunner, tmp_path: Path) -> None:
    """`cohort sql --omop` runs as printed on OMOP tables (here in DuckDB)."""
    sim = simulate_registry(300, seed=4)
    source = find_tables(write_omop(sim, tmp_path / "omop", seed=4))
    res = runner.invoke(app, ["cohort", "sql", "--omop"])
    assert res.exit_code == 0, res.output
    con = duckdb.connect()
    for name, glob in source.tables.items():
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{glob}')")
    view, _, analytic = res.stdout.partition(";\n")
    con.execute(view)
    rows = con.execute(analytic).fetchall()
    assert len(rows) == 300
    for dialect in ("postgres", "spark"):
        res = runner.invoke(app, ["cohort", "sql", "--omop", "--dialect", dialect])
        assert res.exit_code == 0 and "concept_ancestor" in res.stdout


def test_printed_omop_sql_runs_in_postgres(runner: CliRunner, tmp_path: Path) -> None:
    """`cohort sql --omop --dialect postgres` runs as printed on OMOP tables in PostgreSQL."""
    from sqlalchemy import create_engine
    from tests.helpers.postgresql import temporary_database

    from locoreg.cohort.omop_simulate import omop_tables

    sim = simulate_registry(300, seed=12)
    tables = omop_tables(sim, seed=12)
    res = runner.invoke(app, ["cohort", "sql", "--omop", "--dialect", "postgres"])
    assert res.exit_code == 0, res.output
    with temporary_database() as url:
        engine = create_engine(url)
        try:
            for name, frame in tables.items():
                frame.to_sql(name, engine, index=False)
            with engine.begin() as conn:
                view, _, analytic = res.stdout.partition(";\n")
                conn.exec_driver_sql(view.replace("%", "%%"))
                got = conn.exec_driver_sql(analytic.replace("%", "%%")).fetchall()
        finally:
            engine.dispose()
    source = find_tables(write_omop(sim, tmp_path / "omop", seed=12))
    con, _ = duckdb_registry(source)
    res = runner.invoke(app, ["cohort", "sql", "--omop"])
    want = con.execute(res.stdout.partition(";\n")[2]).fetchall()
    assert len(got) == len(want) == 300
    for g, w in zip(got, want, strict=True):
        assert g[0] == w[0]
        assert np.allclose(
            np.asarray(g[1:], dtype=float), np.asarray(w[1:], dtype=float), equal_nan=True
        )


def test_concepts_are_found_by_code_not_by_the_ids_written_here(tmp_path: Path) -> None:
    """A site whose vocabulary gives the bone-metastasis concept another id (the id written in
    omop_concepts could not be confirmed in public material) yields the same cohort: concept
    sets are resolved from (vocabulary, code) in the site's own ``concept`` table."""
    sim = simulate_registry(600, seed=5)
    directory = write_omop(sim, tmp_path / "omop", seed=5)
    con, _ = duckdb_registry(find_tables(directory))
    want = con.execute("SELECT * FROM registry ORDER BY CAST(patient_id AS INTEGER)").df()
    assert want["mets_bone"].any()

    old, new = oc.METASTASIS_SITES["bone"][0].concept_id, 2_100_000_001
    edit = duckdb.connect()
    for table, columns in {
        "concept": ("concept_id",),
        "concept_ancestor": ("ancestor_concept_id", "descendant_concept_id"),
        "condition_occurrence": ("condition_concept_id",),
    }.items():
        path = str(directory / f"{table}.parquet")
        frame = edit.execute(f"SELECT * FROM '{path}'").df()
        for column in columns:
            assert (frame[column] == old).any() or table == "condition_occurrence"
            frame[column] = frame[column].replace(old, new)
        edit.register("frame", frame)
        edit.execute(f"COPY (SELECT * FROM frame) TO '{path}' (FORMAT PARQUET)")
        edit.unregister("frame")
    con, _ = duckdb_registry(find_tables(directory))
    got = con.execute("SELECT * FROM registry ORDER BY CAST(patient_id AS INTEGER)").df()
    assert (got["mets_bone"].to_numpy() == want["mets_bone"].to_numpy()).all()
    assert got.equals(want)
