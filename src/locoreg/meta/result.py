"""The result of a fitted meta-analysis: :class:`MetaResult`, its JSON and its text.

The text (``print(res)``, ``res.summary()``) is laid out as metafor's ``print(rma)``
(metafor 3.8, digits = 4): estimates with 4 decimals, p-values as ``<.0001`` below 1e-4,
I², R² as percentages with 2 decimals, the significance stars of R's ``symnum`` (cut
points 0.001, 0.01, 0.05, 0.1). ``ratio=True`` adds the ratio scale, as
``print(predict(res, transf = exp))``: exp of the estimate, the CI and the PI.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: keys of :meth:`MetaResult.to_dict` fixed by CONTRACTS.md §3, in that order
CONTRACT_KEYS: tuple[str, ...] = (
    "k", "method", "test", "estimate", "se", "statistic", "p_value", "ci_low", "ci_high",
    "tau2", "tau2_ci_low", "tau2_ci_high", "i2", "h2", "q", "q_df", "q_p", "pi_low", "pi_high",
)  # fmt: skip


@dataclass(frozen=True, slots=True, eq=False)
class MetaResult:
    """One fitted meta-analysis. Scalar effect fields describe the first coefficient
    (the pooled effect, or the intercept of a meta-regression); ``coef_*`` arrays hold
    every coefficient. ``None`` means "not defined for this model" (for example the τ²
    interval of a fixed-effect model, or a p-value with 0 residual df)."""

    k: int
    method: str
    test: str
    level: float
    estimate: float
    se: float
    statistic: float
    p_value: float | None
    ci_low: float | None
    ci_high: float | None
    tau2: float
    tau2_se: float | None
    tau2_ci_low: float | None
    tau2_ci_high: float | None
    i2: float
    h2: float
    q: float
    q_df: int
    q_p: float
    pi_low: float | None
    pi_high: float | None
    #: percent weight of each study in the fit, 1/(vᵢ + τ̂²) normalised
    weights: FloatArray
    #: degrees of freedom of the t distribution (knha), else None
    df: int | None
    #: iterations of the τ² algorithm (Fisher scoring or root finding; 0 if closed form)
    iterations: int
    #: Knapp–Hartung scale factor s² (1 for test="z")
    s2w: float
    coef_names: tuple[str, ...]
    coef: FloatArray
    coef_se: FloatArray
    coef_statistic: FloatArray
    coef_p: FloatArray
    coef_ci_low: FloatArray
    coef_ci_high: FloatArray
    #: omnibus test of the moderators (all coefficients but the intercept; for an
    #: intercept-only model the intercept): χ² (z) or F (knha) statistic, df, p
    qm: float
    qm_df: tuple[int, int | None]
    qm_p: float
    #: pseudo-R² (percent) of a meta-regression, None for an intercept-only model
    r2: float | None = None
    vcov: FloatArray = field(default_factory=lambda: np.zeros((1, 1)), repr=False)
    #: the moderator formula of the formula form (``rma("yi", "vi", data=df, mods="~ x")``)
    formula: str | None = None
    #: rows of ``data`` dropped for a missing value in a used column (R ``na.omit``)
    n_dropped: int = 0

    def summary(self, *, ratio: bool = False) -> str:
        """The fit as metafor's ``print(rma)`` lays it out; ``ratio=True`` adds exp() of the
        estimate and its intervals (the ratio scale of log ratios, as
        ``predict(res, transf = exp)``)."""
        return format_rma(self, ratio=ratio)

    def __str__(self) -> str:
        return self.summary()

    @property
    def p(self) -> int:
        """Number of coefficients (1 for a plain meta-analysis)."""
        return len(self.coef)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the contract keys first, then the extras; NaN becomes None."""
        out: dict[str, Any] = {key: _clean(getattr(self, key)) for key in CONTRACT_KEYS}
        out.update(
            level=self.level,
            tau2_se=_clean(self.tau2_se),
            df=self.df,
            # kept in the JSON for its readers; a fit that does not converge raises
            # ConvergenceError instead of returning a result
            converged=True,
            iterations=self.iterations,
            weights=[_clean(x) for x in self.weights],
        )
        if self.formula is not None:
            out.update(formula=self.formula, n_dropped=self.n_dropped)
        if self.p > 1:
            out["coefficients"] = [
                {
                    "name": name,
                    "estimate": _clean(self.coef[j]),
                    "se": _clean(self.coef_se[j]),
                    "statistic": _clean(self.coef_statistic[j]),
                    "p_value": _clean(self.coef_p[j]),
                    "ci_low": _clean(self.coef_ci_low[j]),
                    "ci_high": _clean(self.coef_ci_high[j]),
                }
                for j, name in enumerate(self.coef_names)
            ]
            out.update(
                qm=_clean(self.qm), qm_df=list(self.qm_df), qm_p=_clean(self.qm_p), r2=self.r2
            )
        return out


def _clean(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


_STARS = ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."), (math.inf, " "))
LEGEND = "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1"


def _num(x: float | None, digits: int = 4) -> str:
    return "NA" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _var(x: float | None) -> str:
    """A variance component: metafor prints an estimate of exactly 0 as ``0``."""
    return "0" if x == 0 else _num(x)


def _p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "NA"
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


def _p_eq(p: float | None) -> str:
    text = _p(p)
    return f"p-val {text[0]} {text[1:]}" if text.startswith("<") else f"p-val = {text}"


def _star(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return " "
    return next(symbol for cut, symbol in _STARS if p <= cut)


def _table(names: Sequence[str] | None, columns: dict[str, list[str]]) -> list[str]:
    """R's ``print.data.frame`` (gap 2, cells right-aligned, row names left-aligned);
    without row names, the one-row layout of metafor's ``.print.vector``."""
    widths = {h: max(len(h), *(len(c) for c in cells)) for h, cells in columns.items()}
    rows = len(next(iter(columns.values())))
    lead = max(len(n) for n in names) if names else 0
    head = [" " * lead] if names else []
    lines = ["  ".join([*head, *(h.rjust(widths[h]) for h in columns)])]
    for i in range(rows):
        first = [names[i].ljust(lead)] if names else []
        lines.append("  ".join([*first, *(columns[h][i].rjust(widths[h]) for h in columns)]))
    return lines


def format_rma(res: MetaResult, *, ratio: bool = False) -> str:
    """The text of ``print(res)`` in metafor's layout; see the module docstring."""
    fixed = res.method == "FE"
    mixed = res.p > 1
    out: list[str] = []
    if fixed:
        out.append(f"{'Fixed-Effects with Moderators' if mixed else 'Fixed-Effects'} Model "
                   f"(k = {res.k})")  # fmt: skip
    else:
        kind = "Mixed-Effects" if mixed else "Random-Effects"
        out.append(f"{kind} Model (k = {res.k}; tau^2 estimator: {res.method})")
    out.append("")
    if mixed and not fixed:
        out += [
            "tau^2 (estimated amount of residual heterogeneity):     "
            f"{_var(res.tau2)} (SE = {_num(res.tau2_se)})",
            f"tau (square root of estimated tau^2 value):             {_var(math.sqrt(res.tau2))}",
            f"I^2 (residual heterogeneity / unaccounted variability): {res.i2:.2f}%",
            f"H^2 (unaccounted variability / sampling variability):   {res.h2:.2f}",
            f"R^2 (amount of heterogeneity accounted for):            {_num(res.r2, 2)}%",
        ]
    elif not fixed:
        out += [
            "tau^2 (estimated amount of total heterogeneity): "
            f"{_var(res.tau2)} (SE = {_num(res.tau2_se)})",
            f"tau (square root of estimated tau^2 value):      {_var(math.sqrt(res.tau2))}",
            f"I^2 (total heterogeneity / total variability):   {res.i2:.2f}%",
            f"H^2 (total variability / sampling variability):  {res.h2:.2f}",
        ]
    else:
        residual = (
            "residual heterogeneity / unaccounted" if mixed else "total heterogeneity / total"
        )
        out += [
            f"I^2 ({residual} variability):   {res.i2:.2f}%",
            f"H^2 (total variability / sampling variability):  {res.h2:.2f}",
        ]
    q = "QE" if mixed else "Q"
    out += [
        "",
        f"Test for {'Residual ' if mixed else ''}Heterogeneity:",
        f"{q}(df = {res.q_df}) = {res.q:.4f}, {_p_eq(res.q_p)}",
    ]
    if mixed:
        m = res.qm_df[0]
        which = "coefficient 2" if m == 1 else f"coefficients 2:{m + 1}"
        stat = f"QM(df = {m})" if res.qm_df[1] is None else f"F(df1 = {m}, df2 = {res.qm_df[1]})"
        out += ["", f"Test of Moderators ({which}):", f"{stat} = {res.qm:.4f}, {_p_eq(res.qm_p)}"]
    out += ["", "Model Results:", ""]
    columns: dict[str, list[str]] = {
        "estimate": [_num(x) for x in res.coef],
        "se": [_num(x) for x in res.coef_se],
        "zval" if res.df is None else "tval": [_num(x) for x in res.coef_statistic],
    }
    if res.df is not None:
        columns["df"] = [str(res.df)] * res.p
    pvals = [float(x) for x in res.coef_p]
    columns["pval"] = [_p(x) for x in pvals]
    columns["ci.lb"] = [_num(x) for x in res.coef_ci_low]
    columns["ci.ub"] = [_num(x) for x in res.coef_ci_high]
    stars = [_star(x) for x in pvals]
    width = max(len(s) for s in stars) + 1  # symnum's common width, and R's padding
    columns[""] = [s.ljust(width) for s in stars]
    names = ["intrcpt", *res.coef_names[1:]] if mixed else None
    out += _table(names, columns)
    out += ["", "---", LEGEND]
    if ratio and not mixed:
        out += ["", "", *_ratio_lines(res)]
    return "\n".join(out)


def _ratio_lines(res: MetaResult) -> list[str]:
    """``print(predict(res, transf = exp))``: one space before each field and after the last."""
    values = {"pred": res.estimate, "ci.lb": res.ci_low, "ci.ub": res.ci_high}
    if res.pi_low is not None:
        values.update({"pi.lb": res.pi_low, "pi.ub": res.pi_high})
    cells = {k: _num(None if v is None else math.exp(v)) for k, v in values.items()}
    widths = {k: max(len(k), len(c)) for k, c in cells.items()}
    head = "".join(" " + k.rjust(widths[k]) for k in cells) + " "
    row = "".join(" " + c.rjust(widths[k]) for k, c in cells.items()) + " "
    return [head, row]
