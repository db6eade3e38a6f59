"""`locoreg cohort ...` end to end: files in, exit codes, JSON contract, report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from locoreg.cli import app

CONTRACT_KEYS = (
    "naive",
    "adjusted",
    "iptw",
    "matched",
    "landmark",
    "time_dependent",
    "emulated_trial",
)


@pytest.fixture()
def runner() -> CliRunner:
    # A wide terminal so that rich does not wrap the table cells the tests look for.
    return CliRunner(env={"COLUMNS": "200"})


def _simulate(runner: CliRunner, path: Path, n: int = 2500, seed: int = 4) -> Path:
    res = runner.invoke(
        app, ["cohort", "simulate", "--n", str(n), "--seed", str(seed), "-o", str(path)]
    )
    assert res.exit_code == 0, res.output
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_simulate_then_analyze_json(runner: CliRunner, tmp_path: Path, suffix: str) -> None:
    path = _simulate(runner, tmp_path / f"reg{suffix}")
    res = runner.invoke(app, ["cohort", "analyze", str(path), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for key in CONTRACT_KEYS:
        assert set(out[key]) >= {"hr", "ci_low", "ci_high", "n"}
        assert out[key]["ci_low"] < out[key]["hr"] < out[key]["ci_high"]
    assert out["naive"]["n"] == 2500
    assert out["e_value"]["estimate"] == "adjusted"
    assert out["e_value"]["point"] > out["e_value"]["ci"] >= 1.0
    assert out["cohort"]["rows_in_file"] == 2500
    assert set(out["landmark_sensitivity"]) == {"6", "12", "18", "24"}
    # The summary quotes the pooled randomised trials that the report draws.
    pooled = out["rct_evidence_pooled"]
    assert pooled["ci_low"] < 1.0 < pooled["ci_high"] and len(pooled["studies"]) >= 4
    assert f"HR {pooled['hr']:.2f}" in out["summary"][-1]


def test_analyze_text_and_report(runner: CliRunner, tmp_path: Path) -> None:
    path = _simulate(runner, tmp_path / "reg.csv")
    html = tmp_path / "report.html"
    res = runner.invoke(
        app,
        ["cohort", "analyze", str(path), "--report", str(html), "--landmark", "6", "--grace", "4"],
    )
    assert res.exit_code == 0, res.output
    assert "Time-dependent surgery, adjusted" in res.stdout
    assert "immortal time" in res.stdout
    page = html.read_text()
    assert page.count("<svg") >= 4  # KM, landmark KM, ladder forest, balance
    # Self-contained: no script, stylesheet or image fetched from elsewhere.
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)
    assert "<script" not in page
    assert "landmark at 6 months" in page and "grace period 4 months" in page


def test_bad_file_exits_2_with_rows(runner: CliRunner, tmp_path: Path) -> None:
    path = _simulate(runner, tmp_path / "reg.csv", n=1000)
    lines = path.read_text().splitlines()
    cells = lines[3].split(",")
    cells[3] = "sometimes"  # er of data row 3
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    res = runner.invoke(app, ["cohort", "analyze", str(path)])
    assert res.exit_code == 2
    assert "error: row 3, er: cannot read 'sometimes'" in res.stderr
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["cohort", "check", str(path)])
    assert res.exit_code == 2
    res = runner.invoke(
        app, ["cohort", "analyze", str(path), "--on-error", "exclude", "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    assert "excluded 1 of 1000 rows with problems (unknown code 1)" in res.stderr
    assert json.loads(res.stdout)["naive"]["n"] == 999


def test_missing_column_and_unknown_file(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,age\nA,50\n")
    res = runner.invoke(app, ["cohort", "analyze", str(bad)])
    assert res.exit_code == 2
    assert "error: column year_of_diagnosis: required column is missing" in res.stderr
    res = runner.invoke(app, ["cohort", "analyze", str(tmp_path / "none.csv")])
    assert res.exit_code == 2 and "no such file" in res.stderr
    res = runner.invoke(app, ["cohort", "simulate", "--n", "5", "-o", str(tmp_path / "x.txt")])
    assert res.exit_code == 2 and ".csv or .parquet" in res.stderr


def test_empty_selection_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    path = _simulate(runner, tmp_path / "reg.csv", n=50)
    res = runner.invoke(app, ["cohort", "analyze", str(path), "--age-min", "100"])
    assert res.exit_code == 2
    assert "no patient left after selection (" in res.stderr and "age >= 100)" in res.stderr


def test_rows_without_metastasis_are_not_selected(runner: CliRunner, tmp_path: Path) -> None:
    """De novo stage IV means a metastatic site at diagnosis; other rows are left out, counted."""
    path = _simulate(runner, tmp_path / "reg.csv", n=1200, seed=8)
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    sites = [header.index(f"mets_{s}") for s in ("bone", "lung", "liver", "brain", "other")]
    for i in (1, 2, 3):
        cells = lines[i].split(",")
        for k in sites:
            cells[k] = "false"
        lines[i] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    res = runner.invoke(app, ["cohort", "analyze", str(path), "--format", "json"])
    assert res.exit_code == 0, res.output
    cohort = json.loads(res.stdout)["cohort"]
    assert (cohort["selected"], cohort["not_selected"]) == (1197, 3)
    assert cohort["selection"].startswith("de novo stage IV")
    res = runner.invoke(
        app, ["cohort", "analyze", str(path), "--format", "json", "--keep-without-metastasis"]
    )
    assert json.loads(res.stdout)["cohort"]["selected"] == 1200


def test_sql_prints_the_extraction(runner: CliRunner) -> None:
    res = runner.invoke(app, ["cohort", "sql", "--exclude-unknown-receptors", "--year-min", "2012"])
    assert res.exit_code == 0
    assert "FROM registry" in res.stdout and "year_of_diagnosis >= 2012" in res.stdout


def test_analyze_multiverse_adds_the_curve_to_the_report(runner: CliRunner, tmp_path: Path) -> None:
    path = _simulate(runner, tmp_path / "reg.parquet", n=800, seed=6)
    html = tmp_path / "report.html"
    res = runner.invoke(
        app,
        ["cohort", "analyze", str(path), "--multiverse", "--workers", "1", "--report", str(html)],
    )
    assert res.exit_code == 0, res.output
    page = html.read_text()
    assert "Multiverse of specifications" in page and "Not run for this report" not in page
    assert "34 specifications" in page
    assert "Specifications, sorted by hazard ratio" in page  # the curve's axis label


def test_output_problems_exit_2_before_the_analysis(runner: CliRunner, tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "examples" / "registry" / "sample.csv"
    missing_dir = tmp_path / "no" / "such" / "dir" / "r.html"
    res = runner.invoke(app, ["cohort", "analyze", str(sample), "--report", str(missing_dir)])
    assert res.exit_code == 2 and "--report: directory" in res.stderr
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["cohort", "multiverse", str(sample), "--plot", str(tmp_path)])
    assert res.exit_code == 2 and "is a directory, not a file" in res.stderr
    res = runner.invoke(app, ["cohort", "analyze", str(sample), "--multiverse"])
    assert res.exit_code == 2 and "--multiverse: only with --report" in res.stderr
