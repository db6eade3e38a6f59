"""Sensitivity analyses of a meta-analysis: leave-one-out, cumulative, influence diagnostics.

All three refit the model of :func:`locoreg.meta.rma` (same ``method``, ``test`` and
``level``) on subsets of the studies, as metafor's ``leave1out``, ``cumul`` and
``influence.rma.uni`` do for an intercept-only ``rma.uni`` model. The refits are a loop
over k models (each fit is itself vectorised); k is the number of studies, so this is
k small fits, never a loop over data rows inside a fit.

Influence diagnostics (Viechtbauer & Cheung 2010, Res Synth Methods 1:112) for study i,
with μ̂ and Var(μ̂) from the full fit, μ̂₍₋ᵢ₎, τ̂²₍₋ᵢ₎, s²₍₋ᵢ₎ (Knapp–Hartung factor, 1 for
``test="z"``) and Var(μ̂₍₋ᵢ₎) from the fit without i, wᵢ = 1/(vᵢ + τ̂²):

    hat value          hᵢ = wᵢ / Σw                       (weight = 100·hᵢ %)
    deleted residual   rᵢ = (yᵢ − μ̂₍₋ᵢ₎) / √(s²₍₋ᵢ₎(vᵢ + τ̂²₍₋ᵢ₎) + Var(μ̂₍₋ᵢ₎))   (rstudent)
    DFFITS             (μ̂ − μ̂₍₋ᵢ₎) / √(s²₍₋ᵢ₎ hᵢ (τ̂²₍₋ᵢ₎ + vᵢ))
    DFBETAS            (μ̂ − μ̂₍₋ᵢ₎) / √(s²₍₋ᵢ₎ / Σⱼ 1/(vⱼ + τ̂²₍₋ᵢ₎))
    Cook's distance    (μ̂ − μ̂₍₋ᵢ₎)² / Var(μ̂)
    covariance ratio   Var(μ̂₍₋ᵢ₎) / Var(μ̂)

A study is flagged influential (metafor's rule, p = 1 coefficient) when
|DFFITS| > 3√(p/(k − p)), or P(χ²₁ ≤ Cook's D) > 0.5, or hᵢ > 3p/k, or |DFBETAS| > 1.

References: Viechtbauer W (2010) J Stat Softw 36(3) (metafor); Viechtbauer W, Cheung MW-L
(2010) Outlier and influence diagnostics for meta-analysis, Res Synth Methods 1:112–125.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from locoreg.meta._validate import as_effects, as_vector
from locoreg.meta.errors import ArgumentError
from locoreg.meta.rma import MetaResult, rma

__all__ = [
    "CumulativeResult",
    "InfluenceResult",
    "LeaveOneOutResult",
    "cumulative",
    "influence",
    "leave_one_out",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class _FitSeries:
    """One refit per row: pooled estimate, its test and interval, heterogeneity."""

    method: str
    test: str
    level: float
    k: NDArray[np.int64]
    estimate: FloatArray
    se: FloatArray
    statistic: FloatArray
    p_value: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    q: FloatArray
    q_p: FloatArray
    tau2: FloatArray
    i2: FloatArray
    h2: FloatArray


@dataclass(frozen=True, slots=True, eq=False)
class LeaveOneOutResult(_FitSeries):
    """Row i is the model fitted without study i (metafor ``leave1out``)."""


@dataclass(frozen=True, slots=True, eq=False)
class CumulativeResult(_FitSeries):
    """Row j is the model fitted on the first j + 1 studies in ``order`` (metafor ``cumul``).

    ``order`` holds the indices of the input studies in the order they were added, so
    row j adds study ``order[j]``.
    """

    order: NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class InfluenceResult:
    """Case-deletion diagnostics, one value per study (metafor ``influence.rma.uni``)."""

    rstudent: FloatArray
    dffits: FloatArray
    cook_d: FloatArray
    cov_r: FloatArray
    tau2_del: FloatArray
    qe_del: FloatArray
    hat: FloatArray
    #: percent weight of each study in the full fit
    weight: FloatArray
    dfbetas: FloatArray
    is_influential: NDArray[np.bool_]
    #: deleted residual yᵢ − μ̂₍₋ᵢ₎ and its standard error (rstudent = resid / resid_se)
    resid: FloatArray
    resid_se: FloatArray
    #: the full fit the diagnostics refer to
    fit: MetaResult


def _series(fits: list[MetaResult]) -> dict[str, NDArray[np.generic]]:
    def col(name: str) -> FloatArray:
        return np.array([np.nan if (x := getattr(f, name)) is None else x for f in fits], float)

    out: dict[str, NDArray[np.generic]] = {
        name: col(name) for name in ("estimate", "se", "statistic", "p_value", "ci_low", "ci_high")
    }
    out.update(q=col("q"), q_p=col("q_p"), tau2=col("tau2"), i2=col("i2"), h2=col("h2"))
    out["k"] = np.array([f.k for f in fits], dtype=np.int64)
    return out


def _check_options(method: str, test: str, level: float) -> None:
    # rma validates these too, but only once it is called; fail before any refit.
    rma([0.0], [1.0], method=method, test=test, level=level)


def leave_one_out(
    yi: ArrayLike,
    vi: ArrayLike,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
) -> LeaveOneOutResult:
    """Refit the model k times, each time without one study (metafor ``leave1out``).

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and their sampling variances (> 0), one per study.
    method : str
        τ² estimator of the refits (FE, DL, REML, ML, PM, HE, SJ, EB, HS), as :func:`rma`.
    test : str
        ``"z"`` or ``"knha"`` (Knapp–Hartung), as :func:`rma`.
    level : float
        Confidence level of the intervals, in (0, 1).

    Returns
    -------
    LeaveOneOutResult
        Row i is the fit without study i: ``estimate``, ``se``, ``statistic``,
        ``p_value``, ``ci_low``, ``ci_high``, ``tau2``, ``i2``, ``h2``, ``q``, ``q_p``.

    Notes
    -----
    Row i is :func:`rma` on {yⱼ, vⱼ: j ≠ i} (μ̂₍₋ᵢ₎, τ̂²₍₋ᵢ₎); needs k ≥ 2. The τ²
    interval of each refit is not computed.

    References
    ----------
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw
    2010;36(3):1-48. https://doi.org/10.18637/jss.v036.i03
    """
    y, v = as_effects(yi, vi)
    k = y.size
    if k < 2:
        raise ArgumentError("yi", "leave-one-out needs at least 2 studies")
    fits = _without_each(y, v, method, test, level)
    return LeaveOneOutResult(method=method, test=test, level=level, **_series(fits))  # type: ignore[arg-type]


def _without_each(
    y: FloatArray, v: FloatArray, method: str, test: str, level: float
) -> list[MetaResult]:
    _check_options(method, test, level)
    keep = ~np.eye(y.size, dtype=bool)  # row i: every study but i
    # the τ² interval of each refit is not reported: skip its root searches
    return [rma(y[m], v[m], method=method, test=test, level=level, tau2_ci=False) for m in keep]


def cumulative(
    yi: ArrayLike,
    vi: ArrayLike,
    order: ArrayLike | None = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    *,
    decreasing: bool = False,
) -> CumulativeResult:
    """Cumulative meta-analysis: add the studies one at a time in the order of ``order``.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and their sampling variances (> 0), one per study.
    order : array_like, optional
        A sort key per study (for a chronological analysis, the publication year); ties
        keep the input order (a stable sort, as R's ``order``). ``None`` adds the studies
        in the order given.
    method : str
        τ² estimator of the refits (FE, DL, REML, ML, PM, HE, SJ, EB, HS), as :func:`rma`.
    test : str
        ``"z"`` or ``"knha"`` (Knapp–Hartung), as :func:`rma`.
    level : float
        Confidence level of the intervals, in (0, 1).
    decreasing : bool
        Sort ``order`` from the largest key.

    Returns
    -------
    CumulativeResult
        Row j is the fit on the first j + 1 studies; ``order`` holds the input indices in
        the order they were added.

    Notes
    -----
    Row j is :func:`rma` on the studies ``order[0..j]`` (metafor ``cumul``); the first row
    is a single study (τ̂² = 0).

    References
    ----------
    Lau J, Antman EM, Jimenez-Silva J, et al. Cumulative meta-analysis of therapeutic
    trials for myocardial infarction. N Engl J Med 1992;327:248-54.
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw
    2010;36(3):1-48. https://doi.org/10.18637/jss.v036.i03
    """
    y, v = as_effects(yi, vi)
    k = y.size
    if order is None:
        idx = np.arange(k)
    else:
        key = as_vector(order, "order")
        if key.size != k:
            raise ArgumentError("order", f"expected {k} values (one per study), got {key.size}")
        idx = np.argsort(-key if decreasing else key, kind="stable")
    _check_options(method, test, level)
    ys, vs = y[idx], v[idx]
    fits = [
        rma(ys[:j], vs[:j], method=method, test=test, level=level, tau2_ci=False)
        for j in range(1, k + 1)
    ]
    return CumulativeResult(
        method=method,
        test=test,
        level=level,
        order=idx.astype(np.int64),
        **_series(fits),  # type: ignore[arg-type]
    )


def influence(
    yi: ArrayLike,
    vi: ArrayLike,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
) -> InfluenceResult:
    """Outlier and influence diagnostics for every study (metafor ``influence.rma.uni``).

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and their sampling variances (> 0), one per study.
    method : str
        τ² estimator of the refits (FE, DL, REML, ML, PM, HE, SJ, EB, HS), as :func:`rma`.
    test : str
        ``"z"`` or ``"knha"`` (Knapp–Hartung), as :func:`rma`.
    level : float
        Confidence level of the intervals, in (0, 1).

    Returns
    -------
    InfluenceResult
        Per study: ``rstudent``, ``dffits``, ``cook_d``, ``cov_r``, ``tau2_del``,
        ``qe_del``, ``hat``, ``weight``, ``dfbetas`` and the ``is_influential`` flag.

    Notes
    -----
    hᵢ = wᵢ/Σw; rᵢ = (yᵢ − μ̂₍₋ᵢ₎)/√(s²₍₋ᵢ₎(vᵢ + τ̂²₍₋ᵢ₎) + Var(μ̂₍₋ᵢ₎)); Cook's distance
    (μ̂ − μ̂₍₋ᵢ₎)²/Var(μ̂); covariance ratio Var(μ̂₍₋ᵢ₎)/Var(μ̂); DFFITS and DFBETAS and
    the flagging rule are in the module docstring. Needs k ≥ 2.

    References
    ----------
    Viechtbauer W, Cheung MW-L. Outlier and influence diagnostics for meta-analysis. Res
    Synth Methods 2010;1:112-25.
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw
    2010;36(3):1-48. https://doi.org/10.18637/jss.v036.i03
    """
    y, v = as_effects(yi, vi)
    k = y.size
    if k < 2:
        raise ArgumentError("yi", "influence diagnostics need at least 2 studies")
    full = rma(y, v, method=method, test=test, level=level)
    fits = _without_each(y, v, method, test, level)
    est_del = np.array([f.estimate for f in fits])
    tau2_del = np.array([f.tau2 for f in fits])
    s2w_del = np.array([f.s2w for f in fits])
    var_del = np.array([f.se for f in fits]) ** 2
    # weights of all k studies under each deleted fit's τ̂² (row i uses τ̂²₍₋ᵢ₎)
    w_del = 1.0 / (v[None, :] + tau2_del[:, None])

    w = 1.0 / (v + full.tau2)
    hat = w / w.sum()
    var_full = full.se**2
    diff = full.estimate - est_del

    resid = y - est_del
    resid[np.abs(resid) < 100 * np.finfo(float).eps] = 0.0
    resid_se = np.sqrt(v * s2w_del + var_del + tau2_del * s2w_del)
    dffits = diff / np.sqrt(s2w_del * hat * (tau2_del + v))
    dfbetas = diff / np.sqrt(s2w_del / w_del.sum(axis=1))
    cook_d = diff**2 / var_full
    cov_r = var_del / var_full

    p = 1
    is_infl = (
        (np.abs(dffits) > 3.0 * np.sqrt(p / (k - p)))
        | (stats.chi2.cdf(cook_d, p) > 0.5)
        | (hat > 3.0 * p / k)
        | (np.abs(dfbetas) > 1.0)
    )
    return InfluenceResult(
        rstudent=resid / resid_se,
        dffits=dffits,
        cook_d=cook_d,
        cov_r=cov_r,
        tau2_del=tau2_del,
        qe_del=np.array([f.q for f in fits]),
        hat=hat,
        weight=100.0 * hat,
        dfbetas=dfbetas,
        is_influential=is_infl,
        resid=resid,
        resid_se=resid_se,
        fit=full,
    )
