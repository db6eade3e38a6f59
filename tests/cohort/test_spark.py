"""Spark: the same OMOP extraction in PySpark (local mode) gives the DuckDB table row for row.

Skipped with a reason when PySpark (the ``spark`` extra) or a Java runtime is missing, and
unless ``LOCOREG_TEST_SPARK=1`` (``.ci/run`` sets it): starting a JVM takes 30 s or more, too
slow for every local run of the suite.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from locoreg.cli import app
from locoreg.cohort.omop_simulate import write_omop
from locoreg.cohort.simulate import simulate_registry

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None,
        reason="PySpark is not installed (pip install 'locoreg[spark]')",
    ),
    pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime for Spark"),
    pytest.mark.skipif(
        os.environ.get("LOCOREG_TEST_SPARK") != "1",
        reason="Spark test runs with LOCOREG_TEST_SPARK=1 (JVM start-up is slow; CI sets it)",
    ),
    pytest.mark.xdist_group("spark"),
]


def test_spark_extraction_equals_duckdb_row_for_row(tmp_path: Path) -> None:
    omop = write_omop(simulate_registry(400, seed=6), tmp_path / "omop", seed=6)
    runner = CliRunner()
    tables = {}
    for engine in ("duckdb", "spark"):
        out = tmp_path / f"{engine}.parquet"
        res = runner.invoke(
            app, ["cohort", "extract", "--omop", str(omop), "--engine", engine, "-o", str(out)]
        )
        assert res.exit_code == 0, res.output
        tables[engine] = out
    con = duckdb.connect()
    duck = con.execute(f"SELECT * FROM '{tables['duckdb']}'").fetchall()
    spark = con.execute(f"SELECT * FROM '{tables['spark']}'").fetchall()
    assert len(duck) == 400
    assert spark == duck  # same rows, same order (by patient_id), same values
    meta = con.execute(f"SELECT value FROM parquet_kv_metadata('{tables['spark']}')").fetchall()
    assert any(b"Spark (PySpark)" in bytes(v[0]) for v in meta)
