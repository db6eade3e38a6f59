"""Mixed-effects meta-regression and predictions from a fitted model (metafor ``predict``).

``meta_regression`` is :func:`locoreg.meta.rma` with moderators required; the fit
carries the coefficient table (``coef``, ``coef_se``, ``coef_statistic``, ``coef_p``,
``coef_ci_low``, ``coef_ci_high``), the omnibus test of the moderators ``qm`` (χ² on m
df for test="z"; F on m and k − p df for "knha"), the residual heterogeneity test
``q`` (QE on k − p df) and the pseudo-R² ``r2`` (Raudenbush 2009).

``predict`` gives, for moderator values x₀ (the intercept is added):

    μ̂ = x₀β̂,  SE = √(x₀ Var(β̂) x₀ᵀ),  CI μ̂ ± c·SE,  PI μ̂ ± c·√(SE² + τ̂²)

with c the normal quantile (z) or the t quantile on k − p df (knha; at least 1 df for
the PI), as metafor's ``predict.rma``; no PI for fixed-effect models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from locoreg.meta.errors import ArgumentError
from locoreg.meta.rma import MetaResult, rma

__all__ = ["Prediction", "meta_regression", "predict"]


def meta_regression(
    yi: ArrayLike,
    vi: ArrayLike,
    mods: ArrayLike,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    *,
    mod_names: tuple[str, ...] | list[str] | None = None,
) -> MetaResult:
    """Mixed-effects meta-regression of ``yi`` on ``mods`` (intercept added).

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and their sampling variances (> 0), one per study.
    mods : array_like
        Moderators, shape (k,) or (k, m).
    method : str
        τ² estimator (FE, DL, REML, ML, PM, HE, SJ, EB, HS), as :func:`rma`.
    test : str
        ``"z"`` or ``"knha"`` (Knapp–Hartung), as :func:`rma`.
    level : float
        Confidence level of the intervals, in (0, 1).
    mod_names : sequence of str, optional
        Names of the moderator columns.

    Returns
    -------
    MetaResult
        The coefficient table (``coef``, ``coef_se``, …), ``qm`` and the pseudo-R² ``r2``.

    Notes
    -----
    :func:`rma` with moderators required; the formula form is
    ``rma("yi", "vi", data=df, mods="~ x")``. Model and formulas: :mod:`locoreg.meta.rma`.

    References
    ----------
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw
    2010;36(3):1-48. https://doi.org/10.18637/jss.v036.i03
    Raudenbush SW. Analyzing effect sizes: random-effects models. In: The Handbook of
    Research Synthesis and Meta-Analysis, 2nd ed. Russell Sage 2009.
    """
    return rma(yi, vi, method, test, level, mods=mods, mod_names=mod_names)


@dataclass(frozen=True, slots=True, eq=False)
class Prediction:
    """Predicted mean effects at given moderator values, with CI and PI (None for FE)."""

    pred: NDArray[np.float64]
    se: NDArray[np.float64]
    ci_low: NDArray[np.float64]
    ci_high: NDArray[np.float64]
    pi_low: NDArray[np.float64] | None
    pi_high: NDArray[np.float64] | None


def predict(result: MetaResult, newmods: ArrayLike | None = None) -> Prediction:
    """Predicted mean effects from a fitted model at moderator values (metafor ``predict``).

    Parameters
    ----------
    result : MetaResult
        A fit of :func:`rma` or :func:`meta_regression`.
    newmods : array_like, optional
        Moderator values, n × m (a 1-D array is one row per value when m = 1, else one
        row); ``None`` predicts the pooled effect of an intercept-only model.

    Returns
    -------
    Prediction
        ``pred``, ``se``, ``ci_low``, ``ci_high`` and, except for fixed-effect models,
        ``pi_low``, ``pi_high``.

    Notes
    -----
    μ̂ = x₀β̂, SE = √(x₀ Var(β̂) x₀ᵀ), CI μ̂ ± c·SE, PI μ̂ ± c·√(SE² + τ̂²), c the normal
    or the t quantile on k − p df (at least 1 df for the PI).

    References
    ----------
    Viechtbauer W. J Stat Softw 2010;36(3):1-48.
    """
    p = result.p
    if newmods is None:
        if p != 1:
            raise ArgumentError("newmods", "required for a meta-regression (model has moderators)")
        X0 = np.ones((1, 1))
    else:
        Z = np.asarray(newmods, dtype=float)
        if Z.ndim == 0:
            Z = Z.reshape(1, 1)
        elif Z.ndim == 1:
            Z = Z[:, None] if p == 2 else Z[None, :]
        if Z.shape[1] != p - 1:
            raise ArgumentError("newmods", f"expected {p - 1} moderator columns, got {Z.shape[1]}")
        if not np.all(np.isfinite(Z)):
            raise ArgumentError("newmods", "values must be finite numbers")
        X0 = np.column_stack([np.ones(Z.shape[0]), Z])
    pred = X0 @ result.coef
    se = np.sqrt(np.einsum("ij,jk,ik->i", X0, result.vcov, X0))
    alpha = 1.0 - result.level
    if result.df is None:
        crit = pi_crit = float(stats.norm.isf(alpha / 2))
    else:
        crit = float(stats.t.isf(alpha / 2, result.df)) if result.df > 0 else math.nan
        pi_crit = float(stats.t.isf(alpha / 2, max(result.df, 1)))
    pi_low = pi_high = None
    if result.method != "FE":
        half = pi_crit * np.sqrt(se**2 + result.tau2)
        pi_low, pi_high = pred - half, pred + half
    return Prediction(pred, se, pred - crit * se, pred + crit * se, pi_low, pi_high)
