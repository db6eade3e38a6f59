"""Subgroup analysis: does the pooled effect differ between levels of a study-level factor?

Default (``tau2="separate"``), the approach of Borenstein et al. (2009, ch. 19,
"separate estimates of τ²") and of metafor's documented recipe: fit each level on
its own, ``rma(yi, vi, subset = group == g)``, then test the G level estimates θ̂_g
(with their standard errors s_g) for equality by a fixed-effect model,
``rma(θ̂, s², mods = ~ factor(level), method = "FE")``:

    Q_between = Σ_g (θ̂_g − θ̄)² / s_g²,   θ̄ = Σ θ̂_g/s_g² / Σ 1/s_g²,   χ² with G − 1 df.

With ``tau2="common"`` the test is instead the omnibus moderator test QM of one
mixed-effects meta-regression on level indicators, which assumes one τ² shared by all
levels (χ² with G − 1 df for test="z", F with G − 1 and k − G df for "knha").
The per-level fits in ``levels`` are the separate fits in both cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from locoreg.meta._dist import chi2_sf
from locoreg.meta._validate import as_effects
from locoreg.meta.errors import ArgumentError
from locoreg.meta.rma import MetaResult, rma

__all__ = ["SubgroupResult", "subgroup_analysis"]


@dataclass(frozen=True, slots=True, eq=False)
class SubgroupResult:
    """Per-level fits and the test of differences between levels."""

    method: str
    test: str
    tau2_mode: str
    #: level -> fit of that level's studies alone, levels in sorted order
    levels: dict[str, MetaResult]
    q_between: float
    #: numerator df (G − 1) and, for the common-τ² F test, the denominator df
    q_between_df: tuple[int, int | None]
    q_between_p: float
    #: the mixed-effects model behind ``tau2="common"``, else None
    moderator_fit: MetaResult | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "test": self.test,
            "tau2_mode": self.tau2_mode,
            "subgroups": {g: r.to_dict() for g, r in self.levels.items()},
            "q_between": self.q_between,
            "q_between_df": list(self.q_between_df),
            "q_between_p": self.q_between_p,
        }


def subgroup_analysis(
    yi: ArrayLike,
    vi: ArrayLike,
    groups: ArrayLike,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    *,
    tau2: Literal["separate", "common"] = "separate",
) -> SubgroupResult:
    """Random-effects fit per level of ``groups`` and the test of subgroup differences.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and their sampling variances (> 0), one per study.
    groups : array_like
        One label per study (converted to ``str``); at least two levels.
    method : str
        τ² estimator of the per-level fits (FE, DL, REML, ML, PM, HE, SJ, EB, HS), as :func:`rma`.
    test : str
        ``"z"`` or ``"knha"`` (Knapp–Hartung), as :func:`rma`.
    level : float
        Confidence level of the intervals, in (0, 1).
    tau2 : {"separate", "common"}
        ``"separate"``: one τ² per level and Q_between of the level estimates;
        ``"common"``: the moderator test QM of one meta-regression on level indicators.

    Returns
    -------
    SubgroupResult
        ``levels`` (a :class:`MetaResult` per level), ``q_between``, its df and p-value.

    Notes
    -----
    Q_between = Σ_g (θ̂_g − θ̄)²/s_g², θ̄ = Σ θ̂_g/s_g² / Σ 1/s_g², χ² on G − 1 df
    (``"separate"``); QM of ``rma(yi, vi, mods = ~ factor(group))`` (``"common"``).

    References
    ----------
    Borenstein M, Hedges LV, Higgins JPT, Rothstein HR. Introduction to Meta-Analysis.
    Wiley 2009, ch. 19.
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw
    2010;36(3):1-48. https://doi.org/10.18637/jss.v036.i03
    """
    y, v = as_effects(yi, vi)
    g = np.asarray(groups, dtype=object)
    if g.ndim != 1 or g.size != y.size:
        raise ArgumentError("groups", f"expected {y.size} labels (one per study), got {g.size}")
    missing = np.flatnonzero([x is None or (isinstance(x, float) and np.isnan(x)) for x in g])
    if missing.size:
        raise ArgumentError("groups", "missing subgroup label", index=int(missing[0]))
    labels = g.astype(str)
    names, codes = np.unique(labels, return_inverse=True)
    if names.size < 2:
        raise ArgumentError("groups", "at least two subgroup levels are needed")
    if tau2 not in ("separate", "common"):
        raise ArgumentError(
            "tau2", f"{tau2!r} is not one of separate, common", allowed="separate, common"
        )

    fits = {str(name): rma(y[codes == j], v[codes == j], method, test, level)
            for j, name in enumerate(names)}  # fmt: skip
    moderator_fit = None
    if tau2 == "separate":
        est = np.array([r.estimate for r in fits.values()])
        w = 1.0 / np.array([r.se for r in fits.values()]) ** 2
        pooled = float(np.sum(w * est) / w.sum())
        q_between = float(np.sum(w * (est - pooled) ** 2))
        df: tuple[int, int | None] = (names.size - 1, None)
        p = chi2_sf(q_between, names.size - 1)
    else:
        indicators = (codes[:, None] == np.arange(1, names.size)[None, :]).astype(float)
        moderator_fit = rma(
            y, v, method, test, level, mods=indicators, mod_names=[str(n) for n in names[1:]]
        )
        q_between, df, p = moderator_fit.qm, moderator_fit.qm_df, moderator_fit.qm_p
    return SubgroupResult(
        method=str(method),
        test=str(test),
        tau2_mode=tau2,
        levels=fits,
        q_between=q_between,
        q_between_df=df,
        q_between_p=p,
        moderator_fit=moderator_fit,
    )
