"""Tables and printed summaries of the fits, laid out as R prints them.

``summary()`` of a fit returns a pandas DataFrame (index = covariate names, groups or
times); ``print(fit)`` shows the text of R's ``summary(coxph)``, ``summary(survfit,
times=)``, ``survdiff`` and ``survreg``. Only presentation: every number comes from the fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from ._dist import norm_ppf, norm_sf

if TYPE_CHECKING:
    import pandas as pd

    from .cox import CoxResult
    from .km import KaplanMeier
    from .logrank import LogRankResult
    from .parametric import SurvregResult
    from .rmst import RMST


def _p(p: float) -> str:
    """R ``format.pval`` with 2 significant digits."""
    return "<2e-16" if p < 2e-16 else f"{p:.2g}"


def _frame_text(frame: pd.DataFrame, digits: int = 4) -> str:
    shown = frame.copy()
    shown.index.name = None
    return shown.to_string(float_format=lambda v: f"{v:.{digits}g}")


def _header(formula: str | None, call: str, n_dropped: int, counts: str = "") -> list[str]:
    """R's ``Call:`` block, the counts line and the rows deleted for missing values."""
    lines = []
    if formula is not None:
        lines += ["Call:", f"{call}(formula = {formula})", ""]
    if counts:
        lines.append(counts)
    if n_dropped:
        word = "observation" if n_dropped == 1 else "observations"
        lines.append(f"   ({n_dropped} {word} deleted due to missingness)")
    return lines


# --------------------------------------------------------------------------- Cox


def cox_table(fit: CoxResult) -> pd.DataFrame:
    """coef, exp(coef), se(coef) [, robust se], z, p and the CI of exp(coef), per covariate."""
    import pandas as pd

    pct = f"{fit.level:.2f}".lstrip("0")
    cols: dict[str, Any] = {"coef": fit.coef, "exp(coef)": fit.hazard_ratio}
    cols["se(coef)"] = fit.naive_se
    if fit.robust_se is not None:
        cols["robust se"] = fit.robust_se
    cols["z"] = fit.z
    cols["p"] = fit.p_value
    cols[f"lower {pct}"] = fit.ci_low
    cols[f"upper {pct}"] = fit.ci_high
    return pd.DataFrame(cols, index=pd.Index(fit.names, name="covariate"))


def format_cox(fit: CoxResult) -> str:
    table = cox_table(fit)
    counts = f"  n= {fit.n}, number of events= {fit.n_events}"
    lines = _header(fit.formula, "coxph", fit.n_dropped, counts)
    lines.append("")
    shown = table.copy()
    shown["p"] = [_p(v) for v in table["p"]]
    lines.append(_frame_text(shown))
    lines.append("")
    lines.append(f"Concordance= {fit.concordance:.3f}")
    tests = [
        ("Likelihood ratio test", fit.lr_test),
        ("Wald test            ", fit.wald_test),
        ("Score (logrank) test ", fit.score_test),
    ]
    if fit.robust_score_test is not None:
        tests.append(("Robust score test    ", fit.robust_score_test))
    for label, t in tests:
        lines.append(f"{label}= {t.statistic:.4g}  on {t.df} df,   p={_p(t.p_value)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- Kaplan-Meier


def km_table(fit: KaplanMeier, times: ArrayLike | None = None) -> pd.DataFrame:
    """R ``summary(survfit, times=)``: n.risk, n.event (since the previous row), survival,
    std.err and the CI at ``times`` (default: the event times)."""
    import pandas as pd

    t = fit.times[fit.events > 0] if times is None else np.asarray(times, dtype=np.float64)
    at = fit.summary_at(t)
    cum_events = np.concatenate([[0.0], np.cumsum(fit.events)])
    upto = cum_events[np.searchsorted(fit.times, t, side="right")]
    n_event = np.diff(np.concatenate([[0.0], upto]))
    pct = f"{round(fit.level * 100):d}%"
    return pd.DataFrame(
        {
            "n.risk": at.at_risk,
            "n.event": n_event,
            "survival": at.survival,
            "std.err": at.std_err,
            f"lower {pct} CI": at.ci_low,
            f"upper {pct} CI": at.ci_high,
        },
        index=pd.Index(t, name="time"),
    )


def format_km(fit: KaplanMeier, label: str | None = None) -> str:
    lines = _header(fit.formula, "survfit", fit.n_dropped)
    if label:
        lines.append(f"                {label}")
    n = float(fit.at_risk[0]) if fit.at_risk.size else 0.0
    lo, hi = fit.median_ci
    pct = f"{round(fit.level * 100):d}"
    lines.append(f"{'n':>6} {'events':>7} {'median':>7} {pct + 'LCL':>7} {pct + 'UCL':>7}")
    lines.append(
        f"{n:6.4g} {fit.events.sum():7.4g} {fit.median:7.4g} {lo:7.4g} {hi:7.4g}".replace(
            "nan", " NA"
        )
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------- log-rank


def logrank_table(fit: LogRankResult) -> pd.DataFrame:
    """R ``survdiff``: N, Observed, Expected, (O-E)^2/E, (O-E)^2/V per group."""
    import pandas as pd

    o, e = fit.observed, fit.expected
    v = np.diag(fit.variance)
    cols: dict[str, Any] = {}
    if fit.n_per_group is not None:
        cols["N"] = fit.n_per_group
    with np.errstate(divide="ignore", invalid="ignore"):
        cols.update(
            {
                "Observed": o,
                "Expected": e,
                "(O-E)^2/E": (o - e) ** 2 / e,
                "(O-E)^2/V": (o - e) ** 2 / v,
            }
        )
    return pd.DataFrame(cols, index=pd.Index([str(g) for g in fit.groups], name="group"))


def format_logrank(fit: LogRankResult) -> str:
    lines = _header(fit.formula, "survdiff", fit.n_dropped)
    lines.append(_frame_text(logrank_table(fit), 3))
    lines.append("")
    lines.append(
        f" Chisq= {fit.statistic:.1f}  on {fit.df} degrees of freedom, p= {_p(fit.p_value)}"
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------- RMST, AFT


def rmst_table(res: RMST) -> pd.DataFrame:
    import pandas as pd

    pct = f"{res.level:.2f}".lstrip("0")
    return pd.DataFrame(
        {
            "rmst": res.rmst,
            "se": res.se,
            f"lower {pct}": res.rmst_ci_low,
            f"upper {pct}": res.rmst_ci_high,
        },
        index=pd.Index([str(g) for g in res.groups], name="group"),
    )


def format_rmst(res: RMST) -> str:
    lines = [f"Restricted mean survival time up to tau = {res.tau:g}", ""]
    lines.append(_frame_text(rmst_table(res)))
    if res.difference is not None and res.ratio is not None:
        pct = f"{round(res.level * 100):d}%"
        g1, g0 = res.groups[1], res.groups[0]
        d, r = res.difference, res.ratio
        lines += [
            "",
            f"{g1} vs {g0}: difference {d.estimate:.4g} ({pct} CI {d.ci_low:.4g} to "
            f"{d.ci_high:.4g}), p={_p(d.p_value)}",
            f"{g1} / {g0}: ratio {r.estimate:.4g} ({pct} CI {r.ci_low:.4g} to "
            f"{r.ci_high:.4g}), p={_p(r.p_value)}",
        ]
    return "\n".join(lines)


def survreg_table(fit: SurvregResult) -> pd.DataFrame:
    """R ``summary(survreg)``: Value, Std. Error, z, p for the coefficients and Log(scale)."""
    import pandas as pd

    return pd.DataFrame(
        {"Value": fit.params, "Std. Error": fit.se, "z": fit.z, "p": fit.p_value},
        index=pd.Index(fit.param_names, name="term"),
    )


def format_survreg(fit: SurvregResult) -> str:
    lines = _header(fit.formula, "survreg", fit.n_dropped, f"  n= {fit.n}")
    shown = survreg_table(fit)
    shown["p"] = [_p(v) for v in shown["p"]]
    lines.append(_frame_text(shown))
    lines.append("")
    if fit.fixed_scale:
        lines.append(f"Scale fixed at {fit.scale:.4g}")
    else:
        lines.append(f"Scale= {fit.scale:.4g}")
    lines.append("")
    lines.append(f"{fit.distribution.capitalize()} distribution")
    lines.append(
        f"Loglik(model)= {fit.loglik[1]:.1f}   Loglik(intercept only)= {fit.loglik[0]:.1f}"
    )
    if fit.chisq is not None:
        lines.append(
            f"    Chisq= {fit.chisq.statistic:.2f} on {fit.chisq.df} degrees of freedom, "
            f"p= {_p(fit.chisq.p_value)}"
        )
    lines.append(f"Number of Newton-Raphson Iterations: {fit.iterations}")
    return "\n".join(lines)


def normal_ci(estimate: float, se: float, level: float) -> tuple[float, float, float]:
    """``estimate -/+ z se`` and the two-sided p-value of estimate = 0."""
    z = float(norm_ppf(0.5 + level / 2))
    p = float(2.0 * norm_sf(abs(estimate / se))) if se > 0 else float("nan")
    return estimate - z * se, estimate + z * se, p


def names_or_default(names: Sequence[str] | None, p: int, prefix: str = "x") -> tuple[str, ...]:
    return tuple(names) if names is not None else tuple(f"{prefix}{j + 1}" for j in range(p))
