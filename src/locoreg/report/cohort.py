"""HTML report of a registry re-analysis (``locoreg cohort analyze --report OUT.html``).

Self-contained: figures are inline SVG, styles inline, no external requests.
Sections: cohort and table 1 by surgery, Kaplan–Meier curves (with the
immortal-time warning), the ladder as a forest plot next to the randomised
trials of the evidence base, covariate balance, landmark sensitivity, the
specification curve when a multiverse was run, caveats and versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from locoreg.cohort.ladder import RUNG, RUNGS, LadderResult
from locoreg.cohort.multiverse import MultiverseResult
from locoreg.cohort.select import LABELS, AnalyticTable
from locoreg.cohort.summary import DISCLAIMER, hr_text, rung_rows, summarise


@dataclass(frozen=True)
class TrialRow:
    study: str
    label: str
    hr: float
    ci_low: float
    ci_high: float
    ci_level: float


@dataclass(frozen=True)
class TrialEvidence:
    """The published comparison drawn next to the ladder.

    ``trials`` one overall-survival HR per randomised trial; ``pooled`` their
    random-effects pool; ``observational`` the pool of the observational
    studies of the evidence base (what registries reported); ``source`` names
    the code that pooled them; ``note`` says what could not be done.
    ``observational_one_per_source`` the observational pool with one study per
    data source (None when no two studies share one); ``dropped_for_source``
    the studies it leaves out, e.g. ``"gnerlich2007 (SEER)"``; ``left_out`` the
    estimates the pool's default rule keeps out of it (narrower comparisons, off-centre
    intervals), with the reasons.
    """

    trials: tuple[TrialRow, ...] = ()
    pooled: TrialRow | None = None
    observational: TrialRow | None = None
    snapshot: str = "unavailable"
    source: str = ""
    note: str = ""
    observational_one_per_source: TrialRow | None = None
    dropped_for_source: str = ""
    left_out: str = ""


def randomised_trials() -> TrialEvidence:
    """Overall-survival HRs of the RCTs in the evidence base and their random-effects pool.

    From :func:`locoreg.evidence.pool.pool_by_design` (one estimate per trial, 90 %
    intervals converted with their own z, REML), as ``locoreg evidence pool`` shows them.
    """
    from locoreg.evidence.pool import pool_by_design, source_label

    res = pool_by_design(outcome="overall_survival", method="REML", test="z")
    rnd, obs = res.groups["randomised"], res.groups["observational"]
    trials = tuple(
        TrialRow(s.id, s.citation, s.hr, s.hr_ci_low, s.hr_ci_high, s.ci_level)
        for s in sorted(rnd.studies, key=lambda s: s.id)
    )

    def pooled_row(pool: Any, key: str, label: str) -> TrialRow | None:
        """A pooled estimate (a design group or the per-source pool) as a forest row."""
        lo, hi = pool.hr_ci
        if pool.hr is None or lo is None or hi is None:
            return None
        return TrialRow(key, f"{label} (k={pool.k}, {res.method})", pool.hr, lo, hi, 0.95)

    def group_row(group: Any, what: str) -> TrialRow | None:
        return pooled_row(group, group.key, f"{what} pooled")

    sens = res.source_sensitivity
    one_per_source = dropped = None
    if sens is not None and sens.dropped:
        one_per_source = pooled_row(
            sens, "observational_one_per_source", "Observational, one per data source"
        )
        dropped = "; ".join(
            f"{', '.join(gone)} ({source_label(source)})"
            for source, (_kept, gone) in sens.shared().items()
        )
    return TrialEvidence(
        trials,
        group_row(rnd, "RCTs"),
        group_row(obs, "Observational studies"),
        res.snapshot,
        "locoreg.evidence.pool",
        observational_one_per_source=one_per_source,
        dropped_for_source=dropped or "",
        left_out="; ".join(
            f"{a.study.id} ({', '.join(a.tags)})"
            for i in res.inclusion_sensitivity
            for a in i.added
        ),
    )


def rct_reference(evidence: TrialEvidence) -> dict[str, Any] | None:
    """The pooled RCT estimate as the plain-words summary quotes it (None if not pooled)."""
    p = evidence.pooled
    if p is None:
        return None
    return {
        "label": f"the {len(evidence.trials)} randomised trials of the evidence base, pooled",
        "hr": p.hr,
        "ci_low": p.ci_low,
        "ci_high": p.ci_high,
        "studies": [t.study for t in evidence.trials],
        "pooled_by": evidence.source,
        "evidence_snapshot": evidence.snapshot,
    }


def table_one(table: AnalyticTable) -> list[dict[str, str]]:
    """Baseline characteristics by surgery: n (%) for indicators, mean (SD) for age."""
    op = table.surgery == 1
    groups = (("Surgery", op), ("No surgery", ~op))
    rows = [{"label": "Patients", **{g: f"{int(m.sum()):,}" for g, m in groups}}]
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
                    g: f"{int(x[m].sum()):,} ({100 * x[m].mean():.1f}%)" if m.any() else "–"
                    for g, m in groups
                },
            }
        )
    if table.has_ecog:
        e = table.covariates["ecog"]
        known = table.covariates["ecog_missing"] == 0
        poor = e >= 2

        def share(m: np.ndarray) -> str:
            k = m & known
            return f"{int(poor[k].sum()):,} ({100 * poor[k].mean():.1f}%)" if k.any() else "–"

        rows.append({"label": "ECOG 2–4", **{g: share(m) for g, m in groups}})
    deaths = table.event == 1
    rows.append({"label": "Deaths", **{g: f"{int(deaths[m].sum()):,}" for g, m in groups}})
    return rows


def _ladder_forest(result: LadderResult, evidence: TrialEvidence) -> str:
    """The ladder (left) next to the published evidence (right), on one log HR scale.

    Left panel: the rungs, red when the method treats surgery as known at
    diagnosis (immortal time), blue when it respects the timing of surgery.
    Right panel: each randomised trial (green squares), their pool (green
    diamond) and the pool of the observational studies (grey diamond; an open
    grey diamond for the pool with one study per data source), so the reader can
    see which rungs land where the registries landed and which land where the
    trials did.
    """
    from locoreg.plots._style import figure_svg, new_figure

    Item = tuple[str, float, float, float, str, str]  # label, hr, lo, hi, colour, marker
    st = result.settings
    suffix = {"landmark": f" at {st.landmark:g} mo", "emulated_trial": f", grace {st.grace:g} mo"}
    left: list[Item] = [
        (
            RUNG[k].label.replace(" (clone–censor–weight)", "") + suffix.get(k, ""),
            e.hr,
            e.ci_low,
            e.ci_high,
            "#1f4e79" if RUNG[k].handles_immortal_time else "#c0504d",
            "s",
        )
        for k in RUNGS
        for e in (result.estimates[k],)
    ]
    right: list[Item] = []
    for t in evidence.trials:
        level = "" if round(t.ci_level, 2) == 0.95 else f" ({t.ci_level:.0%} CI)"
        right.append((f"{t.study}{level}", t.hr, t.ci_low, t.ci_high, "#4f8a3c", "s"))
    for row, colour, marker in (
        (evidence.pooled, "#2d5a1f", "D"),
        (evidence.observational, "#777777", "D"),
        (evidence.observational_one_per_source, "#777777", "open"),
    ):
        if row is not None:
            right.append((row.label, row.hr, row.ci_low, row.ci_high, colour, marker))
    panels = [(left, "This registry: the analysis ladder")]
    if right:
        panels.append((right, "Published evidence (overall survival)"))
    everything = left + right
    low, high = min(i[2] for i in everything), max(i[3] for i in everything)
    rows = max(len(p[0]) for p in panels)
    fig = new_figure(11.0 if len(panels) == 2 else 7.0, 0.34 * rows + 1.3)
    axes = fig.subplots(1, len(panels), sharex=True, squeeze=False)
    for ax, (items, title) in zip(axes[0], panels, strict=True):
        y = np.arange(len(items))[::-1] + (rows - len(items))
        for yi, (_, hr, lo, hi, colour, marker) in zip(y, items, strict=True):
            ax.plot([lo, hi], [yi, yi], color=colour, linewidth=1.5)
            face = "white" if marker == "open" else colour
            ax.plot(
                [hr], [yi], marker="D" if marker == "open" else marker, color=colour,
                markerfacecolor=face, markersize=6 if marker == "s" else 8,
            )  # fmt: skip
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_xlim(low / 1.15, high * 1.15)
        _hr_ticks(ax, low, high)
        ax.set_yticks(y, [i[0] for i in items], fontsize=8)
        ax.set_ylim(-0.7, rows - 0.3)
        ax.set_title(title, loc="left", fontsize=10)
        ax.set_xlabel("HR of death, surgery vs none (< 1 favours surgery)", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
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


def speccurve_svg(
    multiverse: MultiverseResult, reference: float | None, path: Path | None = None
) -> str:
    """The specification curve as SVG text; also written to ``path`` (.svg, .png, .pdf)."""
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
        [RUNG[r.spec.method].handles_immortal_time for r in ok],
        reference=reference,
        reference_label="pooled RCTs" if reference is not None else "",
        path=path,
    )


def render_cohort_report(
    result: LadderResult,
    table: AnalyticTable,
    cohort: dict[str, Any],
    multiverse: MultiverseResult | None = None,
    *,
    evidence: TrialEvidence | None = None,
) -> str:
    """The report as one HTML string (``evidence`` defaults to :func:`randomised_trials`)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    from locoreg import __version__
    from locoreg.plots.balance import love_plot
    from locoreg.plots.km import km_plot

    evidence = randomised_trials() if evidence is None else evidence
    pooled = evidence.pooled
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
    lm_est = result.landmark_sensitivity.get(lm, result.estimates["landmark"])
    km_landmark_svg = (
        km_plot(
            table.time[after] - lm,
            table.event[after],
            1 - exposed,
            (f"Surgery by {lm:g} months", "No surgery by then"),
            title=f"Landmark analysis: survival from {lm:g} months, patients alive then",
            xlabel=f"Months from the {lm:g}-month landmark",
            note="Unadjusted curves: the gap left here is confounding by indication. The "
            f"adjusted landmark model gives {hr_text(lm_est)}.",
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
        summary=summarise(result, rct_reference(evidence)),
        table_one=table_one(table),
        km_svg=km_svg,
        km_landmark_svg=km_landmark_svg,
        forest_svg=_ladder_forest(result, evidence),
        balance_svg=balance_svg,
        evidence=evidence,
        pooled=pooled,
        multiverse=multiverse,
        multiverse_summary=multiverse.summary() if multiverse else None,
        speccurve_svg=speccurve_svg(multiverse, pooled.hr if pooled else None)
        if multiverse and multiverse.ok()
        else "",
        disclaimer=DISCLAIMER,
        versions={"engine": __version__, "evidence": evidence.snapshot},
    )


def write_cohort_report(
    path: str | Path,
    result: LadderResult,
    table: AnalyticTable,
    cohort: dict[str, Any],
    multiverse: MultiverseResult | None = None,
    *,
    evidence: TrialEvidence | None = None,
) -> Path:
    """Render the report and write it to ``path`` (UTF-8)."""
    path = Path(path)
    html = render_cohort_report(result, table, cohort, multiverse, evidence=evidence)
    path.write_text(html, encoding="utf-8")
    return path
