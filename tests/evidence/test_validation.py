"""Every kind of broken record is reported with its file and field; the loader refuses them."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from locoreg.evidence.base import (
    DATA_DIR,
    EvidenceError,
    load_evidence_base,
    snapshot_id,
    validate_evidence,
)

URL = "https://example.org/trial"

STUDY: dict[str, Any] = {
    "id": "trial2020",
    "citation": {"authors": "Doe J, et al.", "first_author": "Doe", "year": 2020, "journal": "J"},
    "design": "rct",
    "summary": "A randomised trial.",
    "timing_of_surgery": "upfront",
    "outcomes": [
        {
            "outcome": "overall_survival",
            "label": "overall survival",
            "measure": "HR",
            "estimate": 0.8,
            "ci_low": 0.6,
            "ci_high": 1.1,
            "ci_level": 0.95,
            "source_url": URL,
        }
    ],
    "risk_of_bias_not_assessed": "test record",
}


def _write(directory: Path, name: str, record: Any) -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(record, sort_keys=False), encoding="utf-8")
    return path


def _study(**outcome_changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(STUDY)
    record["outcomes"][0].update(outcome_changes)
    return record


def _lines(directory: Path) -> list[str]:
    return [str(p) for p in validate_evidence(directory)]


def test_a_valid_record_passes(tmp_path: Path) -> None:
    _write(tmp_path, "trial2020.yaml", STUDY)
    assert validate_evidence(tmp_path) == []
    base = load_evidence_base(tmp_path)
    assert base.ids == ("trial2020",) and base.cite("trial2020") == "Doe 2020, J"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"estimate": 1.5}, "outcomes.0.estimate", "outside its interval"),
        ({"ci_low": 1.2, "ci_high": 0.9, "estimate": 1.0}, "outcomes.0.ci_low", "above upper"),
        ({"source_url": None}, "outcomes.0.source_url", "URL"),
        ({"ci_level": 95}, "outcomes.0.ci_level", "between 0 and 1"),
        ({"ci_level": None}, "outcomes.0.ci_level", "level"),
        ({"ci_high": None}, "outcomes.0.ci_high", "both interval bounds"),
        ({"estimate": "abc"}, "outcomes.0.estimate", "number"),
        ({"estimate": -0.2, "ci_low": -0.5}, "outcomes.0.estimate", "positive"),
        ({"measure": "risk"}, "outcomes.0.measure", "Input should be"),
        ({"converted": True}, "outcomes.0.conversion", "reason"),
        ({"estimate": None, "ci_low": None, "ci_high": None}, "outcomes.0.not_found", "not found"),
        ({"colour": "red"}, "outcomes.0.colour", "unknown field"),
    ],
)
def test_broken_outcomes_are_reported_with_their_field(
    tmp_path: Path, changes: dict[str, Any], field: str, message: str
) -> None:
    _write(tmp_path, "trial2020.yaml", _study(**changes))
    problems = validate_evidence(tmp_path)
    assert any(p.file == "trial2020.yaml" and p.field == field for p in problems), problems
    assert any(message in p.message for p in problems if p.field == field), problems


# One test per kind of broken record named in the issue: each asserts the exact file and
# field, and that the broken value is the only problem reported (no noise around it).


def _only(directory: Path) -> tuple[str, str, str]:
    (problem,) = validate_evidence(directory)
    return problem.file, problem.field, problem.message


def test_interval_not_containing_the_estimate(tmp_path: Path) -> None:
    _write(tmp_path, "trial2020.yaml", _study(estimate=1.25))
    file, field, message = _only(tmp_path)
    assert (file, field) == ("trial2020.yaml", "outcomes.0.estimate")
    assert message == "1.25 lies outside its interval [0.6, 1.1]"


def test_lower_bound_above_upper_bound(tmp_path: Path) -> None:
    _write(tmp_path, "trial2020.yaml", _study(ci_low=1.1, ci_high=0.6))
    file, field, message = _only(tmp_path)
    assert (file, field) == ("trial2020.yaml", "outcomes.0.ci_low")
    assert message == "lower bound 1.1 is above upper bound 0.6"


def test_missing_source_of_an_outcome_number(tmp_path: Path) -> None:
    record = _study(source_url=None)
    record["outcomes"].append(copy.deepcopy(record["outcomes"][0]) | {"source_url": URL})
    _write(tmp_path, "trial2020.yaml", record)
    file, field, message = _only(tmp_path)  # the second outcome, with its URL, is fine
    assert (file, field) == ("trial2020.yaml", "outcomes.0.source_url")
    assert "URL" in message


def test_missing_source_of_the_study_sizes(tmp_path: Path) -> None:
    record = copy.deepcopy(STUDY) | {"n_total": 100, "follow_up_months": 24.0}
    _write(tmp_path, "trial2020.yaml", record)
    file, field, message = _only(tmp_path)
    assert (file, field) == ("trial2020.yaml", "source_url")
    assert message.startswith("n_total, follow_up_months need the URL")
    _write(tmp_path, "trial2020.yaml", record | {"source_url": URL})
    assert validate_evidence(tmp_path) == []


def test_unknown_design(tmp_path: Path) -> None:
    _write(tmp_path, "trial2020.yaml", copy.deepcopy(STUDY) | {"design": "case_series"})
    file, field, message = _only(tmp_path)
    assert (file, field) == ("trial2020.yaml", "design")
    for allowed in ("'rct'", "'prospective_registry'", "'retrospective_registry'"):
        assert allowed in message
    assert "'single_institution'" in message and "'meta_analysis'" in message


def test_duplicate_ids(tmp_path: Path) -> None:
    # the only way two files can hold one id is a record whose id differs from its file
    # name; both problems are reported, each on the file that carries it
    _write(tmp_path, "trial2020.yaml", STUDY)
    _write(tmp_path, "trial2020_copy.yaml", STUDY)
    problems = {(p.file, p.field, p.message) for p in validate_evidence(tmp_path)}
    assert problems == {
        ("trial2020_copy.yaml", "id", "id 'trial2020' does not match the file name"),
        ("trial2020_copy.yaml", "id", "duplicate id, also in trial2020.yaml"),
    }


def test_a_record_with_the_wrong_extension_is_reported_not_skipped(tmp_path: Path) -> None:
    _write(tmp_path, "trial2020.yml", STUDY)
    assert _only(tmp_path) == (
        "trial2020.yml",
        "",
        "not read: records must end in .yaml, not .yml",
    )


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "trial2020.yaml").write_text("id: trial2020\ncitation: [unclosed\n")
    (problem,) = validate_evidence(tmp_path)
    assert problem.file == "trial2020.yaml" and "YAML syntax error" in problem.message
    assert re.fullmatch(r"line \d+", problem.field)


def test_unknown_design_lists_the_allowed_values(tmp_path: Path) -> None:
    record = copy.deepcopy(STUDY) | {"design": "cohort"}
    _write(tmp_path, "trial2020.yaml", record)
    (problem,) = validate_evidence(tmp_path)
    assert problem.field == "design" and "'rct'" in problem.message


def test_file_name_must_match_id_and_ids_are_unique(tmp_path: Path) -> None:
    _write(tmp_path, "trial2020.yaml", STUDY)
    _write(tmp_path, "copy.yaml", STUDY)
    lines = _lines(tmp_path)
    assert "copy.yaml: id: id 'trial2020' does not match the file name" in lines
    assert any(line.startswith("trial2020.yaml: id: duplicate id") for line in lines)


def test_study_level_checks(tmp_path: Path) -> None:
    observational = copy.deepcopy(STUDY) | {
        "id": "cohort2020",
        "design": "retrospective_registry",
        "n_total": 10,
        "n_local_therapy": 8,
        "n_no_local_therapy": 8,
    }
    observational.pop("risk_of_bias_not_assessed")
    _write(tmp_path, "cohort2020.yaml", observational)
    fields = {p.field for p in validate_evidence(tmp_path)}
    assert {"n_total", "risk_of_bias"} <= fields


def test_risk_of_bias_tool_must_fit_the_design_and_overall_the_domains(tmp_path: Path) -> None:
    domain = {"judgement": "low", "reason": "fine"}
    rob2 = {
        "tool": "rob2",
        **{
            name: domain
            for name in (
                "randomisation",
                "deviations",
                "missing_data",
                "measurement",
                "selection_of_reported_result",
            )
        },
        "overall": domain,
    }
    rob2["deviations"] = {"judgement": "high", "reason": "crossover"}
    record = copy.deepcopy(STUDY) | {"design": "single_institution", "risk_of_bias": rob2}
    _write(tmp_path, "trial2020.yaml", record)
    fields = {p.field for p in validate_evidence(tmp_path)}
    assert "risk_of_bias.rob2.overall" in fields
    rob2["overall"] = {"judgement": "high", "reason": "crossover"}
    _write(tmp_path, "trial2020.yaml", record)
    assert {p.field for p in validate_evidence(tmp_path)} == {"risk_of_bias.tool"}


def test_unknown_cross_references(tmp_path: Path) -> None:
    _write(tmp_path, "trial2020.yaml", copy.deepcopy(STUDY) | {"related": ["nosuch"]})
    assert _lines(tmp_path) == ["trial2020.yaml: related: unknown study id 'nosuch'"]


def test_grade_file_is_checked(tmp_path: Path) -> None:
    _write(tmp_path, "trial2020.yaml", STUDY)
    rating = {
        "outcome": "overall_survival",
        "body": "randomised",
        "certainty": "low",
        "studies": ["trial2020"],
        "rated_by": "locoreg",
    }
    _write(tmp_path, "_grade.yaml", [rating])
    assert [p.field for p in validate_evidence(tmp_path)] == ["0.downgrades"]


def test_every_broken_record_is_reported_and_the_loader_refuses(tmp_path: Path) -> None:
    _write(tmp_path, "trial2020.yaml", _study(estimate=2.0))
    _write(tmp_path, "other2021.yaml", copy.deepcopy(STUDY) | {"id": "other2021", "design": "x"})
    (tmp_path / "broken.yaml").write_text("id: [")
    assert {p.file for p in validate_evidence(tmp_path)} == {
        "trial2020.yaml",
        "other2021.yaml",
        "broken.yaml",
    }
    with pytest.raises(EvidenceError) as info:
        load_evidence_base(tmp_path)
    assert len(info.value.problems) == 3 and "3 problem(s)" in str(info.value)


def test_bad_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        validate_evidence(tmp_path / "missing")
    (tmp_path / "file.yaml").write_text("")
    with pytest.raises(NotADirectoryError):
        validate_evidence(tmp_path / "file.yaml")


def test_snapshot_is_stable_and_tracks_every_change(tmp_path: Path) -> None:
    packaged = load_evidence_base().snapshot
    assert re.fullmatch(r"2026\.11-[0-9a-f]{12}", packaged)
    assert snapshot_id(DATA_DIR) == packaged
    copy_dir = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy_dir)
    assert snapshot_id(copy_dir) == packaged  # content, not location
    record = copy_dir / "badwe2015.yaml"
    record.write_bytes(record.read_bytes() + b"# edited\n")
    edited = snapshot_id(copy_dir)
    assert edited != packaged
    _write(copy_dir, "trial2020.yaml", STUDY)
    added = snapshot_id(copy_dir)
    assert added not in (packaged, edited)
    (copy_dir / "trial2020.yaml").rename(copy_dir / "trial2021.yaml")
    assert snapshot_id(copy_dir) not in (packaged, edited, added)  # a rename counts too
    (copy_dir / "trial2021.yaml").unlink()
    record.write_bytes((DATA_DIR / "badwe2015.yaml").read_bytes())
    assert snapshot_id(copy_dir) == packaged  # undoing every change restores the id
    assert load_evidence_base(copy_dir).snapshot == packaged


def test_every_assessment_records_the_snapshot() -> None:
    from locoreg.decision.assessment import assess
    from locoreg.patient import Patient

    example = (
        Path(__file__).parents[2] / "examples" / "patients" / "discuss_bone_oligometastatic.json"
    )
    assessment = assess(Patient.model_validate_json(example.read_text()))
    assert assessment.versions["evidence"] == load_evidence_base().snapshot


# -- data_source: which registry or database the patients come from -----------------


def _registry(**changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(STUDY) | {"id": "cohort2020", "design": "retrospective_registry"}
    record.update(changes)
    return record


def test_a_known_data_source_passes(tmp_path: Path) -> None:
    _write(tmp_path, "cohort2020.yaml", _registry(data_source="seer"))
    assert validate_evidence(tmp_path) == []
    assert load_evidence_base(tmp_path).get("cohort2020").data_source == "seer"


@pytest.mark.parametrize("value", ["SEER", "SEER 18", "seer_18", "nhs", 3, ["seer"]])
def test_unknown_data_source_names_the_field_and_the_allowed_values(
    tmp_path: Path, value: Any
) -> None:
    _write(tmp_path, "cohort2020.yaml", _registry(data_source=value))
    file, field, message = _only(tmp_path)
    assert (file, field) == ("cohort2020.yaml", "data_source")
    assert message.startswith(f"unknown data source {value!r} (allowed: seer, ncdb, ")
    assert "its years and subsets belong in setting" in message


@pytest.mark.parametrize("design", ["rct", "meta_analysis", "guideline_or_review"])
def test_data_source_only_on_registry_and_observational_records(
    tmp_path: Path, design: str
) -> None:
    _write(
        tmp_path, "trial2020.yaml", copy.deepcopy(STUDY) | {"design": design, "data_source": "seer"}
    )
    file, field, message = _only(tmp_path)
    assert (file, field) == ("trial2020.yaml", "data_source")
    assert f"a {design} record names no data source" in message and "epidemiology" in message


def test_data_source_needs_a_url(tmp_path: Path) -> None:
    record = _registry(
        data_source="ncdb",
        no_extractable_estimate=True,
        no_extractable_estimate_reason="citation only",
        outcomes=[
            {
                "outcome": "overall_survival",
                "label": "overall survival",
                "measure": "HR",
                "not_found": "no figure was read",
            }
        ],
    )
    _write(tmp_path, "cohort2020.yaml", record)
    assert _only(tmp_path) == (
        "cohort2020.yaml",
        "data_source",
        "give the URL the data source was read from",
    )
    record["citation"]["url"] = URL
    _write(tmp_path, "cohort2020.yaml", record)
    assert validate_evidence(tmp_path) == []


def test_cli_validate_reports_a_bad_data_source(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from locoreg.cli import app

    _write(tmp_path, "cohort2020.yaml", _registry(data_source="Surveillance"))
    result = CliRunner().invoke(app, ["evidence", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "cohort2020.yaml: data_source: unknown data source 'Surveillance'" in result.stdout


# --- strict numbers, bounded values, one error per cause (issue 12, point 6) -------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"estimate": "0.8"}, "outcomes.0.estimate", "must be a number"),
        ({"ci_high": float("inf")}, "outcomes.0.ci_high", "finite number"),
        ({"ci_low": float("nan")}, "outcomes.0.ci_low", "finite number"),
        ({"ci_level": "0.95"}, "outcomes.0.ci_level", "must be a number"),
        ({"p_value": "7.9"}, "outcomes.0.p_value", "outside [0, 1]"),
        ({"p_value": "p<0.05"}, "outcomes.0.p_value", "not a p-value"),
        ({"p_value": 0.04}, "outcomes.0.p_value", "valid string"),
        ({"n": "120"}, "outcomes.0.n", "must be a whole number"),
        ({"converted": "yes"}, "outcomes.0.converted", "must be true or false"),
        ({"ci_low": 0.8, "ci_high": 0.8}, "outcomes.0.ci_high", "no width"),
        (
            {"measure": "proportion", "unit": "percent", "estimate": 120.0}
            | dict.fromkeys(("ci_low", "ci_high", "ci_level")),
            "outcomes.0.estimate",
            "0–100",
        ),
    ],
)
def test_strict_and_bounded_numbers_are_refused_once(
    tmp_path: Path, changes: dict[str, Any], field: str, message: str
) -> None:
    _write(tmp_path, "trial2020.yaml", _study(**changes))
    problems = validate_evidence(tmp_path)
    assert len(problems) == 1, problems  # one error for one cause
    assert problems[0].field == field and message in problems[0].message


@pytest.mark.parametrize("p_value", ["0.04", "<0.001", "0.13 (one-sided)", "≤0.05", "1"])
def test_p_values_as_printed_pass(tmp_path: Path, p_value: str) -> None:
    _write(tmp_path, "trial2020.yaml", _study(p_value=p_value))
    assert validate_evidence(tmp_path) == []


def test_percentages_of_arms_and_categories_lie_in_0_to_100(tmp_path: Path) -> None:
    arms = [
        {"arm": "local_therapy", "metric": "os_3y_percent", "value": 68.4, "unit": "percent"},
        {"arm": "no_local_therapy", "metric": "os_3y_percent", "value": 167.9, "unit": "percent"},
        {"arm": "no_local_therapy", "metric": "median_os_months", "value": 167.9, "unit": "months"},
    ]
    categories = [{"category": "Japan", "value": -3, "unit": "percent"}]
    _write(tmp_path, "trial2020.yaml", _study(arms=arms, categories=categories))
    assert sorted(_lines(tmp_path)) == [
        "trial2020.yaml: outcomes.0.arms.1.value: a percentage must lie in 0–100, got 167.9",
        "trial2020.yaml: outcomes.0.categories.0.value: a percentage must lie in 0–100, got -3",
    ]


def test_a_string_year_or_size_is_refused(tmp_path: Path) -> None:
    record = copy.deepcopy(STUDY)
    record["citation"]["year"] = "2020"
    record["n_total"] = "300"
    record["source_url"] = URL
    _write(tmp_path, "trial2020.yaml", record)
    assert {p.field for p in validate_evidence(tmp_path)} == {"citation.year", "n_total"}


def test_a_broken_record_does_not_cascade_into_unknown_ids(tmp_path: Path) -> None:
    """Records naming a refused record are not reported: the cause is reported once."""
    _write(tmp_path, "trial2020.yaml", _study(ci_high=float("inf")))
    later = copy.deepcopy(STUDY) | {"id": "trial2021", "related": ["trial2020"]}
    _write(tmp_path, "trial2021.yaml", later)
    early = copy.deepcopy(STUDY) | {"id": "trial2019", "superseded_by": "trial2020"}
    _write(tmp_path, "trial2019.yaml", early)
    rating = {
        "outcome": "overall_survival",
        "body": "randomised",
        "certainty": "high",
        "studies": ["trial2020", "trial2021"],
        "rated_by": "locoreg",
    }
    _write(tmp_path, "_grade.yaml", [rating])
    _write(tmp_path, "broken_yaml.yaml", "id: [unclosed")
    (tmp_path / "broken_yaml.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    lines = _lines(tmp_path)
    assert [line.split(":")[0] for line in lines] == ["broken_yaml.yaml", "trial2020.yaml"]
    assert "finite number" in lines[1]


def test_every_record_that_passes_validation_pools(tmp_path: Path) -> None:
    """The validator is the pool's guard: extreme but valid numbers never crash it."""
    from locoreg.evidence.pool import pool_by_design

    _write(tmp_path, "trial2020.yaml", _study(estimate=1e-6, ci_low=1e-9, ci_high=1e3))
    second = _study(estimate=5.0, ci_low=4.999, ci_high=5.001, ci_level=0.999)
    _write(tmp_path, "trial2021.yaml", second | {"id": "trial2021"})
    result = pool_by_design(load_evidence_base(tmp_path))
    assert result.groups["randomised"].k == 2
