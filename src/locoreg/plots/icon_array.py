"""Icon arrays ("out of 100 patients like this") as plain SVG strings.

An icon array shows a risk as coloured figures out of a fixed number, the format
that patients and clinicians read most accurately (PREDICT Breast uses it). No
matplotlib: the SVG is written directly, with a ``<title>``/``aria-label`` so a
screen reader announces the numbers.
"""

from __future__ import annotations

from html import escape

_FIGURE = (
    # A simple person: head and shoulders, 10 × 16 units.
    '<g transform="translate({x:.1f},{y:.1f})" fill="{fill}">'
    '<circle cx="5" cy="3.2" r="3.1"/>'
    '<path d="M0.4 16 V10.6 Q0.4 7.4 5 7.4 Q9.6 7.4 9.6 10.6 V16 Z"/></g>'
)


def icon_array(
    percent: float,
    *,
    label: str,
    total: int = 100,
    columns: int = 10,
    colour: str = "#b4461f",
    rest_colour: str = "#d4d9de",
    scale: float = 1.6,
    name: str | None = None,
) -> str:
    """SVG of ``round(percent / 100 * total)`` highlighted figures out of ``total``.

    ``label`` describes what a highlighted figure means (e.g. "locoregional
    progression within 3 years"); it becomes the accessible name with the count.
    Highlighted figures fill row by row from the top left. ``name`` replaces the whole
    accessible name (a translated "16 out of 100 women like you: ...").
    """
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must lie in [0, 100], got {percent}")
    if total < 1 or columns < 1:
        raise ValueError("total and columns must be at least 1")
    count = round(percent / 100 * total)
    rows = -(-total // columns)
    cell_w, cell_h = 13.0, 20.0
    width, height = columns * cell_w * scale, rows * cell_h * scale
    name = name or f"{count} out of {total} patients: {label}"
    figures = []
    for i in range(total):
        row, col = divmod(i, columns)
        fill = colour if i < count else rest_colour
        figures.append(_FIGURE.format(x=col * cell_w + 1.5, y=row * cell_h + 2, fill=fill))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(name)}" '
        f'width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {columns * cell_w:.0f} {rows * cell_h:.0f}" class="icon-array">'
        f"<title>{escape(name)}</title>{''.join(figures)}</svg>"
    )
