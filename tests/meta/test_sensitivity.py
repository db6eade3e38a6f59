"""leave_one_out, cumulative and influence against metafor (tests/fixtures/metafor)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from locoreg.meta import cumulative, influence, leave_one_out

FIXTURE = Path(__file__).parents[1] / "fixtures" / "metafor" / "metafor_sensitivity.json"
CASES = json.loads(FIXTURE.read_text())["cases"]
RTOL = 1e-6
# Quantities that are zero in R up to rounding (τ² at the boundary, a residual of a
# study equal to the estimate) are compared with this absolute tolerance.
ATOL = 1e-9


def _ids(case: dict) -> str:
    return f"{case['dataset']}-{case['method']}-{case['test']}"


def _arr(values: list) -> np.ndarray:
    return np.array([np.nan if x is None else x for x in values], dtype=float)


def _close(actual: np.ndarray, expected: list, name: str, atol: float = ATOL) -> None:
    np.testing.assert_allclose(actual, _arr(expected), rtol=RTOL, atol=atol, err_msg=name)


SERIES = ("estimate", "se", "statistic", "p_value", "ci_low", "ci_high", "q", "q_p", "tau2")


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_leave_one_out_matches_metafor(case: dict) -> None:
    res = leave_one_out(case["yi"], case["vi"], method=case["method"], test=case["test"])
    ref = case["leave1out"]
    for name in (*SERIES, "i2", "h2"):
        _close(getattr(res, name), ref[name], name)
    assert res.k.tolist() == [len(case["yi"]) - 1] * len(case["yi"])


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_cumulative_matches_metafor(case: dict) -> None:
    res = cumulative(
        case["yi"], case["vi"], order=case["order"], method=case["method"], test=case["test"]
    )
    ref = case["cumul"]
    assert res.order.tolist() == ref["order"]
    assert res.k.tolist() == list(range(1, len(case["yi"]) + 1))
    # metafor reports no p-value/CI for the Knapp-Hartung t test of a single study
    # (0 df); our first row falls back to z like rma(k=1). Compare from row 2 there.
    start = 1 if case["test"] == "knha" else 0
    for name in SERIES:
        _close(getattr(res, name)[start:], ref[name][start:], name)
    # I² and H² do not depend on the test: every row, the single study included
    for name in ("i2", "h2"):
        _close(getattr(res, name), ref[name], name)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_influence_matches_metafor(case: dict) -> None:
    res = influence(case["yi"], case["vi"], method=case["method"], test=case["test"])
    ref = case["influence"]
    for name in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat"):
        _close(getattr(res, name), ref[name], name)
    _close(res.weight, ref["weight"], "weight")
    _close(res.dfbetas, ref["dfbetas"], "dfbetas")
    assert res.is_influential.tolist() == ref["is_influential"]


def test_influence_flags_a_precise_outlier() -> None:
    yi = [0.10, 0.05, 0.12, -0.02, 0.08, 1.50]
    vi = [0.04, 0.05, 0.03, 0.06, 0.04, 0.005]
    res = influence(yi, vi)
    assert res.is_influential.tolist() == [False] * 5 + [True]
    assert np.argmax(np.abs(res.rstudent)) == 5
    assert res.weight.sum() == pytest.approx(100.0)


def test_cumulative_first_row_is_the_first_study_alone() -> None:
    yi, vi = [0.2, -0.1, 0.4], [0.04, 0.09, 0.01]
    res = cumulative(yi, vi, order=[2001, 1999, 2005])
    assert res.order.tolist() == [1, 0, 2]
    assert res.estimate[0] == pytest.approx(-0.1)
    assert res.se[0] == pytest.approx(0.3)
    assert res.tau2[0] == 0.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: leave_one_out([0.1], [0.1]), "at least 2"),
        (lambda: influence([0.1], [0.1]), "at least 2"),
        (lambda: cumulative([0.1, 0.2], [0.1, 0.1], order=[1]), "order"),
        (lambda: leave_one_out([0.1, 0.2], [0.1, -0.1]), r"vi\[1\]"),
        (lambda: leave_one_out([0.1, 0.2], [0.1, 0.1], method="XX"), "method"),
    ],
)
def test_bad_input_names_the_argument(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
