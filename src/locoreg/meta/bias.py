"""Small-study effects: Egger's regression test, Begg's rank test, trim and fill.

Funnel-plot asymmetry may come from publication bias, but also from true heterogeneity,
from chance, or from a different mix of patients in small studies; these tests detect
asymmetry, they do not prove bias. With fewer than about 10 studies they have little
power (Sterne et al. 2011, BMJ 343:d4002).

**Egger's regression test** regresses the effect size on its standard error √vᵢ,

    yᵢ = β₀ + β₁√vᵢ + eᵢ,

and tests H₀: β₁ = 0. Two versions, as metafor's ``regtest``:

* ``model="lm"`` — the classic test (Egger et al. 1997, BMJ 315:629): weighted least
  squares with weights 1/vᵢ and a multiplicative residual variance, t test with k − 2 df.
* ``model="rma"`` (default, metafor's default) — a mixed-effects meta-regression
  ``rma(yi, vi, mods=√vi, method, test)``: additive between-study variance τ², z (or
  Knapp–Hartung t) test of the slope.

β₀ is the "limit estimate" (the effect of a study with SE → 0, Rücker et al. 2011).

**Begg and Mazumdar's rank test** (Biometrics 1994, 50:1088) correlates the standardised
deviates y*ᵢ = (yᵢ − θ̂)/√(vᵢ − 1/Σw) (θ̂ the fixed-effect estimate, wᵢ = 1/vᵢ) with vᵢ
by Kendall's τ (τ-b). As metafor's ``ranktest``, the p-value is exact when there are no
ties (``exact=True``) and otherwise from the normal approximation with the tie
correction of the variance.

**Trim and fill** (Duval & Tweedie 2000, Biometrics 56:455; JASA 95:89) estimates the
number k₀ of studies missing on one side of the funnel, imputes their mirror images
around the trimmed estimate and refits. With the studies sorted, centred on the current
estimate and ranked by |yᵢ − θ̂| (ties: first come, first ranked), Sᵣ the sum of the
ranks of positive deviations and γ* the length of the rightmost run of positive ranks:

    L0: k₀ = (4Sᵣ − k(k + 1)) / (2k − 1),
        SE(k₀) = 4√Var(Sᵣ)/(2k − 1),
        Var(Sᵣ) = [k(k+1)(2k+1) + 10k₀³ + 27k₀² + 17k₀ − 18kk₀² − 18kk₀ + 6k²k₀] / 24
    R0: k₀ = γ* − 1, SE(k₀) = √(2k₀ + 2), P(k₀ ≥ observed | no missing) = 0.5^(k₀+1)

iterated (trim k₀ most extreme studies, re-estimate θ̂) until k₀ is stable. The side
with missing studies is, unless given, the side opposite the sign of the Egger slope of
a meta-regression on √vᵢ (metafor's rule). The numbers reproduce metafor's
``regtest``, ``ranktest`` and ``trimfill``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from locoreg.meta._validate import as_effects, as_level
from locoreg.meta.errors import ArgumentError
from locoreg.meta.rma import MetaResult, rma

__all__ = [
    "EggerResult",
    "RankTestResult",
    "TrimFillResult",
    "egger_test",
    "rank_test",
    "trim_fill",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class EggerResult:
    """Regression test for funnel-plot asymmetry (slope of yᵢ on √vᵢ)."""

    model: str
    #: z (``rma`` with test="z") or t statistic of the slope
    statistic: float
    p_value: float
    #: residual degrees of freedom of the t test; None for a z test
    df: int | None
    slope: float
    slope_se: float
    #: intercept: the estimated effect of an infinitely precise study
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float
    method: str
    test: str
    level: float
    k: int


@dataclass(frozen=True, slots=True)
class RankTestResult:
    """Begg and Mazumdar's rank correlation test."""

    tau: float
    p_value: float
    exact: bool
    k: int


@dataclass(frozen=True, slots=True, eq=False)
class TrimFillResult:
    """Trim and fill: the estimated missing studies and the model refitted with them.

    ``yi``/``vi`` are the observed studies followed by the k₀ filled ones
    (``filled`` marks them); ``fit`` is ``rma`` on them (the original fit when k₀ = 0).
    """

    k0: int
    se_k0: float
    #: R0 only: probability of a k₀ this large with no missing studies; NaN for L0
    p_k0: float
    side: Literal["left", "right"]
    estimator: str
    fit: MetaResult
    yi: FloatArray
    vi: FloatArray
    filled: NDArray[np.bool_]
    iterations: int


def egger_test(
    yi: ArrayLike,
    vi: ArrayLike,
    model: Literal["rma", "lm"] = "rma",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
) -> EggerResult:
    """Egger's regression test for funnel-plot asymmetry (metafor ``regtest``).

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and their sampling variances (> 0), one per study.
    model : {"rma", "lm"}
        ``"rma"`` (default): mixed-effects meta-regression on √vᵢ; ``"lm"``: the classic
        weighted least-squares regression with a multiplicative residual variance.
    method : str
        τ² estimator of the meta-regression (``model="rma"`` only): FE, DL, REML, ML,
        PM, HE, SJ, EB or HS, as :func:`rma`.
    test : str
        ``"z"`` or ``"knha"`` (Knapp–Hartung), as :func:`rma`.
    level : float
        Confidence level of the intervals, in (0, 1).

    Returns
    -------
    EggerResult
        ``statistic`` and ``p_value`` of H₀: β₁ = 0, ``df`` (t tests), the ``slope`` β₁
        with its SE, and the limit estimate β₀ with its CI.

    Notes
    -----
    yᵢ = β₀ + β₁√vᵢ + eᵢ; β₀ is the effect of a study with SE → 0. Needs k ≥ 3; with
    fewer than about 10 studies the test has little power.

    References
    ----------
    Egger M, Davey Smith G, Schneider M, Minder C. Bias in meta-analysis detected by a
    simple, graphical test. BMJ 1997;315:629-34. Sterne JAC et al. BMJ 2011;343:d4002.
    """
    y, v = as_effects(yi, vi)
    level = as_level(level)
    k = y.size
    if k < 3:
        raise ArgumentError("yi", f"Egger's test needs at least 3 studies, got {k}")
    sei = np.sqrt(v)
    if model == "rma":
        fit = rma(y, v, method=method, test=test, level=level, mods=sei, mod_names=("sei",))
        p_value = float(fit.coef_p[1])
        return EggerResult(
            model=model,
            statistic=float(fit.coef_statistic[1]),
            p_value=p_value,
            df=fit.df,
            slope=float(fit.coef[1]),
            slope_se=float(fit.coef_se[1]),
            limit_estimate=float(fit.coef[0]),
            limit_ci_low=float(fit.coef_ci_low[0]),
            limit_ci_high=float(fit.coef_ci_high[0]),
            method=fit.method,
            test=fit.test,
            level=level,
            k=k,
        )
    if model != "lm":
        raise ArgumentError("model", f"{model!r} is not one of rma, lm", allowed="rma, lm")
    # Weighted least squares with weights 1/v: scale rows by 1/√v and solve by QR.
    X = np.column_stack([np.ones(k), sei])
    sw = 1.0 / sei
    Xw, yw = X * sw[:, None], y * sw
    beta, *_ = np.linalg.lstsq(Xw, yw, rcond=None)
    df = k - 2
    sigma2 = float(np.sum((yw - Xw @ beta) ** 2)) / df
    cov = sigma2 * np.linalg.inv(Xw.T @ Xw)
    se = np.sqrt(np.diag(cov))
    t = beta / se
    crit = float(stats.t.isf((1.0 - level) / 2.0, df))
    return EggerResult(
        model=model,
        statistic=float(t[1]),
        p_value=float(2.0 * stats.t.sf(abs(t[1]), df)),
        df=df,
        slope=float(beta[1]),
        slope_se=float(se[1]),
        limit_estimate=float(beta[0]),
        limit_ci_low=float(beta[0] - crit * se[0]),
        limit_ci_high=float(beta[0] + crit * se[0]),
        method="FE",
        test="t",
        level=level,
        k=k,
    )


def rank_test(yi: ArrayLike, vi: ArrayLike, *, exact: bool = True) -> RankTestResult:
    """Begg and Mazumdar's rank correlation test (metafor ``ranktest``).

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and their sampling variances (> 0), one per study.
    exact : bool
        Exact p-value of Kendall's τ when there are no ties (otherwise, and with False,
        the normal approximation with the tie correction).

    Returns
    -------
    RankTestResult
        Kendall's ``tau``, its ``p_value``, whether it was ``exact``, and ``k``.

    Notes
    -----
    Kendall's τ-b of y*ᵢ = (yᵢ − θ̂)/√(vᵢ − 1/Σw) and vᵢ, θ̂ the fixed-effect estimate
    with wᵢ = 1/vᵢ. Needs k ≥ 3.

    References
    ----------
    Begg CB, Mazumdar M. Operating characteristics of a rank correlation test for
    publication bias. Biometrics 1994;50:1088-101.
    """
    y, v = as_effects(yi, vi)
    k = y.size
    if k < 3:
        raise ArgumentError("yi", f"the rank test needs at least 3 studies, got {k}")
    w = 1.0 / v
    theta = float(np.sum(w * y) / w.sum())
    y_star = (y - theta) / np.sqrt(v - 1.0 / w.sum())
    ties = np.unique(y_star).size < k or np.unique(v).size < k
    use_exact = exact and not ties
    res = stats.kendalltau(y_star, v, method="exact" if use_exact else "asymptotic")
    return RankTestResult(tau=float(res.statistic), p_value=float(res.pvalue), exact=use_exact, k=k)


def trim_fill(
    yi: ArrayLike,
    vi: ArrayLike,
    estimator: Literal["L0", "R0"] = "L0",
    side: Literal["left", "right"] | None = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    *,
    max_iter: int = 100,
) -> TrimFillResult:
    """Duval and Tweedie's trim and fill (metafor ``trimfill``).

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and their sampling variances (> 0), one per study.
    estimator : {"L0", "R0"}
        Estimator of the number k₀ of missing studies.
    side : {"left", "right"}, optional
        Where studies are missing; ``None`` takes the side opposite the sign of the
        Egger slope.
    method : str
        τ² estimator of the model being corrected: FE, DL, REML, ML, PM, HE, SJ, EB or
        HS, as :func:`rma`.
    test : str
        ``"z"`` or ``"knha"`` (Knapp–Hartung), as :func:`rma`.
    level : float
        Confidence level of the intervals, in (0, 1).
    max_iter : int
        Most trim-and-re-estimate iterations before giving up.

    Returns
    -------
    TrimFillResult
        ``k0`` with ``se_k0`` and ``p_k0``, the ``side``, the data with the ``filled``
        studies (``yi``, ``vi``) and their refitted ``fit``.

    Notes
    -----
    L0: k₀ = (4Sᵣ − k(k + 1))/(2k − 1); R0: k₀ = γ* − 1 (module docstring), iterated
    until k₀ is stable. The filled data are refitted with the same ``test`` (metafor 3.8
    refits with ``test="z"``; with ``test="z"`` the results coincide). Needs k ≥ 3.

    References
    ----------
    Duval S, Tweedie R. Trim and fill. Biometrics 2000;56:455-63. Duval S, Tweedie R.
    J Am Stat Assoc 2000;95:89-98.
    """
    y0, v0 = as_effects(yi, vi)
    k = y0.size
    if k < 3:
        raise ArgumentError("yi", f"trim and fill needs at least 3 studies, got {k}")
    if estimator not in ("L0", "R0"):
        raise ArgumentError("estimator", f"{estimator!r} is not one of L0, R0", allowed="L0, R0")
    if side is None:
        slope = rma(y0, v0, method=method, mods=np.sqrt(v0), tau2_ci=False).coef[1]
        side = "right" if slope < 0 else "left"
    elif side not in ("left", "right"):
        raise ArgumentError("side", f"{side!r} is not one of left, right", allowed="left, right")
    original = rma(y0, v0, method=method, test=test, level=level)

    # Work as if studies were missing on the left: flip the sign for the right side.
    sign = -1.0 if side == "right" else 1.0
    idx = np.argsort(sign * y0, kind="stable")
    y, v = sign * y0[idx], v0[idx]

    k0, k0_prev, iterations = 0, -1, 0
    beta = math.nan
    se_k0 = math.nan
    while k0 != k0_prev:
        k0_prev = k0
        iterations += 1
        if iterations > max_iter:
            raise ArithmeticError(f"trim and fill did not converge in {max_iter} iterations")
        beta = rma(y[: k - k0], v[: k - k0], method=method, tau2_ci=False).estimate
        dev = y - beta
        ranks = stats.rankdata(np.abs(dev), method="ordinal")  # R's ties.method="first"
        signed = np.sign(dev) * ranks
        if estimator == "R0":
            k0_raw = float(k - np.max(-signed[signed < 0]) - 1)
            se_k0 = math.sqrt(2.0 * max(0.0, k0_raw) + 2.0)
        else:
            s_r = float(np.sum(signed[signed > 0]))
            k0_raw = (4.0 * s_r - k * (k + 1)) / (2 * k - 1)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0_raw**3
                + 27 * k0_raw**2
                + 17 * k0_raw
                - 18 * k * k0_raw**2
                - 18 * k * k0_raw
                + 6 * k**2 * k0_raw
            ) / 24.0
            se_k0 = 4.0 * math.sqrt(var_sr) / (2 * k - 1) if var_sr >= 0 else math.nan
        k0 = max(0, int(np.round(k0_raw)))
        se_k0 = max(0.0, se_k0) if not math.isnan(se_k0) else se_k0

    p_k0 = 0.5 ** (k0 + 1) if estimator == "R0" else math.nan
    if k0 == 0:
        return TrimFillResult(
            k0=0, se_k0=se_k0, p_k0=p_k0, side=side, estimator=estimator, fit=original,
            yi=y0, vi=v0, filled=np.zeros(k, dtype=bool), iterations=iterations,
        )  # fmt: skip
    # The k0 most extreme studies, mirrored around the last trimmed estimate.
    y_fill = sign * (2.0 * beta - y[k - k0 :])
    yi_all = np.concatenate([y0, y_fill])
    vi_all = np.concatenate([v0, v[k - k0 :]])
    return TrimFillResult(
        k0=k0,
        se_k0=se_k0,
        p_k0=p_k0,
        side=side,
        estimator=estimator,
        fit=rma(yi_all, vi_all, method=method, test=test, level=level),
        yi=yi_all,
        vi=vi_all,
        filled=np.r_[np.zeros(k, dtype=bool), np.ones(k0, dtype=bool)],
        iterations=iterations,
    )
