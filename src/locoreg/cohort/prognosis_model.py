"""A prognosis model fitted on the user's own registry: overall survival from diagnosis.

Model: Cox proportional hazards (Efron ties) of death on the baseline variables
that the Patient contract also has — age, subtype (from ER, PR, HER2), the
metastatic sites and bone-only disease, T4 / T unknown, N+ / N unknown, ECOG
with a missing indicator. Surgery is *not* a covariate (it happens after
diagnosis; a prognosis at diagnosis cannot condition on it), nor is calendar
year. A Cox model was chosen over a flexible parametric one because it is the
model the registry ladder already validates against R ``survival``, and its
predictions (``survfit.coxph``) are reproduced exactly from the stored file.

Validation, written into the model file:

* Harrell's C, apparent and corrected for optimism by the bootstrap (Harrell,
  Lee & Mark, Stat Med 1996;15:361–87): optimism = mean over replicates of
  C(replicate model on its replicate) − C(replicate model on the original data);
* calibration at 12, 24 and 36 months: mean predicted survival against the
  Kaplan–Meier estimate in fifths of predicted risk;
* the Brier score at 12, 24 and 36 months with inverse-probability-of-censoring
  weights (Graf et al., Stat Med 1999;18:2529–45).

Prediction for a new patient reproduces ``survfit(fit, newdata)``:
``S(t|x) = exp(-H0(t) exp(u'β))`` with ``u = x - means`` and the variance of
``H(t|x)`` ``exp(2u'β) [a(t) - 2 H0(t) u'c(t) + H0(t)² u'Vu]``, where
``a(t) = varh(t) + D(t)'VD(t)`` and ``c(t) = V D(t)`` are stored per month on a
grid (Therneau & Grambsch 2000, §10.2); log-type 95 % intervals.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from locoreg.cohort.select import BASE_COVARIATES, LABELS, OPTIONAL_COVARIATES, AnalyticTable
from locoreg.errors import FieldError, InputError

FloatArray = NDArray[np.float64]
FORMAT = "locoreg-prognosis-model"
VERSION = 1
HORIZONS: tuple[int, ...] = (12, 24, 36)
Z95 = 1.959963984540054
MIN_SUPPORT = 10  # patients with a feature in the model's data before it may be predicted for
# The analytic table's baseline covariates that a Patient has: all but the year of
# diagnosis (the Patient contract has none), and performance status.
MODEL_COVARIATES: tuple[str, ...] = (
    *(name for name in BASE_COVARIATES if name != "year_c"),
    *OPTIONAL_COVARIATES,
)


def _km_at(time: FloatArray, event: FloatArray, at: float) -> float:
    """Kaplan–Meier survival at ``at`` (product over distinct event times ≤ at)."""
    order = np.argsort(time, kind="stable")
    t, d = time[order], event[order]
    uniq, first = np.unique(t, return_index=True)
    deaths = np.add.reduceat(d, first)
    at_risk = t.size - first
    keep = uniq <= at
    return float(np.prod(1.0 - deaths[keep] / at_risk[keep]))


def _censoring_km(time: FloatArray, event: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Distinct times and the Kaplan–Meier survival of censoring just after each."""
    order = np.argsort(time, kind="stable")
    t, c = time[order], 1.0 - event[order]
    uniq, first = np.unique(t, return_index=True)
    cens = np.add.reduceat(c, first)
    at_risk = t.size - first
    return uniq, np.asarray(np.cumprod(1.0 - cens / at_risk), dtype=np.float64)


def _g_before(uniq: FloatArray, g: FloatArray, at: FloatArray) -> FloatArray:
    """G(at−): censoring survival just before ``at``."""
    idx = np.searchsorted(uniq, at, side="left") - 1
    return np.where(idx >= 0, g[np.maximum(idx, 0)], 1.0)


def brier(time: FloatArray, event: FloatArray, surv_at: FloatArray, at: float) -> float:
    """IPCW Brier score at ``at`` for predicted survival ``surv_at`` (Graf et al. 1999)."""
    uniq, g = _censoring_km(time, event)
    died = (time <= at) & (event == 1)
    alive = time > at
    w = np.zeros_like(time)
    w[died] = 1.0 / _g_before(uniq, g, time[died])
    # G(at) (just after at) for those still at risk: censoring at exactly ``at`` counts.
    idx = np.searchsorted(uniq, at, side="right") - 1
    g_at = float(g[idx]) if idx >= 0 else 1.0
    w[alive] = 1.0 / g_at
    loss = np.where(died, surv_at**2, (1.0 - surv_at) ** 2)
    return float(np.sum(w * loss) / time.size)


def _c_index(time: FloatArray, event: FloatArray, lp: FloatArray) -> float:
    # Harrell's C as the survival engine computes it for coxph (on any linear predictor).
    from locoreg.survival._concordance import concordance

    n = time.size
    return float(
        concordance(
            time, event.astype(bool), lp, np.ones(n), np.zeros(n, dtype=np.intp), None
        ).value
    )


def fit_model(
    table: AnalyticTable, source: dict[str, Any], *, bootstrap: int = 50, seed: int = 20240601
) -> dict[str, Any]:
    """Fit the Cox model on ``table`` and return the model file's content (JSON-ready)."""
    from locoreg.survival.cox import cox

    X, names = table.design(MODEL_COVARIATES)
    if not names:
        raise InputError.single("registry", "no covariate varies: nothing to model")
    fit = cox(table.time, table.event, X, ties="efron", names=list(names))
    beta, V, means = np.asarray(fit.coef), np.asarray(fit.var), np.asarray(fit.means)
    p = beta.size

    grid = np.arange(0.0, math.floor(min(float(table.time.max()), 120.0)) + 1.0)
    # a(t), c(t) from survfit-exact predictions at u = 0 and u = e_k (see the module doc).
    base = fit.predict_survival(means[None, :], grid)
    h0 = base.cumhaz[0]
    a = base.se_cumhaz[0] ** 2
    unit = means[None, :] + np.eye(p)
    pred = fit.predict_survival(unit, grid)
    q = (pred.se_cumhaz**2) * np.exp(-2.0 * beta)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(
            h0 > 0, (a[None, :] + h0[None, :] ** 2 * np.diag(V)[:, None] - q) / (2 * h0), 0.0
        )

    lp = (X - means) @ beta
    rng = np.random.default_rng(seed)
    optimism = []
    for _ in range(bootstrap):
        idx = rng.integers(0, table.n, size=table.n)
        try:
            fb = cox(table.time[idx], table.event[idx], X[idx], ties="efron")
        except (ValueError, ArithmeticError):  # a replicate without a level: skip it
            continue
        coef_b = np.asarray(fb.coef)
        optimism.append(fb.concordance - _c_index(table.time, table.event, X @ coef_b))
    apparent = float(fit.concordance)
    opt = float(np.mean(optimism)) if optimism else float("nan")

    calibration: dict[str, list[dict[str, float]]] = {}
    brier_scores: dict[str, float] = {}
    for h in HORIZONS:
        if h > grid[-1]:
            continue
        s_h = np.exp(-h0[int(h)] * np.exp(lp))
        brier_scores[str(h)] = brier(table.time, table.event, s_h, float(h))
        fifth = np.minimum((np.argsort(np.argsort(-s_h)) * 5) // table.n, 4)
        calibration[str(h)] = [
            {
                "group": int(g + 1),
                "n": int((fifth == g).sum()),
                "predicted": float(s_h[fifth == g].mean()),
                "observed": _km_at(table.time[fifth == g], table.event[fifth == g], float(h)),
            }
            for g in range(5)
            if (fifth == g).sum() >= MIN_SUPPORT
        ]
    support = {
        k: int(v.sum()) for k, v in table.covariates.items() if np.all(np.isin(v, (0.0, 1.0)))
    }
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": "Cox proportional hazards (Efron ties), overall survival from diagnosis",
        "covariates": list(names),
        "labels": {k: LABELS.get(k, k) for k in names},
        "coef": beta.tolist(),
        "vcov": V.tolist(),
        "means": means.tolist(),
        "baseline": {
            "time": grid.tolist(),
            "cumhaz": h0.tolist(),
            "a": a.tolist(),
            "c": c.T.tolist(),
        },
        "validation": {
            "c_index_apparent": apparent,
            "c_index_optimism": opt,
            "c_index": apparent - opt,
            "bootstrap_replicates": len(optimism),
            "calibration": calibration,
            "brier": brier_scores,
        },
        "data": {
            **source,
            "n": table.n,
            "deaths": int(table.event.sum()),
            "age_min": float(table.age.min()),
            "age_max": float(table.age.max()),
            "has_ecog": bool(table.has_ecog),
            "support": support,
            "max_follow_up_months": float(table.time.max()),
        },
        "fitted": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_model(model: Any, where: str = "model") -> dict[str, Any]:
    """Check the shape of a model file; raises InputError naming what is wrong."""
    if not isinstance(model, dict) or model.get("format") != FORMAT:
        raise InputError.single(where, f"not a locoreg prognosis model (format {FORMAT!r})")
    if model.get("version") != VERSION:
        raise InputError.single(where, f"model version {model.get('version')!r}", str(VERSION))
    for key in ("covariates", "coef", "vcov", "means", "baseline", "validation", "data"):
        if key not in model:
            raise InputError.single(f"{where}.{key}", "missing")
    return model


def patient_covariates(patient: Any) -> dict[str, float]:
    """The model's covariates of a :class:`locoreg.patient.Patient` (same coding as the SQL)."""
    er, pr, her2 = (str(getattr(patient, r).value) for r in ("er", "pr", "her2"))
    hr = (
        "positive"
        if "positive" in (er, pr)
        else "negative"
        if er == "negative" and pr == "negative"
        else "unknown"
    )
    sites = {str(m.site.value) for m in patient.metastases}
    named = {"bone", "lung", "liver", "brain"}
    mets = {s: float(s in sites) for s in named}
    mets["other"] = float(bool(sites - named))
    t = patient.t or "TX"
    n = patient.n or "NX"
    ecog = patient.ecog
    return {
        "age10": (patient.age - 60) / 10.0,
        "hrpos_her2pos": float(hr == "positive" and her2 == "positive"),
        "hrneg_her2pos": float(hr == "negative" and her2 == "positive"),
        "triple_negative": float(hr == "negative" and her2 == "negative"),
        "subtype_unknown": float(hr == "unknown" or her2 == "unknown"),
        **{f"mets_{s}": v for s, v in mets.items()},
        "bone_only": float(mets["bone"] == 1 and sum(mets.values()) == 1),
        "t4": float(t.startswith("T4")),
        "t_unknown": float(t == "TX"),
        "node_positive": float(n not in ("NX", "N0")),
        "n_unknown": float(n == "NX"),
        "ecog": float(ecog or 0),
        "ecog_missing": float(ecog is None),
    }


def predict(model: dict[str, Any], patient: Any) -> dict[str, Any]:
    """``prognosis.model`` for ``patient``: survival at 12/24/36 months with 95 % intervals."""
    data = model["data"]
    problems: list[FieldError] = []
    if str(getattr(patient.m, "value", patient.m)) != "M1":
        problems.append(
            FieldError("m", "the model was fitted on de novo stage IV (M1) patients", "M1")
        )
    if not data["age_min"] <= patient.age <= data["age_max"]:
        problems.append(
            FieldError(
                "age",
                f"{patient.age} is outside the ages of the model's data",
                f"{data['age_min']:g}–{data['age_max']:g}",
            )
        )
    x = patient_covariates(patient)
    used = model["covariates"]
    # A feature (value 1) that fewer than MIN_SUPPORT patients of the data had is outside it.
    for name, value in x.items():
        binary = name in data["support"] and name != "ecog_missing"
        if binary and value == 1.0 and data["support"][name] < MIN_SUPPORT:
            problems.append(
                FieldError(
                    LABELS.get(name, name),
                    f"fewer than {MIN_SUPPORT} patients of the model's data have it",
                )
            )
    if problems:
        raise InputError(problems)

    beta = np.asarray(model["coef"])
    V = np.asarray(model["vcov"])
    u = np.array([x[k] for k in used]) - np.asarray(model["means"])
    risk = math.exp(float(u @ beta))
    base = model["baseline"]
    time = np.asarray(base["time"])
    h0 = np.asarray(base["cumhaz"])
    a = np.asarray(base["a"])
    c = np.asarray(base["c"])  # (grid, p)
    cumhaz = h0 * risk
    var = risk**2 * (a - 2 * h0 * (c @ u) + h0**2 * float(u @ V @ u))
    se = np.sqrt(np.maximum(var, 0.0))
    surv = np.exp(-cumhaz)
    lo, hi = surv * np.exp(-Z95 * se), np.minimum(surv * np.exp(Z95 * se), 1.0)

    def at(h: int) -> int | None:
        return int(h) if h <= time[-1] else None

    below = np.flatnonzero(surv <= 0.5)
    validation = model["validation"]
    return {
        "survival": {str(h): float(surv[at(h)]) for h in HORIZONS if at(h) is not None},
        "survival_interval": {
            str(h): [float(lo[at(h)]), float(hi[at(h)])] for h in HORIZONS if at(h) is not None
        },
        "median_os_months": float(time[below[0]]) if below.size else None,
        "c_index": validation["c_index"],
        "calibration": validation["calibration"],
        "brier": validation["brier"],
        "source": (
            f"Cox model fitted on {data.get('file', 'a registry')} ({data['n']} patients, "
            f"{data['deaths']} deaths) on {model['fitted'][:10]}; bootstrap-corrected C-index "
            f"{validation['c_index']:.2f}"
        ),
        "model": model["model"],
    }


__all__ = ["FORMAT", "HORIZONS", "brier", "check_model", "fit_model", "predict"]
