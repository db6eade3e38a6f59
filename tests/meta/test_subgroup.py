"""Subgroup analysis against R metafor 3.8-1: dat.bcg by treatment allocation,
dat.hackshaw1998 and dat.molloy2014 by study design; FE, DL, REML, ML, PM × z, knha.

Separate τ²: per-level ``rma(subset=...)`` then ``rma(est, se^2, mods=~level, method="FE")``;
common τ²: the moderator test of ``rma(yi, vi, mods=~factor(alloc))``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from locoreg.meta import SubgroupResult, subgroup_analysis

FIXTURE = Path(__file__).parents[1] / "fixtures" / "metafor" / "metafor_rma.json"
CASES: list[dict[str, Any]] = json.loads(FIXTURE.read_text())["subgroups"]
IDS = [f"{c['dataset']}-{c['method']}-{c['test']}" for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_separate_tau2_matches_metafor(case: dict[str, Any]) -> None:
    res = subgroup_analysis(case["yi"], case["vi"], case["groups"], case["method"], case["test"])
    assert isinstance(res, SubgroupResult)
    assert list(res.levels) == case["levels"]
    for level, ref in case["per_level"].items():
        fit = res.levels[level]
        assert fit.k == ref["k"]
        for key in ("estimate", "se", "ci_low", "ci_high", "tau2", "q", "i2"):
            assert getattr(fit, key) == pytest.approx(ref[key], rel=1e-6, abs=1e-10), key
    assert res.q_between == pytest.approx(case["q_between"], rel=1e-6)
    assert res.q_between_df == (case["q_between_df"], None)
    assert res.q_between_p == pytest.approx(case["q_between_p"], rel=1e-6)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_common_tau2_matches_metafor_moderator_test(case: dict[str, Any]) -> None:
    res = subgroup_analysis(
        case["yi"], case["vi"], case["groups"], case["method"], case["test"], tau2="common"
    )
    assert res.moderator_fit is not None
    assert res.moderator_fit.tau2 == pytest.approx(case["common_tau2"], rel=1e-6, abs=1e-10)
    assert res.q_between == pytest.approx(case["common_qm"], rel=1e-6)
    assert res.q_between_p == pytest.approx(case["common_qm_p"], rel=1e-6)


def test_to_dict_keys_subgroups_by_level() -> None:
    case = CASES[0]
    d = subgroup_analysis(case["yi"], case["vi"], case["groups"]).to_dict()
    assert set(d["subgroups"]) == {"alternate", "random", "systematic"}
    assert {"q_between", "q_between_p"} <= set(d)
    json.dumps(d, allow_nan=False)


@pytest.mark.parametrize(
    ("groups", "match"),
    [(["a", "a", "a"], "two subgroup levels"), (["a", None, "b"], r"groups\[1\]"),
     (["a", "b"], "3 labels")],
)  # fmt: skip
def test_bad_groups(groups: list[Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        subgroup_analysis([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], groups)
