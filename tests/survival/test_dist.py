"""The engine's distribution functions (``survival/_dist.py``) equal ``scipy.stats`` bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from locoreg.survival import _dist

_X = np.concatenate(
    [
        np.random.default_rng(7).normal(scale=4.0, size=2000),
        [0.0, -0.0, 1e-300, -1e-300, 40.0, -40.0, 1e300, np.inf, -np.inf, np.nan],
    ]
)
_Q = np.concatenate(
    [np.random.default_rng(8).uniform(size=2000), [0.0, 1.0, 0.5, 1e-300, -0.1, 1.1, np.nan]]
)


def _same(a: object, b: object) -> None:
    assert type(a) is type(b)
    np.testing.assert_array_equal(a, b, strict=True)


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_normal_functions_are_those_of_scipy_stats() -> None:
    _same(_dist.norm_sf(_X), stats.norm.sf(_X))
    _same(_dist.norm_logpdf(_X), stats.norm.logpdf(_X))
    _same(_dist.norm_ppf(_Q), stats.norm.ppf(_Q))


@pytest.mark.parametrize("value", [1.96, -0.3, 0.975, 0.0])
def test_scalars_give_numpy_scalars(value: float) -> None:
    _same(_dist.norm_sf(value), stats.norm.sf(value))
    _same(_dist.norm_ppf(value), stats.norm.ppf(value))
    _same(_dist.norm_logpdf(value), stats.norm.logpdf(value))
    _same(_dist.chi2_sf(value, 1), stats.chi2.sf(value, 1))


def test_chi_square_survival_is_that_of_scipy_stats() -> None:
    x = np.abs(_X[np.isfinite(_X)]) * 3.0
    x = np.concatenate([x, [0.0, -1.0, np.inf, np.nan, 1e-12]])
    for df in (1, 2, 3, 7, 0.5, 30.0):
        _same(_dist.chi2_sf(x, df), stats.chi2.sf(x, df))
    df = np.array([1, 2, 3, 0, -1, 4])
    _same(_dist.chi2_sf(3.5, df), stats.chi2.sf(3.5, df))
    _same(_dist.chi2_sf(np.array([1.0, 2.0, 0.0, 5.0, 1.0, np.nan]), df),
          stats.chi2.sf(np.array([1.0, 2.0, 0.0, 5.0, 1.0, np.nan]), df))  # fmt: skip
