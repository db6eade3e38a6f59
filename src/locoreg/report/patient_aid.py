"""The patient decision aid: one assessment told to the patient, in plain language.

Follows the IPDAS criteria that apply to a one-page-per-side aid (Elwyn et al.,
BMJ 2006;333:417, https://doi.org/10.1136/bmj.38926.629329.AE): the options,
including no local treatment (medicine alone); benefits and harms as "out of 100
women like you" with the same denominator; icon arrays; what is uncertain;
questions for the team; what matters most to the patient; the source of every
number. The aid mirrors the assessment: the recommendation decides what is
offered, and every number is read from the Assessment or the evidence base,
never written in the template.

Where local treatment is not on the table (out of scope, work-up to complete,
no routine local therapy, medicine first) the aid says so and presents no options.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from locoreg import i18n
from locoreg.decision.model import Assessment, Modality, Recommendation
from locoreg.evidence.base import EvidenceBase, load_evidence_base

TEMPLATES = Path(__file__).parent / "templates"

#: Recommendations under which the patient has a local treatment to choose or refuse.
CHOICE: frozenset[Recommendation] = frozenset(
    {Recommendation.discuss_local_therapy, Recommendation.palliative_local_therapy}
)

#: Arm metrics of the evidence base the aid shows (metric name → what a figure means).
SURVIVAL_METRIC = "os_{years}y_percent"
LOCAL_PROGRESSION_METRIC = "locoregional_progression_{years}y_percent"
TOXICITY_METRIC = "toxicity_per_1000"
#: Highlighted figures: ≥ 3:1 against white and against the grey rest (WCAG 1.4.11).
EVENT_COLOUR = "#a63d17"
ALIVE_COLOUR = "#1d5f8a"


@dataclass(frozen=True, slots=True)
class ArmFigure:
    """One number per arm from one study: "x out of 100" with and without local treatment."""

    with_local: float
    without_local: float
    per: int
    study_id: str
    cite: str
    url: str | None


def _arms(base: EvidenceBase, study_ids: list[str], metric: str) -> ArmFigure | None:
    """The first study among ``study_ids`` that reports ``metric`` for both arms."""
    for study_id in study_ids:
        if study_id not in base:
            continue
        study = base.get(study_id)
        for outcome in study.outcomes:
            values = {a.arm: a for a in outcome.arms if a.metric == metric}
            if {"local_therapy", "no_local_therapy"} <= values.keys():
                unit = values["local_therapy"].unit
                return ArmFigure(
                    with_local=float(values["local_therapy"].value),
                    without_local=float(values["no_local_therapy"].value),
                    per=1000 if unit == "per_1000" else 100,
                    study_id=study_id,
                    cite=study.cite(),
                    url=outcome.source_url or study.url(),
                )
    return None


@dataclass(frozen=True, slots=True)
class AidFigures:
    """The numbers of the aid, each with its source: local control, survival, side effects."""

    years: int | None
    local_progression: ArmFigure | None
    survival: ArmFigure | None
    toxicity: ArmFigure | None


def aid_figures(a: Assessment, base: EvidenceBase) -> AidFigures:
    """Local control from the Assessment (its source found in the evidence base), survival
    at the same horizon from the same trials, and side effects of local treatment.

    Shown only where the assessment shows local control (``local_control.applies``): the
    trial figures describe fit patients whose disease was controlled on systemic therapy.
    """
    lc = a.local_control
    if (
        not lc.applies
        or lc.with_local_therapy_pct is None
        or lc.without_local_therapy_pct is None
        or lc.horizon_years is None
    ):
        return AidFigures(None, None, None, None)
    years = round(lc.horizon_years)
    local = _arms(base, lc.evidence, LOCAL_PROGRESSION_METRIC.format(years=years))
    if local is not None and (local.with_local, local.without_local) != (
        lc.with_local_therapy_pct,
        lc.without_local_therapy_pct,
    ):
        local = None  # the assessment's numbers, or none: never another study's
    survival = _arms(base, lc.evidence, SURVIVAL_METRIC.format(years=years))
    toxicity = _arms(base, a.evidence, TOXICITY_METRIC)
    return AidFigures(years, local, survival, toxicity)


@cache
def _environment(lang: str) -> Environment:
    """One Jinja environment per language (gettext installed once, never swapped)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def _icons(figure: ArmFigure, lang: str, what: str, with_local: bool, colour: str) -> str:
    from locoreg.plots.icon_array import icon_array

    gettext = i18n.translations(lang).gettext
    pct = figure.with_local if with_local else figure.without_local
    count = round(pct)
    arm = gettext("with breast treatment") if with_local else gettext("with medicine only")
    name = gettext("%(count)s out of 100 women like you %(what)s, %(arm)s") % {
        "count": count,
        "what": what,
        "arm": arm,
    }
    return icon_array(pct, label=what, name=name, colour=colour, scale=1.0)


def render_patient_aid(
    assessment: Assessment,
    *,
    lang: str = i18n.DEFAULT_LANGUAGE,
    record_id: str | None = None,
    created_at: datetime | None = None,
    language_links: bool = False,
) -> str:
    """The standalone HTML decision aid (inline CSS, inline SVG, no script; 2 A4 pages).

    ``language_links`` adds links to the other languages (``?lang=``): for the web page,
    not for a saved file, where they would lead nowhere.
    """
    i18n.check_language(lang)
    base = load_evidence_base()
    figures = aid_figures(assessment, base)
    gettext = i18n.translations(lang).gettext
    icons: dict[str, str] = {}
    if figures.local_progression is not None:
        what = gettext("have the cancer grow again in the breast or armpit")
        icons["local_with"] = _icons(figures.local_progression, lang, what, True, EVENT_COLOUR)
        icons["local_without"] = _icons(figures.local_progression, lang, what, False, EVENT_COLOUR)
    if figures.survival is not None:
        what = gettext("are alive")
        icons["alive_with"] = _icons(figures.survival, lang, what, True, ALIVE_COLOUR)
        icons["alive_without"] = _icons(figures.survival, lang, what, False, ALIVE_COLOUR)
    suitable = {o.modality for o in assessment.local_therapy_options if o.suitable}
    template = _environment(lang).get_template("patient_aid.html.j2")
    return template.render(
        a=assessment,
        rec=assessment.recommendation.value,
        choice=assessment.recommendation in CHOICE,
        surgery=Modality.surgery in suitable,
        radiotherapy=Modality.radiotherapy in suitable,
        supportive=Modality.supportive_local_care in suitable,
        figures=figures,
        icons=icons,
        lang=lang,
        number=lambda value, digits=0: i18n.number(value, lang, digits),
        record_id=record_id,
        created=i18n.day(created_at, lang) if created_at else None,
        other_lang=[code for code in i18n.LANGUAGES if code != lang] if language_links else [],
    )
