"""The HTML report: evidence pooled next to the ladder, table 1, rendering without evidence."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from locoreg.cohort.ladder import LadderResult, LadderSettings, run_ladder
from locoreg.cohort.load import load_registry
from locoreg.cohort.select import AnalyticTable, extract
from locoreg.cohort.simulate import simulate_registry, write_registry
from locoreg.report.cohort import (
    TrialEvidence,
    randomised_trials,
    rct_reference,
    render_cohort_report,
    table_one,
)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[AnalyticTable, LadderResult]:
    path = tmp_path_factory.mktemp("reg") / "r.parquet"
    table = extract(load_registry(write_registry(simulate_registry(1500, seed=31), path)))
    return table, run_ladder(table, LadderSettings(landmark_sensitivity=(6.0,)))


def test_report_takes_the_evidence_pool() -> None:
    """The report's trials and pool are those of locoreg.evidence.pool (one estimate a trial)."""
    via_pool = randomised_trials()
    assert via_pool.pooled is not None
    assert len(via_pool.trials) >= 4
    # Trials found no clear benefit; registries did (the story the forest plot tells).
    assert via_pool.pooled.ci_low < 1.0 < via_pool.pooled.ci_high
    assert via_pool.observational is not None and via_pool.observational.ci_high < 0.8
    ref = rct_reference(via_pool)
    assert ref is not None and ref["hr"] == via_pool.pooled.hr
    assert rct_reference(TrialEvidence()) is None
    # the SEER analyses share patients: the pool with one study per data source is drawn too
    one = via_pool.observational_one_per_source
    assert one is not None and "one per data source (k=3" in one.label
    assert via_pool.dropped_for_source == "gnerlich2007 (SEER)"


def test_report_has_forest_next_to_trials(fitted: tuple[AnalyticTable, LadderResult]) -> None:
    table, result = fitted
    evidence = randomised_trials()
    assert evidence.pooled is not None
    page = render_cohort_report(result, table, {"file": "r.parquet", "rows_in_file": 1500,
                                                "rows_excluded": 0, "selection": "all patients"},
                                evidence=evidence)  # fmt: skip
    assert "This registry: the analysis ladder" in page
    assert "Published evidence (overall survival)" in page
    pooled = (
        f"HR {evidence.pooled.hr:.2f}\n({evidence.pooled.ci_low:.2f}–{evidence.pooled.ci_high:.2f})"
    )
    assert pooled in page
    # The summary quotes the same pool as the figure.
    assert f"pooled, HR {evidence.pooled.hr:.2f}" in page
    one = evidence.observational_one_per_source
    assert one is not None
    assert f"(dropping gnerlich2007 (SEER)) the observational\npool is HR {one.hr:.2f}" in page
    # the estimates the pool's default inclusion rule leaves out, with the reason
    assert evidence.left_out.startswith("khan2002 (narrower comparison)")
    assert "left out:\n" + evidence.left_out in page
    assert "Not run for this report" in page  # no multiverse: says how to add it
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)


def test_report_renders_without_evidence(fitted: tuple[AnalyticTable, LadderResult]) -> None:
    table, result = fitted
    cohort = {"file": "r.parquet", "rows_in_file": 1500, "rows_excluded": 0, "selection": "all"}
    page = render_cohort_report(
        result, table, cohort, evidence=TrialEvidence(note="evidence base not loaded (X)")
    )
    assert "This registry: the analysis ladder" in page
    assert "Published evidence" not in page
    assert "evidence base not loaded (X)." in page
    assert "published meta-analysis of RCTs reinhorn2021" in page


def test_table_one_counts(fitted: tuple[AnalyticTable, LadderResult]) -> None:
    table, _ = fitted
    rows = {r["label"]: r for r in table_one(table)}
    op = table.surgery == 1
    assert rows["Patients"]["Surgery"] == f"{int(op.sum()):,}"
    assert rows["Patients"]["No surgery"] == f"{int((~op).sum()):,}"
    liver = table.covariates["mets_liver"]
    expected = f"{int(liver[op].sum()):,} ({100 * liver[op].mean():.1f}%)"
    assert rows["liver metastases"]["Surgery"] == expected
    deaths = int(table.event[~op].sum())
    assert rows["Deaths"]["No surgery"] == f"{deaths:,}"
    age = table.age[op]
    assert rows["Age, mean (SD)"]["Surgery"] == f"{age.mean():.1f} ({np.std(age, ddof=1):.1f})"


def test_write_report_file(tmp_path: Path, fitted: tuple[AnalyticTable, LadderResult]) -> None:
    from locoreg.report.cohort import write_cohort_report

    table, result = fitted
    cohort = {"file": "r.parquet", "rows_in_file": 1500, "rows_excluded": 0, "selection": "all"}
    out = write_cohort_report(tmp_path / "r.html", result, table, cohort, evidence=TrialEvidence())
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    # The figures' words are text (searchable, read by screen readers), not glyph outlines.
    assert "Number at risk</text>" in html
    assert 'id="DejaVuSans-' not in html


def test_specification_curve_and_balance_plot_text() -> None:
    """Plain hazard-ratio ticks (not 6×10⁻¹), one row per choice, legends present."""
    from locoreg.plots.balance import love_plot
    from locoreg.plots.speccurve import specification_curve

    svg = specification_curve(
        [0.45, 0.66, 0.99, 1.02],
        [0.40, 0.60, 0.90, 0.95],
        [0.50, 0.72, 1.08, 1.10],
        {"method": ["naive", "adjusted", "landmark", "time_dependent"]},
        [False, False, True, True],
        reference=0.93,
        reference_label="pooled RCTs",
    )
    assert svg.startswith("<svg")
    # Text stays text in the SVG (svg.fonttype "none"): tick labels and legend entries.
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    for tick in ("0.4", "0.5", "0.7", "1"):
        assert tick in labels, tick
    assert not any("10^" in t for t in labels)
    for text in ("method: naive", "method: time_dependent", "pooled RCTs", "does not"):
        assert text in labels, text
    svg = love_plot(["age", "ECOG"], {"before": [0.4, -0.5], "matched": [0.05, 0.02]})
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert {"age", "ECOG", "before", "matched"} <= set(labels)


def test_naive_reading_follows_the_estimate() -> None:
    from locoreg.cohort.ladder import Estimate
    from locoreg.cohort.summary import _naive_reading

    assert _naive_reading(Estimate("naive", 0.45, 0.44, 0.46, 10, 5)) == (
        "makes surgery look protective"
    )
    assert "no clear difference" in _naive_reading(Estimate("naive", 0.95, 0.8, 1.1, 10, 5))
    assert "harmful" in _naive_reading(Estimate("naive", 1.3, 1.1, 1.5, 10, 5))
