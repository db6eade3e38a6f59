"""`locoreg meta` with moderators and the per-study diagnostics, against metafor 3.8
(fixtures of tests/fixtures/metafor: make_metafor_sensitivity.R, make_metafor_print.R)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from locoreg.cli import app

HERE = Path(__file__).parents[1] / "fixtures" / "metafor"
SENS: dict[str, Any] = json.loads((HERE / "metafor_sensitivity.json").read_text())
PRINT: dict[str, Any] = json.loads((HERE / "metafor_print.json").read_text())
runner = CliRunner()


def _case() -> dict[str, Any]:
    return next(
        c for c in SENS["cases"] if (c["dataset"], c["method"], c["test"]) == ("bcg", "REML", "z")
    )


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(header)
        w.writerows([[repr(x) if isinstance(x, float) else x for x in row] for row in rows])
    return path


def _close(a: float | None, b: float | None) -> bool:
    if b is None:
        return a is None
    return a is not None and math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


@pytest.fixture
def bcg(tmp_path: Path) -> Path:
    case = _case()
    rows = [
        [f"s{i + 1}", y, v] for i, (y, v) in enumerate(zip(case["yi"], case["vi"], strict=True))
    ]
    return _write(tmp_path / "bcg.csv", ["study", "yi", "vi"], rows)


def test_diagnostics_match_metafor(bcg: Path, tmp_path: Path) -> None:
    funnel = tmp_path / "funnel.svg"
    args = ["meta", str(bcg), "--yi", "yi", "--vi", "vi", "--label", "study", "--leave-one-out",
            "--influence", "--egger", "--begg", "--trim-fill", "--funnel", str(funnel),
            "--format", "json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    ref = _case()
    for i, row in enumerate(out["leave_one_out"]):
        assert row["omitted"] == f"s{i + 1}"
        for key in ("estimate", "se", "ci_low", "ci_high", "p_value", "tau2", "i2", "q"):
            assert _close(row[key], ref["leave1out"][key][i]), (key, i)
    for i, row in enumerate(out["influence"]):
        for key in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight"):
            assert _close(row[key], ref["influence"][key][i]), (key, i)
        assert row["influential"] == ref["influence"]["is_influential"][i]
    for key in ("statistic", "p_value", "limit_estimate", "limit_ci_low", "limit_ci_high"):
        assert _close(out["egger"][key], ref["regtest_rma"][key]), key
    begg = next(r for r in SENS["ranktest"] if r["dataset"] == "bcg")
    assert _close(out["begg"]["tau"], begg["tau"]) and _close(
        out["begg"]["p_value"], begg["p_value"]
    )
    tf = next(t for t in ref["trimfill"] if (t["estimator"], t["side_requested"]) == ("L0", "auto"))
    assert (out["trim_fill"]["k0"], out["trim_fill"]["side"]) == (tf["k0"], tf["side"])
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2"):
        assert _close(out["trim_fill"]["fit"][key], tf["fit"][key]), key
    assert funnel.read_text().lstrip().startswith("<?xml")
    # the pooled contract keys are unchanged by the extras
    assert {"estimate", "tau2", "i2", "q", "studies"} <= set(out)


def test_text_output_names_each_diagnostic(bcg: Path) -> None:
    flags = ["--egger", "--begg", "--trim-fill", "--influence", "--leave-one-out"]
    result = runner.invoke(app, ["meta", str(bcg), "--yi", "yi", "--vi", "vi", *flags])
    assert result.exit_code == 0, result.output
    words = [
        "Leave-one-out",
        "Influence diagnostics",
        "Egger's regression test",
        "Begg's rank correlation test",
        "Trim and fill (L0): 1 filled on the right",
    ]
    for line in words:
        assert line in result.stdout


def test_moderators_give_metafors_meta_regression(tmp_path: Path) -> None:
    case = next(c for c in PRINT["cases"] if c["name"] == "bcg ablat+year REML knha")
    rows = [[y, v, *m] for y, v, m in zip(case["yi"], case["vi"], case["mods"], strict=True)]
    path = _write(tmp_path / "bcg.csv", ["yi", "vi", "ablat", "year"], rows)
    base = ["meta", str(path), "--yi", "yi", "--vi", "vi", "--mods", "~ ablat + year",
            "--test", "knha"]  # fmt: skip
    text = runner.invoke(app, base)
    assert text.exit_code == 0, text.output
    assert case["print"].strip("\n") in text.stdout
    out = json.loads(runner.invoke(app, [*base, "--format", "json"]).stdout)
    assert [c["name"] for c in out["moderators"]["coefficients"]] == ["intercept", "ablat", "year"]
    assert out["moderators"]["statistic_name"] == "F"


def test_moderators_take_factors_as_rma_formula_form(tmp_path: Path) -> None:
    data = json.loads((HERE / "metafor_formula.json").read_text())
    d = data["data"]
    case = next(c for c in data["cases"] if c["name"] == "ablat_alloc_reml")
    kept = [i for i, a in enumerate(d["ablat"]) if a is not None]  # the CLI refuses NA rows
    rows = [[d["yi"][i], d["vi"][i], d["ablat"][i], d["alloc"][i]] for i in kept]
    path = _write(tmp_path / "bcg.csv", ["yi", "vi", "ablat", "alloc"], rows)
    args = ["meta", str(path), "--yi", "yi", "--vi", "vi", "--mods", "~ ablat + factor(alloc)",
            "--format", "json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    coefs = json.loads(result.stdout)["moderators"]["coefficients"]
    assert [c["name"] for c in coefs][1:] == case["coef_names"][1:]
    for c, b in zip(coefs, case["coef"], strict=True):
        assert c["estimate"] == pytest.approx(b, rel=1e-6, abs=1e-9)
    missing = _write(
        tmp_path / "na.csv", ["yi", "vi", "ablat"], [[0.1, 0.1, 1], [0.2, 0.1, ""], [0.3, 0.2, 3]]
    )
    result = runner.invoke(app, ["meta", str(missing), "--yi", "yi", "--vi", "vi", "--mods",
                                 "~ ablat"])  # fmt: skip
    assert result.exit_code == 2
    assert "ablat: row 2: missing value" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--mods", "year"], "--mods: 'year' is not a formula"),
        (["--mods", "~ dose"], "--mods: column 'dose' not found"),
        (["--mods", "~ log(dose)"], "--mods: column 'dose' not found"),
        (["--mods", "~ yi +"], "--mods: cannot read the formula 'yi +'"),
        (["--mods", "~ yi", "--egger"], "--mods: a meta-regression goes without"),
        (["--funnel", "f.txt"], "--funnel: 'f.txt' has no known image suffix"),
    ],
)
def test_bad_extras_exit_2(bcg: Path, args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["meta", str(bcg), "--yi", "yi", "--vi", "vi", *args])
    assert result.exit_code == 2, result.output
    assert needle in result.stderr and "Traceback" not in result.output
