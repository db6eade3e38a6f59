"""Federated analysis: sites share aggregates only, a coordinator pools them.

A site runs the whole ladder on its own patients (:func:`site_summary`) and
writes, per rung, the log hazard ratio of surgery and its standard error (the
coefficient and its variance: the sufficient statistics for an inverse-variance
pool), counts, and balance tables — never a row, never an identifier. Any count
below ``min_cell`` (10 by default, the usual small-cell rule of registries) is
replaced by ``null`` and listed under ``suppressed``; a balance row is dropped
when either surgery group has fewer than ``min_cell`` patients with, or
without, the characteristic (its proportion would reveal the small cell).

The coordinator (:func:`federate`) pools each rung across sites with the
meta-analysis engine (:func:`locoreg.meta.rma`): the fixed-effect
(inverse-variance) estimate is the headline — under homogeneity it estimates
the same hazard ratio as a Cox model on the pooled rows stratified by site —
and the random-effects (REML) estimate with τ², I² and Cochran's Q describes
how much the sites disagree.

References: Lin DY, Zeng D. On the relative efficiency of using summary
statistics versus individual-level data in meta-analysis. Biometrika
2010;97:321–32. Viechtbauer W. Conducting meta-analyses in R with the metafor
package. J Stat Softw 2010;36(3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from locoreg.cohort._fit import Z95
from locoreg.cohort.select import LABELS, AnalyticTable

FORMAT = "locoreg-site-summary"
VERSION = 1
MIN_CELL = 10


def _count(value: int, min_cell: int) -> int | None:
    return int(value) if value >= min_cell else None


def _log_hr_se(hr: float, ci_low: float, ci_high: float) -> tuple[float, float]:
    """log HR and its SE, recovered from the Wald 95 % CI exp(b ± z·se)."""
    return math.log(hr), (math.log(ci_high) - math.log(ci_low)) / (2 * Z95)


def _balance(
    result: Any, table: AnalyticTable, min_cell: int
) -> tuple[list[dict[str, Any]], list[str]]:
    treated = table.surgery == 1
    rows, dropped = [], []
    small_group = min(int(treated.sum()), int((~treated).sum())) < min_cell
    for b in result.balance:
        x = table.covariates.get(b.covariate)
        if small_group:
            dropped.append(b.covariate)
            continue
        if x is not None and np.all(np.isin(x, (0.0, 1.0))):
            cells = [int(np.sum(x[g] == v)) for g in (treated, ~treated) for v in (0.0, 1.0)]
            if min(cells) < min_cell:
                dropped.append(b.covariate)
                continue
        rows.append(
            {
                "covariate": b.covariate,
                "label": b.label,
                "smd_before": b.smd_before,
                "smd_matched": b.smd_matched,
                "smd_weighted": b.smd_weighted,
            }
        )
    return rows, dropped


def site_summary(
    table: AnalyticTable, settings: Any = None, *, site: str = "site", min_cell: int = MIN_CELL
) -> dict[str, Any]:
    """Aggregates of one site's ladder: per rung log HR and SE, counts, balance; no rows."""
    from locoreg.cohort.ladder import RUNGS, LadderSettings, run_ladder

    if min_cell < 1:
        raise ValueError(f"min_cell must be >= 1, got {min_cell}")
    settings = settings or LadderSettings()
    result = run_ladder(table, settings)
    suppressed: list[str] = []

    def count(name: str, value: int) -> int | None:
        out = _count(value, min_cell)
        if out is None:
            suppressed.append(name)
        return out

    rungs: dict[str, dict[str, Any]] = {}
    for rung in RUNGS:
        e = result.estimates[rung]
        log_hr, se = _log_hr_se(e.hr, e.ci_low, e.ci_high)
        rungs[rung] = {
            "log_hr": log_hr,
            "se": se,
            "n": count(f"{rung}.n", e.n),
            "events": count(f"{rung}.events", e.events),
        }
    balance, dropped = _balance(result, table, min_cell)
    return {
        "format": FORMAT,
        "version": VERSION,
        "site": site,
        "min_cell": min_cell,
        "counts": {
            "n": count("n", result.n),
            "n_surgery": count("n_surgery", result.n_surgery),
            "n_no_surgery": count("n_no_surgery", result.n - result.n_surgery),
            "n_deaths": count("n_deaths", result.n_events),
        },
        "rungs": rungs,
        "balance": balance,
        "balance_rows_dropped": dropped,
        "covariates": list(result.covariates),
        "settings": {
            "covariates": settings.covariates
            if isinstance(settings.covariates, str)
            else list(settings.covariates),
            "landmark": settings.landmark,
            "grace": settings.grace,
            "trim": settings.trim,
            "caliper": settings.caliper,
        },
        "suppressed": suppressed,
    }


@dataclass(frozen=True)
class SiteError(ValueError):
    """A site file that is not a usable site summary (``where`` names the file or field)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def check_site(summary: Any, where: str) -> dict[str, Any]:
    """Check the shape of a site summary; raises :class:`SiteError`."""
    from locoreg.cohort.ladder import RUNGS

    if not isinstance(summary, dict) or summary.get("format") != FORMAT:
        raise SiteError(where, f"not a site summary (format must be {FORMAT!r})")
    if summary.get("version") != VERSION:
        raise SiteError(where, f"version {summary.get('version')!r} (allowed: {VERSION})")
    rungs = summary.get("rungs")
    if not isinstance(rungs, dict):
        raise SiteError(where, "rungs: missing")
    for rung in RUNGS:
        r = rungs.get(rung)
        ok = (
            isinstance(r, dict)
            and all(isinstance(r.get(k), int | float) for k in ("log_hr", "se"))
            and math.isfinite(r["log_hr"])
            and math.isfinite(r["se"])
            and r["se"] > 0
        )
        if not ok:
            raise SiteError(where, f"rungs.{rung}: needs a finite log_hr and an se > 0")
    return summary


def _pool(yi: Sequence[float], vi: Sequence[float]) -> dict[str, Any]:
    from locoreg.meta import rma

    fe = rma(np.asarray(yi), np.asarray(vi), method="FE")
    re = rma(np.asarray(yi), np.asarray(vi), method="REML")

    def hr(res: Any) -> dict[str, float]:
        return {
            "hr": math.exp(res.estimate),
            "ci_low": math.exp(res.ci_low),
            "ci_high": math.exp(res.ci_high),
            "log_hr": res.estimate,
            "se": res.se,
        }

    return {
        "fixed": hr(fe),
        "random": {**hr(re), "tau2": re.tau2},
        "heterogeneity": {"q": fe.q, "q_df": fe.q_df, "q_p": fe.q_p, "i2": re.i2, "tau2": re.tau2},
    }


def federate(summaries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Pool checked site summaries rung by rung (fixed effect headline, random effects beside).

    Returns one entry per rung with ``hr``, ``ci_low``, ``ci_high``, ``n`` (the
    sum of the sites' counts; ``null`` if any site suppressed it), plus
    ``fixed``, ``random``, ``heterogeneity`` and ``per_site``; and ``sites``
    (the number of sites).
    """
    from locoreg.cohort.ladder import RUNG, RUNGS

    if len(summaries) < 2:
        raise SiteError("sites", f"at least 2 site summaries are needed, got {len(summaries)}")
    out: dict[str, Any] = {}
    for rung in RUNGS:
        rows = [s["rungs"][rung] for s in summaries]
        pooled = _pool([r["log_hr"] for r in rows], [r["se"] ** 2 for r in rows])
        ns = [r.get("n") for r in rows]
        events = [r.get("events") for r in rows]
        out[rung] = {
            **{k: pooled["fixed"][k] for k in ("hr", "ci_low", "ci_high")},
            "n": None if None in ns else int(sum(ns)),
            "events": None if None in events else int(sum(events)),
            "method": RUNG[rung].label,
            "remaining_bias": RUNG[rung].bias,
            "pooling": "fixed effect (inverse variance); random effects (REML) beside",
            **pooled,
            "per_site": [
                {
                    "site": s.get("site", f"site {i + 1}"),
                    "hr": math.exp(r["log_hr"]),
                    "ci_low": math.exp(r["log_hr"] - Z95 * r["se"]),
                    "ci_high": math.exp(r["log_hr"] + Z95 * r["se"]),
                    "n": r.get("n"),
                }
                for i, (s, r) in enumerate(zip(summaries, rows, strict=True))
            ],
        }
    out["sites"] = len(summaries)
    # Pooling is meaningful only when every site ran the same ladder.
    out["settings_agree"] = all(
        s.get("settings") == summaries[0].get("settings") for s in summaries
    )
    out["site_names"] = [s.get("site", f"site {i + 1}") for i, s in enumerate(summaries)]
    out["covariates"] = sorted({c for s in summaries for c in s.get("covariates", [])})
    out["labels"] = {c: LABELS.get(c, c) for c in out["covariates"]}
    return out


__all__ = ["FORMAT", "MIN_CELL", "SiteError", "check_site", "federate", "site_summary"]
