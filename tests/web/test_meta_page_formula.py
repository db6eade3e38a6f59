"""The meta page's meta-regression takes a moderator formula over the study columns:
the same numbers as rma("yi", "vi", data=..., mods=formula); a bad formula is a 422
naming ``mods``, and nothing but the page's columns reaches formulaic."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from locoreg.errors import InputError
from locoreg.meta import log_hr_from_ci, rma
from locoreg.web.meta_diagnostics import check_formula
from locoreg.web.meta_page import pooled_evidence


def _all_pool() -> tuple[dict, pd.DataFrame]:
    page = pooled_evidence("overall_survival", "REML", "z", "none", "~ decade + factor(design)")
    rows = page["rows"]
    yi, vi = log_hr_from_ci(
        [r["hr"] for r in rows], [r["ci_low"] for r in rows],
        [r["ci_high"] for r in rows], [r["ci_level"] for r in rows],
    )  # fmt: skip
    df = pd.DataFrame(
        {"yi": yi, "vi": vi, "decade": [r["year"] / 10 for r in rows],
         "design": [r["body"] for r in rows]}
    )  # fmt: skip
    return page, df


def test_formula_regression_is_rma_on_the_pool() -> None:
    page, df = _all_pool()
    (group,) = page["diagnostics"]["groups"]
    reg = group["regression"]
    ref = rma("yi", "vi", "REML", "z", data=df, mods="~ decade + factor(design)")
    assert reg["k"] == ref.k and reg["n_dropped"] == 0
    assert [t["name"] for t in reg["terms"]] == list(ref.coef_names[1:])
    assert reg["terms"][0]["name"] == "decade"
    assert reg["terms"][1]["name"].startswith("factor(design)")
    for term, b, p in zip(reg["terms"], ref.coef[1:], ref.coef_p[1:], strict=True):
        assert term["ratio"] == pytest.approx(math.exp(b), rel=1e-12)
        assert term["p_value"] == pytest.approx(p, rel=1e-12)
    assert reg["qm_p"] == pytest.approx(ref.qm_p, rel=1e-12)
    assert page["diagnostics"]["mods"] == "~ decade + factor(design)"


def test_default_is_the_ratio_per_decade_and_the_rest_is_unchanged() -> None:
    default = pooled_evidence("overall_survival", "REML", "z", "none")
    other, _ = _all_pool()
    (g0,) = default["diagnostics"]["groups"]
    (g1,) = other["diagnostics"]["groups"]
    assert [t["name"] for t in g0["regression"]["terms"]] == ["decade"]
    assert {k: v for k, v in g0.items() if k != "regression"} == {
        k: v for k, v in g1.items() if k != "regression"
    }


def test_a_moderator_constant_within_a_pool_is_reported_in_its_cell() -> None:
    page = pooled_evidence("overall_survival", "REML", "z", "design", "~ factor(design)")
    for g in page["diagnostics"]["groups"]:
        assert "do not vary" in g["regression"]["error"]


@pytest.mark.parametrize(
    ("formula", "fragment"),
    [
        ("year", "one-sided formula"),
        ("~ latitude", "unknown column 'latitude'"),
        ("~ __import__('os')", "unknown column '__import__'"),
        ("~ year.real", "character '.'"),
        ("~ " + " + ".join(["year"] * 60), "longer than"),
    ],
)
def test_bad_formulas_are_refused_before_evaluation(formula: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        check_formula(formula)
    (error,) = info.value.errors
    assert error.field == "mods"
    assert fragment in error.message


def test_page_takes_the_formula_and_answers_422_on_a_bad_one(client: TestClient) -> None:
    ok = client.get("/meta", params={"by": "none", "mods": "~ decade + factor(design)"})
    assert ok.status_code == 200
    assert "factor(design)" in ok.text and 'id="mods"' in ok.text
    bad = client.get("/meta", params={"mods": "~ latitude"})
    assert bad.status_code == 422
    assert "mods: unknown column &#39;latitude&#39;" in bad.text
    assert 'aria-invalid="true"' in bad.text
    syntax = client.get("/meta", params={"mods": "~ decade +"})
    assert syntax.status_code == 422
    assert "mods: cannot read the formula" in syntax.text
