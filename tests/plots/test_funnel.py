"""Contour-enhanced funnel plot: points, contours, trim-and-fill additions, ratio axis."""

from __future__ import annotations

import math

import numpy as np
import pytest

from locoreg.meta import rma, trim_fill
from locoreg.plots.funnel import funnel_plot
from plots.figure_checks import gids, svg_ids

# asymmetric: small studies all on the left, so trim and fill imputes on the right
YI = np.array([-0.9, -0.7, -0.6, -0.35, -0.3, -0.25, -0.2, -0.1])
VI = np.array([0.20, 0.15, 0.12, 0.02, 0.015, 0.01, 0.012, 0.03])


def test_funnel_with_contours_and_filled_studies(write_both) -> None:
    fill = trim_fill(YI, VI)
    assert fill.k0 > 0

    def draw(path):
        return funnel_plot(YI, VI, fill=fill, labels=[f"S{i}" for i in range(8)], path=path)

    fig, svg = write_both(draw)
    ax = fig.axes[0]
    studies = fig.findobj(lambda a: a.get_gid() == "funnel-studies")[0]
    assert len(studies.get_offsets()) == len(YI)
    np.testing.assert_allclose(studies.get_offsets()[:, 1], np.sqrt(VI))
    imputed = fig.findobj(lambda a: a.get_gid() == "funnel-imputed")[0]
    assert len(imputed.get_offsets()) == fill.k0
    # three significance levels: the outer region plus one band per level
    assert gids(fig, "funnel-contour-") == [f"funnel-contour-{i}" for i in range(4)]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # SE axis inverted: big studies on top
    tick_labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "1" in tick_labels  # ratio labels on the log-ratio axis
    assert ax.get_xlabel() == "HR (log scale)"
    assert "funnel-studies" in svg_ids(svg)
    annotations = [t.get_text() for t in ax.texts]
    assert sorted(annotations) == sorted(f"S{i}" for i in range(8))


def test_contour_edges_sit_at_the_significance_thresholds() -> None:
    fig = funnel_plot(YI, VI, contours=(0.05,), measure=None)
    band = fig.findobj(lambda a: a.get_gid() == "funnel-contour-1")[0]
    verts = band.get_paths()[0].vertices
    se = verts[:, 1]
    nonzero = se > 1e-9
    ratio = np.abs(verts[nonzero, 0]) / se[nonzero]
    np.testing.assert_allclose(ratio, 1.959963984540054, rtol=1e-9)
    assert fig.axes[0].get_xlabel() == "Effect size"
    est = rma(YI, VI).estimate
    assert any(
        math.isclose(line.get_xdata()[0], est)
        for line in fig.axes[0].lines
        if len(line.get_xdata()) == 2
    )


def test_bad_funnel_input() -> None:
    with pytest.raises(ValueError, match="vi finite and > 0"):
        funnel_plot(YI, -VI)
    with pytest.raises(ValueError, match="contours"):
        funnel_plot(YI, VI, contours=(1.5,))
