"""Log-rank and Fleming–Harrington G(rho, gamma) tests, as R ``survival::survdiff``.

At each distinct event time t of a stratum, with n_g(t) at risk and d_g(t) events in
group g, n = sum n_g, d = sum d_g, and the pooled left-continuous Kaplan–Meier S(t-)
of the stratum, the weight is (Harrington & Fleming 1982; Fleming & Harrington 1991)::

    w(t) = S(t-)^rho * (1 - S(t-))^gamma

and, summed over event times and strata::

    O_g = sum w d_g            E_g = sum w d n_g / n
    V_gh = sum w^2 d (n - d) / (n - 1) * n_g / n * (1{g = h} - n_h / n)

The statistic is (O - E)' V^{-1} (O - E) after dropping the first group (and groups
with E_g = 0), chi-square with (number of groups with E_g > 0) - 1 degrees of freedom.
``rho`` alone reproduces ``survdiff(rho=)`` (observed/expected are weighted there too);
``gamma`` extends it to the full G(rho, gamma) family (as the ``FHtest`` package).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import chi2

from locoreg.survival._util import FloatArray, as_float_vector, check_same_length, count_at

PAdjust = Literal["holm", "BH", "bonferroni", "none"]


@dataclass(frozen=True)
class LogRankResult:
    """Test result; ``observed``/``expected`` are per group (weighted when rho/gamma != 0)."""

    statistic: float
    df: int
    p_value: float
    observed: FloatArray
    expected: FloatArray
    variance: FloatArray
    groups: tuple[Any, ...]
    rho: float
    gamma: float


@dataclass(frozen=True)
class PairwiseLogRank:
    """All pairwise comparisons with multiplicity-adjusted p-values."""

    pairs: tuple[tuple[Any, Any], ...]
    statistic: FloatArray
    p_value: FloatArray
    p_adjusted: FloatArray
    method: str


def _codes(x: ArrayLike, name: str, n: int) -> tuple[NDArray[np.int64], tuple[Any, ...]]:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    check_same_length(n, **{name: arr})
    levels, codes = np.unique(arr, return_inverse=True)
    return codes.astype(np.int64), tuple(v.item() if hasattr(v, "item") else v for v in levels)


def _stratum_sums(
    time: FloatArray,
    event: NDArray[np.bool_],
    group: NDArray[np.int64],
    n_groups: int,
    rho: float,
    gamma: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """O, E and V for one stratum (vectorised over event times)."""
    times = np.unique(time)
    # per-group counts by sorting each group's times (no argsort of the whole stratum)
    leaving = np.column_stack([count_at(times, time[group == k]) for k in range(n_groups)])
    deaths_g = np.column_stack(
        [count_at(times, time[(group == k) & event]) for k in range(n_groups)]
    )
    risk_g = np.cumsum(leaving[::-1], axis=0)[::-1]
    d = deaths_g.sum(axis=1)
    n = risk_g.sum(axis=1)
    s_after = np.cumprod(1.0 - d / n)
    s_before = np.concatenate([[1.0], s_after[:-1]])
    w = s_before**rho * (1.0 - s_before) ** gamma
    keep = d > 0
    w, d, n, risk_g, deaths_g = w[keep], d[keep], n[keep], risk_g[keep], deaths_g[keep]
    observed = (w[:, None] * deaths_g).sum(axis=0)
    frac = risk_g / n[:, None]
    expected = (w * d)[:, None] * frac
    with np.errstate(divide="ignore", invalid="ignore"):
        kt = np.where(n > 1, w**2 * d * (n - d) / (n - 1), 0.0)
    variance = np.einsum("t,tg->g", kt, frac)
    cov = np.einsum("t,tg,th->gh", kt, frac, frac)
    return observed, expected.sum(axis=0), np.diag(variance) - cov


def logrank(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    strata: ArrayLike | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
) -> LogRankResult:
    """K-sample (stratified) log-rank / Fleming–Harrington test, as R ``survdiff``."""
    t = as_float_vector(time, "time")
    n = t.shape[0]
    ev = as_float_vector(np.asarray(event, dtype=float), "event")
    check_same_length(n, event=ev)
    if not np.all((ev == 0) | (ev == 1)):
        raise ValueError("event must be 0 (censored) or 1 (event)")
    if rho < 0 or gamma < 0 or not (np.isfinite(rho) and np.isfinite(gamma)):
        raise ValueError("rho and gamma must be finite and non-negative")
    g_codes, levels = _codes(group, "group", n)
    if len(levels) < 2:
        raise ValueError("group must have at least two levels")
    s_codes = np.zeros(n, dtype=np.int64) if strata is None else _codes(strata, "strata", n)[0]
    k = len(levels)
    observed = np.zeros(k)
    expected = np.zeros(k)
    variance = np.zeros((k, k))
    event_b = ev == 1
    order = np.argsort(s_codes, kind="stable")
    bounds = np.flatnonzero(np.diff(s_codes[order])) + 1
    for rows in np.split(order, bounds):  # loop over strata, vectorised within each
        o, e, v = _stratum_sums(t[rows], event_b[rows], g_codes[rows], k, rho, gamma)
        observed += o
        expected += e
        variance += v
    used = expected > 0
    df = int(used.sum()) - 1
    if df < 1:
        statistic = 0.0
    else:
        diff = (observed - expected)[used][1:]
        vv = variance[np.ix_(used, used)][1:, 1:]
        try:
            statistic = float(diff @ np.linalg.solve(vv, diff))
        except np.linalg.LinAlgError:
            # Degenerate weights (e.g. gamma > 0 with every event at the first time):
            # the generalised inverse gives the statistic on the informative directions.
            statistic = float(diff @ np.linalg.pinv(vv) @ diff)
    p_value = float(chi2.sf(statistic, max(df, 1))) if df >= 1 else 1.0
    return LogRankResult(
        statistic, df, p_value, observed, expected, variance, levels, float(rho), float(gamma)
    )


def p_adjust(p: ArrayLike, method: PAdjust = "holm") -> FloatArray:
    """Multiplicity adjustment as R ``p.adjust`` (Holm 1979; Benjamini & Hochberg 1995)."""
    pv = as_float_vector(p, "p")
    m = pv.shape[0]
    if method == "none" or m == 0:
        return pv.copy()
    if method == "bonferroni":
        return np.minimum(1.0, m * pv)
    if method == "holm":
        order = np.argsort(pv, kind="stable")
        adj = np.maximum.accumulate((m - np.arange(m)) * pv[order])
    elif method == "BH":
        order = np.argsort(pv, kind="stable")[::-1]
        adj = np.minimum.accumulate(m / np.arange(m, 0, -1) * pv[order])
    else:
        raise ValueError("method must be 'holm', 'BH', 'bonferroni' or 'none'")
    out = np.empty(m)
    out[order] = np.minimum(1.0, adj)
    return out


def pairwise_logrank(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    strata: ArrayLike | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
    p_adjust_method: PAdjust = "holm",
) -> PairwiseLogRank:
    """Log-rank test for every pair of groups (restricted to those two groups' rows)."""
    t = np.asarray(time)
    e = np.asarray(event)
    g = np.asarray(group)
    s = None if strata is None else np.asarray(strata)
    check_same_length(t.shape[0], group=g, event=e)
    levels = [v.item() if hasattr(v, "item") else v for v in np.unique(g)]
    pairs, stats, pvals = [], [], []
    for a, b in combinations(levels, 2):  # loop over pairs of groups
        mask = (g == a) | (g == b)
        res = logrank(t[mask], e[mask], g[mask], None if s is None else s[mask], rho, gamma)
        pairs.append((a, b))
        stats.append(res.statistic)
        pvals.append(res.p_value)
    p = np.asarray(pvals, dtype=float)
    return PairwiseLogRank(
        tuple(pairs),
        np.asarray(stats, dtype=float),
        p,
        p_adjust(p, p_adjust_method),
        p_adjust_method,
    )
