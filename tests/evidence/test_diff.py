"""`locoreg evidence diff`: a copied base with one added trial, and what it changes."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from locoreg.cli import app
from locoreg.evidence.base import DATA_DIR, load_evidence_base, using_evidence_base
from locoreg.evidence.diff import diff_bases
from locoreg.evidence.model import Outcome
from locoreg.meta import rma

runner = CliRunner()

NEW_TRIAL = {
    "id": "newtrial2026",
    "citation": {"authors": "Doe J, et al.", "first_author": "Doe", "year": 2026, "journal": "J"},
    "design": "rct",
    "summary": "A hypothetical randomised trial.",
    "timing_of_surgery": "upfront",
    "outcomes": [
        {
            "outcome": "overall_survival",
            "label": "overall survival",
            "measure": "HR",
            "estimate": 0.70,
            "ci_low": 0.55,
            "ci_high": 0.89,
            "ci_level": 0.95,
            "source_url": "https://example.org/trial",
        }
    ],
    "risk_of_bias_not_assessed": "test record",
}


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("diff")
    old, new = root / "old", root / "new"
    shutil.copytree(DATA_DIR, old)
    shutil.copytree(DATA_DIR, new)
    (new / "newtrial2026.yaml").write_text(yaml.safe_dump(NEW_TRIAL), encoding="utf-8")
    return old, new


def _log_hr_var(o: Outcome) -> tuple[float, float]:
    from scipy import stats

    z = stats.norm.ppf(0.5 + o.ci_level / 2)
    return math.log(o.estimate), ((math.log(o.ci_high) - math.log(o.ci_low)) / (2 * z)) ** 2


def test_one_added_trial_changes_the_trial_pool_only(bases: tuple[Path, Path]) -> None:
    old, new = (load_evidence_base(p) for p in bases)
    d = diff_bases(old, new)
    assert d.added == ("newtrial2026",) and d.removed == () and d.changed == ()
    assert d.old_snapshot != d.new_snapshot
    changes = {(p.outcome, p.group): p for p in d.pooled}
    assert len(changes) == 4  # every outcome × design group, before and after
    os_rct = changes[("overall_survival", "randomised")]
    assert os_rct.changed and (os_rct.old.k, os_rct.new.k) == (5, 6)
    # independent recomputation: the six trials' records pooled by rma
    rows = [
        o
        for s, o in new.outcomes("overall_survival", design="rct")
        if o.measure.value == "HR" and o.ci_low is not None
    ]
    assert len(rows) == 6
    yi, vi = zip(*map(_log_hr_var, rows), strict=True)
    ref = rma(list(yi), list(vi), method="REML", test="z")
    assert os_rct.new.hr is not None and os_rct.new.ci_low is not None
    assert math.isclose(os_rct.new.hr, math.exp(ref.estimate), rel_tol=1e-9)
    assert math.isclose(os_rct.new.ci_low, math.exp(ref.ci_low), rel_tol=1e-9)
    assert not changes[("overall_survival", "observational")].changed
    assert not changes[("locoregional_progression", "randomised")].changed
    assert d.grade == ()


def test_changed_and_removed_records_and_grade(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(DATA_DIR, old)
    shutil.copytree(DATA_DIR, new)
    (new / "hazard2008.yaml").unlink()
    grade = yaml.safe_load((new / "_grade.yaml").read_text(encoding="utf-8"))
    grade = [g for g in grade if "hazard2008" not in g["studies"]]
    (new / "_grade.yaml").write_text(yaml.safe_dump(grade), encoding="utf-8")
    record = yaml.safe_load((new / "badwe2015.yaml").read_text(encoding="utf-8"))
    record["summary"] += " Edited."
    (new / "badwe2015.yaml").write_text(yaml.safe_dump(record), encoding="utf-8")
    d = diff_bases(load_evidence_base(old), load_evidence_base(new))
    assert d.removed == ("hazard2008",) and d.changed == ("badwe2015",) and d.added == ()
    assert [(g.outcome, g.body, g.new) for g in d.grade] == [
        ("locoregional_progression", "observational", None)
    ]
    assert not any(p.changed for p in d.pooled)


def test_cli_json_follows_the_contract(bases: tuple[Path, Path]) -> None:
    old, new = bases
    result = runner.invoke(app, ["evidence", "diff", str(old), str(new), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"added", "removed", "changed", "pooled"} <= set(data)
    assert data["added"] == ["newtrial2026"]
    entry = next(p for p in data["pooled"] if p["group"] == "randomised"
                 and p["outcome"] == "overall_survival")  # fmt: skip
    assert set(entry) >= {"outcome", "group", "old", "new"}
    assert set(entry["old"]) == set(entry["new"]) == {"k", "hr", "ci_low", "ci_high"}
    assert (entry["old"]["k"], entry["new"]["k"]) == (5, 6)
    # the example patients were re-assessed against both bases
    assert isinstance(data["assessments"], list)
    text = runner.invoke(app, ["evidence", "diff", str(old), str(new)]).stdout
    assert "Records added: newtrial2026" in text
    assert "* overall survival, randomised: k = 5, HR 0.93 (0.75–1.15) → k = 6" in text


def test_cli_bad_directory_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evidence", "diff", str(tmp_path / "nope"), str(DATA_DIR)])
    assert result.exit_code == 2 and "OLD_DIR" in result.stderr
    assert "Traceback" not in result.output


def test_the_decision_engine_reads_the_active_base(bases: tuple[Path, Path]) -> None:
    """``using_evidence_base`` is the hook ``diff`` re-assesses patients with."""
    from locoreg.decision.assessment import assess
    from locoreg.patient import load_patient

    patient = load_patient(Path(__file__).parents[2] / "examples/patients/palliative_bleeding.json")
    new = load_evidence_base(bases[1])
    with using_evidence_base(new):
        assert assess(patient).versions["evidence"] == new.snapshot
        assert load_evidence_base() is new
    assert assess(patient).versions["evidence"] == load_evidence_base().snapshot != new.snapshot


def test_changelog_entry_draft(bases: tuple[Path, Path]) -> None:
    from locoreg.evidence.changelog import read_changelog

    old, new = (load_evidence_base(p) for p in bases)
    entry = diff_bases(old, new).changelog_entry("2026-12-06")
    assert entry.startswith(f"## {new.snapshot} (2026-12-06)\n- added newtrial2026\n")
    assert "- pooled: overall survival, randomised: k = 5, HR 0.93" in entry
    # what the command prints is a valid entry of the change log
    (bases[1] / "CHANGELOG.md").write_text("# Log\n\n" + entry + "\n", encoding="utf-8")
    log = read_changelog(bases[1], new.snapshot)
    assert log.current and log.entries[0].changes[0] == "added newtrial2026"
    printed = runner.invoke(app, ["evidence", "diff", str(bases[0]), str(bases[1]), "--changelog"])
    assert printed.exit_code == 0 and printed.stdout.startswith(f"## {new.snapshot} (")


def test_assessments_that_quote_a_pooled_figure_are_listed(
    bases: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An engine that quotes the pooled trial HR from the active base (as issue 12 point 9
    asks of decision/) shows up in ``diff``: the quoted figure before and after."""
    import locoreg.decision.assessment as assessment
    from locoreg.cli.evidence_diff import assessment_changes
    from locoreg.decision.model import Assessment
    from locoreg.evidence.pool import pool_by_design
    from locoreg.patient import Patient

    real = assessment.assess

    def quoting(patient: Patient) -> Assessment:
        a = real(patient)
        hr = pool_by_design(outcome="overall_survival").groups["randomised"].hr
        return a.model_copy(update={"headline": f"{a.headline} Trials: HR {hr:.2f}."})

    monkeypatch.setattr(assessment, "assess", quoting)
    patients = Path(__file__).parents[2] / "examples" / "patients"
    (tmp_path / "p.json").write_text(
        (patients / "discuss_bone_oligometastatic.json").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    old, new = (load_evidence_base(p) for p in bases)
    (change,) = assessment_changes(old, new, tmp_path)
    assert change["patient"] == "p.json"
    assert change["recommendation"]["old"] == change["recommendation"]["new"]
    (headline,) = [d for d in change["differences"] if d["field"] == "headline"]
    assert headline["old"].endswith("Trials: HR 0.93.") and headline["new"].endswith("HR 0.88.")
    assert assessment_changes(old, old, tmp_path) == []
