"""Icon arrays: the number of highlighted figures, their order, the accessible name."""

from __future__ import annotations

import re

import pytest

from locoreg.plots.icon_array import icon_array


def fills(svg: str) -> list[str]:
    return re.findall(r'<g transform="[^"]+" fill="(#[0-9a-f]{6})">', svg)


@pytest.mark.parametrize(
    ("percent", "count"), [(0, 0), (16.3, 16), (39.8, 40), (50.5, 50), (99.6, 100), (100, 100)]
)
def test_highlighted_figures_are_the_rounded_percentage(percent: float, count: int) -> None:
    svg = icon_array(percent, label="progression", colour="#aa0000", rest_colour="#cccccc")
    colours = fills(svg)
    assert len(colours) == 100
    # Highlighted figures come first, row by row, then the rest.
    assert colours == ["#aa0000"] * count + ["#cccccc"] * (100 - count)
    assert f'aria-label="{count} out of 100 patients: progression"' in svg
    assert f"<title>{count} out of 100 patients: progression</title>" in svg
    assert 'role="img"' in svg


def test_other_totals_and_layout() -> None:
    svg = icon_array(25, label="x", total=20, columns=5)
    assert len(fills(svg)) == 20
    assert 'viewBox="0 0 65 80"' in svg  # 5 columns × 13, 4 rows × 20


def test_label_is_escaped() -> None:
    svg = icon_array(10, label='<b>"x"</b>')
    assert "<b>" not in svg and "&lt;b&gt;" in svg


@pytest.mark.parametrize("percent", [-0.1, 100.1, float("nan")])
def test_out_of_range_is_refused(percent: float) -> None:
    with pytest.raises(ValueError, match="percent"):
        icon_array(percent, label="x")
