"""The hashing count of distinct times (large inputs) equals the sorting path (small ones).

``_util.tabulate`` counts rows per distinct time in one pass through a hash table when the
input is large and has few distinct times; otherwise the estimators sort. Forcing the
kernel on small inputs (and forcing its fall-back by a tiny capacity) must not change any
estimate.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from locoreg.survival import _util, aalen_johansen, kaplan_meier, logrank


def _estimates(
    t: np.ndarray,
    e: np.ndarray,
    g: np.ndarray,
    s: np.ndarray,
    w: np.ndarray | None,
    entry: np.ndarray | None,
    c: np.ndarray,
) -> tuple[object, ...]:
    km = kaplan_meier(t, e, weights=w, entry=entry)
    lr = logrank(t, e, g, strata=s, rho=0.5, weights=w)
    aj = aalen_johansen(t, c, weights=w)
    return (
        km.times,
        km.survival,
        km.std_err,
        km.at_risk,
        lr.statistic,
        lr.observed,
        lr.expected,
        lr.groups,
        aj.cumulative_incidence,
        aj.std_err,
    )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    weighted=st.booleans(),
    truncated=st.booleans(),
    capacity=st.sampled_from([1 << 16, 3]),
)
def test_hashing_and_sorting_paths_agree(
    seed: int, weighted: bool, truncated: bool, capacity: int
) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 300))
    t = rng.integers(0, 12, n).astype(float)
    t[rng.random(n) < 0.1] = -0.0  # equal to 0.0: one distinct time
    e = (rng.random(n) < 0.6).astype(int)
    e[0] = 1
    g = rng.integers(0, 3, n)
    g[:3] = [0, 1, 2]
    s = rng.integers(0, 2, n)
    c = np.where(e == 1, rng.integers(1, 3, n), 0)
    w = rng.choice([0.5, 1.0, 2.0], n) if weighted else None
    entry = np.where(rng.random(n) < 0.5, t - 1.5, -10.0) if truncated else None
    sorted_path = _estimates(t, e, g, s, w, entry, c)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_util, "_KERNEL_ROWS", 0)
        mp.setattr(_util, "_MAX_DISTINCT", capacity)
        hashed_path = _estimates(t, e, g, s, w, entry, c)
    for a, b in zip(sorted_path, hashed_path, strict=True):
        if isinstance(a, tuple):
            assert a == b
        else:
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)


def test_group_levels_keep_their_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_util, "_KERNEL_ROWS", 0)
    t = np.arange(1.0, 9.0)
    e = np.ones(8)
    assert logrank(t, e, np.array([3, 1, 3, 1, 2, 2, 3, 1])).groups == (1, 2, 3)
    assert logrank(t, e, np.array([True, False] * 4)).groups == (False, True)
    assert logrank(t, e, np.array([0.5, 2.5] * 4)).groups == (0.5, 2.5)
    big = np.array([2**60, 2**60 + 1] * 4)  # not exact as floats: the sorting path
    assert logrank(t, e, big).groups == (2**60, 2**60 + 1)
