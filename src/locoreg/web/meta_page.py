"""The meta-analysis page: pool the evidence base's hazard ratios, by design or all together.

Studies enter as in ``locoreg evidence pool`` (:func:`locoreg.evidence.pool.poolable`): a
hazard ratio with its interval for the chosen outcome (overall population), one report per
trial; reviews and background records are left out so that no patient is counted twice.
By design, when observational studies share a data source (three SEER analyses), the page
adds the observational pool with one study per data source
(:func:`locoreg.evidence.pool.one_per_source`, the rule of ``locoreg evidence pool``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

from locoreg.errors import FieldError, InputError
from locoreg.evidence.base import load_evidence_base
from locoreg.evidence.model import OutcomeKind
from locoreg.meta.options import DEFAULT_METHOD, TAU2_METHODS, TESTS
from locoreg.web.meta_diagnostics import DEFAULT_FORMULA, check_formula, diagnostics, with_formula
from locoreg.web.meta_service import MetaRequest, run_meta

# the form offers the default estimator first and the fixed-effect model last
META_METHODS: tuple[str, ...] = (
    DEFAULT_METHOD,
    *(m for m in TAU2_METHODS if m not in (DEFAULT_METHOD, "FE")),
    "FE",
)
META_TESTS: tuple[str, ...] = TESTS
META_BY: dict[str, str] = {
    "design": "randomised trials vs observational studies",
    "none": "all studies together",
}


def _choice(field: str, value: str, allowed: tuple[str, ...] | list[str]) -> None:
    if value not in allowed:
        raise InputError([FieldError(field, f"unknown value {value!r}", ", ".join(allowed))])


def study_rows(outcome: OutcomeKind) -> list[dict[str, Any]]:
    """One row per poolable study (the selection of ``locoreg evidence pool``)."""
    from locoreg.evidence.pool import poolable

    return [
        {
            "id": study.id,
            "label": study.cite(),
            "body": body,
            "hr": o.estimate,
            "ci_low": o.ci_low,
            "ci_high": o.ci_high,
            "ci_level": o.ci_level,
            "data_source": None if study.data_source is None else study.data_source.value,
            "n_patients": o.n if o.n is not None else study.n_total,
            "year": study.citation.year,
        }
        for study, o, body in poolable(load_evidence_base(), outcome)
    ]


def left_out_rows(outcome: OutcomeKind) -> list[dict[str, str]]:
    """Hazard ratios kept out of the pool by its default rule, each with the reason."""
    from locoreg.evidence.pool import left_out

    return [
        {"id": r.record.study.id, "label": r.record.study.cite(), "reason": r.reason}
        for r in left_out(load_evidence_base(), outcome)
    ]


def pooled_evidence(
    outcome: str, method: str, test: str, by: str, mods: str = DEFAULT_FORMULA
) -> dict[str, Any]:
    """Rows, the pooled result (with subgroups when ``by == "design"``) and a forest plot.

    The evidence base is fixed for the life of the process, so each choice is computed
    once (the plot takes a few hundred milliseconds) and then served from memory.
    """
    _choice("outcome", outcome, [o.value for o in OutcomeKind])
    _choice("method", method, META_METHODS)
    _choice("test", test, META_TESTS)
    _choice("by", by, tuple(META_BY))
    formula = check_formula(mods)
    pooled = _pooled(outcome, method, test, by)
    if formula == DEFAULT_FORMULA:
        return pooled
    # another moderator formula: only the meta-regressions change (a few small fits)
    diag = with_formula(
        pooled["diagnostics"], pooled["rows"], method, test, pooled["grouped"], formula
    )
    return {**pooled, "diagnostics": diag}


@lru_cache(maxsize=128)
def _pooled(outcome: str, method: str, test: str, by: str) -> dict[str, Any]:
    rows = study_rows(OutcomeKind(outcome))
    if not rows:
        raise InputError(
            [FieldError("outcome", "no study reports a hazard ratio with its interval for it")]
        )
    bodies = sorted({r["body"] for r in rows})
    grouped = by == "design" and len(bodies) > 1
    result = _pool_rows(rows, method, test, grouped)
    sensitivity = one_per_source_pool(rows, method, test) if grouped else None
    return {
        "left_out": left_out_rows(OutcomeKind(outcome)),
        "rows": rows,
        "result": result,
        "grouped": grouped,
        "sensitivity": sensitivity,
        "svg": forest_svg(rows, result, sensitivity),
        "diagnostics": diagnostics(rows, method, test, grouped),
    }


def one_per_source_pool(
    rows: list[dict[str, Any]], method: str, test: str
) -> dict[str, Any] | None:
    """The observational rows re-pooled with one study per data source.

    None when no two observational studies share a data source (the pool would be the
    main one). ``result`` is the ``run_meta`` JSON of the kept rows; ``dropped`` names
    each study left out, its data source and the study kept instead.
    """
    from locoreg.evidence.pool import SourceCandidate, one_per_source, source_label

    obs = [r for r in rows if r["body"] == "observational"]
    choice = one_per_source(
        [
            SourceCandidate(r["id"], r.get("data_source"), r.get("n_patients"), r.get("year"))
            for r in obs
        ]
    )
    kept = [r for r in obs if choice[r["id"]] == r["id"]]
    dropped = [
        {
            "id": r["id"],
            "label": r["label"],
            "source": source_label(r.get("data_source")),
            "kept_instead": choice[r["id"]],
        }
        for r in obs
        if choice[r["id"]] != r["id"]
    ]
    if not dropped:
        return None
    result = _pool_rows(kept, method, test, by_body=False)
    return {"result": result, "kept": [r["id"] for r in kept], "dropped": dropped}


def _pool_rows(rows: list[dict[str, Any]], method: str, test: str, by_body: bool) -> dict[str, Any]:
    """``run_meta`` JSON of the rows' hazard ratios (subgroups by body of evidence when
    ``by_body``). Intervals of different levels (E2108 and JCOG1017 report 90%) are each
    converted with their own level, study by study."""
    from locoreg.meta import log_hr_from_ci

    yi, vi = log_hr_from_ci(
        [r["hr"] for r in rows],
        [r["ci_low"] for r in rows],
        [r["ci_high"] for r in rows],
        [r["ci_level"] for r in rows],
    )
    request = MetaRequest(
        yi=list(map(float, yi)),
        vi=list(map(float, vi)),
        method=method,
        test=test,
        by=[r["body"] for r in rows] if by_body else None,
        labels=[r["label"] for r in rows],
    )
    return run_meta(request, log_ratio=True)


def forest_svg(
    rows: list[dict[str, Any]],
    result: dict[str, Any],
    sensitivity: dict[str, Any] | None = None,
) -> str | None:
    """The forest plot (``locoreg.plots.forest``) as inline SVG text for the page.

    Studies are drawn grouped by design (trials first) when the result has subgroups,
    each group closed by its pooled diamond; the overall diamond closes an ungrouped
    plot. ``sensitivity`` (:func:`one_per_source_pool`) adds a second observational
    diamond, one study per data source. Hazard ratios below 1 favour local therapy. The
    SVG's ``<title>`` names the figure for screen readers; the table under it carries the
    same numbers as text.
    """
    from locoreg.plots.forest import ForestRow, ForestSummary, forest_plot

    grouped = "subgroups" in result
    order = {"randomised": 0, "observational": 1}
    ordered = sorted(rows, key=lambda r: order.get(r["body"], 2)) if grouped else rows
    weights = {r["id"]: w for r, w in zip(rows, result.get("weights") or [], strict=False)}
    plot_rows = [
        ForestRow(
            label=f"{r['label']}" + ("" if r["ci_level"] == 0.95 else " †"),
            estimate=r["hr"],
            ci_low=r["ci_low"],
            ci_high=r["ci_high"],
            weight=None if grouped else weights.get(r["id"]),
            group=_GROUP_TITLES.get(r["body"], r["body"]) if grouped else None,
        )
        for r in ordered
    ]
    summaries: list[ForestSummary] = []
    if grouped:
        for body, sub in result["subgroups"].items():
            summaries.append(_summary(sub, f"Pooled {body} (k = {sub['k']})", body))
            if body == "observational" and sensitivity is not None:
                sens = sensitivity["result"]
                dropped = ", ".join(d["id"] for d in sensitivity["dropped"])
                summaries.append(
                    replace(
                        _summary(sens, f"One study per data source (k = {sens['k']})", body),
                        pi_low=None,
                        pi_high=None,
                        heterogeneity=f"Sensitivity: drops {dropped} (shared data source)",
                    )
                )
    else:
        summaries.append(_summary(result, f"Pooled, all studies (k = {result['k']})", None))
    footer = []
    if any(r["ci_level"] != 0.95 for r in rows):
        footer.append("† interval reported at 90% in the publication; converted at its own level")
    if grouped and result.get("q_between_p") is not None:
        footer.append(
            f"Difference between designs: Q = {result['q_between']:.2f}, "
            f"p = {result['q_between_p']:.2g}"
        )
    fig = forest_plot(plot_rows, summaries, measure="HR", footer=footer)
    return _svg_text(fig)


_GROUP_TITLES = {"randomised": "Randomised trials", "observational": "Observational studies"}


def _summary(res: dict[str, Any], label: str, body: str | None) -> Any:
    import math

    from locoreg.plots.forest import ForestSummary

    def hr(key: str) -> float | None:
        value = res.get(key)
        return None if value is None else math.exp(value)

    show_pi = res["method"] != "FE" and res["k"] >= 3
    i2 = res.get("i2")
    return ForestSummary(
        label=label,
        estimate=res["hr"],
        ci_low=res["hr_ci_low"],
        ci_high=res["hr_ci_high"],
        pi_low=hr("pi_low") if show_pi else None,
        pi_high=hr("pi_high") if show_pi else None,
        group=_GROUP_TITLES.get(body, body) if body is not None else None,
        heterogeneity=f"I² = {i2:.0f}%, τ² = {res['tau2']:.3f}" if i2 is not None else "",
    )


def _svg_text(fig: Any) -> str:
    """Matplotlib figure → SVG markup without the XML prolog (for inline use)."""
    import io

    from locoreg.plots._style import style

    buffer = io.StringIO()
    with style():
        fig.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=0.08)
    text = buffer.getvalue()
    start = text.find("<svg")
    svg = text[start:] if start >= 0 else text
    title = "Forest plot of hazard ratios, local therapy of the primary vs none"
    return svg.replace(">", f' role="img" aria-label="{title}">', 1)
