"""Aalen–Johansen, Gray's test and Fine–Gray against R survival / cmprsk fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    res = gray_test(case["time"], case["cause"], case["group"], strata=_num(case.get("strata")))
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


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 8), st.integers(0, 2)), min_size=3, max_size=40),
    st.randoms(use_true_random=False),
)
def test_aalen_johansen_row_order_and_half_weights(rows: list[tuple[int, int]], rnd: Any) -> None:
    arr = np.asarray(rows)
    if not np.any(arr[:, 1] > 0):
        return
    t, c = arr.T
    perm = list(range(len(rows)))
    rnd.shuffle(perm)
    a = aalen_johansen(t, c)
    b = aalen_johansen(t[perm], c[perm])
    half = aalen_johansen(np.repeat(t, 2), np.repeat(c, 2), weights=np.full(2 * len(t), 0.5))
    np.testing.assert_allclose(b.cumulative_incidence, a.cumulative_incidence, atol=1e-12)
    # compared as variances: a variance that is 0 up to rounding (1e-17) has a square root
    # of ~3e-9, whatever the row order (found by hypothesis: a zero-variance time point)
    np.testing.assert_allclose(b.std_err**2, a.std_err**2, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(half.cumulative_incidence, a.cumulative_incidence, atol=1e-12)
    # infinitesimal-jackknife variance: 2n half-weighted rows halve it (as R)
    np.testing.assert_allclose(half.std_err**2, a.std_err**2 / 2, rtol=1e-9, atol=1e-12)


def test_gray_test_does_not_depend_on_row_order() -> None:
    case = GRAY[2]
    perm = np.random.default_rng(5).permutation(len(case["time"]))
    a = gray_test(case["time"], case["cause"], case["group"])
    b = gray_test(
        np.asarray(case["time"])[perm],
        np.asarray(case["cause"])[perm],
        np.asarray(case["group"])[perm],
    )
    np.testing.assert_allclose(b.statistic, a.statistic, rtol=1e-10)


def test_aalen_johansen_variance_equals_numerical_jackknife() -> None:
    # The IJ variance is sum_i (w_i dF_k(t)/dw_i)^2. Differentiate the (R-validated)
    # point estimates numerically, one weight at a time, and compare with the closed form
    # computed without any influence matrix. Fractional weights and delayed entry.
    rng = np.random.default_rng(11)
    n = 40
    t = np.ceil(rng.exponential(6.0, n))
    cause = rng.integers(0, 3, n)
    cause[:2] = (1, 2)
    w = rng.uniform(0.3, 2.0, n)
    entry = np.maximum(0.0, t - rng.integers(1, 6, n)) - 0.5
    fit = aalen_johansen(t, cause, weights=w, entry=entry)
    step = 1e-6
    grads = []
    for i in range(n):  # loop over subjects: this is the slow reference
        up, down = w.copy(), w.copy()
        up[i] += step
        down[i] -= step
        f_up = aalen_johansen(t, cause, weights=up, entry=entry)
        f_down = aalen_johansen(t, cause, weights=down, entry=entry)
        grads.append(
            np.column_stack(
                [
                    f_up.cumulative_incidence - f_down.cumulative_incidence,
                    f_up.event_free - f_down.event_free,
                ]
            )
            / (2 * step)
        )
    infl = np.asarray(grads) * w[:, None, None]
    var = (infl**2).sum(axis=0)
    np.testing.assert_allclose(fit.std_err**2, var[:, :2], rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(fit.event_free_std_err**2, var[:, 2], rtol=1e-5, atol=1e-12)
