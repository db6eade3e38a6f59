"""An Assessment as a standalone, printable HTML page (the tumour-board summary).

The web app serves it at ``/assessments/{id}/summary``; a ``locoreg report``
command can write it to a file. One self-contained file: inline CSS, inline SVG,
no external assets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from locoreg import i18n
from locoreg.decision.model import Assessment, Direction, FactorName
from locoreg.i18n import N_
from locoreg.report.labels import (
    DIRECTION_NAMES,
    FACTOR_NAMES,
    code_name,
    recommendation_name,
)

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class Harm:
    """A harm of breast surgery in the trials, with the study it comes from."""

    text: str
    evidence: tuple[str, ...]
    source_url: str


# Read from ../shared/evidence/verified_figures.csv (rows BADWE2015_TMC, SHIEN_JCOG1017,
# TOSELLO2018_COCHRANE); every number keeps its source URL.
SURGERY_HARMS: tuple[Harm, ...] = (
    Harm(
        N_(
            "Toxicity from local therapy was similar with and without surgery: RR 0.99 "
            "(95% CI 0.14–6.90), 15 per 1000 in both arms (one trial, MF07-01; GRADE low)."
        ),
        ("tosello2018", "soran2018"),
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC6494198/table/CD011276-tbl-0001",
    ),
    Harm(
        N_("One wound-related adverse event in the local-therapy arm of the Tata Memorial trial."),
        ("badwe2015",),
        "https://www.cancertherapyadvisor.com/home/cancer-topics/breast-cancer/"
        "locoregional-treatment-of-primary-tumor-in-metastatic-breast-cancer-not-beneficial/",
    ),
    Harm(
        N_(
            "No treatment-related deaths in JCOG1017 (primary tumour resection after 3 months "
            "of systemic therapy)."
        ),
        ("shien2023",),
        "https://arxivlens.com/PaperView/Details/primary-tumour-resection-plus-systemic-therapy-"
        "versus-systemic-therapy-alone-in-metastatic-breast-cancer-jcog1017-prim-bc-a-"
        "randomised-clinical-trial.-1629-56080928",
    ),
)


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
    env.policies["ext.i18n.trimmed"] = True  # as babel.cfg extracts them
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(display_helpers(lang))
    env.filters["css_string"] = css_string
    return env


def css_string(text: str) -> Markup:
    """``text`` inside a double-quoted CSS string of a ``<style>`` element (the running
    footer of the PDF): quotes, backslashes, line breaks and HTML's ``<>&'`` as CSS escapes
    (CSS Syntax §4.3.7), so nothing needs the HTML escaping that would break the CSS."""
    return Markup("".join(f"\\{ord(c):x} " if c in _CSS_UNSAFE else c for c in str(text)))


_CSS_UNSAFE = frozenset("\"\\\n<>&'")


@cache
def display_helpers(lang: str) -> dict[str, Any]:
    """What the templates call to show codes, numbers and dates in ``lang`` (read only)."""
    gettext = i18n.translations(lang).gettext
    return {
        "direction_name": lambda d: gettext(DIRECTION_NAMES[Direction(d)]),
        "factor_name": lambda f: gettext(FACTOR_NAMES[FactorName(f)]),
        "code_name": lambda code: code_name(str(code), lang),
        "num": lambda value, digits=2: i18n.number(value, lang, digits),
        "day": lambda value: i18n.day(value, lang),
    }


def icon_arrays(a: Assessment, lang: str = i18n.DEFAULT_LANGUAGE) -> dict[str, str] | None:
    """Two SVG icon arrays (with / without local therapy), when both figures exist."""
    from locoreg.plots.icon_array import icon_array

    gettext = i18n.translations(lang).gettext
    lc = a.local_control
    if lc.with_local_therapy_pct is None or lc.without_local_therapy_pct is None:
        return None
    if lc.horizon_years:
        label = gettext("locoregional progression within %(years)s years") % {
            "years": i18n.number(lc.horizon_years, lang, 1)
        }
    else:
        label = gettext("locoregional progression during follow-up")

    def array(pct: float, what: str) -> str:
        # The accessible name in the page's language (icon_array's own is English).
        name = gettext("%(count)s out of 100 patients: %(what)s") % {
            "count": round(pct),
            "what": what,
        }
        return icon_array(pct, label=what, name=name)

    return {
        "with": array(
            lc.with_local_therapy_pct,
            gettext("%(label)s, with local therapy") % {"label": label},
        ),
        "without": array(
            lc.without_local_therapy_pct,
            gettext("%(label)s, systemic therapy alone") % {"label": label},
        ),
    }


def assessment_context(a: Assessment, lang: str = i18n.DEFAULT_LANGUAGE) -> dict[str, Any]:
    """Template values shared by the report and the web result page."""
    gettext = i18n.translations(lang).gettext
    by_direction = {d: [f for f in a.factors if f.direction is d] for d in Direction}
    return {
        "a": a,
        "label": recommendation_name(a.recommendation, lang),
        "for_factors": by_direction[Direction.favours_local_therapy],
        "against_factors": by_direction[Direction.against_local_therapy],
        "neutral_factors": by_direction[Direction.neutral],
        "icons": icon_arrays(a, lang),
        "harms": [Harm(gettext(h.text), h.evidence, h.source_url) for h in SURGERY_HARMS],
    }


_FIELD_LABELS: dict[str, str] = {
    "label": N_("Board label"),
    "age": N_("Age"),
    "sex": N_("Sex"),
    "ecog": N_("ECOG"),
    "histology_confirmed": N_("Histology confirmed"),
    "er": N_("ER"),
    "pr": N_("PR"),
    "her2": N_("HER2"),
    "t": N_("T"),
    "n": N_("N"),
    "m": N_("M"),
    "metastases": N_("Metastases"),
    "systemic_therapy": N_("Systemic therapy"),
    "local_symptoms": N_("Local symptoms"),
    "local_symptoms_controlled": N_("Symptoms controlled"),
    "surgical_risk": N_("Surgical risk"),
    "resectable": N_("Resectable"),
    "patient_preference": N_("Patient preference"),
    "visceral_crisis": N_("Visceral crisis"),
}


def _plain(value: Any, lang: str) -> str:
    gettext = i18n.translations(lang).gettext
    if value is None:
        return gettext("not given")
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, int | float):
        return i18n.number(value, lang, 2)
    return code_name(str(value), lang)


def patient_rows(
    patient_input: dict[str, Any], lang: str = i18n.DEFAULT_LANGUAGE
) -> list[tuple[str, str]]:
    """The stored input as (label, plain text) rows for the printed summary, in ``lang``.

    ``metastases`` read "bone (2 lesions), lung (lesions unknown)"; systemic therapy
    "6 months, partial response"; an input that came as a FHIR Bundle is named as such.
    Field names and the display of codes follow ``lang``; the board label is shown as typed.
    """
    t = i18n.translations(lang)
    if set(patient_input) == {"fhir_bundle"}:
        return [(t.gettext("Input"), t.gettext("FHIR R4 Bundle (mCODE); see the stored record"))]
    rows: list[tuple[str, str]] = []
    for key, value in patient_input.items():
        label = t.gettext(_FIELD_LABELS.get(key, key.replace("_", " ")))
        if key == "label":
            text = str(value)
        elif key == "metastases" and isinstance(value, list):
            parts = []
            for item in value:
                if not isinstance(item, dict):
                    parts.append(_plain(item, lang))
                    continue
                lesions = item.get("lesions")
                if isinstance(lesions, int):
                    count = t.ngettext("%(n)s lesion", "%(n)s lesions", lesions) % {
                        "n": _plain(lesions, lang)
                    }
                else:
                    count = t.gettext("lesions unknown")
                parts.append(f"{_plain(item.get('site'), lang)} ({count})")
            text = ", ".join(parts) or t.gettext("none")
        elif key == "systemic_therapy":
            if isinstance(value, dict):
                text = t.gettext("%(months)s months, %(response)s") % {
                    "months": _plain(value.get("months"), lang),
                    "response": _plain(value.get("response"), lang),
                }
            else:
                text = t.gettext("not started")
        elif isinstance(value, list):  # local symptoms: "ninguno", not the sites' "ninguna"
            text = ", ".join(_plain(v, lang) for v in value) or t.pgettext("symptoms", "none")
        else:
            text = _plain(value, lang)
        rows.append((label, text))
    return rows


def cited_studies(ids: list[str]) -> list[dict[str, str | None]]:
    """``[{id, cite, link}]`` for the evidence list of the summary (unknown ids kept bare)."""
    from locoreg.evidence.base import load_evidence_base

    base = load_evidence_base()
    out: list[dict[str, str | None]] = []
    for study_id in ids:
        if study_id in base:
            study = base.get(study_id)
            out.append({"id": study_id, "cite": study.cite(), "link": study.url()})
        else:
            out.append({"id": study_id, "cite": None, "link": None})
    return out


def render_assessment_html(
    assessment: Assessment,
    *,
    record_id: str | None = None,
    created_at: datetime | None = None,
    patient_input: dict[str, Any] | None = None,
    forest: str | None = None,
    pdf: bool = False,
    lang: str = i18n.DEFAULT_LANGUAGE,
    kept_english: bool = False,
) -> str:
    """The standalone HTML page for one assessment (print-ready), in ``lang``.

    ``forest``: the trials-vs-registries forest plot (inline SVG), shown when given;
    ``pdf``: add the paged-media rules (A4, running header and footer) for WeasyPrint;
    ``lang``: the language of the page's own texts (the engine's sentences are those of
    ``assessment``: see :func:`locoreg.decision.localized.localized_assessment`); ``kept_english``:
    the record could not be told in ``lang`` and its stored English texts are shown,
    with a note saying why.
    """
    i18n.check_language(lang)
    template = _environment(lang).get_template("assessment.html.j2")
    return template.render(
        **assessment_context(assessment, lang),
        record_id=record_id,
        created_at=created_at,
        patient_rows=patient_rows(patient_input, lang) if patient_input else [],
        studies=cited_studies(assessment.evidence),
        board_label=(patient_input or {}).get("label"),
        forest=forest,
        pdf=pdf,
        lang=lang,
        kept_english=kept_english,
    )
