"""`locoreg meta FILE.csv` end to end, numbers against the metafor fixture (dat.bcg)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from statistics import NormalDist
from typing import Any

import pytest
from typer.testing import CliRunner

from locoreg.cli import app
from locoreg.meta.rma import CONTRACT_KEYS

FIXTURE = Path(__file__).parents[1] / "fixtures" / "metafor" / "metafor_rma.json"
DATA: dict[str, Any] = json.loads(FIXTURE.read_text())
runner = CliRunner()
Z95 = 1.959963984540054


def _ref(method: str, test: str) -> dict[str, Any]:
    case = next(
        c for c in DATA["fits"] if (c["dataset"], c["method"], c["test"]) == ("bcg", method, test)
    )
    return dict(case["result"])


def _subgroup_ref(method: str, test: str) -> dict[str, Any]:
    return next(c for c in DATA["subgroups"] if (c["method"], c["test"]) == (method, test))


@pytest.fixture
def bcg_csv(tmp_path: Path) -> Path:
    """dat.bcg as a CSV: yi/vi, the same as ratios with 95% limits, and the allocation."""
    sub = _subgroup_ref("REML", "z")
    path = tmp_path / "bcg.csv"
    with path.open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["study", "yi", "vi", "hr", "lo", "hi", "level", "alloc"])
        for i, (y, v, g) in enumerate(zip(sub["yi"], sub["vi"], sub["groups"], strict=True)):
            h = Z95 * math.sqrt(v)
            w.writerow([f"trial {i + 1}", repr(y), repr(v), repr(math.exp(y)),
                        repr(math.exp(y - h)), repr(math.exp(y + h)), "0.95", g])  # fmt: skip
    return path


def _json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["meta", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def _close(actual: float | None, expected: float | None) -> bool:
    if expected is None:
        return actual is None
    return actual is not None and math.isclose(actual, expected, rel_tol=1e-6, abs_tol=1e-10)


@pytest.mark.parametrize(("method", "test"), [("REML", "z"), ("DL", "knha"), ("FE", "z")])
def test_yi_vi_json_matches_metafor(bcg_csv: Path, method: str, test: str) -> None:
    out = _json(str(bcg_csv), "--yi", "yi", "--vi", "vi", "--method", method, "--test", test)
    ref = _ref(method, test)
    assert set(CONTRACT_KEYS) <= set(out)
    assert (out["k"], out["method"], out["test"], out["q_df"]) == (13, method, test, 12)
    for key in CONTRACT_KEYS[3:]:
        if key != "q_df":  # an integer, compared above
            assert _close(out[key], ref[key]), key
    assert "hr" not in out and out["scale"] == "as given"


def test_hr_input_pools_on_log_scale_and_reports_ratios(bcg_csv: Path) -> None:
    out = _json(str(bcg_csv), "--hr", "hr", "--ci-low", "lo", "--ci-high", "hi",
                "--ci-level", "level", "--label", "study")  # fmt: skip
    ref = _ref("REML", "z")
    for key in ("estimate", "ci_low", "ci_high", "tau2", "tau2_ci_high", "i2", "q"):
        assert _close(out[key], ref[key]), key
    assert _close(out["hr"], math.exp(ref["estimate"]))
    assert _close(out["hr_ci_low"], math.exp(ref["ci_low"]))
    assert _close(out["hr_ci_high"], math.exp(ref["ci_high"]))
    assert _close(out["hr_pi_low"], math.exp(ref["pi_low"]))
    assert out["studies"][0]["label"] == "trial 1"
    assert sum(s["weight"] for s in out["studies"]) == pytest.approx(100)


def test_by_column_gives_subgroups_and_q_between(bcg_csv: Path) -> None:
    out = _json(str(bcg_csv), "--yi", "yi", "--vi", "vi", "--by", "alloc")
    ref = _subgroup_ref("REML", "z")
    assert list(out["subgroups"]) == ref["levels"]
    for level, sub in out["subgroups"].items():
        assert _close(sub["estimate"], ref["per_level"][level]["estimate"])
        assert _close(sub["tau2"], ref["per_level"][level]["tau2"])
    assert _close(out["q_between"], ref["q_between"])
    assert _close(out["q_between_p"], ref["q_between_p"])


def test_text_output(bcg_csv: Path) -> None:
    result = runner.invoke(app, ["meta", str(bcg_csv), "--hr", "hr", "--ci-low", "lo",
                                 "--ci-high", "hi", "--by", "alloc"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Pooled HR 0.49 (95% CI 0.34 to 0.70)" in result.stdout
    assert "Test for subgroup differences: Q = 1.86 on 2 df" in result.stdout


def _write(tmp_path: Path, rows: list[list[str]]) -> Path:
    path = tmp_path / "in.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.mark.parametrize(
    ("rows", "args", "expected"),
    [
        ([["y", "v"], ["0.1", "0.01"]], ["--yi", "yi", "--vi", "v"],
         ["error: yi: column not found in in.csv (allowed: y, v)"]),
        ([["yi", "vi"], ["0.1", "0.01"], ["x", ""]], ["--yi", "yi", "--vi", "vi"],
         ["error: yi: row 2: 'x' is not a number", "error: vi: row 2: missing value"]),
        ([["yi", "vi"], ["0.1", "0.01"], ["0.2", "0.02"], ["0.3", "-1"]],
         ["--yi", "yi", "--vi", "vi"],
         ["error: vi: row 3: sampling variance -1.0 must be > 0"]),
        ([["h", "l", "u"], ["0.8", "0.6", "1.0"], ["1.5", "0.5", "1.2"]],
         ["--hr", "h", "--ci-low", "l", "--ci-high", "u"],
         ["error: h: row 2: hazard ratio 1.5 lies outside its confidence interval"]),
        ([["yi", "vi", "g"], ["0.1", "0.01", "a"], ["0.2", "0.02", ""]],
         ["--yi", "yi", "--vi", "vi", "--by", "g"], ["error: g: row 2: missing subgroup label"]),
        ([["yi", "vi"], ["0.1", "0.01"]], ["--yi", "yi"], ["error: --vi: option is required"]),
        ([["yi", "vi"], ["0.1", "0.01"]], ["--yi", "yi", "--vi", "vi", "--hr", "yi"],
         ["error: --yi/--hr: give either --yi and --vi, or --hr with limits"]),
        ([["yi", "vi"]], ["--yi", "yi", "--vi", "vi"], ["error: FILE: "]),
    ],
)  # fmt: skip
def test_bad_input_exits_2_naming_column_and_row(
    tmp_path: Path, rows: list[list[str]], args: list[str], expected: list[str]
) -> None:
    result = runner.invoke(app, ["meta", str(_write(tmp_path, rows)), *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), line
    assert "Traceback" not in result.output


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["meta", str(tmp_path / "nope.csv"), "--yi", "a", "--vi", "b"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: FILE: ") and "does not exist" in result.stderr


def test_plot_writes_svg(bcg_csv: Path, tmp_path: Path) -> None:
    svg = tmp_path / "forest.svg"
    args = ["--hr", "hr", "--ci-low", "lo", "--ci-high", "hi", "--by", "alloc"]
    result = runner.invoke(app, ["meta", str(bcg_csv), *args, "--plot", str(svg)])
    assert result.exit_code == 0, result.output
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text


def test_per_row_ci_level_column_recovers_metafor_fit(tmp_path: Path) -> None:
    """HRs reported at mixed levels (90% as in E2108/JCOG1017, 95%, 99%): limits built
    from dat.bcg yi/vi at each row's level must give back metafor's REML fit exactly."""
    ref_case = next(c for c in DATA["fits"] if (c["dataset"], c["method"]) == ("bcg", "REML"))
    levels = [0.90, 0.95, 0.99]
    rows = [["hr", "lo", "hi", "level"]]
    for i, (y, v) in enumerate(zip(ref_case["yi"], ref_case["vi"], strict=True)):
        lv = levels[i % 3]
        h = NormalDist().inv_cdf((1 + lv) / 2) * math.sqrt(v)
        rows.append([repr(math.exp(y)), repr(math.exp(y - h)), repr(math.exp(y + h)), str(lv)])
    path = _write(tmp_path, rows)
    out = _json(str(path), "--hr", "hr", "--ci-low", "lo", "--ci-high", "hi", "--ci-level", "level")
    ref = ref_case["result"]
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2", "tau2_ci_low", "tau2_ci_high",
                "i2", "q", "pi_low", "pi_high"):  # fmt: skip
        assert _close(out[key], ref[key]), key
    # the same limits read as if all were 95% intervals give a different (wrong) answer
    wrong = _json(str(path), "--hr", "hr", "--ci-low", "lo", "--ci-high", "hi")
    assert not _close(wrong["se"], ref["se"])


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--method", "XX"], "--method"),
        (["--test", "t"], "--test"),
        (["--plot", "forest.txt"], "--plot"),
        (["--ci-level", "95"], "--ci-level"),
        (["--level", "1.5"], "--level"),
    ],
)
def test_bad_option_exits_2_naming_the_option(
    bcg_csv: Path, tmp_path: Path, args: list[str], option: str
) -> None:
    result = runner.invoke(app, ["meta", str(bcg_csv), "--yi", "yi", "--vi", "vi", *args])
    assert result.exit_code == 2, result.output
    assert option in result.output
    assert "Traceback" not in result.output


def test_unwritable_plot_path_exits_2(bcg_csv: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "forest.svg"
    result = runner.invoke(app, ["meta", str(bcg_csv), "--yi", "yi", "--vi", "vi",
                                 "--plot", str(target)])  # fmt: skip
    assert result.exit_code == 2
    assert "error: --plot: cannot write" in result.stderr


def test_estimator_failure_exits_2_naming_method(tmp_path: Path) -> None:
    # Paule-Mandel has no root in its search range here (metafor errors too)
    rows = [["yi", "vi"], ["0", "0.01"], ["0", "0.01"], ["0", "0.01"], ["1000", "0.01"],
            ["-1000", "0.01"]]  # fmt: skip
    result = runner.invoke(app, ["meta", str(_write(tmp_path, rows)), "--yi", "yi", "--vi", "vi",
                                 "--method", "PM"])  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --method: PM estimator:")
    assert "Traceback" not in result.output
