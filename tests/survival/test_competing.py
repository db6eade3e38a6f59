"""Aalen–Johansen, Gray's test and Fine–Gray against R survival / cmprsk fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from locoreg.survival import aalen_johansen, fine_gray, finegray_expand, gray_test

FIXTURES = Path(__file__).parents[1] / "fixtures" / "survival"
REF = json.loads((FIXTURES / "competing.json").read_text())
RTOL = 1e-6


def _num(x: Any) -> Any:
    if x in ({}, None):
        return None
    return np.asarray(x, dtype=float)


AJ = REF["aalen_johansen"]


@pytest.mark.parametrize("case", AJ, ids=[c["label"] for c in AJ])
def test_aalen_johansen_matches_multistate_survfit(case: dict[str, Any]) -> None:
    fit = aalen_johansen(
        _num(case["time"]),
        _num(case["cause"]),
        weights=_num(case["weights"]),
        entry=_num(case["entry"]),
    )
    assert case["states"] == ["(s0)", "1", "2"]
    assert fit.causes == (1, 2)
    pstate = np.asarray(case["pstate"])
    se = np.asarray(case["std_err"])
    np.testing.assert_allclose(fit.times, case["times"], rtol=RTOL)
    np.testing.assert_allclose(fit.cumulative_incidence, pstate[:, 1:], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(fit.event_free, pstate[:, 0], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(fit.std_err, se[:, 1:], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(fit.event_free_std_err, se[:, 0], rtol=RTOL, atol=1e-12)
    if case["weights"] in ({}, None):  # R's multi-state n.risk is unweighted
        np.testing.assert_allclose(fit.at_risk, case["n_risk"], rtol=RTOL)


def test_aalen_johansen_reduces_to_kaplan_meier_with_one_cause() -> None:
    from locoreg.survival import kaplan_meier

    case = AJ[1]
    event = (np.asarray(case["cause"]) > 0).astype(int)
    aj = aalen_johansen(case["time"], event)
    km = kaplan_meier(case["time"], event, variance="robust")
    np.testing.assert_allclose(1.0 - aj.cumulative_incidence[:, 0], km.survival, rtol=1e-12)
    np.testing.assert_allclose(aj.std_err[:, 0], km.std_err, rtol=1e-10)
    np.testing.assert_allclose(aj.incidence_at([0.5, 3.0])[:, 0], 1 - km.survival_at([0.5, 3.0]))


GRAY = REF["gray"]


@pytest.mark.parametrize("case", GRAY, ids=[c["label"] for c in GRAY])
def test_gray_test_matches_cmprsk_cuminc(case: dict[str, Any]) -> None:
    res = gray_test(case["time"], case["cause"], case["group"])
    assert [str(c) for c in res.causes] == case["causes"]
    assert res.df == case["df"][0]
    np.testing.assert_allclose(res.statistic, case["stat"], rtol=RTOL)
    # cmprsk reports 1 - pchisq(), which underflows to 0 for tiny p-values
    np.testing.assert_allclose(res.p_value, case["p"], rtol=RTOL, atol=1e-15)


FG = REF["fine_gray"]


@pytest.mark.parametrize("case", FG, ids=[c["label"] for c in FG])
def test_finegray_expansion_matches_r(case: dict[str, Any]) -> None:
    fg = finegray_expand(case["time"], case["cause"], cause=1)
    np.testing.assert_array_equal(fg.row + 1, case["fg_row"])
    np.testing.assert_allclose(fg.start, case["fg_start"], rtol=RTOL)
    np.testing.assert_allclose(fg.stop, case["fg_stop"], rtol=RTOL)
    np.testing.assert_array_equal(fg.status, case["fg_status"])
    np.testing.assert_allclose(fg.weight, case["fg_wt"], rtol=RTOL)


@pytest.mark.parametrize("case", FG, ids=[c["label"] for c in FG])
def test_fine_gray_matches_weighted_coxph(case: dict[str, Any]) -> None:
    X = np.asarray(case["X"], dtype=float)
    fit = fine_gray(case["time"], case["cause"], X)
    np.testing.assert_allclose(fit.coef, case["coef"], rtol=RTOL)
    np.testing.assert_allclose(fit.se, case["se_robust_subject"], rtol=RTOL)
    naive = fine_gray(case["time"], case["cause"], X, robust=False)
    np.testing.assert_allclose(naive.se, case["se_naive"], rtol=RTOL)
    # same model as cmprsk::crr up to its handling of tied times
    np.testing.assert_allclose(fit.coef, case["crr_coef"], rtol=0.05, atol=0.01)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="event"):
        aalen_johansen([1.0, 2.0], [0, 0])
    with pytest.raises(ValueError, match="group"):
        gray_test([1.0, 2.0], [1, 2], [0, 0])
    with pytest.raises(ValueError, match="cause 3"):
        finegray_expand([1.0, 2.0], [1, 2], cause=3)
