"""Formula + DataFrame front end, summaries, RMST and survreg against R survival.

Fixtures: tests/fixtures/survival/make_frontend_fixtures.R (survival's lung, veteran,
ovarian and heart data, written out as CSV; frontend.json).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from locoreg.survival import (
    aalen_johansen,
    cox,
    fine_gray,
    iptw_weights,
    kaplan_meier,
    logrank,
    propensity_score,
    rmst,
    survreg,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "survival"
REF: dict[str, Any] = json.loads((FIXTURES / "frontend.json").read_text())
TOL = 1e-6


@cache
def frame(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / f"{name}.csv")


def opt(value: Any) -> Any:
    """jsonlite writes R's NULL as an empty object."""
    return None if value == {} else value


def close(actual: Any, expected: Any, tol: float = TOL) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=tol, atol=tol
    )


@pytest.mark.parametrize("case", REF["cox"], ids=lambda c: c["formula"])
def test_cox_formula_matches_r(case: dict[str, Any]) -> None:
    fit = cox(case["formula"], data=frame(case["data"]), weights=opt(case["weights"]))
    assert fit.names == tuple(case["names"])
    assert (fit.n, fit.n_events, fit.n_dropped) == (case["n"], case["n_events"], case["n_dropped"])
    close(fit.coef, case["coef"])
    close(fit.se, case["se"])
    close(fit.naive_se, case["naive_se"])
    close(fit.loglik, case["loglik"])
    close(fit.concordance, case["concordance"])
    close(
        [fit.lr_test.statistic, fit.wald_test.statistic, fit.score_test.statistic],
        [case["lr"], case["wald"], case["score"]],
    )


def test_cox_summary_table_and_print() -> None:
    case = REF["cox"][0]
    fit = cox(case["formula"], data=frame("lung"))
    table = fit.summary()
    assert list(table.index) == case["names"]
    assert list(table.columns) == [
        "coef",
        "exp(coef)",
        "se(coef)",
        "z",
        "p",
        "lower .95",
        "upper .95",
    ]
    close(table["exp(coef)"], np.exp(case["coef"]))
    text = str(fit)
    assert "n= 226, number of events= 163" in text
    assert "(2 observations deleted due to missingness)" in text
    assert "factor(sex)2" in text and "Likelihood ratio test" in text


def test_formula_equals_array_form() -> None:
    lung = frame("lung").dropna(subset=["ph.ecog"])
    x = np.column_stack([lung["age"], lung["sex"] == 2, lung["ph.ecog"]]).astype(float)
    arrays = cox(lung["time"], lung["status"] == 2, x, names=["age", "sexF", "ph.ecog"])
    formula = cox("Surv(time, status) ~ age + I(sex == 2) + ph.ecog", data=lung)
    np.testing.assert_array_equal(arrays.coef, formula.coef)


def test_km_formula_summary_matches_r() -> None:
    ref = REF["km"]
    curves = kaplan_meier(ref["formula"], data=frame("veteran"), conf_type="log-log")
    assert list(curves.labels) == ["trt=1", "trt=2"]
    table = curves.summary(times=ref["times"])
    assert [s for s, _ in table.index] == ref["strata"]
    close(table["n.risk"], ref["n_risk"])
    close(table["n.event"], ref["n_event"])
    close(table["survival"], ref["surv"])
    close(table["std.err"], ref["std_err"])
    close(table["lower 95% CI"], ref["lower"])
    close(table["upper 95% CI"], ref["upper"])
    close([c.median for c in curves.values()], ref["median"])
    assert "trt=2" in str(curves)


def test_logrank_formula_matches_r() -> None:
    ref = REF["logrank"]
    res = logrank(ref["formula"], data=frame("veteran"))
    assert list(res.groups) == [f"celltype={g}" for g in ref["groups"]]
    close(res.statistic, ref["chisq"])
    close(res.observed, ref["observed"])
    close(res.expected, ref["expected"])
    close(res.summary()["N"], ref["n"])
    assert "degrees of freedom" in str(res)


@pytest.mark.parametrize("case", REF["rmst"], ids=lambda c: c["data"])
def test_rmst_matches_r_and_survrm2(case: dict[str, Any]) -> None:
    res = rmst(case["formula"], data=frame(case["data"]), tau=case["tau"])
    close(res.rmst, case["rmst"])
    close(res.se, case["se"])
    assert res.difference is not None and res.ratio is not None
    d, r = res.difference, res.ratio
    close([d.estimate, d.ci_low, d.ci_high, d.p_value], case["difference"])
    close([r.estimate, r.ci_low, r.ci_high, r.p_value], case["ratio"])
    assert res.ci_low == d.ci_low
    assert "ratio" in str(res) and list(res.summary().columns)[:2] == ["rmst", "se"]


def test_rmst_rejects_tau_beyond_follow_up() -> None:
    with pytest.raises(ValueError, match="tau"):
        rmst([1.0, 2.0, 3.0], [1, 0, 1], tau=10.0)
    with pytest.raises(ValueError, match="tau"):
        rmst([1.0, 2.0, 3.0], [1, 0, 1], tau=-1.0)


@pytest.mark.parametrize(
    "case", REF["survreg"], ids=lambda c: f"{c['distribution']}:{c['data']}:{c['formula']}"
)
def test_survreg_matches_r(case: dict[str, Any]) -> None:
    fit = survreg(
        case["formula"],
        data=frame(case["data"]),
        distribution=case["distribution"],
        weights=opt(case["weights"]),
        scale=opt(case["scale_fixed"]),
    )
    assert fit.names == tuple(case["names"])
    assert fit.n == case["n"]
    close(fit.coef, case["coef"])
    close(fit.scale, case["scale"])
    close(fit.loglik, case["loglik"])
    close(fit.var, np.asarray(case["var"], float).reshape(np.shape(fit.var)))
    assert "Loglik(model)" in str(fit)


def test_na_rows_counted_and_dropped() -> None:
    lung = frame("lung")
    fit = cox("Surv(time, status) ~ age + meal.cal", data=lung)
    expected = int(lung[["time", "status", "age", "meal.cal"]].isna().any(axis=1).sum())
    assert fit.n_dropped == expected == 47
    assert fit.n == len(lung) - expected


def test_competing_and_weighting_formulas() -> None:
    ovarian = frame("ovarian")
    aj = aalen_johansen("Surv(futime, fustat) ~ 1", data=ovarian)
    km = kaplan_meier("Surv(futime, fustat) ~ 1", data=ovarian)
    close(aj.cumulative_incidence[:, 0], 1.0 - km.survival, 1e-12)
    fg = fine_gray("Surv(futime, fustat) ~ age + factor(rx)", data=ovarian)
    assert fg.names == ("age", "factor(rx)2")
    lung = frame("lung")
    ps = propensity_score("I(sex == 2) ~ age + ph.ecog", data=lung)
    assert ps.names == ("(Intercept)", "age", "ph.ecog") and ps.n_dropped == 1
    w = iptw_weights("I(sex == 2) ~ age + ph.ecog", data=lung)
    assert len(w) == len(lung) and int(w.isna().sum()) == 1


def test_status_coded_one_two_as_r_surv() -> None:
    lung = frame("lung")
    recoded = lung.assign(status=lung["status"] - 1)  # 0/1
    a = kaplan_meier("Surv(time, status) ~ 1", data=lung)
    b = kaplan_meier("Surv(time, status) ~ 1", data=recoded)
    np.testing.assert_array_equal(a.survival, b.survival)
    all_events = kaplan_meier("Surv(time, status) ~ 1", data=recoded.assign(status=1))
    assert all_events.events.sum() == len(lung)  # all 1: events, as R (no 1/2 coding)


def test_factor_of_a_float_column_is_named_as_r_names_it() -> None:
    fit = cox("Surv(time, status) ~ factor(ph.ecog)", data=frame("lung").query("`ph.ecog` < 3"))
    assert fit.names == ("factor(ph.ecog)1", "factor(ph.ecog)2")  # R: levels 0, 1, 2


def test_gray_and_grouped_aalen_johansen_formulas_equal_the_arrays() -> None:
    from locoreg.survival import gray_test

    ovarian = frame("ovarian")
    by_formula = gray_test("Surv(futime, fustat) ~ rx", data=ovarian)
    by_arrays = gray_test(ovarian["futime"], ovarian["fustat"], ovarian["rx"])
    np.testing.assert_array_equal(by_formula.statistic, by_arrays.statistic)
    assert by_formula.groups == ("rx=1", "rx=2")
    curves = aalen_johansen("Surv(futime, fustat) ~ rx", data=ovarian)
    assert isinstance(curves, dict) and sorted(curves) == [1, 2]
    one = aalen_johansen(
        ovarian["futime"][ovarian["rx"] == 2], ovarian["fustat"][ovarian["rx"] == 2]
    )
    np.testing.assert_array_equal(curves[2].cumulative_incidence, one.cumulative_incidence)


def test_lifelines_dataframe_form_equals_the_formula() -> None:
    lung = frame("lung")[["time", "status", "age", "sex", "ph.ecog", "inst", "wt"]]
    by_frame = cox(lung, duration_col="time", event_col="status", strata="inst", weights="wt")
    by_formula = cox(
        "Surv(time, status) ~ age + sex + ph.ecog + strata(inst)", data=lung, weights="wt"
    )
    assert by_frame.names == by_formula.names == ("age", "sex", "ph.ecog")
    np.testing.assert_array_equal(by_frame.coef, by_formula.coef)
    aft = survreg(lung[["time", "status", "age"]], duration_col="time", event_col="status")
    assert aft.names == ("(Intercept)", "age")
    with pytest.raises(TypeError, match="event_col"):
        cox(lung, duration_col="time")


def test_bad_formulas_name_the_problem() -> None:
    lung = frame("lung")
    with pytest.raises(ValueError, match="Surv"):
        cox("time ~ age", data=lung)
    with pytest.raises(ValueError, match="nosuch"):
        cox("Surv(time, status) ~ age + strata(nosuch)", data=lung)
    with pytest.raises(TypeError, match="data"):
        cox("Surv(time, status) ~ age")
    with pytest.raises(ValueError, match="no covariates"):
        cox("Surv(time, status) ~ strata(sex)", data=lung)
    with pytest.raises(TypeError, match="names= comes from the formula"):
        cox("Surv(time, status) ~ age", data=lung, names=["a"])
    with pytest.raises(ValueError, match="intercept"):
        cox("Surv(time, status) ~ age - 1", data=lung)


def test_result_dataclasses_compare_by_identity() -> None:
    lung = frame("lung")
    a = kaplan_meier("Surv(time, status) ~ 1", data=lung)
    b = kaplan_meier("Surv(time, status) ~ 1", data=lung)
    assert a == a and a != b  # no ValueError from numpy arrays in __eq__
