"""The DataFrame/formula form of rma against metafor: rma(yi, vi, mods = ~ ..., data = dat)
on dat.bcg with allocation as a factor and one row with a missing moderator (dropped as
na.omit). Reference: tests/fixtures/metafor/make_metafor_formula.R."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from locoreg.meta import rma
from locoreg.meta.errors import ArgumentError

FIXTURE = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "metafor" / "metafor_formula.json").read_text()
)
DATA = pd.DataFrame(FIXTURE["data"])
CASES = {c["name"]: c for c in FIXTURE["cases"]}
TOL = 1e-6


@pytest.mark.parametrize("name", sorted(CASES))
def test_formula_form_agrees_with_metafor(name: str) -> None:
    c = CASES[name]
    res = rma("yi", "vi", data=DATA, mods=c["mods"], method=c["method"], test=c["test"])
    assert res.k == c["k"]
    assert res.n_dropped == len(DATA) - c["k"]
    assert res.formula == c["mods"]
    # R's names (treatment contrasts against the first level), intercept aside
    assert res.coef_names[1:] == tuple(c["coef_names"][1:])
    for ours, theirs in [
        (res.coef, c["coef"]), (res.coef_se, c["se"]), (res.coef_statistic, c["statistic"]),
        (res.coef_p, c["p_value"]), (res.coef_ci_low, c["ci_low"]),
        (res.coef_ci_high, c["ci_high"]),
    ]:  # fmt: skip
        np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL)
    for ours, key in [
        (res.tau2, "tau2"), (res.tau2_se, "tau2_se"), (res.q, "q"), (res.q_p, "q_p"),
        (res.qm, "qm"), (res.qm_p, "qm_p"), (res.i2, "i2"), (res.h2, "h2"), (res.r2, "r2"),
    ]:  # fmt: skip
        assert ours == pytest.approx(c[key], rel=TOL, abs=TOL), key
    assert res.q_df == c["q_df"]
    assert res.to_dict()["n_dropped"] == res.n_dropped


def test_formula_form_is_the_array_form_on_the_kept_rows() -> None:
    res = rma("yi", "vi", data=DATA, mods="~ ablat + factor(alloc)")
    kept = DATA.dropna(subset=["ablat"])
    dummies = np.column_stack(
        [kept["ablat"], kept["alloc"] == "random", kept["alloc"] == "systematic"]
    )
    arrays = rma(kept["yi"].to_numpy(), kept["vi"].to_numpy(), mods=dummies)
    np.testing.assert_allclose(res.coef, arrays.coef, rtol=1e-12)
    assert res.tau2 == pytest.approx(arrays.tau2, rel=1e-12)
    assert arrays.formula is None and arrays.n_dropped == 0


def test_data_without_mods_and_arrays_as_columns() -> None:
    plain = rma(DATA["yi"].to_numpy(), DATA["vi"].to_numpy(), "DL")
    assert rma("yi", "vi", data=DATA, method="DL").estimate == plain.estimate
    assert rma(DATA["yi"].to_numpy(), "vi", data=DATA, method="DL").tau2 == plain.tau2
    assert rma("yi", "vi", data=DATA, mods="~ 1").p == 1


@pytest.mark.parametrize(
    ("kwargs", "argument", "fragment"),
    [
        ({"mods": "~ latitude"}, "mods", "latitude"),
        ({"mods": "ablat"}, "mods", "one-sided formula"),
        ({"mods": "~ ablat - 1"}, "mods", "intercept"),
        ({"mods": [1.0] * 13}, "mods", "formula"),
    ],
)
def test_bad_formula_names_the_argument(kwargs: dict, argument: str, fragment: str) -> None:
    with pytest.raises(ArgumentError) as info:
        rma("yi", "vi", data=DATA, **kwargs)
    assert info.value.argument == argument
    assert fragment in str(info.value)


def test_bad_columns_and_data() -> None:
    with pytest.raises(ArgumentError, match="column 'effect' not found") as info:
        rma("effect", "vi", data=DATA)
    assert info.value.argument == "yi"
    with pytest.raises(ArgumentError, match="data=") as info:
        rma("yi", "vi")
    assert info.value.argument == "data"
    with pytest.raises(ArgumentError, match="DataFrame"):
        rma("yi", "vi", data={"yi": [0.1]})


def test_array_path_does_not_load_pandas_or_formulaic() -> None:
    code = (
        "import sys; from locoreg.meta import rma; rma([0.1, 0.3, 0.2], [0.01, 0.02, 0.03]); "
        "print('pandas' in sys.modules, 'formulaic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
