"""Covariate balance ("love") plot: standardised mean differences before and after adjustment."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from locoreg.plots._style import figure_svg, new_figure


def love_plot(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    threshold: float = 0.1,
    path: str | Path | None = None,
) -> str:
    """Absolute SMD per covariate, one marker per series (e.g. before / matched / weighted).

    The dashed line at ``threshold`` (0.1) is the usual limit for acceptable balance
    (Austin, Stat Med 2009;28:3083–107).
    """
    markers = ("o", "s", "^", "D")
    colours = ("#c0504d", "#1f4e79", "#4f8a3c", "#7f6084")
    y = np.arange(len(labels))[::-1]
    fig = new_figure(6.0, 0.32 * len(labels) + 1.2)
    ax = fig.subplots()
    for k, (name, values) in enumerate(series.items()):
        ax.scatter(
            np.abs(np.asarray(values, dtype=float)),
            y,
            marker=markers[k % 4],
            color=colours[k % 4],
            label=name,
            zorder=3,
        )
    ax.axvline(threshold, color="#555555", linestyle="--", linewidth=1)
    ax.set_yticks(y, labels)
    ax.set_xlabel("Absolute standardised mean difference")
    ax.set_xlim(left=0)
    ax.grid(axis="x", alpha=0.3)
    # Outside the axes: a legend inside would hide the markers of the worst-balanced rows.
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure_svg(fig, path)
