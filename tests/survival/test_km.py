"""Kaplan–Meier and Nelson–Aalen against R survival (fixtures from make_km_fixtures.R)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from locoreg.survival import kaplan_meier, kaplan_meier_by_group, nelson_aalen

FIXTURES = Path(__file__).parents[1] / "fixtures" / "survival"
RTOL = 1e-6


def _num(x: Any) -> Any:
    """JSON from jsonlite: NA/Inf are strings, NULL is an empty object."""
    if isinstance(x, list):
        return np.array([_num(v) for v in x], dtype=float)
    if x == {} or x is None:
        return None
    return {"NA": np.nan, "NaN": np.nan, "Inf": np.inf, "-Inf": -np.inf}.get(x, x)


def _load() -> dict[str, Any]:
    return json.loads((FIXTURES / "km.json").read_text())


CASES = _load()["cases"]


def _close(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("case", CASES, ids=[c["label"] for c in CASES])
@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_kaplan_meier_matches_survfit(case: dict[str, Any], conf_type: str) -> None:
    fit = kaplan_meier(
        _num(case["time"]),
        _num(case["event"]),
        weights=_num(case["weights"]),
        entry=_num(case["entry"]),
        conf_type=conf_type,  # type: ignore[arg-type]
    )
    assert fit.variance == ("robust" if case["robust"] else "greenwood")
    _close(fit.times, _num(case["times"]))
    _close(fit.at_risk, _num(case["n_risk"]))
    _close(fit.events, _num(case["n_event"]))
    _close(fit.censored, _num(case["n_censor"]))
    _close(fit.survival, _num(case["surv"]))
    _close(fit.std_err, _num(case["std_err"]))
    ref = case[conf_type]
    _close(fit.ci_low, _num(ref["lower"]))
    _close(fit.ci_high, _num(ref["upper"]))
    for p, q, lo, hi in zip(
        ref["q_probs"],
        _num(ref["quantile"]),
        _num(ref["q_lower"]),
        _num(ref["q_upper"]),
        strict=True,
    ):
        _close(np.array(fit.quantile(p)), np.array([q, lo, hi]))
    _close(
        np.array([fit.median, *fit.median_ci]),
        _num([ref["quantile"][1], ref["q_lower"][1], ref["q_upper"][1]]),
    )


@pytest.mark.parametrize("case", CASES, ids=[c["label"] for c in CASES])
def test_nelson_aalen_matches_survfit(case: dict[str, Any]) -> None:
    na = nelson_aalen(
        _num(case["time"]),
        _num(case["event"]),
        weights=_num(case["weights"]),
        entry=_num(case["entry"]),
    )
    _close(na.cumulative_hazard, _num(case["cumhaz"]))
    _close(na.std_err, _num(case["std_chaz"]))


@pytest.mark.parametrize("case", [c for c in CASES if "grid" in c], ids=lambda c: c["label"])
def test_survival_at_and_risk_table_match_summary(case: dict[str, Any]) -> None:
    fit = kaplan_meier(_num(case["time"]), _num(case["event"]), weights=_num(case["weights"]))
    grid = _num(case["grid"])
    _close(fit.at_risk_table(grid), _num(case["grid_n_risk"]))
    _close(fit.survival_at(grid), _num(case["grid_surv"]))


@pytest.mark.parametrize("case", [c for c in CASES if "grid" in c], ids=lambda c: c["label"])
def test_summary_at_times_matches_summary_survfit(case: dict[str, Any]) -> None:
    fit = kaplan_meier(
        _num(case["time"]), _num(case["event"]), weights=_num(case["weights"]), conf_type="log"
    )
    grid = _num(case["grid"])
    assert grid[0] < fit.times[0]  # the grid starts before the first time
    sm = fit.summary_at(grid)
    _close(sm.at_risk, _num(case["grid_n_risk"]))
    _close(sm.survival, _num(case["grid_surv"]))
    _close(sm.std_err, _num(case["grid_std_err"]))
    _close(sm.ci_low, _num(case["grid_lower"]))
    _close(sm.ci_high, _num(case["grid_upper"]))


def test_flat_segment_median_is_midpoint() -> None:
    # S = 0.5 exactly on [5, 6): R reports the midpoint 5.5
    fit = kaplan_meier(np.arange(1.0, 11.0), np.ones(10))
    assert fit.median == pytest.approx(5.5)


def test_grouped_fit_matches_survfit_strata() -> None:
    ref = _load()["by_sex"]
    fits = kaplan_meier_by_group(_num(ref["time"]), _num(ref["event"]), _num(ref["group"]))
    assert list(fits) == [1.0, 2.0]
    _close(np.array([f.median for f in fits.values()]), _num(ref["medians"]))
    _close(np.array([f.at_risk[0] for f in fits.values()]), _num(ref["n"]))


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match="event"):
        kaplan_meier([1.0, 2.0], [0, 2])
    with pytest.raises(ValueError, match="conf_type"):
        kaplan_meier([1.0, 2.0], [1, 0], conf_type="logit")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="entry"):
        kaplan_meier([1.0, 2.0], [1, 0], entry=[1.0, 0.0])
    with pytest.raises(ValueError, match="weights"):
        kaplan_meier([1.0, 2.0], [1, 0], weights=[1.0])


survival_data = st.integers(min_value=2, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(1, 8), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.randoms(use_true_random=False),
    )
)


@settings(max_examples=25, deadline=None)
@given(survival_data)
def test_row_order_does_not_matter(data: tuple[list[int], list[int], Any]) -> None:
    time, event, rnd = data
    perm = list(range(len(time)))
    rnd.shuffle(perm)
    a = kaplan_meier(time, event)
    b = kaplan_meier(np.asarray(time)[perm], np.asarray(event)[perm])
    _close(a.survival, b.survival)
    _close(a.std_err, b.std_err)
    _close(a.ci_low, b.ci_low)


@settings(max_examples=25, deadline=None)
@given(survival_data)
def test_duplicated_rows_with_half_weight_change_nothing(
    data: tuple[list[int], list[int], Any],
) -> None:
    time, event, _ = data
    a = kaplan_meier(time, event, variance="greenwood")
    b = kaplan_meier(
        np.repeat(time, 2),
        np.repeat(event, 2),
        weights=np.full(2 * len(time), 0.5),
        variance="greenwood",
    )
    _close(a.survival, b.survival)
    _close(a.at_risk, b.at_risk)
    _close(a.std_err, b.std_err)
    assert a.median == b.median or (np.isnan(a.median) and np.isnan(b.median))


@settings(max_examples=25, deadline=None)
@given(survival_data, st.data())
def test_integer_weights_equal_replicated_rows(
    data: tuple[list[int], list[int], Any], draw: st.DataObject
) -> None:
    time, event, _ = data
    w = np.asarray(draw.draw(st.lists(st.integers(1, 3), min_size=len(time), max_size=len(time))))
    a = kaplan_meier(time, event, weights=w)
    b = kaplan_meier(np.repeat(time, w), np.repeat(event, w))
    assert a.variance == b.variance == "greenwood"
    _close(a.survival, b.survival)
    _close(a.at_risk, b.at_risk)
    _close(a.std_err, b.std_err)
    _close(a.ci_high, b.ci_high)
    _close(np.array(a.median_ci), np.array(b.median_ci))


@settings(max_examples=25, deadline=None)
@given(survival_data)
def test_nelson_aalen_row_order_and_half_weights(data: tuple[list[int], list[int], Any]) -> None:
    time, event, rnd = data
    perm = list(range(len(time)))
    rnd.shuffle(perm)
    a = nelson_aalen(time, event)
    b = nelson_aalen(np.asarray(time)[perm], np.asarray(event)[perm])
    c = nelson_aalen(
        np.repeat(time, 2),
        np.repeat(event, 2),
        weights=np.full(2 * len(time), 0.5),
        variance="greenwood",
    )
    _close(b.cumulative_hazard, a.cumulative_hazard)
    _close(b.std_err, a.std_err)
    _close(c.cumulative_hazard, a.cumulative_hazard)
    _close(c.std_err, a.std_err)


def test_half_weights_halve_the_robust_variance() -> None:
    # Why the half-weight property tests pin variance="greenwood": with a non-integer
    # weight R (and locoreg) switch to the infinitesimal-jackknife variance
    # sum_i (w_i U_i)^2, which treats the 2n half-weighted rows as 2n sampled units,
    # so duplicating every row halves it. The curve itself does not change.
    t = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 6.0, 6.0])
    e = np.array([1, 1, 0, 1, 0, 1, 1, 0])
    one = kaplan_meier(t, e, variance="robust")
    half = kaplan_meier(np.repeat(t, 2), np.repeat(e, 2), weights=np.full(16, 0.5))
    assert half.variance == "robust"
    _close(half.survival, one.survival)
    _close(half.std_err**2, one.std_err**2 / 2)
