"""Estimators of the between-study variance τ², as metafor's ``rma.uni`` computes them.

Notation (Viechtbauer 2005; metafor's source): ``y`` the k effect sizes, ``v`` their
sampling variances, ``X`` the k×p model matrix (a column of ones for a plain
random-effects model), ``W = diag(w)`` a weight matrix and

    P(w) = W − W X (XᵀW X)⁻¹ XᵀW,      Q(τ²) = yᵀ P(1/(v + τ²)) y,

the generalised Q statistic (for τ² = 0 Cochran's Q). Every estimator below is
followed by metafor's standard error of τ² where metafor reports one.

References: DerSimonian & Laird 1986 (DL); Hedges 1983/1985, Hedges & Olkin 1985 (HE);
Hunter & Schmidt 2004 (HS); Sidik & Jonkman 2005 (SJ); Paule & Mandel 1982 (PM);
Morris 1983 (EB); Viechtbauer 2005 (ML, REML, Fisher scoring).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from locoreg.meta._zeroin import R_TOL, zeroin

FloatArray = NDArray[np.float64]


class ConvergenceError(ArithmeticError):
    """An iterative τ² estimator did not converge; the message names method and iterations."""


@dataclass(frozen=True, slots=True)
class Tau2Fit:
    tau2: float
    se: float | None
    iterations: int


def hat_p(X: FloatArray, w: FloatArray) -> FloatArray:
    """P = W − W X (XᵀW X)⁻¹ XᵀW for weights ``w`` (k×k)."""
    wx = X * w[:, None]
    return np.diag(w) - wx @ np.linalg.solve(X.T @ wx, wx.T)


def p_moments(X: FloatArray, w: FloatArray, y: FloatArray) -> tuple[FloatArray, float, float]:
    """P y, tr P and tr(P P) for P = hat_p(X, w) in O(k p²), without the k×k matrix.

    With B = (XᵀW X)⁻¹ and residuals r = y − X B XᵀW y:
      P y = W r,   tr P = Σw − tr(B XᵀW²X),
      tr(P P) = Σw² − 2 tr(B XᵀW³X) + tr(B XᵀW²X B XᵀW²X).
    Fisher scoring evaluates these at every step; forming P costs O(k²) memory and time.
    """
    wx = X * w[:, None]
    B = np.linalg.inv(X.T @ wx)
    r = y - X @ (B @ (wx.T @ y))
    w2 = wx.T @ wx  # XᵀW²X
    w3 = wx.T @ (wx * w[:, None])  # XᵀW³X
    bw2 = B @ w2
    tr_p = float(w.sum() - np.trace(bw2))
    tr_pp = float(np.sum(w * w) - 2.0 * np.sum(B * w3) + np.sum(bw2 * bw2.T))
    return w * r, tr_p, tr_pp


def q_stat(tau2: float, y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    """Generalised Q(τ²) = Σ wᵢ (yᵢ − xᵢb)², wᵢ = 1/(vᵢ + τ²), b the weighted LS fit."""
    w = 1.0 / (v + tau2)
    wx = X * w[:, None]
    b = np.linalg.solve(X.T @ wx, wx.T @ y)
    r = y - X @ b
    return float(np.sum(w * r * r))


def _quad(P: FloatArray, y: FloatArray) -> float:
    return float(y @ P @ y)


def _r_mad(y: FloatArray) -> float:
    """R's ``mad()``: 1.4826 × median absolute deviation from the median."""
    return 1.4826 * float(np.median(np.abs(y - np.median(y))))


def estimate_tau2(
    y: FloatArray,
    v: FloatArray,
    X: FloatArray,
    method: str,
    *,
    threshold: float = 1e-5,
    maxiter: int = 100,
    tol: float = R_TOL,
) -> Tau2Fit:
    """τ² by ``method`` (one of :data:`ESTIMATORS`: DL, HE, HS, SJ, PM, EB, ML, REML).

    ``y`` is centred first, as metafor does (it changes nothing but rounding when X has
    an intercept); every estimate is truncated at 0 before its standard error is
    computed. Iterative methods stop as metafor's: Fisher scoring (ML, REML, EB) when
    successive values differ by less than ``threshold``, starting from the Hedges
    estimate truncated at 0; PM by Brent root finding (R's ``uniroot``) to ``tol``
    (default ``uniroot``'s, .Machine$double.eps^0.25) on [0, max(100, 10·mad(y)²)], at
    most ``maxiter`` steps. These are metafor's ``control = list(threshold, maxiter, tol)``.
    """
    return ESTIMATORS[method](y - y.mean(), v, X, _Control(threshold, maxiter, tol))


@dataclass(frozen=True, slots=True)
class _Control:
    """metafor's ``control=``: Fisher scoring ``threshold``, ``maxiter``, root-finding ``tol``."""

    threshold: float
    maxiter: int
    tol: float = R_TOL


def _moment_se(k: int, p: int, t: float, trP: float, trPP: float, denominator: float) -> float:
    """SE of a moment estimator τ² = (Q − c)/d with Q from weights 1/v (metafor)."""
    return math.sqrt((2 * (k - p) + 4 * t * trP + 2 * t * t * trPP) / denominator**2)


def _hunter_schmidt(y: FloatArray, v: FloatArray, X: FloatArray, _: _Control) -> Tau2Fit:
    """Hunter–Schmidt: τ² = (Q − k) / Σwᵢ, wᵢ = 1/vᵢ."""
    k, p = X.shape
    w = 1.0 / v
    Py, trP, trPP = p_moments(X, w, y)
    tau2 = max(0.0, (float(y @ Py) - k) / float(w.sum()))
    return Tau2Fit(tau2, _moment_se(k, p, tau2, trP, trPP, float(w.sum())), 0)


def _dersimonian_laird(y: FloatArray, v: FloatArray, X: FloatArray, _: _Control) -> Tau2Fit:
    """DerSimonian–Laird: τ² = (Q − (k − p)) / tr P, P = P(1/v)."""
    k, p = X.shape
    Py, trP, trPP = p_moments(X, 1.0 / v, y)
    tau2 = max(0.0, (float(y @ Py) - (k - p)) / trP)
    return Tau2Fit(tau2, _moment_se(k, p, tau2, trP, trPP, trP), 0)


def _sidik_jonkman(y: FloatArray, v: FloatArray, X: FloatArray, _: _Control) -> Tau2Fit:
    """Sidik–Jonkman: τ₀² = Σ(yᵢ − ȳ)²/k, then τ² = τ₀² · Q(τ₀²)/(k − p)."""
    k, p = X.shape
    tau2_0 = float(np.mean(y * y))
    P = hat_p(X, 1.0 / (v + tau2_0))
    PV = P * v[None, :]
    t = max(0.0, tau2_0 * _quad(P, y) / (k - p))
    se = math.sqrt(
        tau2_0**2
        / (k - p) ** 2
        * (
            2 * float(np.sum(PV * PV.T))
            + 4 * t * float(np.sum(PV * P))
            + 2 * t * t * float(np.sum(P * P))
        )
    )
    return Tau2Fit(t, se, 0)


def _hedges_raw(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    """Hedges: OLS residual variance minus the mean sampling-variance part (untruncated)."""
    k, p = X.shape
    Py0, _, _ = p_moments(X, np.ones(k), y)
    leverage = np.einsum("ij,ij->i", X @ np.linalg.inv(X.T @ X), X)
    trPV = float(np.sum(v * (1.0 - leverage)))  # tr(P₀V), P₀ = I − X(XᵀX)⁻¹Xᵀ
    return (float(y @ Py0) - trPV) / (k - p)


def _hedges(y: FloatArray, v: FloatArray, X: FloatArray, _: _Control) -> Tau2Fit:
    """Hedges (HE); its standard error needs the k×k moments of P₀V."""
    k, p = X.shape
    t = max(0.0, _hedges_raw(y, v, X))
    PV = (np.eye(k) - X @ np.linalg.solve(X.T @ X, X.T)) * v[None, :]
    trPV = float(np.trace(PV))
    se = math.sqrt(
        (2 * float(np.sum(PV * PV.T)) + 4 * t * trPV + 2 * t * t * (k - p)) / (k - p) ** 2
    )
    return Tau2Fit(t, se, 0)


def _paule_mandel_fit(y: FloatArray, v: FloatArray, X: FloatArray, control: _Control) -> Tau2Fit:
    k, p = X.shape
    tau2, iterations = _paule_mandel(y, v, X, k - p, control)
    return Tau2Fit(max(0.0, tau2), _pm_eb_se(v, k, p, max(0.0, tau2)), iterations)


def _pm_eb_se(v: FloatArray, k: int, p: int, t: float) -> float:
    w = 1.0 / (v + t)
    return math.sqrt(2.0 * k * k / (k - p) / float(w.sum()) ** 2)


def _scoring(method: str) -> Callable[[FloatArray, FloatArray, FloatArray, _Control], Tau2Fit]:
    """ML, REML or EB by Fisher scoring from the Hedges estimate truncated at 0."""

    def fit(y: FloatArray, v: FloatArray, X: FloatArray, control: _Control) -> Tau2Fit:
        k, p = X.shape
        start = max(0.0, _hedges_raw(y, v, X))
        tau2, iterations = _fisher_scoring(
            y, v, X, method, start, threshold=control.threshold, maxiter=control.maxiter
        )
        t = max(0.0, tau2)
        if method == "ML":
            se = math.sqrt(2.0 / float(np.sum((1.0 / (v + t)) ** 2)))
        elif method == "REML":
            se = math.sqrt(2.0 / p_moments(X, 1.0 / (v + t), y)[2])
        else:
            se = _pm_eb_se(v, k, p, t)
        return Tau2Fit(t, se, iterations)

    fit.__doc__ = f"{method} τ² by Fisher scoring (:func:`_fisher_scoring`)."
    return fit


#: τ² estimator → function(y centred, v, X, control) → Tau2Fit (metafor's definitions)
ESTIMATORS: dict[str, Callable[[FloatArray, FloatArray, FloatArray, _Control], Tau2Fit]] = {
    "DL": _dersimonian_laird,
    "HE": _hedges,
    "HS": _hunter_schmidt,
    "SJ": _sidik_jonkman,
    "PM": _paule_mandel_fit,
    "ML": _scoring("ML"),
    "REML": _scoring("REML"),
    "EB": _scoring("EB"),
}


def _paule_mandel(
    y: FloatArray, v: FloatArray, X: FloatArray, df: int, control: _Control
) -> tuple[float, int]:
    """Paule–Mandel: the τ² ≥ 0 solving Q(τ²) = k − p (0 when Q(0) < k − p)."""
    tau2_max = max(100.0, 10.0 * _r_mad(y) ** 2)
    if q_stat(0.0, y, v, X) < df:
        return 0.0, 0
    if q_stat(tau2_max, y, v, X) > df:
        raise ConvergenceError(
            f"PM estimator: Q(tau2) still exceeds k - p at tau2 = {tau2_max:g}; use another method"
        )
    try:
        return zeroin(
            lambda t: q_stat(t, y, v, X) - df,
            0.0,
            tau2_max,
            tol=control.tol,
            maxiter=control.maxiter,
        )
    except ArithmeticError as exc:
        raise ConvergenceError(
            f"PM estimator did not converge in {control.maxiter} iterations: {exc}"
        ) from exc


def _fisher_scoring(
    y: FloatArray,
    v: FloatArray,
    X: FloatArray,
    method: str,
    tau2: float,
    *,
    threshold: float,
    maxiter: int,
) -> tuple[float, int]:
    """ML, REML or EB (Morris) τ² by metafor's Fisher scoring updates.

    With P = P(1/(v + τ²)) and w = 1/(v + τ²), the step added to τ² is
      ML:   (yᵀP P y − Σw) / Σw²
      REML: (yᵀP P y − tr P) / tr(P P)
      EB:   (yᵀP y · k/(k − p) − k) / Σw
    halved until τ² stays ≥ 0; iteration stops when |Δτ²| < ``threshold``.
    """
    k, p = X.shape
    iteration = 0
    change = threshold + 1.0
    while change > threshold:
        iteration += 1
        old = tau2
        w = 1.0 / (v + tau2)
        Py, trP, trPP = p_moments(X, w, y)
        if method == "ML":
            adj = (float(Py @ Py) - float(w.sum())) / float(np.sum(w * w))
        elif method == "REML":
            adj = (float(Py @ Py) - trP) / trPP
        else:  # EB
            adj = (float(y @ Py) * k / (k - p) - k) / float(w.sum())
        if math.isnan(adj):
            adj = 0.0
        while tau2 + adj < 0.0:
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if iteration > maxiter:
            raise ConvergenceError(
                f"{method} estimator: Fisher scoring did not converge in {maxiter} iterations "
                f"(last change in tau2 {change:.3g} > threshold {threshold:g})"
            )
    if method in ("ML", "REML") and tau2 > threshold:
        tau2 = _check_against_zero(y, v, X, method, tau2)
    return tau2, iteration


def _check_against_zero(
    y: FloatArray, v: FloatArray, X: FloatArray, method: str, tau2: float
) -> float:
    """metafor's ``ll0check``: if τ² = 0 has a higher (RE)ML log-likelihood than the
    value Fisher scoring reached, the algorithm was stuck and τ² = 0 is returned."""

    def loglik(t: float) -> float:
        w = 1.0 / (v + t)
        wx = X * w[:, None]
        xtwx = X.T @ wx
        b = np.linalg.solve(xtwx, wx.T @ y)
        rss = float(np.sum(w * (y - X @ b) ** 2))
        k, p = X.shape
        if method == "ML":
            return -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(v + t))) - 0.5 * rss
        logdet = float(np.linalg.slogdet(xtwx)[1])
        return (
            -0.5 * (k - p) * math.log(2 * math.pi)
            - 0.5 * float(np.sum(np.log(v + t)))
            - 0.5 * logdet
            - 0.5 * rss
        )

    return 0.0 if loglik(0.0) - loglik(tau2) > R_TOL else tau2
