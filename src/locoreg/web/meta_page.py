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
from typing import TYPE_CHECKING, Any

from locoreg import i18n
from locoreg.errors import FieldError, InputError
from locoreg.evidence.base import load_evidence_base
from locoreg.evidence.model import OutcomeKind
from locoreg.meta.options import DEFAULT_METHOD, TAU2_METHODS, TESTS
from locoreg.web.meta_diagnostics import DEFAULT_FORMULA, check_formula, diagnostics, with_formula
from locoreg.web.meta_service import MetaRequest, run_meta

if TYPE_CHECKING:
    from locoreg.plots.forest import ForestSummary, ForestTexts

# the form offers the default estimator first and the fixed-effect model last
META_METHODS: tuple[str, ...] = (
    DEFAULT_METHOD,
    *(m for m in TAU2_METHODS if m not in (DEFAULT_METHOD, "FE")),
    "FE",
)
META_TESTS: tuple[str, ...] = TESTS
#: the form's grouping choices and their (English, translated where shown) texts
META_BY: dict[str, str] = {
    "design": i18n.N_("randomised trials vs observational studies"),
    "none": i18n.N_("all studies together"),
}
#: names of the pools shown on the page (the ``body`` of a row, a diagnostics group,
#: the side trim and fill fills): extracted here, translated by the template
POOL_WORDS: tuple[str, ...] = (
    i18n.N_("randomised"),
    i18n.N_("observational"),
    i18n.N_("all"),
    i18n.N_("left"),
    i18n.N_("right"),
)


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
    outcome: str,
    method: str,
    test: str,
    by: str,
    mods: str = DEFAULT_FORMULA,
    lang: str = i18n.DEFAULT_LANGUAGE,
) -> dict[str, Any]:
    """Rows, the pooled result (with subgroups when ``by == "design"``) and a forest plot
    (``"svg"``) whose texts and numbers are in ``lang``.

    The evidence base is fixed for the life of the process, so each choice is computed
    once and then served from memory: the numbers once for all languages, the figure (a
    few hundred milliseconds) once per language.
    """
    _choice("outcome", outcome, [o.value for o in OutcomeKind])
    _choice("method", method, META_METHODS)
    _choice("test", test, META_TESTS)
    _choice("by", by, tuple(META_BY))
    i18n.check_language(lang)
    formula = check_formula(mods)
    pooled = {**_pooled(outcome, method, test, by), "svg": _forest(outcome, method, test, by, lang)}
    if formula == DEFAULT_FORMULA:
        return pooled
    # another moderator formula: only the meta-regressions change (a few small fits)
    diag = with_formula(
        pooled["diagnostics"], pooled["rows"], method, test, pooled["grouped"], formula
    )
    return {**pooled, "diagnostics": diag}


def clear_caches() -> None:
    """Forget the pooled results and figures (tests that swap the evidence rows)."""
    _pooled.cache_clear()
    _forest.cache_clear()


@lru_cache(maxsize=256)
def _forest(outcome: str, method: str, test: str, by: str, lang: str) -> str | None:
    """The forest plot of one choice in one language (the numbers from :func:`_pooled`)."""
    pooled = _pooled(outcome, method, test, by)
    return forest_svg(pooled["rows"], pooled["result"], pooled["sensitivity"], lang=lang)


@lru_cache(maxsize=128)
def _pooled(outcome: str, method: str, test: str, by: str) -> dict[str, Any]:
    """The language-free part of :func:`pooled_evidence`: rows, fits and diagnostics."""
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
    *,
    lang: str = i18n.DEFAULT_LANGUAGE,
) -> str | None:
    """The forest plot (``locoreg.plots.forest``) as inline SVG text for the page.

    Studies are drawn grouped by design (trials first) when the result has subgroups,
    each group closed by its pooled diamond; the overall diamond closes an ungrouped
    plot. ``sensitivity`` (:func:`one_per_source_pool`) adds a second observational
    diamond, one study per data source. Hazard ratios below 1 favour local therapy. The
    SVG's ``aria-label`` names the figure for screen readers; the table under it carries
    the same numbers as text.

    ``lang``: the language of every text of the figure and of its decimal mark; the plot
    module holds no catalog, so the texts are translated here and handed to it
    (:class:`~locoreg.plots.forest.ForestTexts`). Study labels (author, year) stay as cited.
    """
    from locoreg.plots.forest import ForestRow, ForestTexts, forest_plot

    with i18n.language(lang):
        _ = i18n.gettext
        texts = ForestTexts(
            study=_("Study"),
            weight=_("Weight"),
            prediction_interval=_("Prediction interval"),
            to=_("to"),
            decimal_mark=i18n.decimal_mark(".", lang),
        )
        titles = {body: _(title) for body, title in _GROUP_TITLES.items()}
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
                group=titles.get(r["body"], r["body"]) if grouped else None,
            )
            for r in ordered
        ]
        summaries: list[ForestSummary] = []
        if grouped:
            for body, sub in result["subgroups"].items():
                label = _(_POOLED_GROUP.get(body, "Pooled %(body)s (k = %(k)s)"))
                group = titles.get(body, body)
                summaries.append(_summary(sub, label % {"body": body, "k": sub["k"]}, group, texts))
                if body == "observational" and sensitivity is not None:
                    sens = sensitivity["result"]
                    dropped = ", ".join(d["id"] for d in sensitivity["dropped"])
                    label = _("One study per data source (k = %(k)s)") % {"k": sens["k"]}
                    summaries.append(
                        replace(
                            _summary(sens, label, group, texts),
                            pi_low=None,
                            pi_high=None,
                            heterogeneity=_("Sensitivity: drops %(ids)s (shared data source)")
                            % {"ids": dropped},
                        )
                    )
        else:
            label = _("Pooled, all studies (k = %(k)s)") % {"k": result["k"]}
            summaries.append(_summary(result, label, None, texts))
        footer = []
        if any(r["ci_level"] != 0.95 for r in rows):
            footer.append(
                _("† interval reported at 90%% in the publication; converted at its own level") % {}
            )
        if grouped and result.get("q_between_p") is not None:
            footer.append(
                _("Difference between designs: Q = %(q)s, p = %(p)s")
                % {
                    "q": texts.number(f"{result['q_between']:.2f}"),
                    "p": texts.number(f"{result['q_between_p']:.2g}"),
                }
            )
        fig = forest_plot(
            plot_rows,
            summaries,
            measure="HR",
            favours=(_("Favours local therapy"), _("Favours no local therapy")),
            footer=footer,
            ci_label=_("HR (95% CI)"),
            texts=texts,
        )
        return _svg_text(
            fig, _("Forest plot of hazard ratios, local therapy of the primary vs none")
        )


_GROUP_TITLES = {
    "randomised": i18n.N_("Randomised trials"),
    "observational": i18n.N_("Observational studies"),
}
#: the label of each design's diamond (``%(k)s``: the number of studies)
_POOLED_GROUP = {
    "randomised": i18n.N_("Pooled randomised (k = %(k)s)"),
    "observational": i18n.N_("Pooled observational (k = %(k)s)"),
}


def _summary(
    res: dict[str, Any], label: str, group: str | None, texts: ForestTexts
) -> ForestSummary:
    import math

    from locoreg.plots.forest import ForestSummary

    def hr(key: str) -> float | None:
        value = res.get(key)
        return None if value is None else math.exp(value)

    show_pi = res["method"] != "FE" and res["k"] >= 3
    i2 = res.get("i2")
    heterogeneity = (
        i18n.gettext("I² = %(i2)s%%, τ² = %(tau2)s")
        % {"i2": texts.number(f"{i2:.0f}"), "tau2": texts.number(f"{res['tau2']:.3f}")}
        if i2 is not None
        else ""
    )
    return ForestSummary(
        label=label,
        estimate=res["hr"],
        ci_low=res["hr_ci_low"],
        ci_high=res["hr_ci_high"],
        pi_low=hr("pi_low") if show_pi else None,
        pi_high=hr("pi_high") if show_pi else None,
        group=group,
        heterogeneity=heterogeneity,
    )


def _svg_text(fig: Any, title: str) -> str:
    """Matplotlib figure → SVG markup without the XML prolog (for inline use), named
    ``title`` for screen readers."""
    import io
    from html import escape

    from locoreg.plots._style import style

    buffer = io.StringIO()
    with style():
        fig.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=0.08)
    text = buffer.getvalue()
    start = text.find("<svg")
    svg = text[start:] if start >= 0 else text
    return svg.replace(">", f' role="img" aria-label="{escape(title)}">', 1)
