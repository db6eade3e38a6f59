"""Contour-enhanced funnel plot, optionally with the studies imputed by trim and fill.

    funnel_plot(yi, vi, *, estimate=None, fill=None, measure="HR", labels=None,
                contours=(0.10, 0.05, 0.01), title="", path=None) -> Figure

``yi``/``vi`` are effects on the analysis scale (log ratios for HR/RR/OR) and their
variances. The x axis shows the effect (ratio tick labels for ratio measures), the y axis
the standard error, inverted so that large studies are at the top. Shaded contours mark
where a study would be significant against the null at two-sided p < 0.10, 0.05 and 0.01
(Peters et al. 2008, J Clin Epidemiol 61:991): if the apparently missing studies sit in
the non-significant region, publication bias is a plausible cause of the asymmetry; if
they sit in significant regions, other causes (heterogeneity, small-study effects) are
more likely. Dashed lines give the pseudo 95% confidence region around ``estimate``
(default: the REML estimate). ``fill`` (a :class:`locoreg.meta.bias.TrimFillResult`)
adds the imputed studies as open circles and the adjusted estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from locoreg.plots._style import (
    FILLED,
    GUIDE,
    INK,
    MUTED,
    RATIO_MEASURES,
    SMALL,
    fmt_tick,
    new_figure,
    ratio_ticks,
    save,
    style,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from locoreg.meta.bias import TrimFillResult

__all__ = ["funnel_plot"]

_SHADES = ("#ffffff", "#ececec", "#d6d6d6", "#bdbdbd")


def funnel_plot(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    estimate: float | None = None,
    fill: TrimFillResult | None = None,
    measure: str | None = "HR",
    labels: Sequence[str] | None = None,
    contours: Sequence[float] = (0.10, 0.05, 0.01),
    title: str = "",
    path: str | Path | None = None,
) -> Figure:
    """Draw a contour-enhanced funnel plot (see the module docstring)."""
    from scipy import stats

    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.shape != v.shape or y.ndim != 1 or y.size == 0:
        raise ValueError("yi and vi must be 1-D arrays of the same, non-zero length")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ValueError("yi must be finite and vi finite and > 0")
    if labels is not None and len(labels) != y.size:
        raise ValueError(f"labels: expected {y.size} labels, got {len(labels)}")
    levels = sorted(contours, reverse=True)
    if not 1 <= len(levels) < len(_SHADES) or any(not 0 < p < 1 for p in levels):
        raise ValueError("contours: give 1 to 3 p-values strictly between 0 and 1")
    if estimate is None:
        from locoreg.meta import rma

        estimate = rma(y, v).estimate

    ratio = measure in RATIO_MEASURES
    se = np.sqrt(v)
    se_all = se if fill is None else np.sqrt(fill.vi)
    y_all = y if fill is None else fill.yi
    se_max = float(se_all.max()) * 1.08
    grid = np.linspace(0.0, se_max, 200)
    z_outer = float(stats.norm.isf(min(levels) / 2))
    half = max(
        float(np.max(np.abs(y_all))) + 0.2 * se_max,
        z_outer * se_max * 1.02,
        abs(estimate) + 1.96 * se_max,
    )
    lo, hi = -half, half

    with style():
        fig = new_figure(7.4, 4.4)
        ax = fig.add_subplot(1, 1, 1)
        # significance regions around the null (0 on the log scale), darkest = smallest p
        ax.fill_betweenx(
            grid, lo, hi, color=_SHADES[len(levels)], lw=0, zorder=0, gid="funnel-contour-0"
        )
        for i in reversed(range(len(levels))):  # outermost band first, white centre last
            z = float(stats.norm.isf(levels[i] / 2))
            ax.fill_betweenx(
                grid, -z * grid, z * grid, color=_SHADES[i], lw=0, zorder=0,
                gid=f"funnel-contour-{i + 1}",
            )  # fmt: skip
        # pseudo 95% confidence region around the pooled estimate
        ax.plot(estimate - 1.96 * grid, grid, color=INK, lw=0.7, ls=(0, (4, 3)), zorder=1)
        ax.plot(estimate + 1.96 * grid, grid, color=INK, lw=0.7, ls=(0, (4, 3)), zorder=1)
        ax.plot([estimate, estimate], [0, se_max], color=INK, lw=0.8, zorder=1)
        ax.scatter(
            y, se, s=26, color=INK, edgecolor="white", lw=0.5, zorder=3, label="Study",
            gid="funnel-studies",
        )  # fmt: skip
        if fill is not None and fill.k0 > 0:
            ax.scatter(
                fill.yi[fill.filled], np.sqrt(fill.vi[fill.filled]), s=26, facecolor="white",
                edgecolor=FILLED, lw=1.1, zorder=3,
                label=f"Imputed by trim and fill (k₀ = {fill.k0})", gid="funnel-imputed",
            )  # fmt: skip
            adj = fill.fit.estimate
            ax.plot([adj, adj], [0, se_max], color=FILLED, lw=0.8, ls=(0, (2, 2)), zorder=1)
        ax.set_ylim(se_max, 0)
        ax.set_xlim(lo, hi)
        if labels is not None:
            _label_points(ax, y, se, labels)
        ax.set_ylabel("Standard error")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if ratio:
            from matplotlib.ticker import FixedLocator, FuncFormatter

            ticks = ratio_ticks(math.exp(lo), math.exp(hi))
            ax.xaxis.set_major_locator(FixedLocator([math.log(t) for t in ticks]))
            ax.xaxis.set_major_formatter(
                FuncFormatter(lambda x, _p: fmt_tick(round(math.exp(x), 2)))
            )
            ax.set_xlabel(f"{measure} (log scale)")
        else:
            ax.set_xlabel("Effect size")
        _legend(ax, levels, fill)
        if title:
            ax.set_title(title, loc="left", fontsize=10.5, fontweight="bold")
        fig.tight_layout()
    save(fig, path)
    return fig


_LABEL_PT = 6.5


def _label_points(ax: Axes, x: np.ndarray, se: np.ndarray, labels: Sequence[str]) -> None:
    """Label each point, moving a label down (then up) until it clears the ones placed.

    Boxes are estimated in points from the font size (0.6 em per character), which is
    enough to keep clustered registry studies from printing over each other.
    """
    to_px = ax.transData.transform
    scale = 72.0 / ax.figure.dpi  # display units -> points
    placed: list[tuple[float, float, float, float]] = []
    order = np.lexsort((x, se))  # top of the funnel first, then left to right
    step = _LABEL_PT * 1.25
    for i in order:
        px, py = to_px((float(x[i]), float(se[i])))
        px, py = px * scale, py * scale
        w, h = 0.6 * _LABEL_PT * len(labels[i]), _LABEL_PT * 1.1
        for k in range(0, 13):
            dy = 2.0 - step * ((k + 1) // 2) * (1 if k % 2 else -1) if k else 2.0
            box = (px + 4, py + dy, px + 4 + w, py + dy + h)
            if not any(
                box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed
            ):
                break
        placed.append(box)
        ax.annotate(
            labels[i], (float(x[i]), float(se[i])), xytext=(4, dy), textcoords="offset points",
            fontsize=_LABEL_PT, color=MUTED, va="bottom",
        )  # fmt: skip


def _legend(ax: Axes, levels: list[float], fill: TrimFillResult | None) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    bounds = [1.0, *levels]
    handles: list[object] = [
        Patch(facecolor=_SHADES[i], edgecolor=GUIDE, lw=0.4,
              label=f"{bounds[i + 1]:g} < p ≤ {bounds[i]:g}" if i else f"p > {levels[0]:g}")
        for i in range(len(levels))
    ]  # fmt: skip
    handles.append(
        Patch(facecolor=_SHADES[len(levels)], edgecolor=GUIDE, lw=0.4, label=f"p ≤ {levels[-1]:g}")
    )
    handles.append(Line2D([], [], color=INK, lw=0.8, label="Pooled estimate, pseudo 95% CI"))
    if fill is not None and fill.k0 > 0:
        handles.append(
            Line2D([], [], marker="o", ls="none", mfc="white", mec=FILLED,
                   label=f"Imputed (k₀ = {fill.k0}); adjusted estimate")
        )  # fmt: skip
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=SMALL - 0.5,
        frameon=False, labelcolor=INK, handlelength=1.4, title="Two-sided p vs null",
        title_fontsize=SMALL - 0.5, alignment="left",
    )  # fmt: skip
