"""Restricted mean survival time (RMST) up to a horizon tau, per group and between two.

For a Kaplan–Meier curve S with distinct event times t_j <= tau, d_j events and n_j at
risk (Irwin 1949; Royston & Parmar 2013)::

    RMST(tau) = integral_0^tau S(u) du
    Var       = sum_{t_j <= tau} A_j^2 d_j / (n_j (n_j - d_j)),  A_j = integral_{t_j}^tau S(u) du

(the Greenwood-based variance of R ``survival::print(survfit, rmean = tau)`` and of
``survRM2::rmst2``; terms with n_j = d_j are 0). Between group 1 and group 0 (the second and
the first sorted level), as ``survRM2::rmst2`` (Uno et al. 2014, Tian et al. 2014):

* difference ``R1 - R0`` with ``se = sqrt(V1 + V0)`` and the normal CI;
* ratio ``R1 / R0`` on the log scale: ``se(log ratio) = sqrt(V1 / R1^2 + V0 / R0^2)``,
  CI ``exp(log(R1 / R0) -/+ z se)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from locoreg.survival._dispatch import accepts_formula
from locoreg.survival._dist import norm_ppf, norm_sf
from locoreg.survival._util import FloatArray, as_float_vector, check_same_length
from locoreg.survival.km import KaplanMeier, kaplan_meier

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Contrast:
    """A between-group contrast with its CI and the two-sided p-value of no difference."""

    estimate: float
    se: float  # of the estimate (difference) or of its logarithm (ratio)
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True, eq=False)
class RMST:
    """RMST per group (``groups`` sorted; one group ``(None,)`` without ``group``)."""

    tau: float
    groups: tuple[Any, ...]
    rmst: FloatArray
    se: FloatArray
    rmst_ci_low: FloatArray
    rmst_ci_high: FloatArray
    level: float
    difference: Contrast | None  # groups[1] - groups[0], with exactly two groups
    ratio: Contrast | None  # groups[1] / groups[0]

    @property
    def ci_low(self) -> float | None:
        """Lower limit of the difference's CI (the contract's ``.ci_low``)."""
        return None if self.difference is None else self.difference.ci_low

    @property
    def ci_high(self) -> float | None:
        return None if self.difference is None else self.difference.ci_high

    def summary(self) -> pd.DataFrame:
        """RMST, se and CI per group as a DataFrame indexed by group."""
        from .summary import rmst_table

        return rmst_table(self)

    def __str__(self) -> str:
        from .summary import format_rmst

        return format_rmst(self)


def rmst_of_curve(fit: KaplanMeier, tau: float) -> tuple[float, float]:
    """(RMST, its standard error) of a Kaplan–Meier curve up to ``tau``."""
    before = fit.times < tau
    t = fit.times[before]
    edges = np.concatenate([[0.0], t, [tau]])
    heights = np.concatenate([[1.0], fit.survival[before]])
    pieces = heights * np.diff(edges)
    after = np.cumsum(pieces[::-1])[::-1][1:]  # A_j: area from t_j to tau
    d = fit.events[before]
    n = fit.at_risk[before]
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where((d > 0) & (n > d), d / (n * (n - d)), 0.0)
    return float(pieces.sum()), float(np.sqrt(np.sum(after**2 * hh)))


def _contrast(estimate: float, se: float, z: float) -> Contrast:
    p = float(2.0 * norm_sf(abs(estimate / se))) if se > 0 else float("nan")
    return Contrast(estimate, se, estimate - z * se, estimate + z * se, p)


@accepts_formula("rmst")  # rmst("Surv(time, status) ~ arm", data=df, tau=365)
def rmst(
    time: ArrayLike,
    event: ArrayLike,
    tau: float,
    group: ArrayLike | None = None,
    *,
    level: float = 0.95,
) -> RMST:
    """Restricted mean survival time up to ``tau``, per group, with difference and ratio.

    Parameters
    ----------
    time, event : array_like
        Follow-up time and 0/1 event indicator.
    tau : float
        Horizon, > 0; the curves are integrated over [0, tau] (flat after the last time).
    group : array_like, optional
        Group per row; with two levels the difference and the ratio of the second sorted
        level to the first are given.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    RMST
        ``.rmst``, ``.se`` and CIs per group; ``.difference`` and ``.ratio``
        (:class:`Contrast`) for two groups.

    Notes
    -----
    ``RMST = int_0^tau S(u) du``; ``Var = sum_j A_j^2 d_j / (n_j (n_j - d_j))`` with
    ``A_j = int_{t_j}^tau S``. Difference and ratio as ``survRM2::rmst2``.

    References
    ----------
    Royston P, Parmar MKB. BMC Med Res Methodol 2013;13:152. Uno H et al. J Clin Oncol
    2014;32:2380-5. Validated against R ``print(survfit(...), rmean = tau)``.
    """
    if not 0.0 < level < 1.0:
        raise ValueError("level must lie in (0, 1)")
    tau = float(tau)
    if not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau must be a positive number, got {tau}")
    t = as_float_vector(time, "time")
    e = as_float_vector(np.asarray(event, dtype=np.float64), "event")
    check_same_length(t.shape[0], event=e)
    if group is None:
        levels: list[Any] = [None]
        codes = np.zeros(t.shape[0], dtype=np.intp)
    else:
        g = np.asarray(group)
        check_same_length(t.shape[0], group=g)
        keys, codes = np.unique(g, return_inverse=True)
        levels = [k.item() if hasattr(k, "item") else k for k in keys]
    values = np.empty(len(levels))
    ses = np.empty(len(levels))
    for k in range(len(levels)):  # one curve per group
        rows = codes == k
        if t[rows].max() < tau:
            raise ValueError(
                f"tau = {tau:g} is beyond the last follow-up time of group {levels[k]!r} "
                f"({t[rows].max():g}); choose tau within every group's follow-up"
            )
        values[k], ses[k] = rmst_of_curve(kaplan_meier(t[rows], e[rows]), tau)
    z = float(norm_ppf(0.5 + level / 2))
    difference = ratio = None
    if len(levels) == 2:
        difference = _contrast(
            float(values[1] - values[0]), float(np.sqrt(ses[1] ** 2 + ses[0] ** 2)), z
        )
        log_ratio = float(np.log(values[1] / values[0]))
        se_log = float(np.sqrt((ses[1] / values[1]) ** 2 + (ses[0] / values[0]) ** 2))
        on_log = _contrast(log_ratio, se_log, z)
        ratio = Contrast(
            float(np.exp(log_ratio)),
            se_log,
            float(np.exp(on_log.ci_low)),
            float(np.exp(on_log.ci_high)),
            on_log.p_value,
        )
    return RMST(
        tau=tau,
        groups=tuple(levels),
        rmst=values,
        se=ses,
        rmst_ci_low=values - z * ses,
        rmst_ci_high=values + z * ses,
        level=level,
        difference=difference,
        ratio=ratio,
    )
