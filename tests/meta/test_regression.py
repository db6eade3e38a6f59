"""Meta-regression and predict() against R metafor 3.8-1, every method × test
(fixture: make_metafor_fixtures.R): dat.bcg log risk ratios on absolute latitude and year,
dat.molloy2014 Fisher-z correlations on mean age and quality, dat.hackshaw1998 log odds
ratios on year."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from locoreg.meta.regression import meta_regression, predict
from locoreg.meta.rma import MetaResult, rma

FIXTURE = Path(__file__).parents[1] / "fixtures" / "metafor" / "metafor_rma.json"
CASES: list[dict[str, Any]] = json.loads(FIXTURE.read_text())["metareg"]
COEF_KEYS = (
    ("coef", "beta"),
    ("coef_se", "se_all"),
    ("coef_statistic", "statistic_all"),
    ("coef_p", "p_all"),
    ("coef_ci_low", "ci_low_all"),
    ("coef_ci_high", "ci_high_all"),
)
PREDICT_KEYS = (
    ("pred", "pred"),
    ("se", "se"),
    ("ci_low", "ci.lb"),
    ("ci_high", "ci.ub"),
    ("pi_low", "pi.lb"),
    ("pi_high", "pi.ub"),
)


def _fit(case: dict[str, Any]) -> MetaResult:
    mods = np.array(case["mods"])
    return meta_regression(
        case["yi"], case["vi"], mods, case["method"], case["test"], mod_names=case["mod_names"]
    )


def _ids(case: dict[str, Any]) -> str:
    return f"{case['dataset']}-{case['method']}-{case['test']}"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_meta_regression_matches_metafor(case: dict[str, Any]) -> None:
    ref = case["result"]
    res = _fit(case)
    assert res.coef_names == ("intercept", *case["mod_names"])
    for ours, theirs in COEF_KEYS:
        np.testing.assert_allclose(
            getattr(res, ours), ref[theirs], rtol=1e-6, atol=1e-10, err_msg=ours
        )
    for key in ("tau2", "q", "q_p", "i2", "h2", "qm", "qm_p", "r2", "tau2_ci_low",
                "tau2_ci_high", "tau2_se"):  # fmt: skip
        expected = ref[key]
        if expected is None:
            assert getattr(res, key) is None, key
        else:
            assert getattr(res, key) == pytest.approx(expected, rel=1e-6, abs=1e-10), key
    k, m = len(case["yi"]), len(case["mod_names"])
    assert res.q_df == k - m - 1
    assert res.qm_df == ((m, None) if case["test"] == "z" else (m, k - m - 1))
    np.testing.assert_allclose(res.weights, ref["weights"], rtol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_predict_matches_metafor(case: dict[str, Any]) -> None:
    ref = case["predict"]
    pred = predict(_fit(case), np.array(case["newmods"]))
    for ours, theirs in PREDICT_KEYS:
        if ref[theirs] is None:  # metafor gives no PI for a fixed-effect model
            assert getattr(pred, ours) is None
        else:
            np.testing.assert_allclose(
                getattr(pred, ours), ref[theirs], rtol=1e-6, atol=1e-10, err_msg=ours
            )


def test_predict_without_moderators_reproduces_the_pooled_interval() -> None:
    case = CASES[0]
    res = rma(case["yi"], case["vi"], method="REML", test="knha")
    pred = predict(res)
    assert pred.pred[0] == res.estimate
    assert (pred.ci_low[0], pred.ci_high[0]) == pytest.approx((res.ci_low, res.ci_high))
    assert (pred.pi_low[0], pred.pi_high[0]) == pytest.approx((res.pi_low, res.pi_high))  # type: ignore[index]


def test_to_dict_lists_the_coefficient_table() -> None:
    d = _fit(CASES[2]).to_dict()
    assert [c["name"] for c in d["coefficients"]] == ["intercept", "ablat", "year"]
    assert d["qm_df"] == [2, None] and 0 <= d["r2"] <= 100
    json.dumps(d, allow_nan=False)


def test_predict_rejects_wrong_shape() -> None:
    res = _fit(CASES[2])
    with pytest.raises(ValueError, match="newmods"):
        predict(res, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="newmods"):
        predict(res)
