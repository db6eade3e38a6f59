"""Shared fixtures: small simulated registries written to tmp_path (xdist-safe)."""

from __future__ import annotations

from pathlib import Path

import pytest

from locoreg.cohort.simulate import simulate_registry, write_registry


@pytest.fixture()
def small_csv(tmp_path: Path) -> Path:
    """A valid 40-patient registry CSV."""
    return write_registry(simulate_registry(40, seed=7), tmp_path / "small.csv")
