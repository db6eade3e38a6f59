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
