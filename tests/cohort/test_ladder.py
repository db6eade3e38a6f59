"""The ladder on simulated registries with a known truth, and its building blocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from locoreg.cohort.emulation import clone_rows, emulated_trial
from locoreg.cohort.ladder import (
    RUNGS,
    LadderSettings,
    naive,
    run_ladder,
    time_dependent,
    time_dependent_rows,
)
from locoreg.cohort.load import load_registry
from locoreg.cohort.select import AnalyticTable, Selection, extract
from locoreg.cohort.simulate import simulate_registry, write_registry

NAMES = ("age10", "ecog", "triple_negative", "mets_liver")


def _table(tmp_path: Path, n: int, true_hr: float, seed: int) -> AnalyticTable:
    path = write_registry(simulate_registry(n, true_hr=true_hr, seed=seed), tmp_path / "r.parquet")
    return extract(load_registry(path))


def _hand_table(time, event, surgery_time) -> AnalyticTable:
    """A tiny table with one covariate, for exact row-construction checks."""
    time = np.asarray(time, dtype=float)
    st = np.asarray(surgery_time, dtype=float)
    n = time.size
    cov = {"age10": np.linspace(-1, 1, n), "ecog": np.zeros(n)}
    return AnalyticTable(
        time=time,
        event=np.asarray(event, dtype=float),
        surgery=(~np.isnan(st)).astype(float),
        surgery_time=st,
        age=60 + 10 * cov["age10"],
        source_row=np.arange(1, n + 1),
        covariates=cov,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_null_effect_naive_biased_timing_aware_rungs_not(tmp_path: Path, seed: int) -> None:
    """True HR 1: naive far below 1; time-dependent and emulated trial CIs contain 1."""
    table = _table(tmp_path, 5000, 1.0, seed)
    names = LadderSettings().covariates
    from locoreg.cohort.ladder import covariate_names

    full = covariate_names(names)
    assert naive(table).ci_high < 0.6
    td = time_dependent(table, full)
    assert td.ci_low < 1.0 < td.ci_high
    emu = emulated_trial(table, full, grace=6.0)
    assert emu.ci_low < 1.0 < emu.ci_high
    assert 0.85 < td.hr < 1.15 and 0.85 < emu.hr < 1.15


@pytest.mark.parametrize("seed", [3, 4])
def test_true_benefit_recovered_by_time_dependent_rung(tmp_path: Path, seed: int) -> None:
    """True HR 0.7 from surgery on: the time-dependent CI covers 0.7 (SE of log HR ≈ 0.04)."""
    table = _table(tmp_path, 5000, 0.7, seed)
    from locoreg.cohort.ladder import covariate_names

    td = time_dependent(table, covariate_names("full"))
    assert td.ci_low < 0.7 < td.ci_high
    # The naive rung overstates the benefit; the emulated strategy dilutes it
    # (surgery acts only from the day it happens).
    assert naive(table).hr < 0.45
    emu = emulated_trial(table, covariate_names("full"), grace=6.0)
    assert td.hr < emu.hr < 1.0


def test_full_ladder_contract_and_order(tmp_path: Path) -> None:
    table = _table(tmp_path, 3000, 1.0, 5)
    res = run_ladder(table, LadderSettings(landmark_sensitivity=(6.0, 24.0)))
    assert tuple(res.estimates) == RUNGS
    for key, e in res.estimates.items():
        assert 0 < e.ci_low < e.hr < e.ci_high, key
    est = res.estimates
    # Immortal time + confounding: the baseline-surgery rungs are biased towards benefit.
    for key in ("naive", "adjusted", "iptw", "matched"):
        assert est[key].ci_high < 0.85, key
    assert est["naive"].hr < est["adjusted"].hr
    assert est["matched"].n == 2 * est["matched"].extras["pairs"]
    assert est["landmark"].n == int((table.time > 12).sum())
    assert sorted(res.landmark_sensitivity) == [6.0, 12.0, 24.0]
    # Balance: matching and weighting shrink the largest imbalance.
    worst = max(res.balance, key=lambda b: abs(b.smd_before))
    assert abs(worst.smd_before) > 0.2
    assert abs(worst.smd_matched) < 0.1 and abs(worst.smd_weighted) < 0.1
    # E-value of the adjusted HR (common outcome): VanderWeele & Ding, by hand.
    hr = est["adjusted"].hr
    rr = (1 - 0.5 ** np.sqrt(hr)) / (1 - 0.5 ** np.sqrt(1 / hr))
    assert res.e_value.point == pytest.approx(1 / rr + np.sqrt(1 / rr * (1 / rr - 1)), rel=1e-6)
    assert 1.0 < res.e_value.ci < res.e_value.point


def test_selection_reaches_the_ladder(tmp_path: Path) -> None:
    path = write_registry(simulate_registry(1500, seed=9), tmp_path / "r.csv")
    reg = load_registry(path)
    table = extract(reg, Selection(age_max=70, exclude_unknown_receptors=True))
    assert table.age.max() <= 70
    assert table.covariates["subtype_unknown"].sum() == 0
    assert table.n < 1500


def test_time_dependent_rows_by_hand() -> None:
    # patient 0: no surgery, dies at 10; 1: operated at 3, dies at 8;
    # 2: operated at 5 = last contact (no exposed time); 3: operated at 0, censored at 4.
    table = _hand_table([10.0, 8.0, 5.0, 4.0], [1, 1, 0, 0], [np.nan, 3.0, 5.0, 0.0])
    start, stop, event, exposed, patient = time_dependent_rows(table)
    got = sorted(
        zip(
            patient.tolist(),
            start.tolist(),
            stop.tolist(),
            event.tolist(),
            exposed.tolist(),
            strict=True,
        )
    )
    assert got == [
        (0, 0.0, 10.0, 1.0, 0.0),
        (1, 0.0, 3.0, 0.0, 0.0),
        (1, 3.0, 8.0, 1.0, 1.0),
        (2, 0.0, 5.0, 0.0, 0.0),
        (3, 0.0, 4.0, 0.0, 1.0),
    ]


def test_clone_censor_rows_by_hand() -> None:
    # 0: no surgery, dies at 2 (counts in both arms); 1: operated at 3, dies at 20;
    # 2: operated at 8 (after the grace period), censored at 30; 3: no surgery, censored at 15.
    table = _hand_table([2.0, 20.0, 30.0, 15.0], [1, 1, 0, 0], [np.nan, 3.0, 8.0, np.nan])
    rows = clone_rows(table, ("age10",), grace=6.0)

    def arm_rows(patient: int, arm: int) -> list[tuple[float, float, float]]:
        sel = (rows["patient"] == patient) & (rows["arm"] == arm)
        return sorted(
            zip(
                rows["start"][sel].tolist(),
                rows["stop"][sel].tolist(),
                rows["event"][sel].tolist(),
                strict=True,
            )
        )

    # Death at 2 without surgery: an event in both arms.
    assert arm_rows(0, 1) == [(0.0, 2.0, 1.0)]
    assert arm_rows(0, 0) == [(0.0, 1.0, 0.0), (1.0, 2.0, 1.0)]
    # Operated at 3: "no surgery" clone censored at 3; "surgery" clone followed to death.
    assert arm_rows(1, 0) == [(0.0, 1.0, 0.0), (1.0, 2.0, 0.0), (2.0, 3.0, 0.0)]
    assert arm_rows(1, 1) == [(0.0, 6.0, 0.0), (6.0, 20.0, 1.0)]
    # Operated after the grace period: "surgery" clone censored at 6, "no surgery" clone kept.
    assert arm_rows(2, 1) == [(0.0, 6.0, 0.0)]
    assert arm_rows(2, 0)[-1] == (6.0, 30.0, 0.0)
    # Weights: 1 in the surgery arm during the grace period, >= 1 everywhere.
    assert np.all(rows["weight"][(rows["arm"] == 1) & (rows["stop"] <= 6.0)] == 1.0)
    assert np.all(rows["weight"] >= 1.0)
