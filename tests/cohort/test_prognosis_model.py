"""`locoreg model fit` and `assess --model`: a Cox prognosis model from the user's registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from locoreg.cli import app
from locoreg.cohort.load import load_registry
from locoreg.cohort.prognosis_model import brier, fit_model, patient_covariates, predict
from locoreg.cohort.select import extract
from locoreg.cohort.simulate import simulate_registry, write_registry
from locoreg.patient import load_patient

EXAMPLE = Path(__file__).parents[2] / "examples" / "patients" / "discuss_bone_oligometastatic.json"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, dict[str, object], Path]:
    tmp = tmp_path_factory.mktemp("model")
    path = write_registry(simulate_registry(2500, seed=31), tmp / "reg.parquet")
    table = extract(load_registry(path))
    model = fit_model(table, {"file": "reg.parquet"}, bootstrap=10, seed=1)
    return table, model, path


def test_prediction_reproduces_survfit(fitted: tuple[object, dict[str, object], Path]) -> None:
    """The stored model predicts exactly what the fitted Cox model predicts (survfit.coxph)."""
    from locoreg.survival.cox import cox

    table, model, _ = fitted
    patient = load_patient(EXAMPLE)
    got = predict(model, patient)
    X, names = table.design(model["covariates"])  # type: ignore[attr-defined]
    fit = cox(table.time, table.event, X, ties="efron", names=list(names))  # type: ignore[attr-defined]
    x = patient_covariates(patient)
    want = fit.predict_survival(np.array([[x[k] for k in names]]), [12.0, 24.0, 36.0])
    for j, h in enumerate(("12", "24", "36")):
        assert got["survival"][h] == pytest.approx(want.survival[0, j], rel=1e-9)
        assert got["survival_interval"][h][0] == pytest.approx(want.ci_low[0, j], rel=1e-7)
        assert got["survival_interval"][h][1] == pytest.approx(want.ci_high[0, j], rel=1e-7)
    assert got["survival"]["12"] > got["survival"]["24"] > got["survival"]["36"]


def test_validation_is_plausible(fitted: tuple[object, dict[str, object], Path]) -> None:
    _, model, _ = fitted
    v = model["validation"]
    assert isinstance(v, dict)
    assert 0.6 < v["c_index"] <= v["c_index_apparent"] + 0.01 < 0.9
    assert v["bootstrap_replicates"] == 10
    for h in ("12", "24", "36"):
        assert 0.0 < v["brier"][h] < 0.25
        groups = v["calibration"][h]
        assert len(groups) == 5
        # In-sample calibration of a correct model: predicted close to Kaplan–Meier by fifth.
        assert max(abs(g["predicted"] - g["observed"]) for g in groups) < 0.06


def test_brier_without_censoring_is_the_mean_squared_error() -> None:
    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    event = np.ones(5)
    s = np.array([0.1, 0.4, 0.5, 0.8, 0.9])
    alive = (time > 2.5).astype(float)
    assert brier(time, event, s, 2.5) == pytest.approx(np.mean((alive - s) ** 2), rel=1e-12)


def test_fit_and_assess_cli(fitted: tuple[object, dict[str, object], Path], tmp_path: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    _, _, registry = fitted
    model = tmp_path / "model.json"
    res = runner.invoke(app, ["model", "fit", str(registry), "-o", str(model), "--bootstrap", "5"])
    assert res.exit_code == 0, res.output
    stored = json.loads(model.read_text())
    assert stored["data"]["file"] == "reg.parquet" and len(stored["data"]["sha256"]) == 64

    res = runner.invoke(app, ["assess", str(EXAMPLE), "--model", str(model), "--format", "json"])
    assert res.exit_code == 0, res.output
    pm = json.loads(res.stdout)["prognosis"]["model"]
    assert set(pm) >= {"survival", "median_os_months", "c_index", "calibration", "source"}
    assert set(pm["survival"]) == {"12", "24", "36"}
    assert "reg.parquet" in pm["source"]

    res = runner.invoke(app, ["assess", str(EXAMPLE), "--model", str(model)])
    assert res.exit_code == 0 and "Prognosis from your registry's model" in res.stdout

    old = json.loads(EXAMPLE.read_text())
    old["age"] = 104  # the simulated registry has no one older than 95
    outside = tmp_path / "old.json"
    outside.write_text(json.dumps(old))
    res = runner.invoke(app, ["assess", str(outside), "--model", str(model)])
    assert res.exit_code == 2 and "age: 104 is outside the ages of the model's data" in res.output

    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    res = runner.invoke(app, ["assess", str(EXAMPLE), "--model", str(bad)])
    assert res.exit_code == 2 and "not a locoreg prognosis model" in res.output
