"""rma() against R metafor 3.8-1 (fixture made by tests/fixtures/metafor/make_metafor_fixtures.R).

Every method × test on dat.bcg (log risk ratios), dat.hackshaw1998 (log odds ratios),
dat.molloy2014 (Fisher z), dat.normand1999 (mean differences), dat.li2007 (log odds
ratios, 1/2 added to zero cells by escalc), a homogeneous set
(τ² on the boundary, empty Q-profile interval), k = 2 and k = 1. Tolerance 1e-6
relative, 1e-10 absolute near zero.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from locoreg.meta import MetaResult, rma
from locoreg.meta.rma import CONTRACT_KEYS, ConvergenceError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "metafor" / "metafor_rma.json"
DATA: dict[str, Any] = json.loads(FIXTURE.read_text())
FITS = DATA["fits"]
KEYS = ("estimate", "se", "statistic", "p_value", "ci_low", "ci_high", "tau2", "tau2_se",
        "tau2_ci_low", "tau2_ci_high", "i2", "h2", "q", "q_p", "pi_low", "pi_high")  # fmt: skip


def assert_close(actual: float | None, expected: float | None, what: str) -> None:
    if expected is None:  # metafor NA / NULL
        assert actual is None or math.isnan(actual), f"{what}: expected NA, got {actual}"
        return
    assert actual is not None, f"{what}: expected {expected}, got None"
    assert actual == pytest.approx(expected, rel=1e-6, abs=1e-10), what


@pytest.mark.parametrize(
    "case", FITS, ids=[f"{c['dataset']}-{c['method']}-{c['test']}" for c in FITS]
)
def test_matches_metafor(case: dict[str, Any]) -> None:
    ref = case["result"]
    res = rma(case["yi"], case["vi"], method=case["method"], test=case["test"])
    assert res.k == ref["k"]
    assert res.method == case["method"]
    assert res.test == ref["test"]  # metafor falls back to "z" when k = 1
    for key in KEYS:
        assert_close(getattr(res, key), ref[key], key)
    np.testing.assert_allclose(res.weights, np.atleast_1d(ref["weights"]), rtol=1e-6)
    assert res.q_df == max(res.k - 1, 0)


def test_fixture_records_versions() -> None:
    assert DATA["metafor_version"] == "3.8.1"
    assert DATA["r_version"].startswith("R version 4.")


def _case(dataset: str, method: str, test: str = "z") -> dict[str, Any]:
    return next(
        c for c in FITS if (c["dataset"], c["method"], c["test"]) == (dataset, method, test)
    )


def test_eb_and_pm_solve_the_same_equation_by_different_algorithms() -> None:
    """EB (Fisher scoring, stops at |Δτ²| < 1e-5) and PM (root of Q(τ²) = k − 1 to
    uniroot's tolerance) are one estimator; metafor's values differ in the 5th digit
    and so do ours, each matching its metafor counterpart."""
    pm = rma(_case("bcg", "PM")["yi"], _case("bcg", "PM")["vi"], method="PM")
    eb = rma(_case("bcg", "EB")["yi"], _case("bcg", "EB")["vi"], method="EB")
    assert pm.tau2 == pytest.approx(eb.tau2, rel=1e-3)
    assert pm.tau2 != eb.tau2
    assert eb.iterations > 1 and pm.iterations > 1


def test_fixed_effect_has_no_tau2_interval_or_prediction_interval() -> None:
    c = _case("bcg", "FE")
    res = rma(c["yi"], c["vi"], method="FE")
    assert res.tau2 == 0.0
    assert res.tau2_ci_low is None and res.tau2_ci_high is None and res.tau2_se is None
    assert res.pi_low is None and res.pi_high is None


def test_k1_returns_the_study_itself() -> None:
    res = rma([0.3], [0.04], method="REML", test="knha")
    assert res.estimate == 0.3 and res.se == pytest.approx(0.2)
    assert (res.tau2, res.q, res.q_p, res.i2, res.h2) == (0.0, 0.0, 1.0, 0.0, 1.0)
    assert res.test == "z" and res.tau2_ci_low is None


def test_boundary_reports_null_q_profile_interval() -> None:
    c = _case("homogeneous", "REML")
    res = rma(c["yi"], c["vi"])
    assert res.tau2 == 0.0 and (res.tau2_ci_low, res.tau2_ci_high) == (0.0, 0.0)
    assert res.i2 == 0.0


def test_to_dict_has_contract_keys_and_is_json_ready() -> None:
    c = _case("bcg", "FE", "knha")
    d = rma(c["yi"], c["vi"], method="FE", test="knha").to_dict()
    assert list(d)[: len(CONTRACT_KEYS)] == list(CONTRACT_KEYS)
    assert d["tau2_ci_low"] is None and d["pi_low"] is None
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert d["df"] == 12 and d["i2"] == pytest.approx(_case("bcg", "FE")["result"]["i2"])


def test_result_is_frozen() -> None:
    res = rma([0.1, 0.2, 0.4], [0.01, 0.02, 0.03])
    assert isinstance(res, MetaResult)
    with pytest.raises(AttributeError):
        res.tau2 = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("yi", "vi", "kwargs", "match"),
    [
        ([0.1, 0.2], [0.01, 0.0], {}, r"vi\[1\]"),
        ([0.1, 0.2], [0.01, -0.5], {}, r"vi\[1\]"),
        ([0.1, float("nan")], [0.01, 0.02], {}, r"yi\[1\]"),
        ([0.1, 0.2], [float("inf"), 0.02], {}, r"vi\[0\]"),
        ([0.1, 0.2, 0.3], [0.01, 0.02], {}, "differ in length"),
        ([], [], {}, "empty"),
        ([0.1, 0.2], [0.01, 0.02], {"method": "XX"}, "method"),
        ([0.1, 0.2], [0.01, 0.02], {"test": "t"}, "test"),
        ([0.1, 0.2], [0.01, 0.02], {"level": 95}, "level"),
        ([0.1, 0.2], [0.01, 0.02], {"mods": [1.0, 2.0, 3.0]}, "mods"),
        ([0.1, 0.2], [0.01, 0.02], {"mods": [1.0, 2.0]}, "coefficients cannot be estimated"),
        ([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], {"mods": [1.0, 1.0, 1.0]}, "full rank"),
    ],
)
def test_bad_input_names_the_argument(
    yi: list[float], vi: list[float], kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        rma(yi, vi, **kwargs)


def test_non_convergence_raises_naming_method_and_iterations() -> None:
    c = _case("bcg", "REML")
    with pytest.raises(ConvergenceError, match=r"REML estimator.*2 iterations"):
        rma(c["yi"], c["vi"], method="REML", max_iter=2)
    # with metafor's default the same data converge
    assert rma(c["yi"], c["vi"], method="REML").iterations > 2


@pytest.mark.parametrize("method", ["ML", "REML", "EB"])
def test_every_iterative_estimator_reports_non_convergence(method: str) -> None:
    c = _case("bcg", method)
    with pytest.raises(ConvergenceError, match=rf"^{method} estimator: .*1 iterations"):
        rma(c["yi"], c["vi"], method=method, max_iter=1)
    fit = rma(c["yi"], c["vi"], method=method)
    assert 1 < fit.iterations <= 100


def test_k2_random_effects_has_t_with_one_df_and_wide_intervals() -> None:
    c = _case("k2", "REML", "knha")
    res = rma(c["yi"], c["vi"], method="REML", test="knha")
    assert res.k == 2 and res.df == 1 and res.q_df == 1
    # t quantile with 1 df (12.706) stretches the CI far beyond the z interval
    z = rma(c["yi"], c["vi"], method="REML")
    assert (res.ci_high - res.ci_low) > 3 * (z.ci_high - z.ci_low)  # type: ignore[operator]


def test_tau2_interval_can_be_skipped_without_changing_the_fit() -> None:
    c = _case("bcg", "REML")
    full = rma(c["yi"], c["vi"])
    lean = rma(c["yi"], c["vi"], tau2_ci=False)
    assert lean.tau2_ci_low is None and lean.tau2_ci_high is None
    assert (lean.estimate, lean.se, lean.tau2, lean.pi_low) == (
        full.estimate, full.se, full.tau2, full.pi_low)  # fmt: skip


def test_paule_mandel_without_a_root_in_range_is_reported_like_metafor() -> None:
    """Q(τ²) > k − 1 even at the end of the search range [0, max(100, 10·mad²)]: metafor
    3.8-1 stops with "Value of 'tau2.max' too low ... switch to another 'method'" (checked
    with Rscript); locoreg raises ConvergenceError naming PM instead of a wrong τ²."""
    yi, vi = [0.0, 0.0, 0.0, 1000.0, -1000.0], [0.01] * 5
    with pytest.raises(ConvergenceError, match=r"^PM estimator: .*tau2 = 100; use another"):
        rma(yi, vi, method="PM")
    assert rma(yi, vi, method="DL").tau2 > 100
