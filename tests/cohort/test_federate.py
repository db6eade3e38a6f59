"""Federated analysis: `cohort site-summary` at each site, `cohort federate` at the coordinator."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from locoreg.cli import app
from locoreg.cohort.simulate import simulate_registry, write_registry

RUNGS = ("naive", "adjusted", "iptw", "matched", "landmark", "time_dependent", "emulated_trial")


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200"})


def _split(registry: Path, k: int, tmp_path: Path) -> list[Path]:
    """The registry's rows dealt into ``k`` site files (patient i goes to site i mod k)."""
    con = duckdb.connect()
    out = []
    for site in range(k):
        path = tmp_path / f"site{site + 1}.parquet"
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{registry}') "
            f"WHERE CAST(SUBSTR(patient_id, 2) AS INTEGER) % {k} = {site}) "
            f"TO '{path}' (FORMAT PARQUET)"
        )
        out.append(path)
    return out


def _summaries(runner: CliRunner, sites: list[Path], *extra: str) -> list[Path]:
    out = []
    for i, path in enumerate(sites):
        target = path.with_suffix(".json")
        res = runner.invoke(
            app,
            ["cohort", "site-summary", str(path), "--site", f"H{i + 1}", "-o", str(target), *extra],
        )
        assert res.exit_code == 0, res.output
        out.append(target)
    return out


def test_three_sites_pool_to_the_pooled_data_estimate(runner: CliRunner, tmp_path: Path) -> None:
    registry = write_registry(simulate_registry(6000, seed=21), tmp_path / "all.parquet")
    files = _summaries(runner, _split(registry, 3, tmp_path))

    res = runner.invoke(app, ["cohort", "federate", *map(str, files), "--format", "json"])
    assert res.exit_code == 0, res.output
    fed = json.loads(res.stdout)
    res = runner.invoke(app, ["cohort", "analyze", str(registry), "--format", "json"])
    pooled = json.loads(res.stdout)

    assert fed["sites"] == 3 and fed["site_names"] == ["H1", "H2", "H3"]
    assert fed["settings_agree"] is True
    for rung in RUNGS:
        assert abs(fed[rung]["hr"] - pooled[rung]["hr"]) < 0.05, rung
        assert fed[rung]["ci_low"] < fed[rung]["hr"] < fed[rung]["ci_high"]
        assert set(fed[rung]["heterogeneity"]) >= {"q", "q_p", "i2", "tau2"}
        assert len(fed[rung]["per_site"]) == 3
    assert fed["naive"]["n"] == pooled["naive"]["n"] == 6000

    # No row-level data and no identifier leaves a site.
    ids = duckdb.connect().execute(f"SELECT patient_id FROM read_parquet('{registry}')").fetchall()
    for path in files:
        text = path.read_text()
        assert not re.search(r"P\d{5,}", text)
        assert "patient_id" not in text
        summary = json.loads(text)
        assert set(summary) >= {"rungs", "counts", "balance", "suppressed"}
        assert all(not isinstance(v, list) for r in summary["rungs"].values() for v in r.values())
    assert len(ids) == 6000


def test_text_output_names_the_sites(runner: CliRunner, tmp_path: Path) -> None:
    registry = write_registry(simulate_registry(1800, seed=5), tmp_path / "all.parquet")
    files = _summaries(runner, _split(registry, 2, tmp_path))
    res = runner.invoke(app, ["cohort", "federate", *map(str, files)])
    assert res.exit_code == 0, res.output
    assert "2 sites pooled (H1, H2)" in res.stdout and "I²" in res.stdout


def test_small_cells_are_suppressed(runner: CliRunner, tmp_path: Path) -> None:
    registry = write_registry(simulate_registry(400, seed=8), tmp_path / "small.parquet")
    out = tmp_path / "s.json"
    res = runner.invoke(app, ["cohort", "site-summary", str(registry), "-o", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads(out.read_text())
    # Brain metastases are rare (a few % of patients): fewer than 10 in a surgery group.
    assert "mets_brain" in summary["balance_rows_dropped"]
    assert all(b["covariate"] != "mets_brain" for b in summary["balance"])

    res = runner.invoke(
        app, ["cohort", "site-summary", str(registry), "-o", str(out), "--min-cell", "1000"]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(out.read_text())
    assert summary["counts"]["n"] is None and summary["rungs"]["naive"]["n"] is None
    assert "n" in summary["suppressed"] and summary["balance"] == []


def test_bad_site_files_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    registry = write_registry(simulate_registry(500, seed=9), tmp_path / "r.parquet")
    assert (
        runner.invoke(app, ["cohort", "site-summary", str(registry), "-o", str(good)]).exit_code
        == 0
    )
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "something else"}))
    res = runner.invoke(app, ["cohort", "federate", str(good), str(bad)])
    assert res.exit_code == 2 and "not a site summary" in res.output
    data = json.loads(good.read_text())
    data["rungs"]["iptw"]["se"] = 0
    bad.write_text(json.dumps(data))
    res = runner.invoke(app, ["cohort", "federate", str(good), str(bad)])
    assert res.exit_code == 2 and "rungs.iptw" in res.output
    res = runner.invoke(app, ["cohort", "federate", str(good)])
    assert res.exit_code == 2 and "at least 2" in res.output
    data = json.loads(good.read_text())
    data["settings"]["landmark"] = 6.0
    bad.write_text(json.dumps(data))
    res = runner.invoke(app, ["cohort", "federate", str(good), str(bad), "--format", "json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["settings_agree"] is False
    res = runner.invoke(
        app, ["cohort", "site-summary", str(registry), "-o", str(tmp_path / "x.csv")]
    )
    assert res.exit_code == 2 and ".json" in res.output
