"""Forest and cumulative forest plots: rows, diamonds, prediction intervals, axis scale."""

from __future__ import annotations

import math

import numpy as np
import pytest

from locoreg.meta import cumulative, rma, subgroup_analysis
from locoreg.plots._style import ratio_ticks
from locoreg.plots.forest import (
    ForestRow,
    ForestSummary,
    cumulative_forest_plot,
    forest_plot,
)
from plots.figure_checks import gids, svg_ids

# dat.bcg-like log risk ratios: four in group "a", three in group "b"
YI = np.array([-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62])
VI = np.array([0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22])
GROUPS = ["a", "a", "a", "a", "b", "b", "b"]


def _rows(weights: np.ndarray) -> list[ForestRow]:
    se = np.sqrt(VI)
    return [
        ForestRow(
            f"Study {i}",
            math.exp(y),
            math.exp(y - 1.96 * s),
            math.exp(y + 1.96 * s),
            float(w),
            g,
            note="Low",
        )
        for i, (y, s, w, g) in enumerate(zip(YI, se, weights, GROUPS, strict=True))
    ]


def test_subgroup_forest_has_rows_diamonds_and_prediction_intervals(write_both) -> None:
    sub = subgroup_analysis(YI, VI, GROUPS)
    overall = rma(YI, VI)
    weights = np.concatenate([sub.levels["a"].weights, sub.levels["b"].weights])
    summaries = [ForestSummary.from_meta(f, group=g) for g, f in sub.levels.items()]
    summaries.append(ForestSummary.from_meta(overall))

    def draw(path):
        return forest_plot(_rows(weights), summaries, measure="RR", note_label="RoB", path=path)

    fig, svg = write_both(draw)
    assert len(gids(fig, "forest-study-")) == 7
    assert len(gids(fig, "forest-subgroup-")) == 2
    assert len(gids(fig, "forest-overall-")) == 1
    assert len(gids(fig, "forest-pi-")) == 3  # k = 4, 3 and 7: all ≥ 3
    ids = svg_ids(svg)
    assert sum(i.startswith("forest-study-") for i in ids) == 7
    assert sum(i.startswith("forest-overall-") for i in ids) == 1
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert "← Favours local therapy" in texts and "Favours no local therapy →" in texts
    assert "RoB" in texts and "Weight" in texts
    plot_ax = next(a for a in fig.axes if a.get_xscale() == "log")
    # the diamond of the overall model spans its confidence interval on the ratio scale
    diamond = fig.findobj(lambda a: (a.get_gid() or "").startswith("forest-overall-"))[0]
    xs = diamond.get_xy()[:, 0]
    assert math.isclose(xs.min(), math.exp(overall.ci_low), rel_tol=1e-12)
    assert math.isclose(xs.max(), math.exp(overall.ci_high), rel_tol=1e-12)
    assert plot_ax.get_xlim()[0] < math.exp(overall.ci_low)


def test_linear_axis_without_ratio_measure_and_no_pi_below_k3() -> None:
    fit = rma(YI[:2], VI[:2])
    rows = [ForestRow(f"S{i}", y, y - 1, y + 1) for i, y in enumerate(YI[:2])]
    fig = forest_plot(rows, [ForestSummary.from_meta(fit, ratio=False)], measure=None)
    assert all(a.get_xscale() == "linear" for a in fig.axes)
    assert gids(fig, "forest-pi-") == []  # k = 2: the prediction interval is not shown
    assert len(gids(fig, "forest-study-")) == 2


def test_bad_rows_are_rejected() -> None:
    with pytest.raises(ValueError, match="outside its interval"):
        forest_plot([ForestRow("x", 2.0, 0.5, 1.5)])
    with pytest.raises(ValueError, match="nothing to plot"):
        forest_plot([])
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.pdf"):
        forest_plot([ForestRow("x", 1.0, 0.5, 1.5)], path="fig.gif")


def test_cumulative_forest_is_chronological(write_both) -> None:
    years = [1990, 1980, 2000, 1985, 1995, 2005, 1975]
    cum = cumulative(YI, VI, order=years)
    labels = [f"Study {y}" for y in years]

    def draw(path):
        return cumulative_forest_plot(labels, cum, measure="RR", path=path)

    fig, _svg = write_both(draw)
    assert len(gids(fig, "forest-study-")) == len(YI)
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    shown = [t for t in texts if t.lstrip("+ ").startswith("Study ")]
    assert shown == ["Study 1975"] + [f"+ Study {y}" for y in sorted(years)[1:]]
    assert any(a.get_xscale() == "log" for a in fig.axes)
    # the last row is the model on all studies
    assert math.isclose(cum.estimate[-1], rma(YI, VI).estimate, rel_tol=1e-10)


def test_ratio_ticks_are_readable() -> None:
    for lo, hi in [(0.3, 1.06), (0.45, 3.0), (0.62, 1.45), (0.1, 10.0), (0.05, 40.0)]:
        ticks = ratio_ticks(lo, hi)
        assert 1.0 in ticks and all(lo <= t <= hi for t in ticks)
        gaps = np.diff(np.log(ticks))
        assert gaps.min() >= 0.12 * math.log(hi / lo) - 1e-12
