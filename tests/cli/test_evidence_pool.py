"""`locoreg evidence pool` and `show`: the one-study-per-data-source sensitivity analysis.

The numbers are checked against ``pool_by_design`` (itself checked against ``rma`` on the
kept records in tests/evidence/test_pool.py); here the CLI must print and serialise them.
"""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from locoreg.cli import app
from locoreg.evidence.pool import pool_by_design

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["evidence", *args], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def packaged():
    return pool_by_design(outcome="overall_survival")


def test_json_has_the_sensitivity_next_to_the_existing_keys(packaged) -> None:
    result = _run("pool", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # the keys that were there before are all still there
    assert {"outcome", "by", "method", "test", "level", "measure", "snapshot", "subgroups",
            "q_between", "q_between_df", "q_between_p", "ratio_of_hrs", "explanation",
            "caveats", "not_pooled", "published_meta_analyses"} <= set(data)  # fmt: skip
    sens = data["source_sensitivity"]
    assert sens["group"] == "observational" and "most patients" in sens["rule"]
    assert {"k", "estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q", "q_p", "pi_low",
            "pi_high", "hr", "hr_ci_low", "hr_ci_high", "hr_pi_low", "hr_pi_high", "weights",
            "kept", "dropped"} <= set(sens)  # fmt: skip
    assert [s["id"] for s in sens["kept"]] == ["ruiterkamp2009", "neuman2010", "warschkow2016"]
    assert {"id", "citation", "data_source", "n_patients", "year", "weight"} <= set(sens["kept"][0])
    assert [(d["id"], d["data_source"], d["kept_instead"]) for d in sens["dropped"]] == [
        ("gnerlich2007", "seer", "warschkow2016"),
    ]
    assert sens["k"] == 3 and math.isclose(sens["hr"], packaged.source_sensitivity.hr)
    assert math.isclose(sens["hr"], math.exp(sens["estimate"]))
    # every pooled study says where its patients came from (a new key)
    studies = data["subgroups"]["observational"]["studies"]
    assert {s["id"]: s["data_source"] for s in studies}["gnerlich2007"] == "seer"
    assert all("n_patients" in s for s in studies)
    assert any("keeps warschkow2016" in c for c in data["caveats"])


def test_text_shows_the_sensitivity_column_and_what_it_drops(packaged) -> None:
    result = _run("pool")
    assert result.exit_code == 0, result.output
    text = result.stdout
    sens = packaged.source_sensitivity
    lo, hi = sens.hr_ci
    header = next(line for line in text.splitlines() if "Randomised trials" in line)
    assert "Observational studies" in header and "Observational, 1 per data source" in header
    pooled = next(line for line in text.splitlines() if line.startswith("pooled HR"))
    assert pooled.rstrip().endswith(f"{sens.hr:.2f} (95% CI {lo:.2f}–{hi:.2f})")
    assert (
        "SEER: kept warschkow2016 (16,247 patients); dropped gnerlich2007 (9,734 patients)" in text
    )
    assert "pooled (k = 3): ruiterkamp2009, neuman2010, warschkow2016" in text
    assert "data SEER" in text and "data Eindhoven Cancer Registry" in text
    assert "gnerlich2007, warschkow2016 all analyse SEER data" in text


def test_text_without_observational_estimates_has_no_sensitivity_column() -> None:
    result = _run("pool", "--outcome", "locoregional_progression")
    assert result.exit_code == 0, result.output
    assert "1 per data source" not in result.stdout


def test_show_prints_the_data_source() -> None:
    result = _run("show", "warschkow2016")
    assert result.exit_code == 0, result.output
    assert "data source: SEER (seer)" in result.stdout
    data = json.loads(_run("show", "khan2002", "--format", "json").stdout)
    assert data["data_source"] == "ncdb"
    assert "data_source" not in json.loads(_run("show", "badwe2015", "--format", "json").stdout)
