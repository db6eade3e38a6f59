"""An Assessment as Markdown: for tumour-board minutes, tickets and the CDS Hooks card.

Labels and section titles are written in the current language
(:func:`locoreg.i18n.language`); the engine's own sentences arrive already in the language
the assessment was made in. Codes and evidence ids stay as they are.
"""

from __future__ import annotations

from locoreg.decision.model import (
    DIRECTION_LABELS,
    Assessment,
    Direction,
    IntervalKind,
    factor_label,
    modality_label,
    recommendation_label,
)
from locoreg.decision.words import capital
from locoreg.i18n import gettext as _
from locoreg.i18n import num


def direction_label(direction: Direction) -> str:
    """'for local therapy', 'against local therapy', 'neutral' in the current language."""
    return _(DIRECTION_LABELS[direction])


def months_text(a: Assessment) -> str:
    """'25 months (range of published medians 25–39)' or the statement that none applies."""
    p = a.prognosis
    if p.median_os_months is None:
        return _("no applicable published figure")
    text = _("%(months)s months") % {"months": num(p.median_os_months, 2)}
    if p.interval_months is not None:
        lo, hi = p.interval_months
        kind = (
            _("range of published medians")
            if p.interval_kind is IntervalKind.range_of_published_medians
            else _("95% CI")
        )
        text += f" ({kind} {num(lo, 2)}–{num(hi, 2)})"
    return text


def option_lines(a: Assessment) -> list[str]:
    """One line per local modality: suitable or not, why, what it involves, evidence."""
    suitable, not_suitable = _("suitable"), _("not suitable")
    return [
        f"{capital(modality_label(o.modality))}: "
        f"{suitable if o.suitable else not_suitable} — {o.reason}. {o.details} "
        f"[{', '.join(o.evidence)}]"
        for o in a.local_therapy_options
    ]


def harm_lines(a: Assessment) -> list[str]:
    return [f"{h.finding} [{', '.join(h.evidence)}]" for h in a.harms]


def reference_lines(a: Assessment) -> list[str]:
    return [
        _("Reference only — %(population)s; eligibility: %(eligibility)s")
        % {"population": r.population, "eligibility": r.eligibility}
        + f" [{', '.join(r.evidence)}]"
        for r in a.prognosis.references
    ]


def stage_text(a: Assessment) -> str:
    if a.stage:
        return _("Stage %(stage)s") % {"stage": a.stage}
    return a.stage_text or _("Stage not assigned")


def assessment_markdown(a: Assessment) -> str:
    """Render the whole assessment, recommendation first."""
    lines = [
        f"## {recommendation_label(a.recommendation)}",
        "",
        f"**{a.headline}**",
        "",
        _("Recommendation code: %(code)s") % {"code": f"`{a.recommendation.value}`"}
        + f" · {stage_text(a)}: {a.stage_text}",
        "",
        "### " + _("Factors"),
        "",
        "| {} | {} | {} | {} |".format(_("factor"), _("finding"), _("weighs"), _("evidence")),
        "|---|---|---|---|",
    ]
    for f in a.factors:
        lines.append(
            f"| {factor_label(f.factor)} | {f.finding} | {direction_label(f.direction)} "
            f"| {', '.join(f.evidence)} |"
        )
    if a.local_therapy_options:
        lines += ["", "### " + _("Local therapy options"), ""]
        lines += [f"- {x}" for x in option_lines(a)]
    if a.harms:
        lines += ["", "### " + _("Harms (trial signals against local therapy)"), ""]
        lines += [f"- {x}" for x in harm_lines(a)]
    lines += ["", "### " + _("Prognosis"), ""]
    lines += [_("Median overall survival: %(months)s.") % {"months": months_text(a)}, ""]
    lines += [a.prognosis.basis, ""]
    if a.prognosis.references:
        lines += [*(f"- {x}" for x in reference_lines(a)), ""]
    lines += ["### " + _("Local control"), "", a.local_control.summary, ""]
    if a.local_control.applies and a.local_control.overall_survival:
        lines += [a.local_control.overall_survival, ""]
    if a.goals_of_care:
        lines += ["### " + _("Goals of care"), "", *(f"- {g}" for g in a.goals_of_care), ""]
    if a.would_change:
        lines += ["### " + _("What would change the recommendation"), ""]
        lines += [*(f"- {w}" for w in a.would_change), ""]
    if a.missing:
        lines += ["### " + _("Missing data that would sharpen the assessment"), ""]
        lines += [*(f"- {m}" for m in a.missing), ""]
    if a.warnings:
        lines += ["### " + _("Warnings"), "", *(f"- {w}" for w in a.warnings), ""]
    lines += ["### " + _("Evidence"), "", ", ".join(a.evidence), ""]
    lines += [f"*{a.disclaimer}* " + _("Versions: %(versions)s.") % {"versions": _versions(a)}, ""]
    return "\n".join(lines)


def _versions(a: Assessment) -> str:
    return ", ".join(f"{k} {v}" for k, v in a.versions.items())
