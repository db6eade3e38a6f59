"""locoreg.survival.cox against R survival::coxph (tests/fixtures/survival/make_cox_fixtures.R)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from locoreg.survival import CoxResult, cox, cox_zph
from locoreg.survival.cox import SurvivalPrediction

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "survival"
RTOL = 1e-6

GBSG_COLS = ["age", "meno", "size", "grade", "nodes", "pgr", "er", "hormon"]
ROT_COLS = ["age", "meno", "nodes", "pgr", "er", "hormon", "chemo"]
SYN_COLS = ["x1", "x2", "x3"]


@cache
def ref() -> dict[str, Any]:
    return json.loads((FIX / "cox_reference.json").read_text())


@cache
def syn() -> pd.DataFrame:
    return pd.read_csv(FIX / "cox_synthetic.csv", skipinitialspace=True)


@cache
def counting() -> pd.DataFrame:
    return pd.read_csv(FIX / "cox_counting.csv", skipinitialspace=True)


@cache
def r_dataset(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / f"cox_{name}.csv", skipinitialspace=True)


def close(actual: Any, expected: Any, rtol: float = RTOL, atol: float = 0.0) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=atol
    )


def check_summary(fit: CoxResult, r: dict[str, Any], iterations: bool = True) -> None:
    close(fit.coef, r["coef"])
    close(fit.loglik, r["loglik"])
    close(fit.score_test.statistic, r["score"])
    close(fit.wald_test.statistic, r["wald"])
    close(fit.concordance, r["concordance"])
    close(fit.means, r["means"])
    close(fit.linear_predictor, r["lp"], atol=1e-9)
    if r["naive_var"] is None:
        close(fit.var, r["var"])
        assert fit.robust_var is None
    else:
        close(fit.var, r["naive_var"])
        close(fit.robust_var, r["var"])
    if r["rscore"] is None:
        assert fit.robust_score_test is None
    else:
        assert fit.robust_score_test is not None
        close(fit.robust_score_test.statistic, r["rscore"])
        assert fit.robust_score_test.df == len(fit.names)
    if iterations:
        assert fit.iterations == r["iter"]


def check_zph(fit: CoxResult, r: dict[str, Any], transform: str) -> None:
    z = cox_zph(fit, transform=transform)
    close(z.chisq, r["chisq"])
    close(z.df, r["df"])
    close(z.p_value, r["p"], atol=1e-12)


def check_prediction(pred: SurvivalPrediction, r: dict[str, Any]) -> None:
    """Against ``summary(survfit(fit, newdata), times, extend = TRUE)``."""
    close(pred.survival, r["surv"])
    close(pred.cumhaz, r["cumhaz"])
    close(pred.se_cumhaz * pred.survival, r["std_err"])
    close(pred.ci_low, r["lower"])
    close(pred.ci_high, r["upper"])


def check_basehaz(fit: CoxResult, r: dict[str, Any]) -> None:
    b = fit.baseline_hazard(centered=False)
    close(b.time, r["time"])
    close(b.cumhaz, r["hazard"])
    if r["strata"] is not None:
        np.testing.assert_array_equal(b.stratum, r["strata"])


def gbsg_fit(ties: str) -> CoxResult:
    gb = r_dataset("gbsg")
    return cox(gb.rfstime, gb.status, gb[GBSG_COLS].values, ties=ties, names=GBSG_COLS)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_gbsg_full(ties: str) -> None:
    r = ref()[f"gbsg_{ties}"]
    fit = gbsg_fit(ties)
    check_summary(fit, r)
    close(fit.lr_test.statistic, 2 * (r["loglik"][1] - r["loglik"][0]))
    assert fit.names == tuple(GBSG_COLS)
    assert fit.n == 686 and fit.n_events == 299
    check_basehaz(fit, r["basehaz"])
    for transform in ("km", "rank", "identity", "log"):
        check_zph(fit, r[f"zph_{transform}"], transform)
    res = r["resid"]
    close(fit.residuals("martingale"), res["martingale"], atol=1e-10)
    close(fit.residuals("deviance"), res["deviance"], atol=1e-10)
    close(fit.residuals("score"), res["score"], atol=1e-9)
    sch = fit.schoenfeld()
    close(sch.time, res["schoenfeld_time"])
    close(sch.residuals, res["schoenfeld"], atol=1e-9)
    close(fit.schoenfeld(scaled=True).residuals, res["scaledsch"], atol=1e-9)
    pr = r["predict"]
    new = np.array([[45, 0, 20, 2, 1, 100, 80, 1], [65, 1, 35, 3, 6, 10, 5, 0]], dtype=float)
    pred = fit.predict_survival(new, pr["times"])
    assert not pred.robust
    check_prediction(pred, pr)
    with pytest.raises(ValueError, match="robust variance"):
        fit.predict_survival(new, pr["times"], robust=True)


def test_gbsg_confidence_intervals_are_on_hazard_ratio_scale() -> None:
    fit = gbsg_fit("efron")
    z = 1.959963984540054
    close(fit.ci_low, np.exp(fit.coef - z * fit.se))
    close(fit.ci_high, np.exp(fit.coef + z * fit.se))
    close(fit.hazard_ratio, np.exp(fit.coef))
    assert np.all(fit.p_value < 1) and fit.robust_se is None


def test_rotterdam_stratified() -> None:
    r = ref()["rotterdam_strata"]
    rot = r_dataset("rotterdam")
    fit = cox(rot.dtime, rot.death, rot[ROT_COLS].values, strata=rot.grade, names=ROT_COLS)
    check_summary(fit, r)
    check_basehaz(fit, r["basehaz"])
    check_zph(fit, r["zph_km"], "km")
    check_zph(fit, r["zph_log"], "log")
    close(fit.residuals(), r["martingale"], atol=1e-10)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_synthetic_heavy_ties(ties: str) -> None:
    s = syn()
    x = s[SYN_COLS].values
    r = ref()[f"syn_{ties}"]
    fit = cox(s.time, s.status, x, ties=ties)
    check_summary(fit, r)
    for transform in ("km", "rank", "identity", "log"):  # rank: many tied times, averaged
        check_zph(fit, r[f"zph_{transform}"], transform)
    res = r["resid"]
    close(fit.residuals("martingale"), res["martingale"], atol=1e-10)
    close(fit.residuals("score"), res["score"], atol=1e-10)
    close(fit.schoenfeld().residuals, res["schoenfeld"], atol=1e-10)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_synthetic_weights_cluster_robust(ties: str) -> None:
    s = syn()
    x = s[SYN_COLS].values
    r = ref()[f"syn_weights_cluster_{ties}"]
    fit = cox(s.time, s.status, x, ties=ties, weights=s.w, cluster=s.cl)
    check_summary(fit, r)
    close(fit.se, np.sqrt(np.diag(r["var"])))
    close(fit.naive_se, np.sqrt(np.diag(r["naive_var"])))
    close(fit.residuals("dfbeta"), r["dfbeta"], atol=1e-12)  # weighted by default, as R
    close(fit.residuals("dfbeta", weighted=False) * s.w.values[:, None], r["dfbeta"], atol=1e-12)
    check_basehaz(fit, r["basehaz"])
    pr = r["predict_robust"]  # survfit() of a clustered fit: robust variance
    pred = fit.predict_survival([[0.5, 1, 0], [-1, 0, 0.2]], pr["times"])
    assert pred.robust
    check_prediction(pred, pr)
    check_summary(cox(s.time, s.status, x, ties=ties, robust=True), ref()[f"syn_robust_{ties}"])


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_synthetic_strata_fractional_weights(ties: str) -> None:
    """Non-integer case weights: robust variance by default, as R; survfit() then uses
    it too (predict_robust), and robust=False gives R's curves of the robust=FALSE fit."""
    s = syn()
    r = ref()[f"syn_strata_weights_{ties}"]
    fit = cox(s.time, s.status, s[SYN_COLS].values, ties=ties, weights=s.w, strata=s.st)
    check_summary(fit, r)
    check_basehaz(fit, r["basehaz"])
    for transform in ("km", "rank", "identity", "log"):
        check_zph(fit, r[f"zph_{transform}"], transform)
    new = [[0.5, 1, 0], [-1, 0, 0.2]]
    pr = r["predict"]
    pred = fit.predict_survival(new, pr["times"], strata=[0, 2], robust=False)
    assert not pred.robust
    check_prediction(pred, pr)
    pr = r["predict_robust"]
    check_prediction(fit.predict_survival(new, pr["times"], strata=[0, 2]), pr)


def test_synthetic_offset() -> None:
    s = syn()
    fit = cox(s.time, s.status, s[SYN_COLS].values, offset=s.off)
    check_summary(fit, ref()["syn_offset"])


def test_robust_score_test_keeps_the_offset() -> None:
    """R's fit$rscore drops the offset (residuals at linear predictor 0: it equals the
    robust score test without offset); locoreg keeps it, as R's model-based score test."""
    s = syn()
    r = ref()["syn_offset_robust"]
    fit = cox(s.time, s.status, s[SYN_COLS].values, offset=s.off, robust=True)
    close(fit.coef, r["coef"])
    close(fit.robust_var, r["var"])
    close(fit.score_test.statistic, r["score"])
    assert fit.robust_score_test is not None
    close(fit.robust_score_test.statistic, r["rscore_offset"])
    close(r["rscore_r"], r["rscore_no_offset"], rtol=1e-12)
    no_offset = cox(s.time, s.status, s[SYN_COLS].values, robust=True).robust_score_test
    assert no_offset is not None
    close(no_offset.statistic, r["rscore_r"])


def test_synthetic_ridge_matches_r_ridge_scale_false() -> None:
    s = syn()
    r = ref()["syn_ridge"]
    fit = cox(s.time, s.status, s[SYN_COLS].values, penalty=2.0)
    close(fit.coef, r["coef"])
    close(fit.loglik, r["loglik"])  # R reports the unpenalised partial likelihood
    close(fit.var, r["var"])
    close(fit.wald_test.statistic, r["wald"])
    close(fit.concordance, r["concordance"])
    close(2.0 / 2 * (fit.coef @ fit.coef), r["penalty"][-1])  # theta/2 * sum(beta^2)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_counting_process_cluster(ties: str) -> None:
    c = counting()
    r = ref()[f"counting_{ties}"]
    fit = cox(
        c.time, c.status, c[["x1", "x2", "tv"]].values, entry=c.tstart, ties=ties, cluster=c.id
    )
    check_summary(fit, r)
    check_basehaz(fit, r["basehaz"])
    close(fit.residuals(), r["martingale"], atol=1e-10)
    for transform in ("km", "rank", "identity", "log"):
        check_zph(fit, r[f"zph_{transform}"], transform)


def test_counting_process_strata_weights() -> None:
    c = counting()
    r = ref()["counting_strata_weights"]
    fit = cox(
        c.time, c.status, c[["x1", "x2", "tv"]].values, entry=c.tstart, weights=c.w, strata=c.st
    )
    check_summary(fit, r)
    check_zph(fit, r["zph_km"], "km")
    check_zph(fit, r["zph_log"], "log")


def test_fixture_records_versions() -> None:
    assert ref()["R_version"].startswith("R version")
    assert ref()["survival_version"].startswith("3.")


def check_table(fit: CoxResult, r: dict[str, Any]) -> None:
    """Hazard ratios, CIs, z, p and the global tests as R ``summary.coxph`` prints them."""
    assert fit.level == r["level"]
    close(fit.hazard_ratio, r["hr"])
    close(fit.ci_low, r["lower"])
    close(fit.ci_high, r["upper"])
    close(fit.se, r["se"])
    close(fit.z, r["z"])
    close(fit.p_value, r["p"], atol=1e-14)
    tests = {"logtest": fit.lr_test, "waldtest": fit.wald_test, "sctest": fit.score_test}
    for key, test in tests.items():
        # summary.coxph rounds the Wald and score statistics to 2 decimals (its p-values
        # use the unrounded ones; the unrounded statistics are checked in check_summary).
        if key == "logtest":
            close(test.statistic, r[key][0])
        else:
            close(test.statistic, r[key][0], rtol=0, atol=0.005001)
        assert test.df == r[key][1]
        close(test.p_value, r[key][2], atol=1e-14)
    if r["robscore"] is None:
        assert fit.robust_score_test is None
    else:  # summary.coxph keeps the robust score statistic unrounded
        assert fit.robust_score_test is not None
        close(fit.robust_score_test.statistic, r["robscore"][0])
        assert fit.robust_score_test.df == r["robscore"][1]
        close(fit.robust_score_test.p_value, r["robscore"][2], atol=1e-14)


def test_table_gbsg_efron() -> None:
    check_table(gbsg_fit("efron"), ref()["table_gbsg_efron"])


def test_table_gbsg_breslow_level_90() -> None:
    gb = r_dataset("gbsg")
    fit = cox(gb.rfstime, gb.status, gb[GBSG_COLS].values, ties="breslow", level=0.90)
    check_table(fit, ref()["table_gbsg_breslow_90"])


def test_table_weights_cluster_robust() -> None:
    s = syn()
    fit = cox(s.time, s.status, s[SYN_COLS].values, weights=s.w, cluster=s.cl)
    check_table(fit, ref()["table_syn_weights_cluster"])


def test_table_counting_process_cluster() -> None:
    c = counting()
    fit = cox(c.time, c.status, c[["x1", "x2", "tv"]].values, entry=c.tstart, cluster=c.id)
    check_table(fit, ref()["table_counting"])


def test_ridge_with_r_default_scaling() -> None:
    """R ``ridge(x, theta)`` (scale = TRUE) is theta_j = theta * var(x_j) per covariate."""
    s = syn()
    r = ref()["syn_ridge_scaled"]
    x = s[SYN_COLS].values
    theta = 2.0 * x.var(axis=0, ddof=1)
    fit = cox(s.time, s.status, x, penalty=theta)
    close(fit.coef, r["coef"])
    close(fit.loglik, r["loglik"])
    close(fit.var, r["var"])
    close(fit.wald_test.statistic, r["wald"])
    close(0.5 * theta @ (fit.coef * fit.coef), r["penalty"][-1])


def test_counting_process_predicted_survival() -> None:
    c = counting()
    r = ref()["counting_predict"]
    fit = cox(c.time, c.status, c[["x1", "x2", "tv"]].values, entry=c.tstart)
    pred = fit.predict_survival([[0.5, 1, 0], [-1, 0, 1]], r["times"])
    check_prediction(pred, r)


def test_counting_process_predicted_survival_robust() -> None:
    """cluster(id) fit: R survfit() uses the robust variance in the d' V d term."""
    c = counting()
    r = ref()["counting_predict_robust"]
    fit = cox(c.time, c.status, c[["x1", "x2", "tv"]].values, entry=c.tstart, cluster=c.id)
    new = [[0.5, 1, 0], [-1, 0, 1]]
    pred = fit.predict_survival(new, r["times"])
    assert pred.robust
    check_prediction(pred, r)
    # robust=False is the model-based band of the same fit (R: the fit without cluster).
    check_prediction(fit.predict_survival(new, r["times"], robust=False), ref()["counting_predict"])


@pytest.mark.parametrize("case", ["gbsg", "counting_strata_weights", "rotterdam"])
def test_cache_blocks_do_not_change_results(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine walks X in cache-sized row blocks; tiny blocks (a few rows, many segment
    pieces crossing block edges) must reproduce R exactly as well."""
    from locoreg.survival import _cox_riskset

    monkeypatch.setattr(_cox_riskset, "_BLOCK_BYTES", 8 * 9 * 5)
    if case == "gbsg":
        fit = gbsg_fit("efron")
        check_summary(fit, ref()["gbsg_efron"])
        close(fit.residuals("score"), ref()["gbsg_efron"]["resid"]["score"], atol=1e-9)
    elif case == "rotterdam":
        rot = r_dataset("rotterdam")
        fit = cox(rot.dtime, rot.death, rot[ROT_COLS].values, strata=rot.grade)
        check_summary(fit, ref()["rotterdam_strata"])
        check_zph(fit, ref()["rotterdam_strata"]["zph_km"], "km")
    else:
        c = counting()
        x = c[["x1", "x2", "tv"]].values
        fit = cox(c.time, c.status, x, entry=c.tstart, weights=c.w, strata=c.st)
        check_summary(fit, ref()["counting_strata_weights"])
