"""Effect sizes from raw data (metafor ``escalc``) and convergence control (``control=``),
against R metafor 3.8 and survival (tests/fixtures/metafor/make_metafor_escalc_control.R)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from locoreg.meta import rma
from locoreg.meta.errors import ArgumentError
from locoreg.meta.escalc import (
    escalc,
    log_hr_from_ci,
    log_hr_from_logrank,
    log_odds_ratio,
    risk_difference,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "metafor" / "metafor_escalc_control.json"
REF: dict[str, Any] = json.loads(FIXTURE.read_text())


def _known(case: dict[str, Any], *names: str) -> tuple[np.ndarray, ...]:
    """The rows R could compute (metafor leaves a study with missing counts as NA)."""
    cols = [np.array([np.nan if x is None else x for x in case[n]], dtype=float) for n in names]
    keep = np.all([np.isfinite(c) for c in cols], axis=0)
    return tuple(c[keep] for c in cols)


@pytest.mark.parametrize(
    "case", REF["escalc"], ids=lambda c: f"{c['data']}-{c['measure']}-{c['to']}-{c['add']}"
)
def test_escalc_matches_metafor(case: dict[str, Any]) -> None:
    ai, bi, ci, di, yi, vi = _known(case, "ai", "bi", "ci", "di", "yi", "vi")
    y, v = escalc(case["measure"], ai, bi, ci, di, add=case["add"], to=case["to"])
    np.testing.assert_allclose(y, yi, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(v, vi, rtol=1e-10, atol=1e-12)


def test_zero_cells_get_the_correction_only_where_needed() -> None:
    # table 1 has a zero cell: ½ is added to its four cells only (to="only0")
    y, v = log_odds_ratio([0, 10], [20, 10], [5, 5], [15, 15])
    assert y[0] == pytest.approx(np.log(0.5 * 15.5 / (20.5 * 5.5)))
    assert v[1] == pytest.approx(1 / 10 + 1 / 10 + 1 / 5 + 1 / 15)
    with pytest.raises(ArgumentError, match=r"ai\[0\]"):
        log_odds_ratio([0, 10], [20, 10], [5, 5], [15, 15], to="none")
    rd, _ = risk_difference([0], [10], [0], [10], to="none")
    assert rd[0] == 0.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: escalc("SMD", [1], [1], [1], [1]), "measure"),
        (lambda: escalc("RR", [1, -1], [1, 1], [1, 1], [1, 1]), r"ai\[1\]"),
        (lambda: escalc("RR", [1, 1], [1], [1, 1], [1, 1]), "bi"),
        (lambda: escalc("RR", [1], [1], [1], [1], to="some"), "to"),
        (lambda: escalc("RR", [0], [0], [1], [1]), r"bi\[0\]: the group has no participants"),
        (lambda: log_hr_from_logrank([1.0, 2.0], [3.0, 0.0]), r"v\[1\]"),
    ],
)
def test_bad_counts_name_the_argument(call: Any, match: str) -> None:
    with pytest.raises(ArgumentError, match=match):
        call()


def test_log_hr_from_ci_at_any_level_matches_r() -> None:
    ref = REF["from_ci"]
    y, v = log_hr_from_ci(ref["hr"], ref["ci_low"], ref["ci_high"], ref["ci_level"])
    np.testing.assert_allclose(y, ref["yi"], rtol=1e-12)
    np.testing.assert_allclose(v, ref["vi"], rtol=1e-10)


def test_log_hr_from_logrank_matches_survdiff() -> None:
    ref = REF["logrank"]
    y, v = log_hr_from_logrank(ref["o_minus_e"], ref["v"])
    np.testing.assert_allclose(y, ref["yi"], rtol=1e-12)
    np.testing.assert_allclose(v, ref["vi"], rtol=1e-12)


@pytest.mark.parametrize(
    "case",
    REF["control"],
    ids=lambda c: f"{c['data']}-{c['method']}-{'tight' if c['tight'] else 'default'}",
)
def test_convergence_control_reproduces_metafor(case: dict[str, Any]) -> None:
    yi, vi = _known(case, "yi", "vi")
    control = {"tol": 1e-12, "threshold": 1e-12, "max_iter": 1000} if case["tight"] else {}
    res = rma(yi, vi, method=case["method"], **control)
    # the same control stops where metafor stops (to rounding)
    assert res.tau2 == pytest.approx(case["tau2"], rel=1e-12, abs=1e-15)
    assert res.estimate == pytest.approx(case["estimate"], rel=1e-12, abs=1e-15)
    assert res.se == pytest.approx(case["se"], rel=1e-12)


def test_paule_mandel_tolerance_is_what_moves_the_fit() -> None:
    """metafor's tight PM fit is reached with tol, not with the default tolerance."""
    case = next(
        c
        for c in REF["control"]
        if c["data"] == "normand1999" and c["method"] == "PM" and c["tight"]
    )
    yi, vi = _known(case, "yi", "vi")
    default = rma(yi, vi, method="PM").tau2
    tight = rma(yi, vi, method="PM", tol=1e-12).tau2
    assert abs(default - case["tau2"]) > 1e-12 * case["tau2"]
    assert tight == pytest.approx(case["tau2"], rel=1e-13)


def test_tolerance_must_be_positive() -> None:
    with pytest.raises(ArgumentError, match="tol"):
        rma([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], method="PM", tol=0.0)
