"""An Assessment as Markdown: for tumour-board minutes, tickets and the CDS Hooks card."""

from __future__ import annotations

from locoreg.decision.model import FACTOR_LABELS, RECOMMENDATION_LABELS, Assessment, Direction

ARROWS = {
    Direction.favours_local_therapy: "for local therapy",
    Direction.against_local_therapy: "against local therapy",
    Direction.neutral: "neutral",
}


def months_text(a: Assessment) -> str:
    """'25 months (range 18–39)' or the plain statement that no figure exists."""
    p = a.prognosis
    if p.median_os_months is None:
        return "no published figure applies"
    text = f"{p.median_os_months:g} months"
    if p.interval_months is not None:
        lo, hi = p.interval_months
        text += f" (range of applicable published medians {lo:g}–{hi:g})"
    return text


def assessment_markdown(a: Assessment) -> str:
    """Render the whole assessment, recommendation first."""
    lines = [
        f"## {RECOMMENDATION_LABELS[a.recommendation]}",
        "",
        f"**{a.headline}**",
        "",
        f"Recommendation code: `{a.recommendation.value}`",
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
    lines += ["", "### Prognosis", "", f"Median overall survival: {months_text(a)}.", ""]
    lines += [a.prognosis.basis, ""]
    lines += ["### Local control", "", a.local_control.summary, ""]
    if a.local_control.overall_survival:
        lines += [a.local_control.overall_survival, ""]
    if a.goals_of_care:
        lines += ["### Goals of care", "", *(f"- {g}" for g in a.goals_of_care), ""]
    if a.would_change:
        lines += ["### What would change the recommendation", ""]
        lines += [*(f"- {w}" for w in a.would_change), ""]
    if a.missing_data:
        lines += ["### Missing data that would sharpen the assessment", ""]
        lines += [*(f"- {m}" for m in a.missing_data), ""]
    if a.warnings:
        lines += ["### Warnings", "", *(f"- {w}" for w in a.warnings), ""]
    lines += ["### Evidence", "", ", ".join(a.evidence), ""]
    versions = ", ".join(f"{k} {v}" for k, v in a.versions.items())
    lines += [f"*{a.disclaimer}* Versions: {versions}.", ""]
    return "\n".join(lines)
