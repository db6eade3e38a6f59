"""Kaplan–Meier curves by group (matplotlib → SVG)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

PALETTE: tuple[str, ...] = ("#1f4e79", "#c0504d", "#4f8a3c", "#7f6084", "#d68a00")


def figure_svg(fig: object, path: str | Path | None = None) -> str:
    """The SVG text of a matplotlib figure (also written to ``path`` if given); closes it."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    svg = buf.getvalue()
    # Drop the XML prolog and DOCTYPE so the SVG can be inlined in HTML.
    svg = svg[svg.find("<svg") :]
    if path is not None:
        Path(path).write_text(svg, encoding="utf-8")
    return svg


def km_plot(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    labels: Sequence[str],
    *,
    title: str = "",
    note: str = "",
    xlabel: str = "Months from diagnosis",
    path: str | Path | None = None,
) -> str:
    """Kaplan–Meier curves (log-log 95 % CI bands) for groups 0..k-1; returns the SVG text.

    Curves come from :func:`locoreg.survival.kaplan_meier`; a median line is
    drawn when the curve reaches 0.5.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from locoreg.survival import kaplan_meier

    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    g = np.asarray(group)
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    for k, label in enumerate(labels):
        sel = g == k
        if not sel.any():
            continue
        km = kaplan_meier(t[sel], e[sel], conf_type="log-log")
        x = np.concatenate([[0.0], km.times])
        colour = PALETTE[k % len(PALETTE)]
        median = "" if not np.isfinite(km.median) else f", median {km.median:.0f} mo"
        ax.step(
            x,
            np.concatenate([[1.0], km.survival]),
            where="post",
            color=colour,
            label=f"{label} (n={int(sel.sum())}{median})",
        )
        ax.fill_between(
            x,
            np.concatenate([[1.0], km.ci_low]),
            np.concatenate([[1.0], km.ci_high]),
            step="post",
            color=colour,
            alpha=0.15,
            linewidth=0,
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Overall survival")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, loc="upper right")
    if title:
        ax.set_title(title, loc="left", fontsize=11)
    if note:
        fig.text(0.01, -0.02, note, fontsize=8, color="#555555", wrap=True)
    return figure_svg(fig, path)
