"""Forest plot of the evidence story: randomised trials and observational studies side by side.

    pool_forest_plot(result, *, path=None) -> Figure

``result`` is a :class:`locoreg.evidence.pool.PoolResult`. Each group gets its study
rows (hazard ratio with the 95% interval derived from the pooled log HR and SE, so the
90% intervals of E2108 and JCOG1017 are shown at 95% like the others), its weight within
the group, its overall risk-of-bias judgement, its random-effects diamond, prediction
interval and heterogeneity line. Estimates the default rule leaves out (narrower
comparisons such as khan2002's resection with free margins, off-centre intervals) appear
only in a second diamond, "with narrower comparisons", and the footer names them with the
reason (``result.inclusion_sensitivity``). When observational studies share a data source, a
second diamond in that group shows the sensitivity pool with one study per data source
(``result.source_sensitivity``), its note naming the studies dropped. There is
deliberately no overall diamond: averaging a randomised estimate with confounded registry
estimates answers no question. The footer carries the test for subgroup differences and
the reading of the risk-of-bias column.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from locoreg.plots.forest import ForestRow, ForestSummary, fmt_p, forest_plot

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from locoreg.evidence.pool import InclusionSensitivity, PoolResult, SourceSensitivity

__all__ = ["pool_cumulative_plot", "pool_forest_plot"]

_ROB_SHORT = {
    "low": "Low",
    "some_concerns": "Some concerns",
    "high": "High",
    "moderate": "Moderate",
    "serious": "Serious",
    "critical": "Critical",
    "no_information": "No information",
}


def pool_forest_plot(result: PoolResult, *, path: str | Path | None = None) -> Figure:
    """Draw (and with ``path`` write) the trials-vs-observational forest plot."""
    from scipy import stats

    z = float(stats.norm.isf((1.0 - result.level) / 2.0))
    rows: list[ForestRow] = []
    summaries: list[ForestSummary] = []
    marks: list[str] = []
    for g in result.groups.values():
        if not g.studies:
            continue
        for s in g.studies:
            note = _ROB_SHORT.get(s.rob_overall or "", "Not assessed")
            if s.immortal_time_bias:
                note += " †"
                marks.append(s.id)
            # the interval as published when its level is the plot's; otherwise the one
            # implied at the plot's level by the SE derived from the published interval
            same = abs(s.ci_level - result.level) < 1e-9
            rows.append(
                ForestRow(
                    label=s.citation + ("" if same else " ‡"),
                    estimate=s.hr,
                    ci_low=s.hr_ci_low if same else math.exp(s.yi - z * s.se),
                    ci_high=s.hr_ci_high if same else math.exp(s.yi + z * s.se),
                    weight=s.weight,
                    group=g.label,
                    note=note,
                )
            )
        assert g.fit is not None
        if g.k > 1:  # a diamond for one study would repeat its row as if pooled
            summaries.append(
                ForestSummary.from_meta(g.fit, f"Pooled, random effects (k = {g.k})", group=g.label)
            )
        sens = result.source_sensitivity
        if sens is not None and sens.group == g.key and sens.dropped:
            summaries.append(_sensitivity_summary(sens, g.label))
        for inclusion in result.inclusion_sensitivity:
            if inclusion.group == g.key:
                summaries.append(_inclusion_summary(inclusion, g.label))
    if not rows:
        raise ValueError(f"outcome: no poolable hazard ratio for {result.outcome}")
    missing = [g.label for g in result.groups.values() if not g.studies]
    pct = round(100 * result.level)
    test = "z test" if result.test == "z" else "Knapp–Hartung t test"
    footer = [f"Random effects per group: τ² estimator {result.method}, {test}. "
              "Weights are within each group."]  # fmt: skip
    if result.q_between is not None:
        footer.append(
            f"Test for subgroup differences: Q = {result.q_between:.2f}, "
            f"df = {result.q_between_df}, {fmt_p(result.q_between_p)}. "
            "No overall estimate: trials and confounded registries are not combined."
        )
    footer.append(
        "Risk of bias: RoB 2 for trials, ROBINS-I for observational studies; † immortal time bias."
        if marks
        else "Risk of bias: RoB 2 for trials, ROBINS-I for observational studies."
    )
    for label in missing:
        footer.append(f"{label}: no hazard ratio with a confidence interval for this outcome.")
    sens = result.source_sensitivity
    if sens is not None and sens.dropped:
        footer.append(
            "One study per data source: registry analyses of one database may share patients; "
            "the study with the most patients is kept (ties: the most recent)."
        )
    for inclusion in result.inclusion_sensitivity:
        footer.append(
            "Pooled by default: any local therapy vs none. Left out, in the sensitivity diamond "
            "only: "
            + "; ".join(f"{a.study.citation} ({', '.join(a.tags)})" for a in inclusion.added)
            + "."
        )
    levels = sorted(
        {round(100 * s.ci_level) for s in result.studies if abs(s.ci_level - result.level) > 1e-9}
    )
    if levels:
        footer.append(
            f"‡ Interval reported at {', '.join(f'{lv}%' for lv in levels)}; shown at {pct}% "
            "from the same standard error."
        )
    title = result.outcome.replace("_", " ").capitalize()
    return forest_plot(
        rows,
        summaries,
        measure="HR",
        title=f"{title}: local therapy of the primary vs none",
        footer=footer,
        ci_label=f"HR ({pct}% CI)",
        note_label="Risk of bias",
        path=path,
    )


def _sensitivity_summary(sens: SourceSensitivity, group: str) -> ForestSummary:
    """The one-study-per-data-source diamond, its note naming what was dropped."""
    from dataclasses import replace

    from locoreg.evidence.pool import source_label

    dropped = "; ".join(
        f"{', '.join(gone)} dropped ({source_label(source)}, {kept} kept)"
        for source, (kept, gone) in sens.shared().items()
    )
    summary = ForestSummary.from_meta(
        sens.fit, f"One study per data source (k = {sens.k})", group=group,
        prediction_interval=False,
    )  # fmt: skip
    return replace(summary, heterogeneity=f"Sensitivity: {dropped}")


def _inclusion_summary(sens: InclusionSensitivity, group: str) -> ForestSummary:
    """The diamond with the estimates the default rule leaves out, naming them."""
    from dataclasses import replace

    summary = ForestSummary.from_meta(
        sens.fit, f"With narrower comparisons (k = {sens.k})", group=group,
        prediction_interval=False,
    )  # fmt: skip
    added = ", ".join(a.study.id for a in sens.added)
    return replace(summary, heterogeneity=f"Sensitivity: {added} added")


def pool_cumulative_plot(result: PoolResult, *, path: str | Path | None = None) -> Figure:
    """Chronological cumulative forest plot, one block per group of ``result``.

    Row j of a group is the random-effects estimate (``result.method``/``result.test``)
    of that group's studies published up to and including the j-th (ties keep the
    order of the result, itself chronological): how the answer moved as reports came in.
    The last row of each group equals its pooled estimate.
    """
    from locoreg.meta import cumulative

    rows: list[ForestRow] = []
    for g in result.groups.values():
        if not g.studies:
            continue
        years = [float(s.year or 0) for s in g.studies]
        cum = cumulative(
            [s.yi for s in g.studies], [s.vi for s in g.studies], order=years,
            method=result.method, test=result.test, level=result.level,
        )  # fmt: skip
        for j, i in enumerate(cum.order):
            s = g.studies[int(i)]
            rows.append(
                ForestRow(
                    label=("+ " if j else "") + s.citation,
                    estimate=math.exp(float(cum.estimate[j])),
                    ci_low=math.exp(float(cum.ci_low[j])),
                    ci_high=math.exp(float(cum.ci_high[j])),
                    group=g.label,
                )
            )
    if not rows:
        raise ValueError(f"outcome: no poolable hazard ratio for {result.outcome}")
    pct = round(100 * result.level)
    test = "z test" if result.test == "z" else "Knapp–Hartung t test"
    title = result.outcome.replace("_", " ").capitalize()
    return forest_plot(
        rows,
        (),
        measure="HR",
        title=f"{title}: cumulative meta-analysis by year of publication",
        footer=(
            "Each row pools every study of its group up to and including that row "
            f"(τ² estimator {result.method}, {test}).",
        ),
        ci_label=f"Pooled HR ({pct}% CI)",
        path=path,
    )
