"""Text of a fitted model laid out as metafor's ``print(rma)`` (metafor 3.8, digits = 4).

Numbers use metafor's formats: estimates with 4 decimals, p-values as ``<.0001`` below
1e-4, I², R² as percentages with 2 decimals, the significance stars of R's ``symnum``
(cut points 0.001, 0.01, 0.05, 0.1). ``ratio=True`` adds the ratio scale, as
``print(predict(res, transf = exp))``: exp of the estimate, the CI and the PI.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from locoreg.meta.rma import MetaResult

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
