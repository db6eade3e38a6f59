"""Target trial emulation by cloning, censoring and weighting.

Target trial: patients with de novo stage IV breast cancer, from diagnosis
(time zero), assigned to either

* **surgery** — surgery of the primary within the grace period (default 6 months), or
* **no surgery** — no surgery of the primary within the grace period.

In the registry nobody is "assigned" at time zero, and a patient who dies in
month 2 was compatible with both strategies. So every patient is **cloned**
into both arms at time zero (identical baseline, hence no baseline
confounding), and each clone is **censored** when its data stop agreeing with
its arm's strategy:

* a "no surgery" clone is censored at the time of surgery, if surgery comes
  within the grace period;
* a "surgery" clone is censored at the end of the grace period if it is alive,
  under follow-up and not operated by then. A death before surgery within the
  grace period counts in *both* arms — this is what removes immortal time.

That artificial censoring depends on prognosis (fitter patients are operated),
so the uncensored clones are **weighted** by the inverse probability of
remaining uncensored (IPCW, Robins & Finkelstein 2000):

* the hazard of surgery in month *k* of the grace period is modelled by a
  pooled logistic regression on the baseline covariates plus one indicator per
  month (person-month rows of the patients alive, followed and not yet operated
  at the start of the month; months in which nobody was operated get hazard 0);
* ``K_i(t) = ∏_{k ≤ t} (1 − p_ik)`` is the probability of no surgery by month *t*;
* "no surgery" clones get weight ``1 / K_i(end of month k)`` during month *k*
  (piecewise constant by month) and ``1 / K_i(grace)`` after the grace period;
* "surgery" clones get weight 1 during the grace period (nobody is censored
  then) and ``1 / (1 − K_i(grace))`` after it.

The hazard ratio of the surgery arm vs the no-surgery arm comes from a
weighted Cox model on the stacked clone rows ((start, stop] with ``entry``),
with a robust sandwich SE clustered by patient (each patient is in both arms);
optionally a nonparametric bootstrap over patients (percentile CI) that refits
the censoring model in each replicate.

The estimand is the effect of the *strategy* "operate within the grace
period", which includes the months before surgery, so with a true per-surgery
HR below 1 it is diluted towards 1 compared with the time-dependent rung.

References: Hernán MA. How to estimate the effect of treatment duration on
survival outcomes using observational data. BMJ 2018;360:k182. Maringe C et al.
Reflection on modern methods: trial emulation in the presence of immortal-time
bias. Int J Epidemiol 2020;49:1719–29.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from locoreg.cohort._fit import Estimate, HazardRatio, cox_first, pooled_logistic_fit
from locoreg.cohort.select import AnalyticTable

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class CloneLayout:
    """The clone rows of one table and grace period, all but their weights.

    Rows (in :func:`clone_rows`'s order) are the "no surgery" clones' month rows
    while at risk, their rows after the grace period, the "surgery" clones' grace
    period rows and their operated survivors' rows after it. A row's weight reads the
    censoring model at ``(weight_patient, weight_month)``: ``1 / K`` (``weight_kind``
    0), ``1 / (1 - K)`` (1) or 1 (2). ``order`` sorts the rows as the Cox fit reads
    them (stop time, deaths first), so that the fits of several censoring models on
    these rows sort them once.
    """

    bounds: FloatArray  # month boundaries of the grace period, 0 ... grace
    at_risk: NDArray[np.bool_]  # (n, months): alive, followed and not operated at the start
    operated: NDArray[np.bool_]  # (n, months): operated within the month, while at risk
    start: FloatArray
    stop: FloatArray
    event: FloatArray
    arm: FloatArray  # 1 = surgery
    patient: NDArray[np.int64]
    weight_patient: NDArray[np.int64]
    weight_month: NDArray[np.int64]
    weight_kind: NDArray[np.int8]
    order: NDArray[np.intp]


def _layout(table: AnalyticTable, grace: float) -> CloneLayout:
    if not grace > 0:
        raise ValueError(f"grace must be > 0 months, got {grace!r}")
    t, dead = table.time, table.event
    s = np.where(table.surgery == 1, np.maximum(table.surgery_time, 1e-9), np.inf)
    within = (s <= grace) & (s < t)  # operated within the grace period, while followed
    s_within = np.where(within, s, np.inf)
    bounds = np.minimum(np.arange(int(np.ceil(grace)) + 1, dtype=np.float64), grace)
    lo, hi = bounds[:-1], bounds[1:]
    at_risk = (t[:, None] > lo) & (s_within[:, None] > lo)
    operated = at_risk & (s_within[:, None] <= hi)
    idx = np.arange(table.n)
    last = np.full(table.n, lo.size - 1)

    # "No surgery" arm: one row per month of the grace period while at risk, then one after it.
    ri, rk = np.nonzero(at_risk)
    c_stop = np.minimum(np.minimum(hi[rk], t[ri]), s_within[ri])
    c_event = dead[ri] * (~within[ri]) * (t[ri] <= hi[rk])
    after = ~within & (t > grace)
    # "Surgery" arm: the grace period (weight 1), then the operated survivors, weighted.
    s_after = within & (t > grace)

    start = np.concatenate(
        [lo[rk], np.full(after.sum(), grace), np.zeros(table.n), np.full(s_after.sum(), grace)]
    )
    stop = np.concatenate([c_stop, t[after], np.minimum(t, grace), t[s_after]])
    event = np.concatenate([c_event, dead[after], dead * (t <= grace), dead[s_after]]).astype(
        np.float64
    )
    arm = np.concatenate([np.zeros(ri.size + after.sum()), np.ones(table.n + s_after.sum())])
    patient = np.concatenate([idx[ri], idx[after], idx, idx[s_after]]).astype(np.int64)
    kind = np.concatenate(
        [
            np.zeros(ri.size + after.sum(), dtype=np.int8),
            np.full(table.n, 2, dtype=np.int8),
            np.ones(s_after.sum(), dtype=np.int8),
        ]
    )
    month = np.concatenate([rk, last[after], last, last[s_after]]).astype(np.int64)
    # The Cox engine's own order ((start, stop] rows: a stable sort by stop time, deaths
    # first among ties), found once for every censoring model fitted on these rows.
    with np.errstate(over="ignore"):
        nudged = np.where(event == 1, stop, np.nextafter(stop, np.inf))
    order = np.argsort(nudged, kind="stable")
    return CloneLayout(
        bounds, at_risk, operated, start, stop, event, arm, patient, patient, month, kind, order
    )


# Layouts of live tables, by (id(table), grace); an entry leaves with its table.
_LAYOUTS: dict[tuple[int, float], CloneLayout] = {}


def clone_layout(table: AnalyticTable, grace: float) -> CloneLayout:
    """The clone rows of ``table`` for ``grace``, built once per table object: the
    multiverse fits three censoring models (adjustment sets) on the same rows."""
    key = (id(table), float(grace))
    layout = _LAYOUTS.get(key)
    if layout is None:
        layout = _LAYOUTS[key] = _layout(table, grace)
        weakref.finalize(table, _LAYOUTS.pop, key, None)
    return layout


def _no_surgery_probability(X: FloatArray, layout: CloneLayout) -> FloatArray:
    """``K[i, k]``: modelled probability of no surgery by ``bounds[k + 1]`` (pooled logistic)."""
    at_risk, operated = layout.at_risk, layout.operated
    active = operated.any(axis=0)  # months with at least one surgery
    p = np.zeros(at_risk.shape)
    if active.any():
        cols = np.flatnonzero(active)
        # One intercept per active month (the baseline hazard of that month) and the
        # baseline covariates, fitted on the person-month rows without stacking them.
        month_effect, beta = pooled_logistic_fit(X, at_risk[:, cols], operated[:, cols])
        lin = month_effect[None, :] + (X @ beta)[:, None]
        p[:, cols] = 1.0 / (1.0 + np.exp(-lin))
    return np.asarray(np.cumprod(1.0 - p, axis=1), dtype=np.float64)


def _weights(table: AnalyticTable, names: Sequence[str], layout: CloneLayout) -> FloatArray:
    """IPCW of every clone row under the censoring model adjusted for ``names``."""
    X, _ = table.design(names)
    k = _no_surgery_probability(X, layout)[layout.weight_patient, layout.weight_month]
    kind = layout.weight_kind
    with np.errstate(divide="ignore"):
        return np.where(kind == 0, 1.0 / k, np.where(kind == 1, 1.0 / (1.0 - k), 1.0))


def clone_rows(
    table: AnalyticTable, names: Sequence[str], grace: float
) -> dict[str, NDArray[np.float64] | NDArray[np.int64]]:
    """Stacked clone rows: start, stop, event, arm (1 = surgery), weight, patient."""
    layout = clone_layout(table, grace)
    return {
        "start": layout.start,
        "stop": layout.stop,
        "event": layout.event,
        "arm": layout.arm,
        "weight": _weights(table, names, layout),
        "patient": layout.patient,
    }


def _fit(
    table: AnalyticTable, names: Sequence[str], grace: float, robust: bool = True
) -> tuple[HazardRatio, FloatArray]:
    """The weighted Cox fit on the clone rows, given in the engine's sorted order; and
    the weights."""
    layout = clone_layout(table, grace)
    weights = _weights(table, names, layout)
    order = layout.order
    fit = cox_first(
        layout.stop[order],
        layout.event[order],
        layout.arm[order][:, None],
        entry=layout.start[order],
        weights=weights[order],
        robust=robust,
        cluster=layout.patient[order] if robust else None,
        n_patients=table.n,
    )
    return fit, weights


def emulated_trial(
    table: AnalyticTable,
    names: Sequence[str],
    *,
    grace: float = 6.0,
    bootstrap: int = 0,
    seed: int | None = None,
) -> Estimate:
    """Hazard ratio of "surgery within ``grace`` months" vs "no surgery within ``grace`` months"."""
    fit, weights = _fit(table, names, grace)
    extras: dict[str, float | int | str] = {
        "grace_months": grace,
        "clone_rows": int(weights.size),
        "weight_max": float(weights.max()),
        "ci_method": "robust (cluster = patient)",
    }
    hr, lo, hi = fit.hr, fit.ci_low, fit.ci_high
    if bootstrap > 0:
        rng = np.random.default_rng(seed)
        logs = np.empty(bootstrap)
        for b in range(bootstrap):  # loop over replicates, not rows
            take = rng.integers(0, table.n, size=table.n)
            logs[b] = np.log(_fit(table.subset(take), names, grace, robust=False)[0].hr)
        lo, hi = (float(np.exp(q)) for q in np.quantile(logs, [0.025, 0.975]))
        extras.update(
            ci_method=f"bootstrap percentile ({bootstrap} replicates)",
            bootstrap_se=float(np.std(logs, ddof=1)),
        )
    else:
        extras["z"] = float(np.log(hr) / fit.se) if fit.se > 0 else float("nan")
    return Estimate(
        "emulated_trial",
        hr,
        lo,
        hi,
        table.n,
        int(table.event.sum()),
        note=f"grace period {grace:g} months",
        extras=extras,
    )
