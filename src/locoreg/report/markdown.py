"""An Assessment as Markdown: for tumour-board minutes, tickets and the CDS Hooks card."""

from __future__ import annotations

from locoreg.decision.model import (
    FACTOR_LABELS,
    RECOMMENDATION_LABELS,
    Assessment,
    Direction,
    IntervalKind,
)

ARROWS = {
    Direction.favours_local_therapy: "for local therapy",
    Direction.against_local_therapy: "against local therapy",
    Direction.neutral: "neutral",
}


def months_text(a: Assessment) -> str:
    """'25 months (range of published medians 25–39)' or the statement that none applies."""
    p = a.prognosis
    if p.median_os_months is None:
        return "no applicable published figure"
    text = f"{p.median_os_months:g} months"
    if p.interval_months is not None:
        lo, hi = p.interval_months
        kind = (
            "range of published medians"
            if p.interval_kind is IntervalKind.range_of_published_medians
            else "95% CI"
        )
        text += f" ({kind} {lo:g}–{hi:g})"
    return text


def option_lines(a: Assessment) -> list[str]:
    """One line per local modality: suitable or not, why, what it involves, evidence."""
    return [
        f"{o.modality.value.replace('_', ' ').capitalize()}: "
        f"{'suitable' if o.suitable else 'not suitable'} — {o.reason}. {o.details} "
        f"[{', '.join(o.evidence)}]"
        for o in a.local_therapy_options
    ]


def harm_lines(a: Assessment) -> list[str]:
    return [f"{h.finding} [{', '.join(h.evidence)}]" for h in a.harms]


def reference_lines(a: Assessment) -> list[str]:
    return [
        f"Reference only — {r.population}; eligibility: {r.eligibility} [{', '.join(r.evidence)}]"
        for r in a.prognosis.references
    ]


def stage_text(a: Assessment) -> str:
    return f"Stage {a.stage}" if a.stage else a.stage_text or "Stage not assigned"


def assessment_markdown(a: Assessment) -> str:
    """Render the whole assessment, recommendation first."""
    lines = [
        f"## {RECOMMENDATION_LABELS[a.recommendation]}",
        "",
        f"**{a.headline}**",
        "",
        f"Recommendation code: `{a.recommendation.value}` · {stage_text(a)}: {a.stage_text}",
        "",
        "### Factors",
        "",
        "| factor | finding | weighs | evidence |",
        "|---|---|---|---|",
    ]
    for f in a.factors:
        lines.append(
            f"| {FACTOR_LABELS[f.factor]} | {f.finding} | {ARROWS[f.direction]} "
            f"| {', '.join(f.evidence)} |"
        )
    if a.local_therapy_options:
        lines += ["", "### Local therapy options", "", *(f"- {x}" for x in option_lines(a))]
    if a.harms:
        lines += ["", "### Harms (trial signals against local therapy)", ""]
        lines += [f"- {x}" for x in harm_lines(a)]
    lines += ["", "### Prognosis", "", f"Median overall survival: {months_text(a)}.", ""]
    lines += [a.prognosis.basis, ""]
    if a.prognosis.references:
        lines += [*(f"- {x}" for x in reference_lines(a)), ""]
    lines += ["### Local control", "", a.local_control.summary, ""]
    if a.local_control.applies and a.local_control.overall_survival:
        lines += [a.local_control.overall_survival, ""]
    if a.goals_of_care:
        lines += ["### Goals of care", "", *(f"- {g}" for g in a.goals_of_care), ""]
    if a.would_change:
        lines += ["### What would change the recommendation", ""]
        lines += [*(f"- {w}" for w in a.would_change), ""]
    if a.missing:
        lines += ["### Missing data that would sharpen the assessment", ""]
        lines += [*(f"- {m}" for m in a.missing), ""]
    if a.warnings:
        lines += ["### Warnings", "", *(f"- {w}" for w in a.warnings), ""]
    lines += ["### Evidence", "", ", ".join(a.evidence), ""]
    versions = ", ".join(f"{k} {v}" for k, v in a.versions.items())
    lines += [f"*{a.disclaimer}* Versions: {versions}.", ""]
    return "\n".join(lines)
