"""HTML report of a registry re-analysis (``locoreg cohort analyze --report OUT.html``).

Self-contained: figures are inline SVG, styles inline, no external requests.
Sections: cohort and table 1 by surgery, Kaplan–Meier curves (with the
immortal-time warning), the ladder as a forest plot next to the randomised
trials of the evidence base, covariate balance, landmark sensitivity, the
specification curve when a multiverse was run, caveats and versions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from locoreg.cohort.ladder import RUNG_LABELS, RUNGS, LadderResult
from locoreg.cohort.multiverse import HANDLES_IMMORTAL_TIME, MultiverseResult
from locoreg.cohort.select import LABELS, AnalyticTable
from locoreg.cohort.summary import DISCLAIMER, rung_rows, summarise

Z = {0.95: 1.959963984540054, 0.90: 1.6448536269514722}


@dataclass(frozen=True)
class TrialRow:
    study: str
    label: str
    hr: float
    ci_low: float
    ci_high: float
    ci_level: float


def randomised_trials() -> tuple[list[TrialRow], TrialRow | None, str, str]:
    """Overall-survival HRs of the RCTs in the evidence base, their random-effects pool,
    the evidence snapshot id and a note on anything that could not be done."""
    try:
        from locoreg.evidence.base import load_evidence_base

        base = load_evidence_base()
    except Exception as exc:  # the report must still render without the evidence base
        return [], None, "unavailable", f"evidence base not loaded ({type(exc).__name__})"
    pairs = base.outcomes("overall_survival", "overall", design="rct", measure="HR")
    rows: list[TrialRow] = []
    seen: set[str] = set()
    # One report per trial: the most recent one (longest follow-up) wins.
    for study, outcome in sorted(pairs, key=lambda p: -(p[0].citation.year or 0)):
        if study.id in seen or outcome.estimate is None:
            continue
        if outcome.ci_low is None or outcome.ci_high is None:
            continue
        seen.update({study.id, *study.related})
        level = outcome.ci_level or 0.95
        rows.append(
            TrialRow(
                study.id,
                base.cite(study.id),
                float(outcome.estimate),
                float(outcome.ci_low),
                float(outcome.ci_high),
                float(level),
            )
        )
    rows.sort(key=lambda r: r.study)
    pooled: TrialRow | None = None
    note = ""
    if len(rows) >= 2:
        try:
            from locoreg.meta.rma import rma

            yi = np.log([r.hr for r in rows])
            se = np.array(
                [
                    (math.log(r.ci_high) - math.log(r.ci_low))
                    / (2 * Z.get(round(r.ci_level, 2), 1.96))
                    for r in rows
                ]
            )
            res = rma(yi, se**2, method="REML", test="z")
            if res.ci_low is None or res.ci_high is None:
                raise ValueError("pooled CI not available")
            pooled = TrialRow(
                "pooled",
                f"Random-effects pool of {len(rows)} RCTs (REML)",
                float(np.exp(res.estimate)),
                float(np.exp(res.ci_low)),
                float(np.exp(res.ci_high)),
                0.95,
            )
        except Exception as exc:  # meta engine written concurrently; show the trials anyway
            note = f"trials not pooled ({type(exc).__name__})"
    return rows, pooled, base.snapshot, note


def table_one(table: AnalyticTable) -> list[dict[str, str]]:
    """Baseline characteristics by surgery: n (%) for indicators, mean (SD) for age."""
    op = table.surgery == 1
    groups = (("Surgery", op), ("No surgery", ~op))
    rows = [{"label": "Patients", **{g: f"{int(m.sum())}" for g, m in groups}}]
    rows.append(
        {
            "label": "Age, mean (SD)",
            **{
                g: f"{table.age[m].mean():.1f} ({table.age[m].std(ddof=1):.1f})"
                if m.sum() > 1
                else "–"
                for g, m in groups
            },
        }
    )
    for key in (
        "hrpos_her2pos",
        "hrneg_her2pos",
        "triple_negative",
        "subtype_unknown",
        "mets_bone",
        "mets_lung",
        "mets_liver",
        "mets_brain",
        "mets_other",
        "bone_only",
        "t4",
        "node_positive",
    ):
        x = table.covariates[key]
        rows.append(
            {
                "label": LABELS[key],
                **{
                    g: f"{int(x[m].sum())} ({100 * x[m].mean():.1f}%)" if m.any() else "–"
                    for g, m in groups
                },
            }
        )
    if table.has_ecog:
        e = table.covariates["ecog"]
        known = table.covariates["ecog_missing"] == 0
        rows.append(
            {
                "label": "ECOG 2–4",
                **{
                    g: f"{int((e[m & known] >= 2).sum())} ({100 * (e[m & known] >= 2).mean():.1f}%)"
                    if (m & known).any()
                    else "–"
                    for g, m in groups
                },
            }
        )
    deaths = table.event == 1
    rows.append({"label": "Deaths", **{g: f"{int(deaths[m].sum())}" for g, m in groups}})
    return rows


def _ladder_forest(result: LadderResult, trials: list[TrialRow], pooled: TrialRow | None) -> str:
    """Forest plot of the rungs above the randomised trials (log HR axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from locoreg.plots.km import figure_svg

    items: list[tuple[str, float, float, float, str]] = [
        (
            RUNG_LABELS[k],
            e.hr,
            e.ci_low,
            e.ci_high,
            "#1f4e79" if HANDLES_IMMORTAL_TIME[k] else "#c0504d",
        )
        for k in RUNGS
        for e in (result.estimates[k],)
    ]
    for t in trials:
        level = "" if t.ci_level == 0.95 else f" [{t.ci_level:.0%} CI]"
        items.append((f"RCT: {t.study}{level}", t.hr, t.ci_low, t.ci_high, "#4f8a3c"))
    if pooled is not None:
        items.append((pooled.label, pooled.hr, pooled.ci_low, pooled.ci_high, "#2d5a1f"))
    y = np.arange(len(items))[::-1]
    fig, ax = plt.subplots(figsize=(8.0, 0.36 * len(items) + 1.0))
    for yi, (_, hr, lo, hi, colour) in zip(y, items, strict=True):
        ax.plot([lo, hi], [yi, yi], color=colour, linewidth=1.5)
        ax.plot([hr], [yi], marker="s", color=colour, markersize=6)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    _hr_ticks(ax, min(i[2] for i in items), max(i[3] for i in items))
    ax.set_yticks(y, [i[0] for i in items], fontsize=8)
    ax.set_xlabel("Hazard ratio of death, surgery vs none (< 1 favours surgery)")
    ax.grid(axis="x", alpha=0.3)
    return figure_svg(fig)


def _hr_ticks(ax: Any, low: float, high: float) -> None:
    """Plain hazard-ratio ticks on a log axis (0.5, 1, 2 rather than 5×10⁻¹)."""
    from matplotlib.ticker import FixedLocator, NullLocator, StrMethodFormatter

    ticks = [
        t
        for t in (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0)
        if low / 1.5 <= t <= high * 1.5
    ]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))


def speccurve_svg(multiverse: MultiverseResult, reference: float | None) -> str:
    from locoreg.plots.speccurve import specification_curve

    ok = multiverse.ok()
    return specification_curve(
        [r.hr for r in ok],
        [r.ci_low for r in ok],
        [r.ci_high for r in ok],
        {
            "method": [r.spec.method for r in ok],
            "covariates": [r.spec.covariates for r in ok],
            "exclusion": [r.spec.exclusion for r in ok],
        },
        [HANDLES_IMMORTAL_TIME[r.spec.method] for r in ok],
        reference=reference,
        reference_label="pooled RCTs" if reference is not None else "",
    )


def render_cohort_report(
    result: LadderResult,
    table: AnalyticTable,
    cohort: dict[str, Any],
    multiverse: MultiverseResult | None = None,
) -> str:
    """The report as one HTML string."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    from locoreg import __version__
    from locoreg.plots.balance import love_plot
    from locoreg.plots.km import km_plot

    trials, pooled, snapshot, trials_note = randomised_trials()
    op = (table.surgery == 1).astype(int)
    km_svg = km_plot(
        table.time,
        table.event,
        1 - op,
        ("Surgery", "No surgery"),
        title="Overall survival from diagnosis, by surgery of the primary",
        note="Biased in favour of surgery: operated patients had to survive until surgery "
        "(immortal time), and were selected for surgery.",
    )
    lm = result.settings.landmark
    after = table.time > lm
    exposed = ((table.surgery == 1) & (table.surgery_time <= lm))[after].astype(int)
    km_landmark_svg = (
        km_plot(
            table.time[after] - lm,
            table.event[after],
            1 - exposed,
            (f"Surgery by {lm:g} months", "No surgery by then"),
            title=f"Landmark analysis: survival from {lm:g} months, patients alive then",
            xlabel=f"Months from the {lm:g}-month landmark",
        )
        if after.any()
        else ""
    )
    balance_svg = love_plot(
        [b.label for b in result.balance],
        {
            "before": [b.smd_before for b in result.balance],
            "matched": [b.smd_matched for b in result.balance],
            "IPTW": [b.smd_weighted for b in result.balance],
        },
    )
    env = Environment(
        loader=PackageLoader("locoreg.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    template = env.get_template("cohort.html.j2")
    return template.render(
        cohort=cohort,
        result=result,
        rungs=rung_rows(result),
        summary=summarise(result),
        table_one=table_one(table),
        km_svg=km_svg,
        km_landmark_svg=km_landmark_svg,
        forest_svg=_ladder_forest(result, trials, pooled),
        balance_svg=balance_svg,
        trials=trials,
        pooled=pooled,
        trials_note=trials_note,
        multiverse=multiverse,
        multiverse_summary=multiverse.summary() if multiverse else None,
        speccurve_svg=speccurve_svg(multiverse, pooled.hr if pooled else None)
        if multiverse and multiverse.ok()
        else "",
        disclaimer=DISCLAIMER,
        versions={"engine": __version__, "evidence": snapshot},
    )


def write_cohort_report(
    path: str | Path,
    result: LadderResult,
    table: AnalyticTable,
    cohort: dict[str, Any],
    multiverse: MultiverseResult | None = None,
) -> Path:
    path = Path(path)
    path.write_text(render_cohort_report(result, table, cohort, multiverse), encoding="utf-8")
    return path
