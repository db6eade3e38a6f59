"""egger_test, rank_test and trim_fill against metafor (tests/fixtures/metafor)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from locoreg.meta import egger_test, rank_test, trim_fill

FIXTURE = Path(__file__).parents[1] / "fixtures" / "metafor" / "metafor_sensitivity.json"
DATA = json.loads(FIXTURE.read_text())
CASES = DATA["cases"]
RTOL = 1e-6


def _ids(case: dict) -> str:
    return f"{case['dataset']}-{case['method']}-{case['test']}"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_egger_mixed_effects_matches_regtest_default(case: dict) -> None:
    res = egger_test(case["yi"], case["vi"], method=case["method"], test=case["test"])
    ref = case["regtest_rma"]
    assert res.model == "rma"
    assert res.statistic == pytest.approx(ref["statistic"], rel=RTOL)
    assert res.p_value == pytest.approx(ref["p_value"], rel=RTOL)
    assert res.df == ref["df"]
    assert res.limit_estimate == pytest.approx(ref["limit_estimate"], rel=RTOL)
    assert res.limit_ci_low == pytest.approx(ref["limit_ci_low"], rel=RTOL)
    assert res.limit_ci_high == pytest.approx(ref["limit_ci_high"], rel=RTOL)


@pytest.mark.parametrize("dataset", ["bcg", "hackshaw1998", "egger2001"])
def test_classic_egger_matches_regtest_lm(dataset: str) -> None:
    case = next(c for c in CASES if c["dataset"] == dataset)
    res = egger_test(case["yi"], case["vi"], model="lm")
    ref = case["regtest_lm"]
    assert res.statistic == pytest.approx(ref["statistic"], rel=RTOL)
    assert res.p_value == pytest.approx(ref["p_value"], rel=RTOL)
    assert res.df == ref["df"] == len(case["yi"]) - 2
    assert res.limit_estimate == pytest.approx(ref["limit_estimate"], rel=RTOL)
    assert res.limit_ci_low == pytest.approx(ref["limit_ci_low"], rel=RTOL)
    assert res.limit_ci_high == pytest.approx(ref["limit_ci_high"], rel=RTOL)


def test_egger_detects_the_magnesium_asymmetry() -> None:
    # dat.egger2001: small trials of intravenous magnesium looked protective; ISIS-4 did not.
    case = next(c for c in CASES if c["dataset"] == "egger2001")
    assert egger_test(case["yi"], case["vi"], model="lm").p_value < 0.01


@pytest.mark.parametrize("ref", DATA["ranktest"], ids=lambda r: r["dataset"])
def test_rank_test_matches_ranktest(ref: dict) -> None:
    res = rank_test(ref["yi"], ref["vi"])
    assert res.tau == pytest.approx(ref["tau"], rel=RTOL)
    assert res.p_value == pytest.approx(ref["p_value"], rel=RTOL)
    # R (like us) uses the exact null distribution only without ties; dat.molloy2014
    # has tied variances (equal n), so there R's default p equals the normal one.
    assert res.exact is (ref["dataset"] not in ("ties", "molloy2014"))
    approx = rank_test(ref["yi"], ref["vi"], exact=False)
    assert approx.p_value == pytest.approx(ref["p_value_normal"], rel=RTOL)


TRIMFILL_CASES = [case for case in CASES if "trimfill" in case]


@pytest.mark.parametrize("case", TRIMFILL_CASES, ids=_ids)
def test_trim_fill_matches_trimfill(case: dict) -> None:
    """All six variants (L0, R0 × side auto, left, right) of one model per test item:
    one item per variant made ~400 items whose collection cost more than the checks."""
    assert len(case["trimfill"]) == 6
    for ref in case["trimfill"]:
        _check_trim_fill(case, ref)


def _check_trim_fill(case: dict, ref: dict) -> None:
    what = f"{ref['estimator']} side={ref['side_requested']}"
    side = None if ref["side_requested"] == "auto" else ref["side_requested"]
    res = trim_fill(
        case["yi"], case["vi"], estimator=ref["estimator"], side=side,
        method=case["method"], test=case["test"],
    )  # fmt: skip
    assert res.side == ref["side"], what
    assert res.k0 == ref["k0"], what
    if ref["se_k0"] is None:
        assert np.isnan(res.se_k0), what
    else:
        assert res.se_k0 == pytest.approx(ref["se_k0"], rel=RTOL), what
    if ref["p_k0"] is None:
        assert np.isnan(res.p_k0), what
    else:
        assert res.p_k0 == pytest.approx(ref["p_k0"], rel=RTOL), what
    np.testing.assert_allclose(res.yi, ref["yi"], rtol=RTOL, err_msg=what)
    np.testing.assert_allclose(res.vi, ref["vi"], rtol=RTOL, err_msg=what)
    assert res.filled.tolist() == ref["filled"], what
    fit = ref["fit"]
    assert res.fit.k == fit["k"], what
    for name in ("estimate", "se", "statistic", "p_value", "ci_low", "ci_high", "q", "i2"):
        assert getattr(res.fit, name) == pytest.approx(fit[name], rel=RTOL, abs=1e-10), (
            f"{what}: {name}"
        )
    assert res.fit.tau2 == pytest.approx(fit["tau2"], rel=RTOL, abs=1e-10), what


def test_trim_fill_fills_the_side_the_funnel_lacks() -> None:
    case = next(c for c in CASES if c["dataset"] == "hackshaw1998" and c["method"] == "REML")
    res = trim_fill(case["yi"], case["vi"])
    assert res.side == "left"
    assert res.k0 > 0
    assert np.all(res.yi[res.filled] < res.fit.estimate + 1.0)
    assert res.fit.estimate < egger_test(case["yi"], case["vi"]).limit_estimate + 1.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: egger_test([0.1, 0.2], [0.1, 0.1]), "at least 3"),
        (lambda: egger_test([0.1, 0.2, 0.3], [0.1, 0.1, 0.2], model="glm"), "model"),
        (lambda: rank_test([0.1, 0.2], [0.1, 0.1]), "at least 3"),
        (lambda: trim_fill([0.1, 0.2, 0.3], [0.1, 0.1, 0.2], estimator="Q9"), "estimator"),
        (lambda: trim_fill([0.1, 0.2, 0.3], [0.1, 0.1, 0.2], side="up"), "side"),
        (lambda: trim_fill([0.1, np.nan, 0.3], [0.1, 0.1, 0.2]), r"yi\[1\]"),
    ],
)
def test_bad_input_names_the_argument(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
