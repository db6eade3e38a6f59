"""Forest plots: study rows, subgroup and overall diamonds, prediction interval.

Input types (shared by ``locoreg meta --plot``, ``locoreg evidence pool`` and the web app)::

    ForestRow(label, estimate, ci_low, ci_high, weight=None, group=None)
        one study; estimate and limits on the natural scale (a hazard ratio, not its log)
        for ratio measures; weight in percent (None: no weight column, uniform squares)

    ForestSummary(label, estimate, ci_low, ci_high, pi_low=None, pi_high=None,
                  group=None, heterogeneity="")
        a pooled estimate drawn as a diamond; group=None is the overall summary,
        otherwise it closes the subgroup of that name. ForestSummary.from_meta(res, ...)
        builds one from a locoreg.meta.MetaResult (exponentiating for ratio measures) with
        the heterogeneity line filled in.

    ForestTexts(study="Study", weight="Weight", prediction_interval="Prediction interval",
                to="to", decimal_mark=".")
        the plot's own words and the decimal mark, for a caller that draws in another
        language (this module holds no catalog: the caller translates)

    forest_plot(rows, summaries=(), *, measure="HR", favours=(left, right), title="",
                footer=(), ci_label=None, texts=ForestTexts(), path=None)
        -> matplotlib.figure.Figure

Rows keep their input order; groups appear in order of first appearance, each followed
by its diamond and heterogeneity line. Ratio measures (HR, RR, OR) use a log axis with
ratio tick labels and a null line at 1; other measures a linear axis and a null line at
0. ``favours`` labels the two sides of the null line (for a hazard ratio of local
therapy vs none, the left side favours local therapy). ``path`` ending in .svg, .png
or .pdf also writes the file; the figure is returned either way (not registered with
pyplot, so nothing needs closing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from locoreg.plots._style import (
    INK,
    MUTED,
    POOLED,
    RATIO_MEASURES,
    SMALL,
    fmt_ratio,
    fmt_tick,
    new_figure,
    ratio_ticks,
    save,
    style,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from locoreg.meta.rma import MetaResult
    from locoreg.meta.sensitivity import CumulativeResult

__all__ = ["ForestRow", "ForestSummary", "ForestTexts", "cumulative_forest_plot", "forest_plot"]

DEFAULT_FAVOURS = ("Favours local therapy", "Favours no local therapy")


@dataclass(frozen=True, slots=True)
class ForestTexts:
    """The words the plot writes itself, and the decimal mark of its numbers.

    Labels, group titles, the column header, the favours line and the footer come with
    the rows and arguments; these are the rest. The defaults are English; a caller
    drawing in another language passes its translations (e.g. ``to="a"``,
    ``decimal_mark=","`` gives "0,85 (0,72 a 1,01)")."""

    study: str = "Study"
    weight: str = "Weight"
    prediction_interval: str = "Prediction interval"
    #: joins the limits of an interval: "0.72 to 1.01"
    to: str = "to"
    decimal_mark: str = "."

    def number(self, text: str) -> str:
        """``text`` (a number formatted with a point) with this decimal mark."""
        return text if self.decimal_mark == "." else text.replace(".", self.decimal_mark)


@dataclass(frozen=True, slots=True)
class ForestRow:
    """One study line of a forest plot (natural scale for ratio measures)."""

    label: str
    estimate: float
    ci_low: float
    ci_high: float
    weight: float | None = None
    group: str | None = None
    #: short text for an extra right-hand column (e.g. the risk-of-bias judgement)
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ForestSummary:
    """A pooled estimate (diamond); ``group=None`` is the overall summary."""

    label: str
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float | None = None
    pi_high: float | None = None
    group: str | None = None
    heterogeneity: str = ""

    @classmethod
    def from_meta(
        cls,
        res: MetaResult,
        label: str | None = None,
        *,
        group: str | None = None,
        ratio: bool = True,
        prediction_interval: bool = True,
    ) -> ForestSummary:
        """Summary row of a fitted model; ``ratio=True`` exponentiates log ratios."""

        def tr(x: float | None) -> float | None:
            if x is None:
                return None
            return math.exp(x) if ratio else x

        model = "Common-effect model" if res.method == "FE" else "Random-effects model"
        lo, hi = tr(res.ci_low), tr(res.ci_high)
        show_pi = prediction_interval and res.method != "FE" and res.k >= 3
        return cls(
            label=label or f"{model} (k = {res.k})",
            estimate=float(tr(res.estimate)),  # type: ignore[arg-type]
            ci_low=math.nan if lo is None else lo,
            ci_high=math.nan if hi is None else hi,
            pi_low=tr(res.pi_low) if show_pi else None,
            pi_high=tr(res.pi_high) if show_pi else None,
            group=group,
            heterogeneity=heterogeneity_text(res),
        )


def heterogeneity_text(res: MetaResult) -> str:
    """'Heterogeneity: I² = 45%, τ² = 0.012, p = 0.13' (p of Cochran's Q; k ≥ 2)."""
    if res.k < 2:
        return "Single study: heterogeneity not estimable"
    parts = [f"I² = {res.i2:.0f}%"]
    if res.method != "FE":
        parts.append(f"τ² = {res.tau2:.3f}")
    parts.append(fmt_p(res.q_p))
    return "Heterogeneity: " + ", ".join(parts)


def fmt_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "p not estimable"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


@dataclass(frozen=True, slots=True)
class _Line:
    kind: str  # header | study | summary | pi | note | gap
    text: str = ""
    row: ForestRow | None = None
    summary: ForestSummary | None = None


def _layout(
    rows: Sequence[ForestRow], summaries: Sequence[ForestSummary], texts: ForestTexts
) -> list[_Line]:
    groups: list[str | None] = list(dict.fromkeys(r.group for r in rows))
    for s in summaries:
        if s.group is not None and s.group not in groups:
            groups.append(s.group)
    grouped = any(g is not None for g in groups)
    lines: list[_Line] = []
    for g in groups:
        if grouped:
            lines.append(_Line("header", g or "Other"))
        lines += [_Line("study", row=r) for r in rows if r.group == g]
        for s in (s for s in summaries if s.group == g and g is not None):
            lines += _summary_lines(s, texts)
        if grouped:
            lines.append(_Line("gap"))
    for s in (s for s in summaries if s.group is None):
        lines += _summary_lines(s, texts)
    while lines and lines[-1].kind == "gap":
        lines.pop()
    return lines


def _summary_lines(s: ForestSummary, texts: ForestTexts) -> list[_Line]:
    out = [_Line("summary", s.label, summary=s)]
    if s.pi_low is not None and s.pi_high is not None:
        out.append(_Line("pi", texts.prediction_interval, summary=s))
    if s.heterogeneity:
        out.append(_Line("note", s.heterogeneity))
    return out


def _limits(values: list[float], ratio: bool) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v) and (v > 0 or not ratio)]
    if not finite:
        return (0.5, 2.0) if ratio else (-1.0, 1.0)
    if ratio:
        lo = math.log(min(*finite, 1.0))
        hi = math.log(max(*finite, 1.0))
        pad = 0.06 * (hi - lo or 1.0)
        return math.exp(lo - pad), math.exp(hi + pad)
    lo, hi = min(*finite, 0.0), max(*finite, 0.0)
    pad = 0.06 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def forest_plot(
    rows: Sequence[ForestRow],
    summaries: Sequence[ForestSummary] = (),
    *,
    measure: str | None = "HR",
    favours: tuple[str, str] | None = DEFAULT_FAVOURS,
    title: str = "",
    footer: Sequence[str] = (),
    ci_label: str | None = None,
    note_label: str | None = None,
    xlim: tuple[float, float] | None = None,
    texts: ForestTexts = ForestTexts(),
    path: str | Path | None = None,
) -> Figure:
    """Draw a forest plot (see the module docstring for the input types).

    ``note_label`` heads an extra column showing each row's ``note`` (shown when any row
    has one). ``texts``: the plot's own words and decimal mark (:class:`ForestTexts`)."""
    if not rows and not summaries:
        raise ValueError("rows: nothing to plot (no study rows and no summaries)")
    ratio = measure in RATIO_MEASURES
    for r in rows:
        if not (r.ci_low <= r.estimate <= r.ci_high):
            raise ValueError(f"rows: {r.label!r}: estimate lies outside its interval")
        if ratio and r.ci_low <= 0:
            raise ValueError(f"rows: {r.label!r}: a ratio and its limits must be > 0")
    lines = _layout(rows, summaries, texts)
    show_weight = any(r.weight is not None for r in rows)
    show_note = any(r.note for r in rows)
    null = 1.0 if ratio else 0.0
    column = ci_label or (f"{measure} (95% CI)" if measure else "Estimate (95% CI)")

    values: list[float] = []
    for r in rows:
        values += [r.ci_low, r.ci_high]
    for s in summaries:
        values += [s.ci_low, s.ci_high]
        if s.pi_low is not None and s.pi_high is not None:
            values += [s.pi_low, s.pi_high]
    lo, hi = xlim or _limits(values, ratio)

    n = len(lines)
    row_h = 0.24
    height = row_h * (n + 2.2) + 0.35 * bool(title) + 0.18 * len(footer) + 0.3 * bool(favours)
    with style():
        # the label column grows with the longest label (about 0.07 in per character at
        # 9 pt, bold summaries 10% wider) so that no label runs into the plot column
        longest = max([len(r.label) + 2 for r in rows] + [1.1 * len(s.label) for s in summaries])
        label_w = max(3.0, (0.07 * longest + 0.15) / 0.93)
        widths = [label_w, 3.1, 1.6] + ([0.6] if show_weight else []) + ([1.1] if show_note else [])
        fig = new_figure(sum(widths) * 0.93, height)
        gs = fig.add_gridspec(1, len(widths), width_ratios=widths, wspace=0.0)
        ax_label = fig.add_subplot(gs[0, 0])
        ax = fig.add_subplot(gs[0, 1], sharey=ax_label)
        ax_ci = fig.add_subplot(gs[0, 2], sharey=ax_label)
        ax_w = fig.add_subplot(gs[0, 3], sharey=ax_label) if show_weight else None
        ax_n = fig.add_subplot(gs[0, len(widths) - 1], sharey=ax_label) if show_note else None
        text_axes = [a for a in (ax_label, ax_ci, ax_w, ax_n) if a is not None]
        for a in text_axes:
            a.set_axis_off()
            a.set_xlim(0, 1)
        top = n + 0.9
        ax_label.set_ylim(0.25, top + 0.4)

        ax.patch.set_visible(False)  # long note lines may run under the plot column
        _headers(ax_label, ax_ci, ax_w, top, column, texts, ax_n, note_label or "")
        ax.axhline(top - 0.55, color=INK, lw=0.6)
        max_w = max((r.weight or 0.0) for r in rows) if rows else 0.0
        for i, line in enumerate(lines):
            y = n - i
            _draw_line(line, y, ax, ax_label, ax_ci, ax_w, max_w, ratio, lo, hi, texts, ax_n)

        ax.plot([null, null], [0.25, top - 0.55], color=INK, lw=0.8, zorder=1)
        overall = next((s for s in summaries if s.group is None), None)
        if overall is not None and math.isfinite(overall.estimate):
            ax.plot(
                [overall.estimate] * 2, [0.25, top - 0.55], color=POOLED, lw=0.7,
                ls=(0, (3, 3)), zorder=1,
            )  # fmt: skip
        _axis(ax, ratio, lo, hi, texts)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="y", left=False, labelleft=False)
        ax.spines["bottom"].set_bounds(lo, hi)
        if favours:
            _favours(ax, favours, null)
        if title:
            fig.suptitle(title, x=0.02, ha="left", fontsize=10.5, fontweight="bold")
        if footer:
            fig.text(0.02, 0.0, "\n".join(footer), ha="left", va="top", fontsize=SMALL, color=MUTED)
        # room under the axis for its tick labels and the favours line, then the footer
        bottom = (0.62 if favours else 0.4) / height
        fig.subplots_adjust(
            left=0.01, right=0.99, bottom=bottom, top=0.98 - 0.35 * bool(title) / height
        )
    save(fig, path)
    return fig


def _headers(
    ax_label: Axes,
    ax_ci: Axes,
    ax_w: Axes | None,
    top: float,
    column: str,
    texts: ForestTexts,
    ax_n: Axes | None = None,
    note_label: str = "",
) -> None:
    kw: dict[str, Any] = {"fontweight": "bold", "va": "center", "color": INK}
    ax_label.text(0.0, top, texts.study, ha="left", **kw)
    ax_ci.text(0.97, top, column, ha="right", **kw)
    if ax_w is not None:
        ax_w.text(0.95, top, texts.weight, ha="right", **kw)
    if ax_n is not None:
        ax_n.text(0.1, top, note_label, ha="left", **kw)
    for a in (ax_label, ax_ci, ax_w, ax_n):
        if a is None:
            continue
        a.axhline(top - 0.55, color=INK, lw=0.6, xmin=0, xmax=1, clip_on=False)


def _draw_line(
    line: _Line,
    y: float,
    ax: Axes,
    ax_label: Axes,
    ax_ci: Axes,
    ax_w: Axes | None,
    max_w: float,
    ratio: bool,
    lo: float,
    hi: float,
    texts: ForestTexts,
    ax_n: Axes | None = None,
) -> None:
    if line.kind == "header":
        ax_label.text(0.0, y, line.text, ha="left", va="center", fontweight="bold", color=INK)
    elif line.kind == "note":
        ax_label.text(
            0.03, y, line.text, ha="left", va="center", fontsize=SMALL, color=MUTED,
            style="italic",
        )  # fmt: skip
    elif line.kind == "study" and line.row is not None:
        r = line.row
        ax_label.text(0.03, y, r.label, ha="left", va="center", color=INK)
        ci = _ci_text(r.estimate, r.ci_low, r.ci_high, texts)
        ax_ci.text(0.97, y, ci, ha="right", va="center")
        if ax_w is not None and r.weight is not None:
            weight = texts.number(f"{r.weight:.1f}%")
            ax_w.text(0.95, y, weight, ha="right", va="center", color=INK)
        if ax_n is not None and r.note:
            ax_n.text(0.1, y, r.note, ha="left", va="center", color=INK, fontsize=SMALL)
        _interval(ax, r.ci_low, r.ci_high, y, lo, hi)
        # square area proportional to the weight; a floor keeps small studies visible
        size = 7.5 * math.sqrt(r.weight / max_w) if r.weight and max_w > 0 else 4.0
        ax.plot(
            [r.estimate], [y], marker="s", ms=max(size, 2.8), color=INK, mec=INK, lw=0, zorder=3,
            gid=f"forest-study-{y:g}",
        )  # fmt: skip
    elif line.kind == "summary" and line.summary is not None:
        s = line.summary
        ax_label.text(0.0, y, line.text, ha="left", va="center", fontweight="bold", color=INK)
        ax_ci.text(
            0.97, y, _ci_text(s.estimate, s.ci_low, s.ci_high, texts), ha="right", va="center",
            fontweight="bold",
        )  # fmt: skip
        if ax_w is not None and s.group is None:
            ax_w.text(0.95, y, "100%", ha="right", va="center", color=INK, fontweight="bold")
        if math.isfinite(s.ci_low) and math.isfinite(s.ci_high):
            h = 0.32
            ax.fill(
                [s.ci_low, s.estimate, s.ci_high, s.estimate],
                [y, y + h, y, y - h],
                color=POOLED,
                lw=0.6,
                ec=POOLED,
                zorder=3,
                # ids name the element in SVG output and let tests count diamonds
                gid=f"forest-{'overall' if s.group is None else 'subgroup'}-{y:g}",
            )
    elif line.kind == "pi" and line.summary is not None:
        s = line.summary
        assert s.pi_low is not None and s.pi_high is not None
        ax_label.text(0.03, y, line.text, ha="left", va="center", color=MUTED)
        ax_ci.text(0.97, y, _ci_text(None, s.pi_low, s.pi_high, texts), ha="right", va="center",
                   color=MUTED)  # fmt: skip
        pi = _interval(ax, s.pi_low, s.pi_high, y, lo, hi, color=POOLED, lw=2.2, caps=True)
        pi.set_gid(f"forest-pi-{y:g}")


def _ci_text(est: float | None, low: float, high: float, texts: ForestTexts) -> str:
    interval = f"{fmt_ratio(low)} {texts.to} {fmt_ratio(high)}"
    text = f"[{interval}]" if est is None else f"{fmt_ratio(est)} ({interval})"
    return texts.number(text)


def _interval(
    ax: Axes,
    low: float,
    high: float,
    y: float,
    lo: float,
    hi: float,
    *,
    color: str = INK,
    lw: float = 1.0,
    caps: bool = False,
) -> Line2D:
    """A horizontal interval, clipped to the axis with an arrow where it runs off."""
    a, b = max(low, lo), min(high, hi)
    (line,) = ax.plot([a, b], [y, y], color=color, lw=lw, solid_capstyle="butt", zorder=2)
    if caps:
        for x, inside in ((a, low >= lo), (b, high <= hi)):
            if inside:
                ax.plot([x, x], [y - 0.14, y + 0.14], color=color, lw=1.0, zorder=2)
    for x, clipped, direction in ((a, low < lo, "<"), (b, high > hi, ">")):
        if clipped:
            ax.plot([x], [y], marker=direction, ms=4, color=color, lw=0, zorder=2)
    return line


def _axis(ax: Axes, ratio: bool, lo: float, hi: float, texts: ForestTexts) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    if ratio:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator(ratio_ticks(lo, hi)))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: texts.number(fmt_tick(x))))
    ax.set_xlim(lo, hi)


def _favours(ax: Axes, favours: tuple[str, str], null: float) -> None:
    from matplotlib.transforms import blended_transform_factory

    trans = blended_transform_factory(ax.transData, ax.transAxes)
    left, right = favours
    # below the tick labels, each side pointing away from the null line
    kw: dict[str, Any] = {
        "xycoords": trans, "textcoords": "offset points", "va": "top", "fontsize": SMALL,
        "color": MUTED,
    }  # fmt: skip
    ax.annotate(f"← {left}", xy=(null, 0.0), xytext=(-4, -20), ha="right", **kw)
    ax.annotate(f"{right} →", xy=(null, 0.0), xytext=(4, -20), ha="left", **kw)


def cumulative_forest_plot(
    labels: Sequence[str],
    result: CumulativeResult,
    *,
    measure: str | None = "HR",
    favours: tuple[str, str] | None = DEFAULT_FAVOURS,
    title: str = "Cumulative meta-analysis",
    path: str | Path | None = None,
) -> Figure:
    """One row per step of :func:`locoreg.meta.cumulative`: the pooled estimate after
    adding each study (``labels`` are the study labels in input order)."""
    if len(labels) != len(result.order):
        raise ValueError(f"labels: expected {len(result.order)} labels, got {len(labels)}")
    ratio = measure in RATIO_MEASURES
    tr = math.exp if ratio else float
    rows = [
        ForestRow(
            label=("+ " if j else "") + labels[int(i)],
            estimate=tr(float(result.estimate[j])),
            ci_low=tr(float(result.ci_low[j])),
            ci_high=tr(float(result.ci_high[j])),
        )
        for j, i in enumerate(result.order)
    ]
    footer = (f"Each row pools every study up to it ({result.method}, test {result.test}).",)
    return forest_plot(
        rows, (), measure=measure, favours=favours, title=title, footer=footer,
        ci_label=f"Pooled {measure or 'estimate'} (95% CI)", path=path,
    )  # fmt: skip
