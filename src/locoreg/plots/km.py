"""Kaplan–Meier figures as in papers: step curves, optional CI bands and censor ticks, and
the number at risk in a table under the time axis.

``km_figure(kaplan_meier("Surv(time, status) ~ trt", data=df), path="km.png")`` draws any
curve or mapping of curves from :mod:`locoreg.survival`; ``km_plot`` is the arrays-in,
SVG-out form used by the cohort report. Files are written by ``_style.save``: the format
follows the suffix (.svg, .png, .pdf).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from locoreg.plots._style import INK, MUTED, SMALL, figure_svg, new_figure, save, style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from locoreg.survival.km import KaplanMeier

PALETTE: tuple[str, ...] = ("#1f4e79", "#c0504d", "#4f8a3c", "#7f6084", "#d68a00")

__all__ = ["PALETTE", "figure_svg", "km_figure", "km_plot"]


def _curves(
    curves: KaplanMeier | Mapping[Any, KaplanMeier], labels: Sequence[str] | None
) -> list[tuple[str, KaplanMeier]]:
    if isinstance(curves, Mapping):
        fits = list(curves.values())
        names = list(getattr(curves, "labels", [str(k) for k in curves]))
    else:
        fits, names = [curves], ["All"]
    if labels is not None:
        if len(labels) != len(fits):
            raise ValueError(f"labels: {len(labels)} given for {len(fits)} curves")
        names = list(labels)
    return list(zip(names, fits, strict=True))


def _nice_times(end: float, count: int = 6) -> list[float]:
    """About ``count`` round tick times from 0 to ``end`` (1, 2, 2.5 or 5 times 10^k)."""
    if end <= 0:
        return [0.0]
    raw = end / (count - 1)
    power = 10.0 ** np.floor(np.log10(raw))
    step = min((m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw), default=raw)
    return [float(v) for v in np.arange(0.0, end + step * 1e-9, step)]


def _draw_curve(ax: Axes, fit: KaplanMeier, colour: str, label: str, ci: bool, ticks: bool) -> None:
    x = np.concatenate([[0.0], fit.times])
    ax.step(
        x,
        np.concatenate([[1.0], fit.survival]),
        where="post",
        color=colour,
        label=label,
        linewidth=1.4,
        gid=f"km-curve-{label}",
    )
    if ci:
        ax.fill_between(
            x,
            np.nan_to_num(np.concatenate([[1.0], fit.ci_low]), nan=0.0),
            np.nan_to_num(np.concatenate([[1.0], fit.ci_high]), nan=1.0),
            step="post",
            color=colour,
            alpha=0.15,
            linewidth=0,
            gid=f"km-ci-{label}",
        )
    if ticks:
        censored = fit.censored > 0
        ax.plot(
            fit.times[censored],
            fit.survival[censored],
            linestyle="none",
            marker="|",
            markersize=6,
            color=colour,
            gid=f"km-censor-{label}",
        )


def km_figure(
    curves: KaplanMeier | Mapping[Any, KaplanMeier],
    *,
    labels: Sequence[str] | None = None,
    legend: Sequence[str] | None = None,
    risk_table: bool = True,
    ci: bool = True,
    censor_ticks: bool = True,
    times: ArrayLike | None = None,
    xlabel: str = "Time",
    ylabel: str = "Survival probability",
    title: str = "",
    note: str = "",
    path: str | Path | None = None,
) -> Figure:
    """Kaplan–Meier curves with the number at risk under the axis.

    Parameters
    ----------
    curves : KaplanMeier or mapping of them
        One curve, or ``kaplan_meier("Surv(t, s) ~ g", data=df)`` (labelled ``g=level``),
        or any mapping label -> curve.
    labels : sequence of str, optional
        Table row labels (and legend entries), one per curve.
    legend : sequence of str, optional
        Legend entries when they differ from ``labels`` (e.g. with n and median).
    risk_table : bool
        Number at risk (R ``summary(fit, times=)$n.risk``) at the tick ``times``.
    ci, censor_ticks : bool
        Pointwise CI bands of each curve (its ``conf_type``); a tick at each censoring time.
    times : array_like, optional
        Tick (and table) times; default about six round times over the follow-up.
    path : str or Path, optional
        Also write the figure there; the format follows the suffix (.svg, .png, .pdf).
    """
    items = _curves(curves, labels)
    end = max((float(f.times[-1]) for _, f in items if f.times.size), default=1.0)
    ticks = _nice_times(end) if times is None else [float(t) for t in np.asarray(times, float)]
    rows = len(items) if risk_table else 0
    with style():
        fig = new_figure(7.0, 4.2 + 0.22 * rows + (0.45 if rows else 0.0))
        grid = fig.add_gridspec(
            2 if rows else 1,
            1,
            height_ratios=[4.2, 0.22 * rows + 0.45] if rows else [1.0],
            hspace=0.28,
        )
        ax = fig.add_subplot(grid[0])
        entries = [label for label, _ in items] if legend is None else list(legend)
        if len(entries) != len(items):
            raise ValueError(f"legend: {len(entries)} given for {len(items)} curves")
        for k, ((_, fit), entry) in enumerate(zip(items, entries, strict=True)):
            _draw_curve(ax, fit, PALETTE[k % len(PALETTE)], entry, ci, censor_ticks)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(ticks[0], max(ticks[-1], end))
        ax.set_xticks(ticks)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(alpha=0.25)
        ax.legend(frameon=False, loc="upper right")
        if title:
            ax.set_title(title, loc="left", fontsize=11)
        if rows:
            table = fig.add_subplot(grid[1], sharex=ax)
            table.set_ylim(rows - 0.5, -1.2)
            table.axis("off")
            table.text(
                -0.04,
                -1.0,
                "Number at risk",
                transform=table.get_yaxis_transform(),
                fontsize=SMALL,
                color=INK,
                fontweight="bold",
                ha="right",
                va="center",
                gid="km-risk-title",
            )
            for k, (label, fit) in enumerate(items):
                colour = PALETTE[k % len(PALETTE)]
                table.text(
                    -0.04,  # row labels clear of the counts at time 0
                    k,
                    label,
                    transform=table.get_yaxis_transform(),
                    ha="right",
                    va="center",
                    fontsize=SMALL,
                    color=colour,
                )
                for t, n in zip(ticks, fit.at_risk_table(ticks), strict=True):
                    table.text(
                        t,
                        k,
                        f"{n:g}",
                        ha="center",
                        va="center",
                        fontsize=SMALL,
                        color=INK,
                        gid=f"km-risk-{label}-{t:g}",
                    )
        if note:
            fig.text(0.01, 0.0, note, fontsize=8, color=MUTED, wrap=True)
    save(fig, path)
    return fig


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

    The legend gives n and the median (months) of each group; empty groups are left out.
    """
    from locoreg.survival import kaplan_meier

    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    g = np.asarray(group)
    curves: dict[str, KaplanMeier] = {}
    for k, label in enumerate(labels):
        sel = g == k
        if not sel.any():
            continue
        km = kaplan_meier(t[sel], e[sel], conf_type="log-log")
        median = "" if not np.isfinite(km.median) else f", median {km.median:.0f} mo"
        curves[f"{label} (n={int(sel.sum())}{median})"] = km
    fig = km_figure(
        curves,
        labels=[name.split(" (n=")[0] for name in curves],
        legend=list(curves),
        title=title,
        note=note,
        xlabel=xlabel,
        ylabel="Overall survival",
        censor_ticks=False,
    )
    return figure_svg(fig, path)
