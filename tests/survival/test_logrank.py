"""Log-rank / Fleming–Harrington tests against R survdiff and an independent R loop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from locoreg.survival import logrank, p_adjust, pairwise_logrank

FIXTURES = Path(__file__).parents[1] / "fixtures" / "survival"
REF = json.loads((FIXTURES / "logrank.json").read_text())
RTOL = 1e-6


def _opt(x: Any) -> Any:
    return None if x in ({}, None) else x


@pytest.mark.parametrize("case", REF["survdiff"], ids=[c["label"] for c in REF["survdiff"]])
def test_logrank_matches_survdiff(case: dict[str, Any]) -> None:
    res = logrank(
        case["time"], case["event"], case["group"], strata=_opt(case["strata"]), rho=case["rho"]
    )
    assert res.df == case["df"]
    np.testing.assert_allclose(res.statistic, case["chisq"], rtol=RTOL)
    np.testing.assert_allclose(res.p_value, case["p"], rtol=RTOL)
    np.testing.assert_allclose(res.observed, case["observed"], rtol=RTOL)
    np.testing.assert_allclose(res.expected, case["expected"], rtol=RTOL)
    np.testing.assert_allclose(res.variance, np.asarray(case["var"]), rtol=RTOL, atol=1e-9)


@pytest.mark.parametrize("case", REF["fh"], ids=[c["label"] for c in REF["fh"]])
def test_fleming_harrington_matches_independent_loop(case: dict[str, Any]) -> None:
    res = logrank(case["time"], case["event"], case["group"], rho=case["rho"], gamma=case["gamma"])
    np.testing.assert_allclose(res.statistic, case["chisq"], rtol=RTOL)
    np.testing.assert_allclose(res.p_value, case["p"], rtol=RTOL)
    np.testing.assert_allclose(res.observed - res.expected, case["o_minus_e"], rtol=RTOL)


@pytest.mark.parametrize("case", REF["weighted"], ids=[c["label"] for c in REF["weighted"]])
def test_integer_weights_match_survdiff_on_replicated_rows(case: dict[str, Any]) -> None:
    res = logrank(
        case["time"],
        case["event"],
        case["group"],
        strata=_opt(case.get("strata")),  # R drops a NULL list element
        rho=case["rho"],
        weights=case["weights"],
    )
    assert len(case["time"]) < sum(case["weights"])  # the fixture really is replicated
    assert res.df == case["df"]
    np.testing.assert_allclose(res.statistic, case["chisq"], rtol=RTOL)
    np.testing.assert_allclose(res.p_value, case["p"], rtol=RTOL)
    np.testing.assert_allclose(res.observed, case["observed"], rtol=RTOL)
    np.testing.assert_allclose(res.expected, case["expected"], rtol=RTOL)
    np.testing.assert_allclose(res.variance, np.asarray(case["var"]), rtol=RTOL, atol=1e-9)


def test_pairwise_with_holm_and_bh_matches_p_adjust() -> None:
    ref = REF["pairwise"]
    for method in ("holm", "BH", "bonferroni"):
        res = pairwise_logrank(ref["time"], ref["event"], ref["group"], p_adjust_method=method)  # type: ignore[arg-type]
        assert [list(p) for p in res.pairs] == ref["pairs"]
        np.testing.assert_allclose(res.p_value, ref["p"], rtol=RTOL)
        np.testing.assert_allclose(res.p_adjusted, ref[method], rtol=RTOL)


def test_p_adjust_known_values() -> None:
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.2), "holm") -> 0.04 0.09 0.09 0.20
    np.testing.assert_allclose(p_adjust([0.01, 0.04, 0.03, 0.2], "holm"), [0.04, 0.09, 0.09, 0.2])
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.2), "BH") -> 0.04 0.05333333 0.05333333 0.2
    np.testing.assert_allclose(
        p_adjust([0.01, 0.04, 0.03, 0.2], "BH"), [0.04, 0.16 / 3, 0.16 / 3, 0.2]
    )


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="group"):
        logrank([1.0, 2.0], [1, 1], [0, 0])
    with pytest.raises(ValueError, match="rho"):
        logrank([1.0, 2.0], [1, 1], [0, 1], rho=-1)
    with pytest.raises(ValueError, match="group"):
        logrank([1.0, 2.0], [1, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="group"):
        logrank([1.0, 2.0, 3.0], [1, 1, 0], [0.0, 1.0, np.nan])
    with pytest.raises(ValueError, match="weights"):
        logrank([1.0, 2.0], [1, 1], [0, 1], weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="weights"):
        logrank([1.0, 2.0], [1, 1], [0, 1], weights=[1.0])


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 6), st.integers(0, 1), st.integers(0, 2)), min_size=6, max_size=40
    ),
    st.randoms(use_true_random=False),
)
def test_row_order_does_not_matter(rows: list[tuple[int, int, int]], rnd: Any) -> None:
    arr = np.asarray(rows)
    if len(set(arr[:, 2])) < 2:
        return
    perm = list(range(len(rows)))
    rnd.shuffle(perm)
    a = logrank(arr[:, 0], arr[:, 1], arr[:, 2], rho=1.0, gamma=0.5)
    b = logrank(arr[perm, 0], arr[perm, 1], arr[perm, 2], rho=1.0, gamma=0.5)
    np.testing.assert_allclose(a.observed, b.observed, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.statistic, b.statistic, rtol=1e-9, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 6), st.integers(0, 1), st.integers(0, 2), st.integers(0, 1)),
        min_size=6,
        max_size=40,
    ),
    st.floats(0.0, 2.0),
    st.floats(0.0, 2.0),
)
def test_duplicated_rows_with_half_weight_change_nothing(
    rows: list[tuple[int, int, int, int]], rho: float, gamma: float
) -> None:
    arr = np.asarray(rows)
    if len(set(arr[:, 2])) < 2:
        return
    t, e, g, s = arr.T
    a = logrank(t, e, g, strata=s, rho=rho, gamma=gamma)
    b = logrank(
        np.repeat(t, 2),
        np.repeat(e, 2),
        np.repeat(g, 2),
        strata=np.repeat(s, 2),
        rho=rho,
        gamma=gamma,
        weights=np.full(2 * len(t), 0.5),
    )
    assert a.df == b.df
    np.testing.assert_allclose(b.observed, a.observed, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.expected, a.expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.variance, a.variance, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.statistic, a.statistic, rtol=1e-9, atol=1e-12)


def test_unit_weights_take_the_same_answer_as_no_weights() -> None:
    case = REF["survdiff"][-1]  # three groups, two strata, rho = 0.5
    a = logrank(case["time"], case["event"], case["group"], strata=case["strata"], rho=0.5)
    b = logrank(
        case["time"],
        case["event"],
        case["group"],
        strata=case["strata"],
        rho=0.5,
        weights=np.ones(len(case["time"])),
    )
    np.testing.assert_allclose(b.statistic, a.statistic, rtol=1e-12)
    np.testing.assert_allclose(b.variance, a.variance, rtol=1e-12, atol=1e-15)


def test_pairwise_passes_weights_through() -> None:
    ref = REF["pairwise"]
    w = np.full(len(ref["time"]), 2.0)
    doubled = pairwise_logrank(ref["time"], ref["event"], ref["group"], weights=w)
    plain = pairwise_logrank(ref["time"], ref["event"], ref["group"])
    # doubling every case weight doubles the information: the statistics grow
    assert np.all(doubled.statistic > plain.statistic)
