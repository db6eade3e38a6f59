"""Effect sizes from what papers report: log hazard ratios from a ratio and its interval.

A reported hazard ratio HR with a symmetric-on-the-log-scale confidence interval
[L, U] at level c gives

    yᵢ = log HR,    SE = (log U − log L) / (2 z_{(1+c)/2}),    vᵢ = SE²

(Parmar, Torri & Stewart 1998, Stat Med 17:2815; Tierney et al. 2007, Trials 8:16).
The point estimate itself is taken as reported: published limits are rounded, so HR
is rarely exactly the geometric mean of L and U, and only the width is used for SE.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from locoreg.meta._validate import as_vector
from locoreg.meta.errors import ArgumentError

__all__ = ["log_hr_from_ci"]


def log_hr_from_ci(
    hr: ArrayLike,
    ci_low: ArrayLike,
    ci_high: ArrayLike,
    ci_level: ArrayLike = 0.95,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Log hazard ratios and their variances ``(yi, vi)`` from HRs and confidence limits.

    Parameters
    ----------
    hr, ci_low, ci_high : array_like
        Hazard ratios and the limits of their confidence intervals (> 0).
    ci_level : float or array_like
        Level of the reported intervals: one for all studies or one per study, in (0, 1).
        (``ci_level``, not ``level``: the level the paper reported, not the one asked of
        the pooled fit.)

    Returns
    -------
    yi, vi : numpy.ndarray
        log HR and ((log U − log L)/(2 z₍₁₊c₎/₂))².

    Notes
    -----
    Raises :class:`ArgumentError` naming the first offending entry (``hr[3]``,
    ``ci_low[0]``...) when a ratio or limit is not > 0, when ``ci_low >= ci_high`` or
    when the estimate lies outside its interval.

    References
    ----------
    Parmar MKB, Torri V, Stewart L. Extracting summary statistics to perform
    meta-analyses of the published literature for survival endpoints. Stat Med
    1998;17:2815-34. Tierney JF et al. Trials 2007;8:16.
    """
    h = as_vector(hr, "hr")
    lo = as_vector(ci_low, "ci_low")
    hi = as_vector(ci_high, "ci_high")
    level = as_vector(ci_level, "ci_level")
    if not (lo.size == hi.size == h.size):
        raise ArgumentError(
            "ci_high", f"hr, ci_low and ci_high differ in length ({h.size}, {lo.size}, {hi.size})"
        )
    if level.size == 1:
        level = np.full(h.size, level[0])
    elif level.size != h.size:
        raise ArgumentError("ci_level", f"expected 1 or {h.size} values, got {level.size}")

    checks = (
        ("ci_level", (level <= 0) | (level >= 1), "confidence level {} must be in (0, 1)", level),
        ("hr", h <= 0, "hazard ratio {} must be > 0", h),
        ("ci_low", lo <= 0, "lower limit {} must be > 0", lo),
        ("ci_high", hi <= 0, "upper limit {} must be > 0", hi),
        ("ci_low", lo >= hi, "lower limit {} is not below the upper limit", lo),
        ("hr", (h < lo) | (h > hi), "hazard ratio {} lies outside its confidence interval", h),
    )
    for name, bad, message, values in checks:
        idx = np.flatnonzero(bad)
        if idx.size:
            i = int(idx[0])
            raise ArgumentError(name, message.format(values[i]), index=i)

    # scipy.stats.norm.isf, elementwise (scipy.stats itself is slow to import)
    z = -special.ndtri((1.0 - level) / 2.0)
    se = (np.log(hi) - np.log(lo)) / (2.0 * z)
    return np.log(h), se * se
