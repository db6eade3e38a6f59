"""`locoreg assess` end to end: every bundled example, every format, bad input -> exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from locoreg.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"
runner = CliRunner()

# The recommendation each example must get, by the contract's precedence table.
EXPECTED = {
    "out_of_scope_m0": "out_of_scope",
    "complete_workup_her2_unknown": "complete_workup",
    "palliative_bleeding": "palliative_local_therapy",
    "no_routine_progression": "no_routine_local_therapy",
    "systemic_therapy_first_new_diagnosis": "systemic_therapy_first",
    "discuss_bone_oligometastatic": "discuss_local_therapy",
    "discuss_her2_brisk_response": "discuss_local_therapy",
    "discuss_stable_disease": "discuss_local_therapy",
    "no_routine_heavy_burden": "no_routine_local_therapy",
    "no_routine_declines": "no_routine_local_therapy",
}


def example_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".json", ".yaml"))


def test_every_example_has_an_expectation_and_every_recommendation_is_covered() -> None:
    assert {p.stem for p in example_files()} == set(EXPECTED)
    from locoreg.decision import Recommendation

    assert set(EXPECTED.values()) == {r.value for r in Recommendation}


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.stem)
def test_example_json(path: Path) -> None:
    result = runner.invoke(app, ["assess", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["recommendation"] == EXPECTED[path.stem]
    for key in (
        "headline",
        "factors",
        "prognosis",
        "local_control",
        "evidence",
        "warnings",
        "versions",
    ):
        assert key in out
    assert set(out["versions"]) >= {"engine", "evidence"}
    assert set(out["prognosis"]) >= {"median_os_months", "interval_months", "basis", "evidence"}


def test_text_and_markdown() -> None:
    path = EXAMPLES / "discuss_bone_oligometastatic.json"
    text = runner.invoke(app, ["assess", str(path)])
    assert text.exit_code == 0
    words = " ".join(text.stdout.split())  # rich wraps lines to the terminal width
    assert "Discuss local therapy" in words and "not a substitute for clinical judgement" in words
    md = runner.invoke(app, ["assess", str(path), "--format", "markdown"])
    assert md.exit_code == 0
    assert md.stdout.startswith("## Discuss local therapy")
    assert "| Response to systemic therapy | partial response after 6 months" in md.stdout


def test_invalid_input_exits_2_with_one_line_per_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "age": 12,
                "sex": "female",
                "histology_confirmed": True,
                "er": "positive",
                "pr": "weird",
                "her2": "negative",
                "m": "M1",
                "metastases": [],
                "colour": "blue",
            }
        )
    )
    result = runner.invoke(app, ["assess", str(bad)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith("error: age:") for line in lines)
    assert any(line.startswith("error: pr:") and "'positive'" in line for line in lines)
    assert any(line.startswith("error: colour: unknown field") for line in lines)
    assert "Traceback" not in result.output


def test_inconsistent_and_unreadable_input(tmp_path: Path) -> None:
    m1_no_mets = tmp_path / "m1.yaml"
    m1_no_mets.write_text(
        "age: 50\nsex: female\nhistology_confirmed: true\ner: positive\n"
        "pr: positive\nher2: negative\nm: M1\nmetastases: []\n"
    )
    result = runner.invoke(app, ["assess", str(m1_no_mets)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: metastases: m is M1 but no metastases")
    garbage = tmp_path / "g.json"
    garbage.write_text("{")
    assert runner.invoke(app, ["assess", str(garbage)]).exit_code == 2
    assert runner.invoke(app, ["assess", str(tmp_path / "none.json")]).exit_code == 2
