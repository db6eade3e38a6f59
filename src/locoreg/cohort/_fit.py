"""The one place where the cohort analyses call the survival engine.

Every fit goes through :mod:`locoreg.survival` (house rule); this module only
reads the pieces the ladder needs from its results, so that the rungs stay
short and a change in a result's shape is handled here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class HazardRatio:
    """Hazard ratio of the first column of a Cox model with its Wald 95 % CI."""

    hr: float
    ci_low: float
    ci_high: float
    se: float  # of log(hr); robust when the fit was robust
    n: int
    events: int


@dataclass(frozen=True)
class Estimate:
    """One rung of the ladder: hazard ratio of surgery vs none with its 95 % CI.

    ``method`` is the rung's name (:data:`locoreg.cohort.ladder.LADDER`); ``extras`` are
    the rung's own numbers (weights, pairs, rows...), written into its JSON.
    """

    method: str
    hr: float
    ci_low: float
    ci_high: float
    n: int
    events: int
    note: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_fit(cls, method: str, fit: HazardRatio, note: str = "", **extras: Any) -> Estimate:
        return cls(method, fit.hr, fit.ci_low, fit.ci_high, fit.n, fit.events, note, extras)


def cox_first(
    time: FloatArray,
    event: FloatArray,
    X: FloatArray,
    *,
    entry: FloatArray | None = None,
    weights: FloatArray | None = None,
    robust: bool = False,
    cluster: NDArray[np.int64] | None = None,
    n_patients: int | None = None,
    names: Sequence[str] | None = None,
) -> HazardRatio:
    """Fit a Cox model (Efron ties) and return the hazard ratio of column 0 of ``X``.

    ``names`` label the columns in the engine's error messages (e.g. a covariate
    level without deaths in a small registry).
    """
    from locoreg.survival.cox import cox

    fit = cox(
        time,
        event,
        X,
        ties="efron",
        weights=weights,
        robust=robust,
        cluster=cluster,
        entry=entry,
        names=None if names is None else list(names),
    )
    coef = float(np.atleast_1d(fit.coef)[0])
    robust_se = fit.robust_se if robust else None
    se = float(np.atleast_1d(robust_se if robust_se is not None else fit.se)[0])
    return HazardRatio(
        hr=float(np.exp(coef)),
        ci_low=float(np.exp(coef - Z95 * se)),
        ci_high=float(np.exp(coef + Z95 * se)),
        se=se,
        n=int(n_patients if n_patients is not None else time.size),
        events=int(np.sum(event)),
    )


def pooled_logistic_fit(
    X: FloatArray, at_risk: NDArray[np.bool_], outcome: NDArray[np.bool_]
) -> tuple[FloatArray, FloatArray]:
    """Per-period intercepts and coefficients of a pooled logistic model (person-period)."""
    from locoreg.survival.causal import pooled_logistic

    return pooled_logistic(X, at_risk, outcome)
