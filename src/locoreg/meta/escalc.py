"""Effect sizes and sampling variances from raw data, as metafor's ``escalc``.

Two-group counts (events ``ai`` of ``n1 = ai + bi`` in group 1, ``ci`` of ``n2 = ci + di``
in group 2), with p₁ = ai/n1 and p₂ = ci/n2 (metafor's definitions, ``vtype="LS"``):

    RR (log risk ratio):    y = log p₁ − log p₂,              v = 1/ai − 1/n1 + 1/ci − 1/n2
    OR (log odds ratio):    y = log(ai·di / (bi·ci)),          v = 1/ai + 1/bi + 1/ci + 1/di
    RD (risk difference):   y = p₁ − p₂,                       v = p₁(1−p₁)/n1 + p₂(1−p₂)/n2

Zero cells: ``add`` (default ½) is added to every cell of the tables that have a zero
cell (``to="only0"``, metafor's default), to every table (``"all"``), to every table if
any has a zero cell (``"if0all"``), or to none (``"none"``); metafor does this for all
three measures, and so do we.

Log hazard ratio from the log-rank statistic (Peto; Parmar, Torri & Stewart 1998, Stat
Med 17:2815): with O − E the observed minus expected events in group 1 and V the
variance of O − E (R ``survdiff``'s ``obs - exp`` and ``var``),

    y = (O − E) / V,    v = 1 / V.

From a hazard ratio and its confidence interval at any level: :func:`log_hr_from_ci`.
Reference: Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat
Softw 2010;36(3). https://doi.org/10.18637/jss.v036.i03
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from locoreg.meta._validate import as_vector
from locoreg.meta.effects import log_hr_from_ci
from locoreg.meta.errors import ArgumentError

__all__ = [
    "MEASURES",
    "escalc",
    "log_hr_from_ci",
    "log_hr_from_logrank",
    "log_odds_ratio",
    "log_risk_ratio",
    "risk_difference",
]

FloatArray = NDArray[np.float64]
ZeroCells = Literal["only0", "all", "if0all", "none"]
_TO: tuple[str, ...] = ("only0", "all", "if0all", "none")


def _counts(
    ai: ArrayLike, bi: ArrayLike, ci: ArrayLike, di: ArrayLike, add: float, to: str
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The four cells as floats (non-negative, one length), with ``add`` where ``to`` says."""
    cells = {
        name: as_vector(x, name) for name, x in (("ai", ai), ("bi", bi), ("ci", ci), ("di", di))
    }
    k = cells["ai"].size
    for name, x in cells.items():
        if x.size != k:
            raise ArgumentError(name, f"expected {k} values (one per study), got {x.size}")
        bad = np.flatnonzero(x < 0)
        if bad.size:
            i = int(bad[0])
            raise ArgumentError(name, f"count {x[i]:g} must be >= 0", index=i)
    if to not in _TO:
        raise ArgumentError("to", f"{to!r} is not one of {', '.join(_TO)}", allowed=", ".join(_TO))
    if not (np.isfinite(add) and add >= 0):
        raise ArgumentError("add", f"{add} must be a number >= 0")
    a, b, c, d = cells["ai"], cells["bi"], cells["ci"], cells["di"]
    for name, n in (("bi", a + b), ("di", c + d)):
        empty = np.flatnonzero(n == 0)
        if empty.size:
            i = int(empty[0])
            raise ArgumentError(name, "the group has no participants", index=i)
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    if to == "all":
        bump = np.ones(k, dtype=bool)
    elif to == "only0":
        bump = zero
    elif to == "if0all":
        bump = np.full(k, bool(zero.any()))
    else:
        bump = np.zeros(k, dtype=bool)
    extra = np.where(bump, add, 0.0)
    return a + extra, b + extra, c + extra, d + extra


def _finite(y: FloatArray, v: FloatArray, measure: str) -> tuple[FloatArray, FloatArray]:
    bad = np.flatnonzero(~np.isfinite(y) | ~np.isfinite(v))
    if bad.size:
        i = int(bad[0])
        raise ArgumentError(
            "ai",
            f"{measure} is not defined for this table (a zero cell with to='none' or add=0)",
            index=i,
        )
    return y, v


def log_risk_ratio(
    ai: ArrayLike,
    bi: ArrayLike,
    ci: ArrayLike,
    di: ArrayLike,
    *,
    add: float = 0.5,
    to: ZeroCells = "only0",
) -> tuple[FloatArray, FloatArray]:
    """Log risk ratio and its variance (metafor ``escalc("RR")``); see the module docstring."""
    a, b, c, d = _counts(ai, bi, ci, di, add, to)
    n1, n2 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(a / n1) - np.log(c / n2)
        v = 1 / a - 1 / n1 + 1 / c - 1 / n2
    return _finite(y, v, "the log risk ratio")


def log_odds_ratio(
    ai: ArrayLike,
    bi: ArrayLike,
    ci: ArrayLike,
    di: ArrayLike,
    *,
    add: float = 0.5,
    to: ZeroCells = "only0",
) -> tuple[FloatArray, FloatArray]:
    """Log odds ratio and its variance (metafor ``escalc("OR")``); see the module docstring."""
    a, b, c, d = _counts(ai, bi, ci, di, add, to)
    p1, p2 = a / (a + b), c / (c + d)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
        v = 1 / a + 1 / b + 1 / c + 1 / d
    return _finite(y, v, "the log odds ratio")


def risk_difference(
    ai: ArrayLike,
    bi: ArrayLike,
    ci: ArrayLike,
    di: ArrayLike,
    *,
    add: float = 0.5,
    to: ZeroCells = "only0",
) -> tuple[FloatArray, FloatArray]:
    """Risk difference and its large-sample variance (metafor ``escalc("RD")``)."""
    a, b, c, d = _counts(ai, bi, ci, di, add, to)
    n1, n2 = a + b, c + d
    p1, p2 = a / n1, c / n2
    return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2


def log_hr_from_logrank(o_minus_e: ArrayLike, v: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Log hazard ratio (O − E)/V and its variance 1/V from the log-rank statistic (Peto)."""
    oe = as_vector(o_minus_e, "o_minus_e")
    var = as_vector(v, "v")
    if var.size != oe.size:
        raise ArgumentError("v", f"expected {oe.size} values (one per study), got {var.size}")
    bad = np.flatnonzero(var <= 0)
    if bad.size:
        i = int(bad[0])
        raise ArgumentError("v", f"variance {var[i]:g} must be > 0", index=i)
    return oe / var, 1.0 / var


#: measure → function of the 2×2 counts (metafor ``escalc``'s names)
MEASURES: dict[str, Callable[..., tuple[FloatArray, FloatArray]]] = {
    "RR": log_risk_ratio,
    "OR": log_odds_ratio,
    "RD": risk_difference,
}


def escalc(
    measure: str,
    ai: ArrayLike,
    bi: ArrayLike,
    ci: ArrayLike,
    di: ArrayLike,
    *,
    add: float = 0.5,
    to: ZeroCells = "only0",
) -> tuple[FloatArray, FloatArray]:
    """``(yi, vi)`` for a 2×2-count ``measure`` (RR, OR or RD), as metafor's ``escalc``."""
    fn = MEASURES.get(measure)
    if fn is None:
        allowed = ", ".join(MEASURES)
        raise ArgumentError("measure", f"{measure!r} is not one of {allowed}", allowed=allowed)
    return fn(ai, bi, ci, di, add=add, to=to)
