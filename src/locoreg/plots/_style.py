"""Shared look of the meta-analysis figures (forest, funnel): restrained, print-ready.

Black ink for data, one dark blue for pooled estimates, greys for guides; no boxes,
no grid, no shadows. Text stays text in SVG (``svg.fonttype = "none"``) so labels can
be searched, copied and read by screen readers.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from matplotlib.figure import Figure

INK = "#1a1a1a"
MUTED = "#595959"
GUIDE = "#8c8c8c"
POOLED = "#1f4e79"
FILLED = "#b4461f"
FONT_SIZE = 9.0
SMALL = 7.8

RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": FONT_SIZE,
    "axes.edgecolor": INK,
    "axes.linewidth": 0.8,
    "xtick.color": INK,
    "xtick.major.width": 0.8,
    "xtick.major.size": 3.5,
    "xtick.labelsize": SMALL,
    "ytick.labelsize": SMALL,
    "svg.fonttype": "none",
    "svg.hashsalt": "locoreg",  # stable ids: the same figure gives the same file
    "pdf.fonttype": 42,
}

#: ratio measures drawn on a log axis with ratio tick labels
RATIO_MEASURES = frozenset({"HR", "RR", "OR"})
#: ticks of a ratio axis by readability: powers of ten, then 2 and 5, then the rest
_TICK_TIERS = (
    (0.01, 0.1, 1.0, 10.0, 100.0),
    (0.02, 0.05, 0.2, 0.5, 2.0, 5.0, 20.0, 50.0),
    (0.25, 0.33, 0.67, 0.75, 1.33, 1.5, 3.0, 4.0),
)


@contextmanager
def style() -> Iterator[None]:
    """matplotlib rc settings of the meta-analysis figures (no global side effects)."""
    import matplotlib

    with matplotlib.rc_context(cast(Any, RC)):  # the stubs want literal rc keys
        yield


def new_figure(width: float, height: float) -> Figure:
    """A figure not registered with pyplot: no global state, nothing to close."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout=None)


def save(fig: Figure, path: str | Path | None) -> None:
    """Write ``fig`` to ``path``; the format follows the suffix (.svg, .png, .pdf)."""
    if path is None:
        return
    out = Path(path)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"path: {out.name!r} must end in .svg, .png or .pdf")
    with style():
        fig.savefig(out, format=fmt, dpi=200, bbox_inches="tight", pad_inches=0.08)


def figure_svg(fig: Any, path: str | Path | None = None) -> str:
    """The SVG text of a figure, for inlining in HTML (no XML prolog); also written to
    ``path`` in the format of its suffix (:func:`save`). Closes a pyplot figure.

    Figures of :func:`new_figure` have no pyplot manager: pyplot (and its backend) is
    then not imported at all, which saves a report a noticeable part of its start-up."""
    if path is not None and Path(path).suffix.lower() != ".svg":
        save(fig, path)
    buf = io.StringIO()
    with style():  # text as <text> (svg.fonttype), whoever drew the figure
        fig.savefig(buf, format="svg", bbox_inches="tight")
    if getattr(fig.canvas, "manager", None) is not None:  # made by pyplot: release it
        import matplotlib.pyplot as plt

        plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.find("<svg") :]
    if path is not None and Path(path).suffix.lower() == ".svg":
        Path(path).write_text(svg, encoding="utf-8")  # the same text as inlined in HTML
    return svg


def ratio_ticks(lo: float, hi: float, min_ticks: int = 4) -> list[float]:
    """Readable ratio ticks within [lo, hi]: 1, 2, 5, 10... and finer ones only if needed.

    A finer tick is dropped when it would sit closer than 12% of the axis width (on the log
    scale) to a tick already chosen, so that labels such as 0.67 and 0.75 never collide.
    """
    span = math.log(hi / lo) if hi > lo > 0 else 1.0
    ticks: list[float] = []
    for tier in _TICK_TIERS:
        for t in tier:
            if lo <= t <= hi and all(abs(math.log(t / u)) >= 0.12 * span for u in ticks):
                ticks.append(t)
        if len(ticks) >= min_ticks:
            break
    return sorted(ticks)


def fmt_ratio(x: float) -> str:
    """0.66, 1.04, 12.3: two decimals below 10, one above."""
    if not math.isfinite(x):
        return "–"
    return f"{x:.2f}" if x < 9.995 else f"{x:.1f}"


def fmt_tick(x: float) -> str:
    return f"{x:g}"
