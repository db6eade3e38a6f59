"""Propensity scores, IPTW, matching, balance and E-values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from locoreg.survival import (
    e_value,
    iptw_weights,
    kaplan_meier,
    match_nearest,
    propensity_score,
    standardized_mean_difference,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "survival"
REF = json.loads((FIXTURES / "causal.json").read_text())
RTOL = 1e-6


def test_propensity_score_matches_glm() -> None:
    ref = REF["glm"]
    fit = propensity_score(np.asarray(ref["X"], dtype=float), ref["treated"])
    np.testing.assert_allclose(fit.coef, ref["coef"], rtol=RTOL)
    np.testing.assert_allclose(fit.se, ref["se"], rtol=RTOL)
    np.testing.assert_allclose(fit.ps, ref["fitted"], rtol=RTOL)
    np.testing.assert_allclose(fit.deviance, ref["deviance"], rtol=1e-9)
    np.testing.assert_allclose(fit.logit, np.log(fit.ps / (1 - fit.ps)), rtol=1e-9)


def test_iptw_and_smd_match_r() -> None:
    ref = REF["glm"]
    X = np.asarray(ref["X"], dtype=float)
    t = np.asarray(ref["treated"])
    ps = np.asarray(ref["fitted"])
    w = iptw_weights(ps, t, stabilized=False)
    np.testing.assert_allclose(w, REF["smd"]["w_ate"], rtol=1e-12)
    trunc = iptw_weights(ps, t, stabilized=False, trim=(0.01, 0.99))
    np.testing.assert_allclose(trunc, REF["smd"]["w_trunc"], rtol=1e-12)
    stab = iptw_weights(ps, t)
    np.testing.assert_allclose(stab, w * np.where(t == 1, t.mean(), 1 - t.mean()), rtol=1e-12)
    np.testing.assert_allclose(
        standardized_mean_difference(X, t), REF["smd"]["unweighted"], rtol=1e-9
    )
    np.testing.assert_allclose(
        standardized_mean_difference(X, t, weights=w), REF["smd"]["weighted"], rtol=1e-9
    )


def test_smd_known_value() -> None:
    # treated mean 2, control mean 0, both sample variances 2 -> SMD = 2 / sqrt(2)
    x = np.array([1.0, 3.0, 1.0, 3.0, -1.0, 1.0, -1.0, 1.0])
    t = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    var = np.var([1.0, 3.0, 1.0, 3.0], ddof=1)
    assert standardized_mean_difference(x, t)[0] == pytest.approx(2.0 / math.sqrt(var))


def _reference_greedy(score, treated, ratio, width, order):  # type: ignore[no-untyped-def]
    """Plain O(n_t * n_c) greedy matching, written independently of the fast version."""
    t_idx = [i for i in range(len(score)) if treated[i]]
    if order == "largest":
        t_idx.sort(key=lambda i: -score[i])
    free = {i for i in range(len(score)) if not treated[i]}
    out = {i: [] for i in t_idx}
    active = set(t_idx)
    for _ in range(ratio):
        for i in t_idx:
            if i not in active:
                continue
            best = min(free, key=lambda j: (abs(score[j] - score[i]), score[j]), default=None)
            if best is None or abs(score[best] - score[i]) > width:
                active.discard(i)
                continue
            out[i].append(best)
            free.discard(best)
    return out


@pytest.mark.parametrize(
    ("ratio", "caliper", "order"),
    [(1, 0.2, "largest"), (2, 0.05, "largest"), (1, None, "data"), (3, 0.1, "data")],
)
def test_greedy_matching_equals_plain_reference(
    ratio: int, caliper: float | None, order: str
) -> None:
    rng = np.random.default_rng(7)
    score = rng.normal(size=400)
    treated = rng.random(400) < 0.3 + 0.2 * (score > 0)
    res = match_nearest(score, treated, ratio=ratio, caliper=caliper, order=order)  # type: ignore[arg-type]
    width = np.inf if caliper is None else caliper * np.std(score, ddof=1)
    ref = _reference_greedy(score, treated, ratio, width, order)
    got = {
        int(t): [int(c) for c in row if c >= 0]
        for t, row in zip(res.treated, res.controls, strict=True)
    }
    assert got == ref
    pairs = res.pairs
    assert len(set(pairs[:, 1])) == len(pairs)  # without replacement
    assert np.all(np.abs(score[pairs[:, 0]] - score[pairs[:, 1]]) <= width)


def test_matching_with_replacement_takes_k_nearest() -> None:
    rng = np.random.default_rng(3)
    score = rng.normal(size=300)
    treated = rng.random(300) < 0.4
    res = match_nearest(score, treated, ratio=2, caliper=None, replace=True)
    controls = np.flatnonzero(~treated)
    for t, row in zip(res.treated, res.controls, strict=True):
        nearest = controls[np.argsort(np.abs(score[controls] - score[t]), kind="stable")[:2]]
        assert set(row) == set(nearest)


def test_e_value_known_values() -> None:
    # Published worked example, VanderWeele & Ding 2017, Ann Intern Med 167:268-274,
    # https://doi.org/10.7326/M16-2607 (breastfeeding and infant infections): RR 3.9
    # (95% CI 1.8 to 8.7) gives an E-value of 7.2 for the estimate and 3.0 for the CI.
    ev = e_value(3.9, 1.8, 8.7, rare=True)
    assert ev.point == pytest.approx(3.9 + math.sqrt(3.9 * 2.9))  # 7.26...
    assert math.floor(ev.point * 10) / 10 == 7.2  # the paper truncates to one decimal
    assert ev.ci == pytest.approx(3.0)
    assert ev.rr_point == 3.9  # rare outcome: HR taken as the RR
    # Common outcome (R EValue's documented example evalues.HR(0.56, 0.46, 0.69,
    # rare = FALSE), https://cran.r-project.org/package=EValue): HR -> RR by
    # (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR)) (the conversion evalues.HR uses), the
    # E-value of an RR below 1 uses 1/RR. 2.3495 is that formula evaluated by hand.
    rr = (1 - 0.5 ** math.sqrt(0.56)) / (1 - 0.5 ** math.sqrt(1 / 0.56))
    rr_hi = (1 - 0.5 ** math.sqrt(0.69)) / (1 - 0.5 ** math.sqrt(1 / 0.69))
    ev = e_value(0.56, 0.46, 0.69)
    assert ev.rr_point == pytest.approx(rr)
    assert ev.point == pytest.approx(1 / rr + math.sqrt(1 / rr * (1 / rr - 1)))
    assert ev.point == pytest.approx(2.3495, abs=1e-4)
    assert ev.ci == pytest.approx(1 / rr_hi + math.sqrt(1 / rr_hi * (1 / rr_hi - 1)))
    # the conversion is symmetric: HR and 1/HR give the same E-value
    assert e_value(1 / 0.56).point == pytest.approx(ev.point)
    # the rare-outcome E-value is larger: the conversion shrinks the HR towards 1
    assert e_value(0.56, rare=True).point > ev.point
    assert e_value(1.3, 0.9, 1.8).ci == 1.0
    assert e_value(1.0).point == 1.0


def test_weighted_kaplan_meier_uses_iptw() -> None:
    ref = REF["glm"]
    t = np.asarray(ref["treated"])
    w = iptw_weights(np.asarray(ref["fitted"]), t)
    time = np.arange(1.0, t.shape[0] + 1.0)
    fit = kaplan_meier(time[t == 1], np.ones(int(t.sum())), weights=w[t == 1])
    assert fit.variance == "robust"
    assert fit.at_risk[0] == pytest.approx(w[t == 1].sum())


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="treated"):
        propensity_score(np.ones((3, 1)), [1, 1, 1])
    with pytest.raises(ValueError, match="ps"):
        iptw_weights([0.0, 0.5], [1, 0])
    with pytest.raises(ValueError, match="caliper"):
        match_nearest([0.1, 0.2], [1, 0], caliper=-1)
    with pytest.raises(ValueError, match="hr"):
        e_value(-1.0)


def test_pooled_logistic_equals_stacked_person_period_fit() -> None:
    """Same model as propensity_score on the stacked rows [period indicators, x]."""
    from locoreg.survival.causal import pooled_logistic

    rng = np.random.default_rng(7)
    n, periods = 400, 4
    x = np.column_stack([rng.normal(size=n), rng.integers(0, 2, n)])
    at_risk = np.cumprod(rng.random((n, periods)) < 0.85, axis=1).astype(bool)
    logit = -1.5 + 0.3 * np.arange(periods)[None, :] + (x @ [0.7, -0.5])[:, None]
    outcome = at_risk & (rng.random((n, periods)) < 1 / (1 + np.exp(-logit)))
    alpha, beta = pooled_logistic(x, at_risk, outcome)
    rows_i, rows_k = np.nonzero(at_risk)
    design = np.column_stack([np.eye(periods)[rows_k][:, 1:], x[rows_i]])
    ref = propensity_score(design, outcome[rows_i, rows_k]).coef
    np.testing.assert_allclose(alpha, ref[0] + np.concatenate([[0.0], ref[1:periods]]), rtol=1e-9)
    np.testing.assert_allclose(beta, ref[periods:], rtol=1e-9)
    with pytest.raises(ValueError, match="outcome both 0 and 1"):
        pooled_logistic(x, at_risk, np.zeros_like(outcome))
