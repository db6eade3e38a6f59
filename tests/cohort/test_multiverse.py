"""The multiverse: specifications, both pool sizes, the CLI and the curve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from locoreg.cli import app
from locoreg.cohort.load import load_registry
from locoreg.cohort.multiverse import Spec, default_specs, run_multiverse, run_spec
from locoreg.cohort.select import extract
from locoreg.cohort.simulate import simulate_registry, write_registry


@pytest.fixture()
def table(tmp_path: Path):
    path = write_registry(simulate_registry(2500, seed=21), tmp_path / "r.parquet")
    return extract(load_registry(path))


def test_default_grid() -> None:
    specs = default_specs()
    assert len(specs) == 4 * (1 + 3 * 11) == len(set(specs))
    with pytest.raises(ValueError, match="unknown exclusion"):
        default_specs(["everyone"])


def test_one_and_two_workers_agree(table) -> None:
    specs = [
        Spec("naive", "none", "none"),
        Spec("adjusted", "standard", "no_brain"),
        Spec("landmark", "minimal", "known_receptors", 6.0),
        Spec("time_dependent", "full", "age_80_or_less"),
        Spec("emulated_trial", "full", "none", 3.0),
    ]
    seen: list[Spec] = []
    one = run_multiverse(table, specs, workers=1, progress=lambda r: seen.append(r.spec))
    two = run_multiverse(table, specs, workers=2)
    assert [r.spec for r in one.results] == specs == [r.spec for r in two.results]
    assert sorted(seen, key=specs.index) == specs
    for a, b in zip(one.results, two.results, strict=True):
        assert a.hr == pytest.approx(b.hr, rel=1e-12) and not a.error
    # The exclusion really drops patients.
    assert one.results[1].n == int((table.covariates["mets_brain"] == 0).sum())
    summary = one.summary()
    assert summary["immortal_time_not_handled"]["k"] == 2
    assert summary["immortal_time_handled"]["k"] == 3
    assert (
        summary["immortal_time_not_handled"]["max_hr"] < summary["immortal_time_handled"]["min_hr"]
    )


def test_failures_are_recorded_not_raised(table) -> None:
    res = run_spec(table, Spec("landmark", "full", "none", 500.0))
    assert res.error.startswith("no patient is followed beyond the landmark")


def test_cli_json_plot_and_report(tmp_path: Path) -> None:
    path = write_registry(simulate_registry(2000, seed=22), tmp_path / "r.csv")
    svg, html = tmp_path / "curve.svg", tmp_path / "report.html"
    res = CliRunner().invoke(
        app,
        [
            "cohort",
            "multiverse",
            str(path),
            "--workers",
            "1",
            "--exclusions",
            "none",
            "--format",
            "json",
            "--plot",
            str(svg),
            "--report",
            str(html),
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["summary"]["specifications"] == 34 == len(out["specifications"])
    assert svg.read_text().startswith("<svg")
    assert "Multiverse of specifications" in html.read_text()
    bad = CliRunner().invoke(app, ["cohort", "multiverse", str(path), "--exclusions", "all"])
    assert bad.exit_code == 2 and "--exclusions: unknown all" in bad.stderr


def test_every_estimate_equals_the_spec_by_spec_reference(tmp_path: Path) -> None:
    """The speed-ups (shared clone rows, grouped specifications) change no estimate: all
    136 equal the reference written by the plain one-by-one fits before them."""
    ref_path = Path(__file__).parents[1] / "fixtures" / "cohort" / "multiverse_reference.json"
    ref = json.loads(ref_path.read_text())
    path = write_registry(simulate_registry(ref["n"], seed=ref["seed"]), tmp_path / "r.parquet")
    got = run_multiverse(extract(load_registry(path)), workers=1)
    assert len(got.results) == len(ref["specifications"]) == 136
    for res, want in zip(got.results, ref["specifications"], strict=True):
        have = res.as_dict()
        assert {k: have[k] for k in ("method", "covariates", "exclusion", "parameter")} == {
            k: want[k] for k in ("method", "covariates", "exclusion", "parameter")
        }
        assert (have["n"], have.get("error")) == (want["n"], want.get("error")), res.spec.label
        for key in ("hr", "ci_low", "ci_high"):
            assert have[key] == pytest.approx(want[key], rel=1e-10, abs=0), (res.spec.label, key)
