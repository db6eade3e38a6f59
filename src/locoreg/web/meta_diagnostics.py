"""Small-study effects and sensitivity of the meta page's pools (as ``locoreg meta``'s
``--egger --begg --trim-fill --leave-one-out --influence --mods "~ year" --funnel``).

For each pool of at least three studies (by design: trials and observational studies
separately; otherwise all studies), on the τ² estimator and test of the page:
Egger's regression test and Begg's rank correlation (funnel asymmetry), trim and fill,
the range of the leave-one-out estimates, the influential studies (metafor's criteria)
and a meta-regression on a moderator formula the reader chooses over the study columns
(``MODERATORS``; default ``~ decade``, the hazard ratio per decade of publication),
fitted by ``rma("yi", "vi", data=..., mods=formula)``. The funnel plot is drawn for the
largest pool. With few studies these tests have little power: the page says so rather
than reading a large p-value as reassurance.

The formula comes from a query string, and formulaic evaluates its terms as Python
expressions: :func:`check_formula` lets through only the column names, ``factor()`` /
``C()``, numbers and the operators ``+ - * : ( )`` before anything is evaluated.
"""

from __future__ import annotations

import math
import re
from typing import Any

from locoreg.errors import FieldError, InputError
from locoreg.i18n import N_

#: a pool needs this many studies for the tests of funnel asymmetry (metafor's minimum)
MIN_STUDIES = 3
#: the study columns a moderator formula may use, with what they hold
MODERATORS: dict[str, str] = {
    "year": N_("year of publication"),
    "decade": N_("year of publication / 10 (the ratio per decade)"),
    "design": N_("trial or observational"),
    "n_patients": N_("patients in the analysis"),
    "data_source": N_("registry or trial database (missing for most trials: those rows drop)"),
}
DEFAULT_FORMULA = "~ decade"
_FUNCTIONS = ("factor", "C")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[+\-*:()~]|\s+")
_MAX_FORMULA = 200


def check_formula(formula: str) -> str:
    """The formula, stripped, if it only uses the page's columns; else 422 on ``mods``."""
    text = formula.strip()
    allowed = ", ".join(MODERATORS)

    def bad(message: str) -> InputError:
        return InputError([FieldError("mods", message, f'columns {allowed}; e.g. "~ decade"')])

    if len(text) > _MAX_FORMULA:
        raise bad(f"longer than {_MAX_FORMULA} characters")
    if not text.startswith("~") or not text[1:].strip():
        raise bad(f"{formula!r} is not a one-sided formula")
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise bad(f"character {text[pos]!r} is not allowed")
        token = m.group(0)
        identifier = token[0].isalpha() or token[0] == "_"
        if identifier and token not in MODERATORS and token not in _FUNCTIONS:
            raise bad(f"unknown column {token!r}")
        pos = m.end()
    # parse and code it on a two-row sample of the columns: syntax errors are the
    # reader's to fix (422), not a cell of the table
    import pandas as pd

    from locoreg.meta.formula import meta_frame

    sample = pd.DataFrame(
        {"yi": [0.0, 0.1], "vi": [1.0, 1.0], "year": [2000, 2010], "decade": [200.0, 201.0],
         "design": ["trial", "observational"], "n_patients": [100, 200],
         "data_source": ["a", "b"]}
    )  # fmt: skip
    try:
        meta_frame("yi", "vi", text, sample)
    except ValueError as exc:
        raise bad(getattr(exc, "message", str(exc))) from None
    return text


def _frame(members: list[dict[str, Any]], yi: Any, vi: Any) -> Any:
    import pandas as pd

    return pd.DataFrame(
        {
            "yi": yi,
            "vi": vi,
            "year": [m.get("year") for m in members],
            "decade": [None if m.get("year") is None else m["year"] / 10 for m in members],
            "design": [m["body"] for m in members],
            "n_patients": [m.get("n_patients") for m in members],
            "data_source": [m.get("data_source") for m in members],
        }
    )


def _pools(rows: list[dict[str, Any]], grouped: bool) -> list[tuple[str, list[Any], Any, Any]]:
    """(name, members, yi, vi) of each pool of at least ``MIN_STUDIES`` studies."""
    from locoreg.meta import log_hr_from_ci

    pools: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        pools.setdefault(r["body"] if grouped else "all", []).append(r)
    out = []
    for name, members in pools.items():
        if len(members) < MIN_STUDIES:
            continue
        yi, vi = log_hr_from_ci(
            [r["hr"] for r in members],
            [r["ci_low"] for r in members],
            [r["ci_high"] for r in members],
            [r["ci_level"] for r in members],
        )
        out.append((name, members, yi, vi))
    return out


def diagnostics(
    rows: list[dict[str, Any]], method: str, test: str, grouped: bool,
    mods: str = DEFAULT_FORMULA,
) -> dict[str, Any]:  # fmt: skip
    """``{"groups": [...], "funnel_svg": str | None}``; see the module docstring."""
    groups = []
    largest: tuple[int, Any, Any, Any, list[str]] | None = None
    for name, members, yi, vi in _pools(rows, grouped):
        group, filled = _group(name, members, yi, vi, method, test)
        group["regression"] = _regression(members, yi, vi, method, test, mods)
        groups.append(group)
        if largest is None or len(members) > largest[0]:
            largest = (len(members), yi, vi, filled, [r["id"] for r in members])
    svg = None
    if largest is not None:
        svg = _funnel_svg(*largest[1:])
    return {"groups": groups, "funnel_svg": svg, "min_studies": MIN_STUDIES, "mods": mods}


def with_formula(
    diag: dict[str, Any], rows: list[dict[str, Any]], method: str, test: str, grouped: bool,
    mods: str,
) -> dict[str, Any]:  # fmt: skip
    """``diag`` with each pool's meta-regression refitted on ``mods`` (the rest, and the
    funnel plot, do not depend on the formula and are kept)."""
    fits = {
        name: _regression(members, yi, vi, method, test, mods)
        for name, members, yi, vi in _pools(rows, grouped)
    }
    groups = [{**g, "regression": fits[g["group"]]} for g in diag["groups"]]
    return {**diag, "groups": groups, "mods": mods}


def _group(
    name: str, members: list[dict[str, Any]], yi: Any, vi: Any, method: str, test: str
) -> tuple[dict[str, Any], Any]:
    from locoreg.meta import egger_test, influence, leave_one_out, rank_test, trim_fill
    from locoreg.meta.rma import ConvergenceError

    out: dict[str, Any] = {"group": name, "k": len(members)}
    filled = None
    try:
        egger = egger_test(yi, vi, "rma", method, test)
        out["egger_p"] = egger.p_value
        out["begg_p"] = rank_test(yi, vi).p_value
        filled = trim_fill(yi, vi, method=method, test=test)
        fit = filled.fit
        out["trim_fill"] = {
            "k0": filled.k0,
            "side": filled.side,
            "hr": math.exp(fit.estimate),
            "hr_ci_low": None if fit.ci_low is None else math.exp(fit.ci_low),
            "hr_ci_high": None if fit.ci_high is None else math.exp(fit.ci_high),
        }
        loo = leave_one_out(yi, vi, method, test)
        hrs = [math.exp(x) for x in loo.estimate]
        out["leave_one_out"] = {
            "min_hr": min(hrs),
            "max_hr": max(hrs),
            "min_without": members[hrs.index(min(hrs))]["id"],
            "max_without": members[hrs.index(max(hrs))]["id"],
        }
        inf = influence(yi, vi, method, test)
        out["influential"] = [
            m["id"] for m, flag in zip(members, inf.is_influential, strict=True) if flag
        ]
    except (ValueError, ConvergenceError) as exc:
        out["error"] = str(exc)
    return out, filled


def _regression(
    members: list[dict[str, Any]], yi: Any, vi: Any, method: str, test: str, mods: str
) -> dict[str, Any]:
    """The pool's meta-regression on ``mods``: ratio exp(β) per coefficient, the omnibus
    test, the studies used; or the reason it cannot be fitted (too few studies, a
    moderator constant within the pool: a model matrix not of full rank)."""
    from locoreg.meta import rma
    from locoreg.meta.rma import ConvergenceError

    try:
        reg = rma("yi", "vi", method, test, data=_frame(members, yi, vi), mods=mods)
    except (ValueError, ConvergenceError) as exc:
        return {"error": getattr(exc, "message", str(exc))}
    if reg.p == 1:  # every moderator is constant within the pool (a factor of one level)
        return {"error": N_("the moderators do not vary within this pool")}
    terms = [
        {"name": name, "ratio": math.exp(float(b)), "p_value": float(p)}
        for name, b, p in zip(reg.coef_names[1:], reg.coef[1:], reg.coef_p[1:], strict=True)
    ]
    return {"k": reg.k, "n_dropped": reg.n_dropped, "terms": terms, "qm_p": reg.qm_p}


def _funnel_svg(yi: Any, vi: Any, filled: Any, ids: list[str]) -> str:
    from locoreg.plots.funnel import funnel_plot
    from locoreg.plots.km import figure_svg

    svg = figure_svg(funnel_plot(yi, vi, fill=filled, measure="HR", labels=ids))
    title = "Funnel plot: log hazard ratio of each study against its standard error"
    return svg.replace(">", f' role="img" aria-label="{title}">', 1)
