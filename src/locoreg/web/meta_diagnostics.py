"""Small-study effects and sensitivity of the meta page's pools (as ``locoreg meta``'s
``--egger --begg --trim-fill --leave-one-out --influence --mods "~ year" --funnel``).

For each pool of at least three studies (by design: trials and observational studies
separately; otherwise all studies), on the τ² estimator and test of the page:
Egger's regression test and Begg's rank correlation (funnel asymmetry), trim and fill,
the range of the leave-one-out estimates, the influential studies (metafor's criteria)
and a meta-regression on the year of publication (hazard ratio per decade). The funnel
plot is drawn for the largest pool. With few studies these tests have little power: the
page says so rather than reading a large p-value as reassurance.
"""

from __future__ import annotations

import math
from typing import Any

#: a pool needs this many studies for the tests of funnel asymmetry (metafor's minimum)
MIN_STUDIES = 3


def diagnostics(
    rows: list[dict[str, Any]], method: str, test: str, grouped: bool
) -> dict[str, Any]:
    """``{"groups": [...], "funnel_svg": str | None}``; see the module docstring."""
    from locoreg.meta import log_hr_from_ci

    pools: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        pools.setdefault(r["body"] if grouped else "all", []).append(r)
    groups = []
    largest: tuple[int, Any, Any, Any, list[str]] | None = None
    for name, members in pools.items():
        if len(members) < MIN_STUDIES:
            continue
        yi, vi = log_hr_from_ci(
            [r["hr"] for r in members],
            [r["ci_low"] for r in members],
            [r["ci_high"] for r in members],
            [r["ci_level"] for r in members],
        )
        group, filled = _group(name, members, yi, vi, method, test)
        groups.append(group)
        if largest is None or len(members) > largest[0]:
            largest = (len(members), yi, vi, filled, [r["id"] for r in members])
    svg = None
    if largest is not None:
        svg = _funnel_svg(*largest[1:])
    return {"groups": groups, "funnel_svg": svg, "min_studies": MIN_STUDIES}


def _group(
    name: str, members: list[dict[str, Any]], yi: Any, vi: Any, method: str, test: str
) -> tuple[dict[str, Any], Any]:
    from locoreg.meta import egger_test, influence, leave_one_out, rank_test, rma, trim_fill
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
        years = [y for m in members if isinstance(y := m.get("year"), int)]
        if len(members) > 3 and len(years) == len(members) and len(set(years)) > 1:
            reg = rma(yi, vi, method, test, mods=[y / 10 for y in years], mod_names=("decade",))
            out["year"] = {"hr_per_decade": math.exp(float(reg.coef[1])), "p_value": reg.qm_p}
    except (ValueError, ConvergenceError) as exc:
        out["error"] = str(exc)
    return out, filled


def _funnel_svg(yi: Any, vi: Any, filled: Any, ids: list[str]) -> str:
    from locoreg.plots.funnel import funnel_plot
    from locoreg.plots.km import figure_svg

    svg = figure_svg(funnel_plot(yi, vi, fill=filled, measure="HR", labels=ids))
    title = "Funnel plot: log hazard ratio of each study against its standard error"
    return svg.replace(">", f' role="img" aria-label="{title}">', 1)
