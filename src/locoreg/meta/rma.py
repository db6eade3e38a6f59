"""Fixed- and random-effects meta-analysis and meta-regression (metafor's ``rma.uni``).

Model: yᵢ = xᵢβ + uᵢ + εᵢ, εᵢ ~ N(0, vᵢ) with vᵢ known, uᵢ ~ N(0, τ²) (τ² = 0 for the
fixed-effect model ``method="FE"``). Given τ̂², with wᵢ = 1/(vᵢ + τ̂²):

    β̂ = (XᵀWX)⁻¹XᵀWy,   Var(β̂) = (XᵀWX)⁻¹                            (test="z")
    Var(β̂) = s² (XᵀWX)⁻¹, s² = Σwᵢ(yᵢ − xᵢβ̂)²/(k − p), t with k − p df  (test="knha")

(Knapp & Hartung 2003; as in metafor, s² is not truncated at 1.) Heterogeneity:
Cochran's Q = Σ(1/vᵢ)(yᵢ − xᵢβ̂_FE)² on k − p df; for random-effects models
I² = 100·τ̂²/(τ̂² + ṽ) and H² = (τ̂² + ṽ)/ṽ with the typical within-study variance
ṽ = (k − p)/tr(P) (Higgins & Thompson 2002; for p = 1, ṽ = (k − 1)Σw/((Σw)² − Σw²));
for the fixed-effect model I² = max(0, (Q − (k − p))/Q) and H² = Q/(k − p).
The τ² confidence interval is the Q-profile interval (Viechtbauer 2007):
{τ²: χ²_{α/2, k−p} ≤ Q(τ²) ≤ χ²_{1−α/2, k−p}} on [0, max(100, 10τ̂²)], as ``confint()``.
The prediction interval is β̂ ± c·√(SE² + τ̂²), c the normal quantile (z) or the t
quantile with k − p df (knha), as ``predict()``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from locoreg.meta import _dist
from locoreg.meta._heterogeneity import ConvergenceError, estimate_tau2, p_moments, q_stat
from locoreg.meta._validate import as_effects, as_level
from locoreg.meta._zeroin import R_TOL, zeroin
from locoreg.meta.errors import ArgumentError
from locoreg.meta.options import TAU2_METHODS, TESTS, Tau2Method, Test
from locoreg.meta.result import CONTRACT_KEYS, MetaResult

__all__ = ["CONTRACT_KEYS", "ArgumentError", "ConvergenceError", "MetaResult", "rma"]
FloatArray = NDArray[np.float64]


def _opt(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


def rma(
    yi: ArrayLike | str,
    vi: ArrayLike | str,
    method: Tau2Method | str = "REML",
    test: Test | str = "z",
    level: float = 0.95,
    mods: ArrayLike | str | None = None,
    *,
    data: Any = None,
    mod_names: tuple[str, ...] | list[str] | None = None,
    threshold: float = 1e-5,
    max_iter: int = 100,
    tol: float = R_TOL,
    tau2_ci: bool = True,
) -> MetaResult:
    """Fit a fixed-effect (``method="FE"``), random-effects or mixed-effects model.

    Two forms, as metafor's ``rma.uni``: arrays, ``rma(yi, vi, mods=X)``, or columns of a
    data frame with a moderator formula, ``rma("yi", "vi", data=df, mods="~ year")``
    (:mod:`locoreg.meta.formula`: R's treatment contrasts, rows with a missing value in
    a used column dropped and counted in ``n_dropped``).

    Parameters
    ----------
    yi, vi : array_like or str
        Effect sizes (for example log hazard ratios) and their sampling variances (> 0);
        with ``data``, column names (or one value per row).
    method : str
        τ² estimator: FE, DL, REML, ML, PM, HE, SJ, EB or HS (metafor's definitions).
    test : str
        ``"z"`` (normal) or ``"knha"`` (Knapp–Hartung, t with k − p df). As in metafor,
        k = 1 falls back to ``"z"``.
    level : float
        Confidence level of the intervals, in (0, 1).
    mods : array_like or str, optional
        Moderators, shape (k,) or (k, m); an intercept column is added. With ``data``, a
        one-sided formula over its columns, such as ``"~ ablat + factor(alloc)"``.
    data : pandas.DataFrame, optional
        The studies, one per row, for the formula form.
    mod_names : sequence of str, optional
        Names of the moderator columns of the array form (default ``mod1``, ``mod2``, …).
    threshold, max_iter, tol : float, int, float
        Convergence control, metafor's ``control = list(threshold, maxiter, tol)`` with its
        defaults: Fisher scoring (ML, REML, EB) stops when τ² changes by less than
        ``threshold``; the Paule–Mandel root search stops at ``tol`` (R ``uniroot``'s
        default, ≈1.2e-4); both take at most ``max_iter`` steps. Non-convergence raises
        :class:`ConvergenceError` naming the method and the iterations.
    tau2_ci : bool
        Compute the Q-profile interval for τ² (default). Refits whose interval nobody
        reads (leave-one-out, cumulative, trim-and-fill iterations) pass False: it is the
        most expensive part of a fit (two root searches), and the fields are then None.

    Returns
    -------
    MetaResult
        Pooled effect (or coefficients), τ² with its Q-profile interval, I², H², Q, the
        prediction interval and the per-study weights; ``formula`` and ``n_dropped`` for
        the formula form.

    Notes
    -----
    yᵢ = xᵢβ + uᵢ + εᵢ, εᵢ ~ N(0, vᵢ), uᵢ ~ N(0, τ²); with wᵢ = 1/(vᵢ + τ̂²),
    β̂ = (XᵀWX)⁻¹XᵀWy and Var(β̂) = (XᵀWX)⁻¹ (z) or s²(XᵀWX)⁻¹ with t on k − p df (knha);
    Q = Σ(1/vᵢ)(yᵢ − xᵢβ̂_FE)², I² = 100·τ̂²/(τ̂² + ṽ), H² = (τ̂² + ṽ)/ṽ; the Q-profile
    interval for τ² and the prediction interval β̂ ± c·√(SE² + τ̂²). Details in the
    module docstring.

    References
    ----------
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw
    2010;36(3):1-48. Knapp G, Hartung J. Stat Med 2003;22:2693-710. Viechtbauer W.
    Confidence intervals for the amount of heterogeneity in meta-analysis. Stat Med
    2007;26:37-52.
    """
    if data is not None or isinstance(yi, str) or isinstance(mods, str):
        from locoreg.meta.formula import meta_frame

        if mods is not None and not isinstance(mods, str):
            raise ArgumentError("mods", "with data=, a one-sided formula such as '~ year'")
        frame = meta_frame(yi, vi, mods, data)
        res = rma(
            frame.yi, frame.vi, method, test, level, frame.mods, mod_names=frame.names,
            threshold=threshold, max_iter=max_iter, tol=tol, tau2_ci=tau2_ci,
        )  # fmt: skip
        return replace(res, formula=mods, n_dropped=frame.n_dropped)
    y, v = as_effects(yi, vi)
    level = as_level(level)
    for name, value, allowed in (("method", method, TAU2_METHODS), ("test", test, TESTS)):
        if value not in allowed:
            listed = ", ".join(allowed)
            raise ArgumentError(name, f"{value!r} is not one of {listed}", allowed=listed)
    if max_iter < 1:
        raise ArgumentError("max_iter", f"{max_iter} must be >= 1")
    if not threshold > 0:
        raise ArgumentError("threshold", f"{threshold} must be > 0")
    if not tol > 0:
        raise ArgumentError("tol", f"{tol} must be > 0")
    X, names = _design(mods, len(y), mod_names)
    k, p = X.shape
    if k == 1:
        test = "z"  # metafor: no residual df for a t test

    iterations = 0
    tau2_se: float | None = None
    if method == "FE" or k == 1:
        tau2 = 0.0
    else:
        fit = estimate_tau2(y, v, X, method, threshold=threshold, maxiter=max_iter, tol=tol)
        tau2, tau2_se, iterations = fit.tau2, fit.se, fit.iterations

    # fixed effects given τ²
    w = 1.0 / (v + tau2)
    wx = X * w[:, None]
    vb = np.linalg.inv(X.T @ wx)
    beta = vb @ (wx.T @ y)
    s2w = 1.0
    df: int | None = None
    if test == "knha":
        rss = float(np.sum(w * (y - X @ beta) ** 2))
        s2w = rss / (k - p) if rss > np.finfo(float).eps else 0.0
        df = k - p
        vb = s2w * vb
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = beta / se
    alpha = 1.0 - level
    if df is None:
        crit = _dist.norm_isf(alpha / 2)
        pval = 2.0 * _dist.norm_sf(np.abs(zval))
    else:
        crit = _dist.t_isf(alpha / 2, df) if df > 0 else math.nan
        pval = 2.0 * _dist.t_sf(np.abs(zval), df) if df > 0 else np.full(p, np.nan)
    ci_lb, ci_ub = beta - crit * se, beta + crit * se

    # omnibus test of moderators (the intercept alone for an intercept-only model)
    btt = np.arange(1, p) if p > 1 else np.arange(1)
    m = len(btt)
    bb = beta[btt]
    qm = float(bb @ np.linalg.solve(vb[np.ix_(btt, btt)], bb))
    if df is None:
        qm_df: tuple[int, int | None] = (m, None)
        qm_p = _dist.chi2_sf(qm, m)
    else:
        qm /= m
        qm_df = (m, df)
        qm_p = _dist.f_sf(qm, m, df) if df > 0 else math.nan

    # heterogeneity
    q, q_p, i2, h2 = _heterogeneity(y, v, X, tau2, fixed=(method == "FE"))

    # Q-profile interval for τ² (random-effects models with k >= 2)
    tau2_interval: tuple[float | None, float | None] = (None, None)
    if tau2_ci and method != "FE" and k > 1:
        tau2_interval = _q_profile(y, v, X, tau2, level)

    # prediction interval at the first coefficient (metafor predict(); not for FE)
    pi_low = pi_high = None
    if method != "FE" and p == 1:
        pi_crit = crit if df is None else _dist.t_isf(alpha / 2, max(df, 1))
        half = pi_crit * math.sqrt(float(se[0]) ** 2 + tau2)
        pi_low, pi_high = float(beta[0] - half), float(beta[0] + half)

    r2 = None
    if p > 1:
        r2 = _pseudo_r2(y, v, X, beta, tau2, method, test, level, threshold, max_iter, tol)

    return MetaResult(
        k=k,
        method=str(method),
        test=str(test),
        level=level,
        estimate=float(beta[0]),
        se=float(se[0]),
        statistic=float(zval[0]),
        p_value=_opt(float(pval[0])),
        ci_low=_opt(float(ci_lb[0])),
        ci_high=_opt(float(ci_ub[0])),
        tau2=tau2,
        tau2_se=tau2_se,
        tau2_ci_low=tau2_interval[0],
        tau2_ci_high=tau2_interval[1],
        i2=i2,
        h2=h2,
        q=q,
        q_df=k - p,
        q_p=q_p,
        pi_low=pi_low,
        pi_high=pi_high,
        weights=100.0 * w / w.sum(),
        df=df,
        iterations=iterations,
        s2w=s2w,
        coef_names=names,
        coef=beta,
        coef_se=se,
        coef_statistic=zval,
        coef_p=np.asarray(pval, dtype=float),
        coef_ci_low=ci_lb,
        coef_ci_high=ci_ub,
        qm=qm,
        qm_df=qm_df,
        qm_p=qm_p,
        r2=r2,
        vcov=np.asarray(vb, dtype=np.float64),
    )


def _design(
    mods: ArrayLike | None, k: int, mod_names: tuple[str, ...] | list[str] | None
) -> tuple[FloatArray, tuple[str, ...]]:
    """Model matrix [1, mods] and coefficient names."""
    if mods is None:
        return np.ones((k, 1)), ("intercept",)
    Z = np.asarray(mods, dtype=float)
    if Z.ndim == 1:
        Z = Z[:, None]
    if Z.ndim != 2 or Z.shape[0] != k:
        raise ArgumentError("mods", f"expected {k} rows (one per study), got shape {Z.shape}")
    bad = np.argwhere(~np.isfinite(Z))
    if len(bad):
        i, j = bad[0]
        raise ArgumentError(
            "mods", f"column {j}: moderator values must be finite numbers", index=int(i)
        )
    X = np.column_stack([np.ones(k), Z])
    if X.shape[1] >= k:
        # p = k would leave no residual df for τ², Q or the Knapp–Hartung t
        raise ArgumentError(
            "mods",
            f"{X.shape[1]} coefficients cannot be estimated from {k} studies "
            "(need more studies than coefficients)",
        )
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ArgumentError("mods", "the model matrix (intercept + moderators) is not of full rank")
    if mod_names is None:
        names = tuple(f"mod{j + 1}" for j in range(Z.shape[1]))
    else:
        names = tuple(str(n) for n in mod_names)
        if len(names) != Z.shape[1]:
            raise ArgumentError("mod_names", f"expected {Z.shape[1]} names, got {len(names)}")
    return X, ("intercept", *names)


def _heterogeneity(
    y: FloatArray, v: FloatArray, X: FloatArray, tau2: float, *, fixed: bool
) -> tuple[float, float, float, float]:
    """Cochran's Q (residual QE for a meta-regression), its p-value, I² (%) and H²."""
    k, p = X.shape
    if k <= p:
        return 0.0, 1.0, 0.0, 1.0
    yc = y - y.mean()
    Py, trP, _ = p_moments(X, 1.0 / v, yc)
    q = max(0.0, float(yc @ Py))
    q_p = _dist.chi2_sf(q, k - p)
    if fixed:
        i2 = max(0.0, 100.0 * (q - (k - p)) / q) if q > 0 else 0.0
        return q, q_p, i2, q / (k - p)
    vt = (k - p) / trP  # typical within-study variance
    return q, q_p, 100.0 * tau2 / (vt + tau2), tau2 / vt + 1.0


def _q_profile(
    y: FloatArray, v: FloatArray, X: FloatArray, tau2: float, level: float
) -> tuple[float | None, float | None]:
    """Q-profile confidence interval for τ² (Viechtbauer 2007), as metafor's ``confint``.

    The bounds solve Q(τ²) = χ²_{1−α/2} (lower) and Q(τ²) = χ²_{α/2} (upper) on
    [0, max(100, 10τ̂²)]; a bound that does not cross is set to the end of that
    range (both are 0 when even Q(0) is below χ²_{α/2}: the interval is the null set,
    reported as [0, 0] like metafor).
    """
    k, p = X.shape
    alpha = 1.0 - level
    crit_u = _dist.chi2_isf(alpha / 2, k - p)
    crit_l = _dist.chi2_ppf(alpha / 2, k - p)
    lo_end, hi_end = 0.0, max(100.0, 10.0 * tau2)
    q_lo = q_stat(lo_end, y, v, X)
    q_hi = q_stat(hi_end, y, v, X)

    def root(target: float) -> float | None:
        try:
            return zeroin(lambda t: q_stat(t, y, v, X) - target, lo_end, hi_end, tol=R_TOL)[0]
        except ArithmeticError:
            return None

    lb: float | None
    ub: float | None
    if q_lo < crit_l:
        lb = ub = lo_end
    else:
        ub = hi_end if q_hi > crit_l else root(crit_l)
        lb = None
    if q_hi > crit_u:
        lb = ub = hi_end
    else:
        lb = lo_end if q_lo < crit_u else root(crit_u)
    return lb, ub


def _pseudo_r2(
    y: FloatArray,
    v: FloatArray,
    X: FloatArray,
    beta: FloatArray,
    tau2: float,
    method: str,
    test: str,
    level: float,
    threshold: float,
    max_iter: int,
    tol: float,
) -> float | None:
    """Proportion of τ² accounted for by the moderators (Raudenbush 2009), percent:
    max(0, (τ̂²_RE − τ̂²_ME)/τ̂²_RE) with τ̂²_RE from the intercept-only model (metafor);
    for the fixed-effect model the adjusted R² of the weighted least squares fit."""
    k, p = X.shape
    if method == "FE":
        if np.var(y) == 0:
            return 0.0
        w = 1.0 / v
        ybar = float(np.sum(w * y) / w.sum())
        rss = float(np.sum(w * (y - X @ beta) ** 2))
        tss = float(np.sum(w * (y - ybar) ** 2))
        adj = 1.0 - (rss / (k - p)) / (tss / (k - 1))
        return max(0.0, 100.0 * adj)
    try:
        tau2_re = rma(
            y, v, method, test, level,
            threshold=threshold, max_iter=max_iter, tol=tol, tau2_ci=False,
        ).tau2  # fmt: skip
    except ConvergenceError:
        return None
    if tau2_re == 0:
        return 0.0
    return max(0.0, 100.0 * (tau2_re - tau2) / tau2_re)
