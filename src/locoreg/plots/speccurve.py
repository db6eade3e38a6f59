"""Specification curve: every estimate of the multiverse, sorted, with what produced it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from locoreg.plots._style import figure_svg, new_figure

HR_TICKS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0, 3.0)


def _plain_log_ticks(ax: Any, low: float, high: float) -> None:
    """Hazard ratios as 0.5, 0.7, 1 on a log axis (matplotlib would write 6×10⁻¹)."""
    from matplotlib.ticker import FixedLocator, NullLocator, StrMethodFormatter

    ticks = [t for t in HR_TICKS if low / 1.1 <= t <= high * 1.1] or [1.0]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:g}"))


def specification_curve(
    hr: Sequence[float],
    ci_low: Sequence[float],
    ci_high: Sequence[float],
    choices: dict[str, Sequence[str]],
    highlight: Sequence[bool],
    *,
    highlight_label: str = "handles immortal time",
    other_label: str = "does not",
    reference: float | None = None,
    reference_label: str = "",
    path: str | Path | None = None,
) -> str:
    """Top: HRs (log scale) with 95 % CIs sorted by size; bottom: one row per choice value.

    ``choices`` maps a dimension (method, covariates, exclusion) to the value
    each specification used; ``highlight`` colours the estimates (e.g. methods
    that handle immortal time). ``reference`` draws a horizontal line (e.g. the
    pooled randomised-trial HR).
    """
    h = np.asarray(hr, dtype=float)
    lo = np.asarray(ci_low, dtype=float)
    hi = np.asarray(ci_high, dtype=float)
    flag = np.asarray(highlight, dtype=bool)
    order = np.argsort(h, kind="stable")
    x = np.arange(h.size)
    rows = [(dim, value) for dim, vals in choices.items() for value in dict.fromkeys(vals)]
    fig = new_figure(9.0, 3.6 + 0.2 * len(rows))
    top, bottom = fig.subplots(
        2,
        1,
        sharex=True,
        gridspec_kw={"height_ratios": [3.0, 0.25 * len(rows) + 0.5]},
    )
    colours = np.where(flag[order], "#1f4e79", "#c0504d")
    top.vlines(x, lo[order], hi[order], colors=colours, alpha=0.45, linewidth=1)
    top.scatter(x[flag[order]], h[order][flag[order]], s=10, color="#1f4e79", label=highlight_label)
    top.scatter(x[~flag[order]], h[order][~flag[order]], s=10, color="#c0504d", label=other_label)
    top.axhline(1.0, color="black", linewidth=0.8)
    if reference is not None:
        top.axhline(reference, color="#4f8a3c", linestyle="--", linewidth=1, label=reference_label)
    top.set_yscale("log")
    _plain_log_ticks(top, float(np.nanmin(lo)), float(np.nanmax(hi)))
    top.set_ylabel("Hazard ratio (surgery vs none)")
    # Above the axes, so that it never hides an estimate.
    top.legend(frameon=False, fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=3)
    top.grid(axis="y", alpha=0.3)
    for r, (dim, value) in enumerate(rows):
        used = np.asarray(choices[dim])[order] == value
        bottom.scatter(x[used], np.full(used.sum(), r), s=6, color="#333333", marker="s")
    bottom.set_yticks(np.arange(len(rows)), [f"{dim}: {value}" for dim, value in rows], fontsize=7)
    bottom.invert_yaxis()
    bottom.set_xlabel("Specifications, sorted by hazard ratio")
    return figure_svg(fig, path)
