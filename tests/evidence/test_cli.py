"""`locoreg evidence list|show|validate` end to end, with their exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from locoreg.cli import app
from locoreg.evidence.base import DATA_DIR, load_evidence_base

runner = CliRunner()


def _run(*args: str):
    # a wide terminal, so that rich tables do not wrap the values the tests look for
    return runner.invoke(app, ["evidence", *args], env={"COLUMNS": "240"})


def test_list_text_and_json() -> None:
    result = _run("list")
    assert result.exit_code == 0, result.output
    assert "badwe2015" in result.stdout and "uptodate_sabel2017" in result.stdout
    data = json.loads(_run("list", "--format", "json").stdout)
    assert data["snapshot"] == load_evidence_base().snapshot
    assert data["count"] == len(data["studies"]) == len(load_evidence_base())


def test_list_filters_by_design_and_outcome() -> None:
    data = json.loads(_run("list", "--design", "rct", "--format", "json").stdout)
    assert {s["design"] for s in data["studies"]} == {"rct"}
    assert "khan2022" in {s["id"] for s in data["studies"]}
    data = json.loads(
        _run("list", "--outcome", "locoregional_progression", "--format", "json").stdout
    )
    assert {"shien2023", "khan2022", "reinhorn2021", "tosello2018"} <= {
        s["id"] for s in data["studies"]
    }
    for study in data["studies"]:
        assert study["outcomes"]
        assert {o["outcome"] for o in study["outcomes"]} == {"locoregional_progression"}
    text = _run("list", "--outcome", "overall_survival", "--design", "RCT").stdout
    assert "HR 1.11 (90% CI 0.82–1.52)" in text  # E2108, case-insensitive design


def test_list_rejects_unknown_filters_with_exit_2() -> None:
    result = _run("list", "--design", "cohort")
    assert result.exit_code == 2
    assert "design: unknown value 'cohort'" in result.output and "rct" in result.output


def test_show_text_and_json() -> None:
    result = _run("show", "fitzal2019")
    assert result.exit_code == 0, result.output
    assert "Fitzal 2019, Ann Surg" in result.stdout and "converted" in result.stdout
    data = json.loads(_run("show", "fitzal2019", "--format", "json").stdout)
    assert data["id"] == "fitzal2019" and data["cite"] == "Fitzal 2019, Ann Surg"
    first = data["outcomes"][0]
    assert first["estimate"] == 1.45 and first["reported"]["estimate"] == 0.691
    assert data["risk_of_bias"]["tool"] == "rob2"
    # study-level numbers carry their source too
    assert data["n_total"] == 90 and data["source_url"].startswith("https://journals.lww.com/")
    assert "n and follow-up read at" in result.stdout
    grade = json.loads(_run("show", "tosello2018", "--format", "json").stdout)["grade"]
    assert {"outcome": "overall_survival", "certainty": "very_low"}.items() <= grade[0].items()


def test_show_unknown_id_exits_2_with_close_matches() -> None:
    result = _run("show", "soran")
    assert result.exit_code == 2
    assert "no study 'soran'" in result.output and "soran2018" in result.output
    assert "Traceback" not in result.output


def test_validate_packaged_is_clean() -> None:
    result = _run("validate")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK:") and load_evidence_base().snapshot in result.stdout


def test_validate_reports_problems_with_exit_1(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    record = data / "badwe2015.yaml"
    record.write_text(record.read_text().replace("ci_high: 1.34", "ci_high: 0.9", 1))
    shutil.copy(data / "khan2022.yaml", data / "other.yaml")
    result = _run("validate", str(data))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert (
        "badwe2015.yaml: outcomes.0.estimate: 1.04 lies outside its interval [0.81, 0.9]" in lines
    )
    assert "other.yaml: id: id 'khan2022' does not match the file name" in lines
    report = json.loads(_run("validate", str(data), "--format", "json").stdout)
    assert report["ok"] is False
    assert {"file": "badwe2015.yaml", "field": "outcomes.0.estimate"}.items() <= (
        report["problems"][0].items()
    )


def test_validate_bad_path_exits_2(tmp_path: Path) -> None:
    result = _run("validate", str(tmp_path / "missing"))
    assert result.exit_code == 2 and "evidence directory not found" in result.output
