"""The trials-vs-observational forest plot of `locoreg evidence pool`."""

from __future__ import annotations

import math

from locoreg.evidence.pool import pool_by_design
from locoreg.plots.pool_forest import pool_cumulative_plot, pool_forest_plot
from plots.figure_checks import gids, svg_ids


def test_pool_forest_two_groups_no_overall(write_both) -> None:
    res = pool_by_design(outcome="overall_survival")
    k = len(res.studies)

    def draw(path):
        return pool_forest_plot(res, path=path)

    fig, svg = write_both(draw)
    assert len(gids(fig, "forest-study-")) == k
    # one diamond per group, plus the observational pool with one study per data source
    # (the SEER analyses share patients) and the one with the narrower comparisons
    sens = res.source_sensitivity
    assert sens is not None and sens.dropped and res.inclusion_sensitivity
    assert len(gids(fig, "forest-subgroup-")) == 4
    assert gids(fig, "forest-overall-") == []  # trials and registries are not combined
    assert len(gids(fig, "forest-pi-")) == sum(g.k >= 3 for g in res.groups.values())
    assert any(a.get_xscale() == "log" for a in fig.axes)
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert "Risk of bias" in texts and "Randomised trials" in texts
    assert texts.count("Serious †") + texts.count("Critical †") == sum(
        s.immortal_time_bias for s in res.studies
    )
    assert any(
        t.startswith("Test for subgroup differences: Q = ") for t in " ".join(texts).split("\n")
    )
    # a 90% interval (E2108) is drawn at 95% from the same SE
    khan = next(s for s in res.studies if s.id == "khan2022")
    wanted = f"{khan.hr:.2f} ({math.exp(khan.yi - 1.959963984540054 * khan.se):.2f} to"
    assert any(t.startswith(wanted) for t in texts)
    assert sum(i.startswith("forest-subgroup-") for i in svg_ids(svg)) == 4
    lo, hi = sens.hr_ci
    assert "One study per data source (k = 3)" in texts
    assert f"{sens.hr:.2f} ({lo:.2f} to {hi:.2f})" in texts
    assert "Sensitivity: gnerlich2007 dropped (SEER, warschkow2016 kept)" in texts
    # the estimates the default rule leaves out: their own diamond, named with the reason
    assert "With narrower comparisons (k = 6)" in texts
    assert "Sensitivity: khan2002, tan2016 added" in texts
    footer = " ".join(texts)
    assert "Khan 2002, Surgery (narrower comparison)" in footer
    assert "Tan 2016, Oncotarget (narrower comparison, interval not centred)" in footer


def test_single_trial_outcome_has_no_diamond() -> None:
    res = pool_by_design(outcome="locoregional_progression")
    fig = pool_forest_plot(res)
    assert len(gids(fig, "forest-study-")) == 1 and gids(fig, "forest-subgroup-") == []


def test_pool_cumulative_ends_at_each_group_estimate(write_both) -> None:
    res = pool_by_design(outcome="overall_survival")

    def draw(path):
        return pool_cumulative_plot(res, path=path)

    fig, _svg = write_both(draw)
    assert len(gids(fig, "forest-study-")) == len(res.studies)
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    for g in res.groups.values():
        # rows run oldest to newest; the last one of a group is its pooled estimate
        first, last = g.studies[0], g.studies[-1]
        assert first.citation in texts and f"+ {last.citation}" in texts
        lo, hi = g.hr_ci
        assert f"{g.hr:.2f} ({lo:.2f} to {hi:.2f})" in texts
