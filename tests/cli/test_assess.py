"""`locoreg assess` end to end: every bundled example, every format, bad input -> exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from locoreg.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"
runner = CliRunner()

# An example's file name starts with the recommendation it must get (contract precedence).
PREFIXES = {
    "out_of_scope_": "out_of_scope",
    "palliative_": "palliative_local_therapy",
    "complete_workup_": "complete_workup",
    "no_routine_": "no_routine_local_therapy",
    "systemic_therapy_first_": "systemic_therapy_first",
    "discuss_": "discuss_local_therapy",
}


def expected(path: Path) -> str:
    return next(rec for prefix, rec in PREFIXES.items() if path.stem.startswith(prefix))


# One example per new behaviour of contract v2 (issue 10), by name.
NEW_BEHAVIOUR_EXAMPLES = (
    "palliative_bleeding_workup_pending",
    "discuss_radiotherapy_unresectable",
    "discuss_radiotherapy_declines_surgery",
    "no_routine_visceral_crisis",
    "out_of_scope_t0",
    "discuss_bone_only_many_lesions",
    "palliative_nodal_complication_on_therapy",
    "systemic_therapy_first_nodal_complication",
)


def example_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".json", ".yaml"))


def test_every_example_has_an_expectation_and_every_recommendation_is_covered() -> None:
    from locoreg.decision import Recommendation

    assert {expected(p) for p in example_files()} == {r.value for r in Recommendation}
    assert set(NEW_BEHAVIOUR_EXAMPLES) <= {p.stem for p in example_files()}


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.stem)
def test_example_json(path: Path) -> None:
    result = runner.invoke(app, ["assess", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["recommendation"] == expected(path)
    for key in (
        "recommendation",
        "headline",
        "stage",
        "factors",
        "local_therapy_options",
        "harms",
        "prognosis",
        "local_control",
        "goals_of_care",
        "would_change",
        "missing",
        "evidence",
        "warnings",
        "versions",
    ):
        assert key in out
    assert out["stage"] is not None
    assert "applies" in out["local_control"]
    for option in out["local_therapy_options"]:
        assert set(option) == {"modality", "suitable", "reason", "details", "evidence"}
    assert set(out["versions"]) >= {"engine", "evidence"}
    assert set(out["prognosis"]) >= {
        "median_os_months",
        "interval_months",
        "interval_kind",
        "population",
        "basis",
        "evidence",
    }


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


def test_nan_months_and_strict_types_exit_2_with_clear_messages(tmp_path: Path) -> None:
    data = json.loads((EXAMPLES / "discuss_bone_oligometastatic.json").read_text())
    bad = tmp_path / "nan.json"
    bad.write_text(
        json.dumps({**data, "systemic_therapy": {"months": float("nan")}, "ecog": True}),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["assess", str(bad)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert any(
        line.startswith("error: systemic_therapy.months:") and "NaN" in line for line in lines
    )
    assert any(line.startswith("error: ecog:") and "not true" in line for line in lines)


def test_text_shows_the_v2_keys() -> None:
    path = EXAMPLES / "palliative_bleeding_workup_pending.json"
    text = runner.invoke(app, ["assess", str(path)])
    assert text.exit_code == 0
    words = " ".join(text.stdout.split())
    for heading in ("Stage IV", "Local therapy options", "Harms", "Prognosis"):
        assert heading in words
    assert "1.42" in words  # Tata Memorial distant PFS, from the evidence base
    md = runner.invoke(app, ["assess", str(path), "--format", "markdown"]).stdout
    for heading in ("### Local therapy options", "### Harms", "Stage IV"):
        assert heading in md
