"""The ladder's Cox fits against R survival on the rows built from examples/registry/sample.csv.

Reference values: tests/fixtures/cohort/cohort_reference.json, made by
make_cohort_fixtures.R from the rows that export_rows.py wrote (both scripts in that folder).
Agreement 1e-6 relative on the log hazard ratio and on the (robust) standard error.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from locoreg.cohort._fit import Z95
from locoreg.cohort.emulation import emulated_trial
from locoreg.cohort.ladder import (
    Estimate,
    adjusted,
    covariate_names,
    iptw,
    matched,
    naive,
    propensity,
    time_dependent,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cohort"
REFERENCE = json.loads((FIXTURES / "cohort_reference.json").read_text())


def _export_module():
    spec = importlib.util.spec_from_file_location("export_rows", FIXTURES / "export_rows.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXPORT = _export_module()


@pytest.fixture(scope="module")
def table():
    return EXPORT.sample_table()


def test_rows_are_those_r_refitted(table) -> None:
    """The committed rows are what the current code builds (else: re-run both scripts)."""
    for name, frame in EXPORT.model_rows(table).items():
        stored = pd.read_csv(FIXTURES / f"rows_{name}.csv")
        assert list(stored.columns) == list(frame.columns), name
        np.testing.assert_allclose(
            frame.to_numpy(dtype=float), stored.to_numpy(dtype=float), rtol=1e-12, err_msg=name
        )


def _log_and_se(e: Estimate) -> tuple[float, float]:
    # The CI is Wald on the log scale: log(ci_high) = log(hr) + z * se.
    return float(np.log(e.hr)), float((np.log(e.ci_high) - np.log(e.ci_low)) / (2 * Z95))


def test_every_cox_rung_matches_r_survival(table) -> None:
    names = covariate_names(EXPORT.COVARIATES)
    model = propensity(table, names)
    fits = {
        "naive": naive(table),
        "adjusted": adjusted(table, names),
        "iptw": iptw(table, model, EXPORT.TRIM),
        "matched": matched(table, model, EXPORT.CALIPER),
        "time_dependent": time_dependent(table, names),
        "emulated_trial": emulated_trial(table, names, grace=EXPORT.GRACE),
    }
    for key, est in fits.items():
        ref = REFERENCE[key]
        log_hr, se = _log_and_se(est)
        assert log_hr == pytest.approx(ref["coef"], rel=1e-6), key
        # Robust rungs report the sandwich SE, the others the model-based SE.
        assert se == pytest.approx(ref.get("robust_se", ref["se"]), rel=1e-6), key
