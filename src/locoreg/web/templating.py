"""The Jinja environment of the pages, with the helpers every template may call.

One module without routes, so that the pages and the error answers
(:mod:`locoreg.web.problems`, the HTML "not found" page) share it without importing
each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from locoreg import DISCLAIMER, __version__, i18n
from locoreg.decision.model import RECOMMENDATION_LABELS
from locoreg.report.assessment import FACTOR_LABELS


def page_language(request: Request) -> dict[str, Any]:
    """``lang`` of every page: ``?lang=``, else ``Accept-Language``, else English."""
    lang = i18n.negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))
    return {"lang": lang, "languages": i18n.LANGUAGES}


@pass_context
def _gettext(context: Context, message: str) -> str:
    # The language travels in the render context, never in shared state: one environment
    # serves concurrent requests in different languages.
    return i18n.translations(context.get("lang", i18n.DEFAULT_LANGUAGE)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    lang = context.get("lang", i18n.DEFAULT_LANGUAGE)
    return i18n.translations(lang).ngettext(singular, plural, n)


templates = Jinja2Templates(
    directory=Path(__file__).parent / "templates", context_processors=[page_language]
)
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=_gettext, ngettext=_ngettext, newstyle=True
)


def pairs(values: list[str], readable: bool = False) -> list[tuple[str, str]]:
    """(value, text) options for a select; ``readable`` turns underscores into spaces."""
    return [(v, v.replace("_", " ") if readable else v) for v in values]


#: Study designs as a reader says them (enum values stay in the JSON).
DESIGN_LABELS: dict[str, str] = {
    "rct": "randomised trial",
    "phase_2_trial": "phase 2 trial",
    "prospective_registry": "prospective registry",
    "retrospective_registry": "retrospective registry",
    "single_institution": "single institution",
    "observational": "observational",
    "meta_analysis": "meta-analysis",
    "epidemiology": "epidemiology",
    "guideline_or_review": "guideline or review",
}


def metric(name: str, value: float, unit: str | None) -> str:
    """``("os_3y_percent", 68.4, "percent")`` → ``"OS 3y 68.4%"`` (no doubled unit)."""
    words = name.replace("_", " ").split()
    unit_word = (unit or "").strip()
    unit_words = unit_word.replace("_", " ").split()
    if unit_words and words[-len(unit_words) :] == unit_words:
        words = words[: -len(unit_words)]
    shown_name = " ".join("OS" if w == "os" else "PFS" if w == "pfs" else w for w in words)
    if unit_word == "percent":
        return f"{shown_name} {value:g}%"
    shown = {"count": "", "per_1000": "per 1000"}.get(unit_word, unit_word)
    return f"{shown_name} {value:g} {shown}".rstrip()


templates.env.globals.update(
    metric=metric,
    design_labels=DESIGN_LABELS,
    pairs=pairs,
    factor_labels=FACTOR_LABELS,
    version=__version__,
    disclaimer=DISCLAIMER,
    labels={r.value: label for r, label in RECOMMENDATION_LABELS.items()},
)
