"""Fixtures of the figure tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from plots.figure_checks import assert_png


@pytest.fixture
def write_both(tmp_path: Path):
    """Call ``draw(path=...)`` for .svg and .png; return the SVG figure and path."""

    def run(draw):
        svg, png = tmp_path / "fig.svg", tmp_path / "fig.png"
        fig = draw(path=svg)
        draw(path=png)
        assert_png(png)
        return fig, svg

    return run
