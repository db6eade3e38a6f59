"""log_hr_from_ci: log hazard ratio and variance from a reported HR and interval."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from locoreg.meta import log_hr_from_ci


def test_badwe2015_overall_survival() -> None:
    # badwe2015 OS HR 1.04 (95% CI 0.81-1.34), verified_figures.csv, source
    # https://www.cancertherapyadvisor.com/home/cancer-topics/breast-cancer/locoregional-treatment-of-primary-tumor-in-metastatic-breast-cancer-not-beneficial/
    # R: (log(1.34) - log(0.81)) / (2 * qnorm(0.975)) = 0.128418340656
    yi, vi = log_hr_from_ci([1.04], [0.81], [1.34])
    assert yi[0] == pytest.approx(math.log(1.04), rel=1e-12)
    assert math.sqrt(vi[0]) == pytest.approx(0.128418340656, rel=1e-10)


def test_symmetric_interval_round_trips() -> None:
    rng = np.random.default_rng(7)
    log_hr = rng.normal(0, 0.5, 20)
    se = rng.uniform(0.05, 0.6, 20)
    level = rng.choice([0.9, 0.95, 0.99], 20)
    z = stats.norm.isf((1 - level) / 2)
    yi, vi = log_hr_from_ci(np.exp(log_hr), np.exp(log_hr - z * se), np.exp(log_hr + z * se),
                            ci_level=level)  # fmt: skip
    np.testing.assert_allclose(yi, log_hr, rtol=1e-12)
    np.testing.assert_allclose(np.sqrt(vi), se, rtol=1e-10)


def test_wider_level_gives_smaller_variance_for_the_same_limits() -> None:
    _, v95 = log_hr_from_ci(0.8, 0.6, 1.07, 0.95)
    _, v90 = log_hr_from_ci(0.8, 0.6, 1.07, 0.90)
    assert v90[0] > v95[0]


@pytest.mark.parametrize(
    ("hr", "lo", "hi", "level", "match"),
    [
        ([0.8, 0.0], [0.6, 0.5], [1.0, 1.2], 0.95, r"hr\[1\]"),
        ([0.8, 0.9], [0.6, -0.5], [1.0, 1.2], 0.95, r"ci_low\[1\]"),
        ([0.8, 0.9], [1.0, 0.5], [0.6, 1.2], 0.95, r"ci_low\[0\].*not below"),
        ([0.8, 1.5], [0.6, 0.5], [1.0, 1.2], 0.95, r"hr\[1\].*outside"),
        ([0.8, 0.9], [0.6, 0.5], [1.0, 1.2], [0.95, 95], r"ci_level\[1\]"),
        ([0.8, float("nan")], [0.6, 0.5], [1.0, 1.2], 0.95, r"hr\[1\]"),
        ([0.8, 0.9], [0.6], [1.0, 1.2], 0.95, "differ in length"),
    ],
)
def test_bad_values_name_the_index(
    hr: list[float], lo: list[float], hi: list[float], level: Any, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        log_hr_from_ci(hr, lo, hi, level)
