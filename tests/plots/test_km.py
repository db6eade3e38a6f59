"""Kaplan–Meier figure: curves, CI bands, censor ticks, number at risk; every format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from locoreg.plots.km import km_figure, km_plot
from locoreg.survival import kaplan_meier
from plots.figure_checks import assert_png, gids, svg_ids

VETERAN = Path(__file__).parents[1] / "fixtures" / "survival" / "veteran.csv"
MAGIC = {".png": (b"\x89PNG\r\n\x1a\n",), ".pdf": (b"%PDF-",), ".svg": (b"<?xml", b"<svg")}


def curves():  # type: ignore[no-untyped-def]
    return kaplan_meier("Surv(time, status) ~ trt", data=pd.read_csv(VETERAN))


def test_number_at_risk_table_matches_the_fit(tmp_path: Path) -> None:
    fits = curves()
    fig = km_figure(fits, times=[0, 100, 200, 300], path=tmp_path / "km.svg")
    cells = {
        a.get_gid(): a.get_text()
        for a in fig.findobj(lambda a: bool(a.get_gid()))
        if hasattr(a, "get_text")
    }
    for label, fit in zip(fits.labels, fits.values(), strict=True):
        expected = fit.at_risk_table([0, 100, 200, 300])
        got = [float(cells[f"km-risk-{label}-{t}"]) for t in (0, 100, 200, 300)]
        np.testing.assert_array_equal(got, expected)
    assert gids(fig, "km-curve-") == ["km-curve-trt=1", "km-curve-trt=2"]
    assert len(gids(fig, "km-ci-")) == 2 and len(gids(fig, "km-censor-")) == 2
    assert "km-risk-title" in svg_ids(tmp_path / "km.svg")


def test_options_switch_parts_off() -> None:
    fig = km_figure(curves(), risk_table=False, ci=False, censor_ticks=False)
    assert gids(fig, "km-risk") == [] and gids(fig, "km-ci-") == []
    assert gids(fig, "km-censor-") == []


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_every_writer_honours_the_suffix(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"km{suffix}"
    km_figure(curves(), path=path)
    assert path.read_bytes().startswith(MAGIC[suffix])
    t = np.array([1.0, 2, 3, 4, 5, 6])
    svg_path = tmp_path / f"plot{suffix}"
    svg = km_plot(t, [1, 0, 1, 1, 0, 1], [0, 0, 0, 1, 1, 1], ("a", "b"), path=svg_path)
    assert svg.startswith("<svg") and svg_path.read_bytes().startswith(MAGIC[suffix])
    if suffix == ".png":
        assert_png(path)


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.pdf"):
        km_figure(curves(), path=tmp_path / "km.txt")
