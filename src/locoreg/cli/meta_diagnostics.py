"""What `locoreg meta` adds to a pooled fit on request: moderators, leave-one-out,
influence diagnostics, Egger's and Begg's tests, trim and fill, the funnel plot.

Each piece calls the metafor-validated function of :mod:`locoreg.meta` on the same
studies, τ² estimator, test and level as the pooled fit, and is written into the JSON
under its own key (``moderators``, ``leave_one_out``, ``influence``, ``egger``, ``begg``,
``trim_fill``) and into the text output as a few lines. Ratios (hazard-ratio input) are
reported on the ratio scale as well (``hr*`` keys), as for the pooled fit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from locoreg.errors import FieldError, InputError


@dataclass(frozen=True)
class Extras:
    """The diagnostics asked for on the command line (an option group of `locoreg meta`)."""

    mods: str | None = typer.Option(
        None, "--mods", help='Meta-regression on columns, e.g. "~ year + dose".'
    )
    leave_one_out: bool = typer.Option(
        False, "--leave-one-out", help="Refit without each study in turn."
    )
    influence: bool = typer.Option(
        False, "--influence", help="Influence diagnostics (metafor's influence())."
    )
    egger: bool = typer.Option(False, "--egger", help="Egger's regression test.")
    begg: bool = typer.Option(False, "--begg", help="Begg's rank correlation test.")
    trim_fill: bool = typer.Option(False, "--trim-fill", help="Duval & Tweedie trim and fill.")
    funnel: Path | None = typer.Option(
        None, "--funnel", help="Write a funnel plot (.svg/.png/.pdf; with --trim-fill: filled)."
    )

    @property
    def per_study(self) -> bool:
        return self.leave_one_out or self.influence or self.egger or self.begg or self.trim_fill


def moderator_frame(formula: str, columns: list[str], rows: list[dict[str, str]]) -> Any:
    """The file as a DataFrame for ``rma(yi, vi, data=..., mods=formula)``: a column whose
    values all read as numbers is numeric, any other is text (a factor, as R's
    ``read.csv``). The per-study table has one row per study, so a missing value in a
    column the formula names is an error naming its row (metafor would drop the study)."""
    import pandas as pd

    text = formula.strip()
    if not text.startswith("~"):
        raise InputError.single("--mods", f"{formula!r} is not a formula", 'e.g. "~ year"')
    used = [c for c in columns if re.search(r"(?<![\w.])" + re.escape(c) + r"(?![\w.])", text)]
    errors = [
        FieldError(column, f"row {r}: missing value")
        for column in used
        for r, row in enumerate(rows, start=1)
        if row.get(column, "") == ""
    ]
    if errors:
        raise InputError(errors)
    frame = pd.DataFrame({c: [row.get(c, "") for row in rows] for c in columns})
    for c in columns:
        numbers = pd.to_numeric(frame[c], errors="coerce")
        if numbers.notna().all():
            frame[c] = numbers
    return frame


def _clean(x: Any) -> Any:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _ratio(d: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        value = d.get(key)
        d[f"hr_{key}" if key != "estimate" else "hr"] = None if value is None else math.exp(value)


def run_extras(
    extras: Extras, yi: list[float], vi: list[float], labels: list[str], method: str,
    test: str, level: float, from_hr: bool,
) -> tuple[dict[str, Any], Any]:  # fmt: skip
    """The JSON of each requested diagnostic and the trim-and-fill result (for the plot)."""
    from locoreg.meta import egger_test, influence, leave_one_out, rank_test, trim_fill

    out: dict[str, Any] = {}
    filled = None
    if extras.leave_one_out:
        loo = leave_one_out(yi, vi, method, test, level)
        rows = []
        for i, label in enumerate(labels):
            row = {"omitted": label, "k": int(loo.k[i])}
            for key in ("estimate", "se", "ci_low", "ci_high", "p_value", "tau2", "i2", "q"):
                row[key] = _clean(getattr(loo, key)[i])
            if from_hr:
                _ratio(row, ("estimate", "ci_low", "ci_high"))
            rows.append(row)
        out["leave_one_out"] = rows
    if extras.influence:
        inf = influence(yi, vi, method, test, level)
        keys = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight")
        dfbetas = inf.dfbetas.reshape(len(labels), -1)
        out["influence"] = [
            {
                "label": label,
                **{key: _clean(getattr(inf, key)[i]) for key in keys},
                "dfbetas": _clean(dfbetas[i, 0]),
                "influential": bool(inf.is_influential[i]),
            }
            for i, label in enumerate(labels)
        ]
    if extras.egger:
        eg = egger_test(yi, vi, "rma", method, test, level)
        out["egger"] = {
            "model": eg.model, "statistic": _clean(eg.statistic), "df": eg.df,
            "p_value": _clean(eg.p_value), "slope": _clean(eg.slope),
            "slope_se": _clean(eg.slope_se), "limit_estimate": _clean(eg.limit_estimate),
            "limit_ci_low": _clean(eg.limit_ci_low), "limit_ci_high": _clean(eg.limit_ci_high),
        }  # fmt: skip
    if extras.begg:
        rk = rank_test(yi, vi)
        out["begg"] = {"tau": _clean(rk.tau), "p_value": _clean(rk.p_value), "exact": rk.exact}
    if extras.trim_fill:
        filled = trim_fill(yi, vi, method=method, test=test, level=level)
        fit = {key: _clean(getattr(filled.fit, key)) for key in (
            "estimate", "se", "ci_low", "ci_high", "p_value", "tau2")}  # fmt: skip
        fit["k"] = filled.fit.k
        if from_hr:
            _ratio(fit, ("estimate", "ci_low", "ci_high"))
        out["trim_fill"] = {
            "k0": filled.k0, "side": filled.side, "estimator": filled.estimator, "fit": fit,
        }  # fmt: skip
    return out, filled


def fmt(x: float | None, digits: int = 2) -> str:
    """A number for the text output (``NA`` when not defined)."""
    return "NA" if x is None else f"{x:.{digits}f}"


def p_text(p: float | None) -> str:
    """``= 0.0123`` or ``< 0.0001``, to follow a ``p``."""
    if p is None:
        return "NA"
    return "< 0.0001" if p < 1e-4 else f"= {p:.4f}"


_f, _p = fmt, p_text


def text_lines(out: dict[str, Any], from_hr: bool) -> list[str]:
    """A few lines per diagnostic for the text output."""
    lines: list[str] = []
    scale = ("hr", "hr_ci_low", "hr_ci_high") if from_hr else ("estimate", "ci_low", "ci_high")
    digits = 2 if from_hr else 4
    what = "HR" if from_hr else "estimate"
    if "moderators" in out:
        m = out["moderators"]
        lines.append(
            f"Moderators {m['formula']}: test of moderators {m['statistic_name']} = "
            f"{_f(m['qm'])}, p {_p(m['qm_p'])}; R^2 = {_f(m['r2'], 1)}%"
        )
        for c in m["coefficients"]:
            lines.append(
                f"  {c['name']:<12} {_f(c['estimate'], 4)} (SE {_f(c['se'], 4)}), "
                f"p {_p(c['p_value'])}"
            )
    if "leave_one_out" in out:
        lines.append(f"Leave-one-out ({what} without each study):")
        width = max(len(r["omitted"]) for r in out["leave_one_out"])
        for r in out["leave_one_out"]:
            lines.append(
                f"  without {r['omitted']:<{width}}  {_f(r[scale[0]], digits)} "
                f"({_f(r[scale[1]], digits)} to {_f(r[scale[2]], digits)}), "
                f"I^2 = {_f(r['i2'], 1)}%"
            )
    if "influence" in out:
        flagged = [r["label"] for r in out["influence"] if r["influential"]]
        lines.append(
            "Influence diagnostics: "
            + (f"influential: {', '.join(flagged)}" if flagged else "no influential study")
            + " (metafor's criteria; per-study values in --format json)"
        )
    if "egger" in out:
        e = out["egger"]
        stat = "z" if e["df"] is None else f"t({e['df']})"
        lines.append(
            f"Egger's regression test: slope {_f(e['slope'], 3)}, "
            f"{stat} = {_f(e['statistic'])}, p {_p(e['p_value'])}"
        )
    if "begg" in out:
        b = out["begg"]
        lines.append(f"Begg's rank correlation test: Kendall's tau = {_f(b['tau'], 3)}, "
                     f"p {_p(b['p_value'])}")  # fmt: skip
    if "trim_fill" in out:
        t = out["trim_fill"]
        fit = t["fit"]
        lines.append(
            f"Trim and fill ({t['estimator']}): {t['k0']} filled on the {t['side']} side; "
            f"{what} {_f(fit[scale[0]], digits)} ({_f(fit[scale[1]], digits)} to "
            f"{_f(fit[scale[2]], digits)})"
        )
    return lines
