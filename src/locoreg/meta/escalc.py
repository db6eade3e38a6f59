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

from locoreg.meta._validate import as_effects, as_vector
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


def _rr(
    a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray
) -> tuple[FloatArray, FloatArray]:
    n1, n2 = a + b, c + d
    return np.log(a / n1) - np.log(c / n2), 1 / a - 1 / n1 + 1 / c - 1 / n2


def _or(
    a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray
) -> tuple[FloatArray, FloatArray]:
    p1, p2 = a / (a + b), c / (c + d)
    return np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2)), 1 / a + 1 / b + 1 / c + 1 / d


def _rd(
    a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray
) -> tuple[FloatArray, FloatArray]:
    n1, n2 = a + b, c + d
    p1, p2 = a / n1, c / n2
    return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2


Formula = Callable[[FloatArray, FloatArray, FloatArray, FloatArray], tuple[FloatArray, FloatArray]]

#: measure → (formula of the four cells, what it is); metafor ``escalc``'s names
MEASURES: dict[str, tuple[Formula, str]] = {
    "RR": (_rr, "the log risk ratio"),
    "OR": (_or, "the log odds ratio"),
    "RD": (_rd, "the risk difference"),
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
    """Effect sizes and sampling variances from 2×2 counts, as metafor's ``escalc``.

    Parameters
    ----------
    measure : {"RR", "OR", "RD"}
        Log risk ratio, log odds ratio or risk difference.
    ai, bi, ci, di : array_like
        Events and non-events in group 1 (``ai``, ``bi``) and group 2 (``ci``, ``di``).
    add : float
        Added to the cells of the tables chosen by ``to`` (default ½).
    to : {"only0", "all", "if0all", "none"}
        Which tables get ``add``: those with a zero cell (metafor's default), all, all if
        any has a zero cell, none.

    Returns
    -------
    yi, vi : numpy.ndarray
        The effect sizes and their sampling variances.

    Notes
    -----
    RR: y = log p₁ − log p₂, v = 1/ai − 1/n1 + 1/ci − 1/n2; OR: y = log(ai·di/(bi·ci)),
    v = 1/ai + 1/bi + 1/ci + 1/di; RD: y = p₁ − p₂, v = p₁(1−p₁)/n1 + p₂(1−p₂)/n2
    (``vtype="LS"``).

    References
    ----------
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw
    2010;36(3):1-48. https://doi.org/10.18637/jss.v036.i03
    """
    if measure not in MEASURES:
        allowed = ", ".join(MEASURES)
        raise ArgumentError("measure", f"{measure!r} is not one of {allowed}", allowed=allowed)
    formula, what = MEASURES[measure]
    cells = _counts(ai, bi, ci, di, add, to)
    with np.errstate(divide="ignore", invalid="ignore"):
        y, v = formula(*cells)
    return _finite(y, v, what)


def _measure(name: str) -> Callable[..., tuple[FloatArray, FloatArray]]:
    def effect(
        ai: ArrayLike,
        bi: ArrayLike,
        ci: ArrayLike,
        di: ArrayLike,
        *,
        add: float = 0.5,
        to: ZeroCells = "only0",
    ) -> tuple[FloatArray, FloatArray]:
        return escalc(name, ai, bi, ci, di, add=add, to=to)

    what = MEASURES[name][1].capitalize()
    effect.__doc__ = f"""{what} and its variance: ``escalc({name!r}, ...)``.

    Parameters
    ----------
    ai, bi, ci, di : array_like
        Events and non-events in group 1 (``ai``, ``bi``) and group 2 (``ci``, ``di``).
    add, to
        Zero-cell correction, as :func:`escalc`.

    Returns
    -------
    yi, vi : numpy.ndarray
        The effect sizes and their sampling variances.

    Notes
    -----
    Formulas in :func:`escalc` and the module docstring (metafor, ``vtype="LS"``).

    References
    ----------
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw
    2010;36(3):1-48.
    """
    return effect


log_risk_ratio = _measure("RR")
log_odds_ratio = _measure("OR")
risk_difference = _measure("RD")


def log_hr_from_logrank(o_minus_e: ArrayLike, v: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Log hazard ratio and its variance from the log-rank statistic (Peto).

    Parameters
    ----------
    o_minus_e : array_like
        Observed minus expected events in group 1 (R ``survdiff``'s ``obs - exp``).
    v : array_like
        Variance of O − E (> 0).

    Returns
    -------
    yi, vi : numpy.ndarray
        (O − E)/V and 1/V.

    Notes
    -----
    The one-step (Peto) estimate; close to the Cox estimate when the effect is small and
    the groups are balanced.

    References
    ----------
    Parmar MKB, Torri V, Stewart L. Stat Med 1998;17:2815-34.
    """
    oe, var = as_effects(o_minus_e, v, names=("o_minus_e", "v"))
    return oe / var, 1.0 / var
