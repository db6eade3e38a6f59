"""The Jinja environment of the pages, with the helpers every template may call.

One module without routes, so that the pages and the error answers
(:mod:`locoreg.web.problems`, the HTML "not found" page) share it without importing
each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from locoreg import DISCLAIMER, __version__, i18n
from locoreg.i18n import N_
from locoreg.report import labels
from locoreg.report.assessment import display_helpers

#: The name of each language in itself, for the language switch.
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "es": "Español"}


def request_language(request: Request) -> str:
    """The language of an answer: ``?lang=``, else ``Accept-Language``, else English."""
    return i18n.negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))


def page_language(request: Request) -> dict[str, Any]:
    """``lang`` of every page, and the language switch: the same path and query, with
    ``lang`` set (English explicitly, so that it wins over a Spanish Accept-Language)."""
    lang = request_language(request)
    switch = []
    for code in i18n.LANGUAGES:
        if code != lang:
            url = request.url.include_query_params(lang=code)
            switch.append((code, LANGUAGE_NAMES[code], f"{url.path}?{url.query}"))
    return {"lang": lang, "language_switch": switch}


def language_headers(lang: str) -> dict[str, str]:
    """Headers of an HTML answer in ``lang``: caches keep one copy per language."""
    return {"Content-Language": lang, "Vary": "Accept-Language"}


def with_language(path: str, lang: str) -> str:
    """``path`` keeping the chosen language: ``?lang=`` added when it is not English."""
    if lang == i18n.DEFAULT_LANGUAGE:
        return path
    return f"{path}{'&' if '?' in path else '?'}lang={lang}"


def _lang(context: Context | Mapping[str, Any]) -> str:
    # The language travels in the render context, never in shared state: one environment
    # serves concurrent requests in different languages.
    return str(context.get("lang", i18n.DEFAULT_LANGUAGE))


@pass_context
def _gettext(context: Context, message: str) -> str:
    return i18n.translations(_lang(context)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return i18n.translations(_lang(context)).ngettext(singular, plural, n)


@pass_context
def _pgettext(context: Context, msgctxt: str, message: str) -> str:
    """gettext of a word whose translation depends on its use (a verb on a button,
    a noun in a table header: "Pool")."""
    return i18n.translations(_lang(context)).pgettext(msgctxt, message)


class _Pages(Jinja2Templates):
    """The page templates; every answer says its language (``Content-Language``, ``Vary``)."""

    def TemplateResponse(self, *args: Any, **kwargs: Any) -> Any:
        response = super().TemplateResponse(*args, **kwargs)
        # ``lang`` was put in the context by page_language, from this very request.
        response.headers.update(language_headers(_lang(response.context)))
        return response


templates = _Pages(
    directory=Path(__file__).parent / "templates", context_processors=[page_language]
)
templates.env.add_extension("jinja2.ext.i18n")
templates.env.policies["ext.i18n.trimmed"] = True  # as babel.cfg extracts them
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=_gettext, ngettext=_ngettext, pgettext=_pgettext, newstyle=True
)


@pass_context
def pairs(context: Context, values: list[str]) -> list[tuple[str, str]]:
    """(value, text) options for a select: the code is sent, its display name is shown."""
    return [(v, labels.code_name(v, _lang(context))) for v in values]


#: Study designs as a reader says them (enum values stay in the JSON).
DESIGN_LABELS: dict[str, str] = {
    "rct": N_("randomised trial"),
    "phase_2_trial": N_("phase 2 trial"),
    "prospective_registry": N_("prospective registry"),
    "retrospective_registry": N_("retrospective registry"),
    "single_institution": N_("single institution"),
    "observational": N_("observational"),
    "meta_analysis": N_("meta-analysis"),
    "epidemiology": N_("epidemiology"),
    "guideline_or_review": N_("guideline or review"),
}


@pass_context
def _href(context: Context, path: str) -> str:
    return with_language(path, _lang(context))


@pass_context
def _helper(context: Context, name: str, *args: Any) -> Any:
    return display_helpers(_lang(context))[name](*args)


@pass_context
def _recommendation_name(context: Context, code: str | None) -> str:
    return labels.recommendation_name(code or "", _lang(context))


@pass_context
def _design_name(context: Context, code: str | None) -> str:
    if not code:
        return "—"
    english = DESIGN_LABELS.get(code, code.replace("_", " "))
    return i18n.translations(_lang(context)).gettext(english)


@pass_context
def _fixed(context: Context, spec: str, value: float) -> str:
    """``spec % value`` ("%.2f", "%.3g") with the decimal mark of the page's language:
    the statistics keep their format (significant digits, fixed decimals) in every
    language (:func:`locoreg.i18n.decimal_mark`)."""
    return i18n.decimal_mark(spec % value, _lang(context))


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
    design_name=_design_name,
    pairs=pairs,
    href=_href,
    helper=_helper,
    fixed=_fixed,
    recommendation_name=_recommendation_name,
    version=__version__,
    disclaimer=DISCLAIMER,
)
