"""Every figure writer in plots/ writes the format its file suffix names (magic bytes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from locoreg.plots.balance import love_plot
from locoreg.plots.speccurve import specification_curve

MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-", ".svg": b"<svg"}


def _love(path: Path) -> Any:
    return love_plot(["age", "grade"], {"before": [0.3, 0.1], "weighted": [0.05, 0.02]}, path=path)


def _curve(path: Path) -> Any:
    return specification_curve(
        [0.8, 1.0, 1.2],
        [0.6, 0.8, 1.0],
        [1.0, 1.2, 1.5],
        {"method": ["a", "b", "c"]},
        [True, False, True],
        path=path,
    )


@pytest.mark.parametrize("suffix", sorted(MAGIC))
@pytest.mark.parametrize("draw", [_love, _curve], ids=["love_plot", "specification_curve"])
def test_writer_honours_suffix(tmp_path: Path, draw: Callable[[Path], Any], suffix: str) -> None:
    path = tmp_path / f"figure{suffix}"
    draw(path)
    assert path.read_bytes().startswith(MAGIC[suffix])


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must end in"):
        _love(tmp_path / "figure.jpg")


def test_multiverse_plot_refuses_an_unknown_suffix_before_any_work(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from locoreg.cli import app

    registry = tmp_path / "r.csv"
    registry.write_text("unused\n")
    res = CliRunner().invoke(
        app, ["cohort", "multiverse", str(registry), "--plot", str(tmp_path / "c.txt")]
    )
    assert res.exit_code == 2 and "--plot: c.txt must end in .svg, .png or .pdf" in res.stderr
