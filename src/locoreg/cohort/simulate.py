"""A synthetic registry of de novo stage IV breast cancer with a known surgery effect.

The simulator reproduces the two biases that make registry comparisons of
primary-tumour surgery misleading, and nothing else:

* **confounding by indication** — surgery is offered more often to younger,
  fitter patients with bone-only, hormone-receptor-positive disease, who live
  longer anyway;
* **immortal time** — surgery happens months after diagnosis, and only to
  patients still alive and under follow-up at that time.

The true effect of surgery is a hazard multiplier ``true_hr`` that acts from the
day of surgery onwards (default 1.0: surgery does nothing), so every method of
the analysis ladder can be checked against the truth.

Model (all vectorised numpy; one million patients take a few seconds)
--------------------------------------------------------------------
Baseline covariates are drawn independently except where stated. The death
hazard of patient *i* is constant before surgery,

    λ_i = λ_subtype · exp(0.02·(age − 61) + 0.30·ECOG + β_sites + 0.15·T4 + 0.10·N+ + γ·U_i)

and ``true_hr · λ_i`` after surgery at time *s_i*. With ``E ~ Exp(1)`` the death
time is ``E/λ`` if ``E ≤ λ·s`` (death before the planned surgery, which then
never happens) and ``s + (E − λ·s)/(true_hr·λ)`` otherwise. Surgery is planned
with probability ``logistic(α − 0.04·(age − 61) − 0.5·ECOG + 0.7·bone_only
+ 0.4·HR+ − 0.6·brain − 0.3·liver − 0.2·T4 − 0.10·(year − 2010) − γ·U_i)`` at
``s = 1 + 11·Beta(2, 2)`` months, and is recorded only when the patient is alive
and under follow-up at *s*. ``U_i ~ N(0, 1)`` is an optional unmeasured
confounder (``unmeasured = γ``, default 0: every confounder is in the registry).
Follow-up ends administratively on 1 January 2021 (diagnosis uniform within its
year) with a small loss to follow-up (2 % a year).

Calibration and sources (study IDs as in docs/DEVELOPING.md)
------------------------------------------------------------
* subtype mix 63.42 % HR+/HER2−, 19.86 % HR+/HER2+, 9.34 % triple negative,
  7.39 % HR−/HER2+ — seer_bone2020 (SEER 2012–16, patients with bone
  metastases; used for the whole cohort: an assumption);
* metastatic pattern bone-only 39.80 %, multiple 33.07 %, lung 10.94 %, liver
  7.34 %, brain 1.51 %, the remaining 7.34 % other sites only — wang2019;
* λ_subtype calibrated (without surgery) to median OS 39 months for HR+/HER2+
  and 11 months for triple negative — seer_subtype2021 — and about 25 months
  overall — taskindoust2021; patients with bone involvement then have a median
  near 30–38 months — gong2018 (30.0), seer_bone2020 (38). The HR+/HER2− and
  HR−/HER2+ medians were not found in the sources; they are *assumed* equal;
* the share of patients operated (about 40 % recorded) and its decline over
  calendar years follow the SEER series in gnerlich2007 (47 %) and
  warschkow2016 (62 % in 1998 falling to 39 % in 2009), loosely;
* everything else (age, ECOG, T, N and grade distributions; covariate effects;
  surgery timing; 3 % unknown receptor codes; loss to follow-up) is an
  *assumption* chosen to be clinically plausible, not a published figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from locoreg.cohort.schema import MET_SITES, RECEPTOR_CODES

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

SUBTYPES: tuple[str, ...] = ("hr+/her2-", "hr+/her2+", "hr-/her2+", "triple_negative")
SUBTYPE_SHARE = np.array([63.42, 19.86, 7.39, 9.34]) / 100.04  # seer_bone2020 (sums to 100.01)
# Constant hazard (per month) of the reference patient (age 61, ECOG 0, bone only,
# T1–3, N0) by subtype; calibrated offline to the medians above (see module doc
# and tests/cohort/test_simulate.py, which checks the calibration).
BASE_HAZARD = np.array([0.0086, 0.00543, 0.0086, 0.01914])

# wang2019 site pattern: bone only, multiple, lung only, liver only, brain only, other only.
PATTERN_SHARE = np.array([39.80, 33.07, 10.94, 7.34, 1.51, 7.34]) / 100.0
# Assumed site probabilities among patients with multiple sites (bone, lung, liver, brain, other).
MULTI_SITE_P = np.array([0.75, 0.55, 0.45, 0.12, 0.35])
SITE_LOG_HR = np.array([0.0, 0.65, 0.95, 1.20, 0.60])  # assumption: bone best, brain worst

T_LABELS: tuple[str, ...] = ("TX", "T1c", "T2", "T3", "T4b", "T4d")
T_SHARE = np.array([0.06, 0.10, 0.32, 0.17, 0.27, 0.08])  # assumption
N_LABELS: tuple[str, ...] = ("NX", "N0", "N1", "N2", "N3")
N_SHARE = np.array([0.07, 0.18, 0.40, 0.15, 0.20])  # assumption
ECOG_SHARE = np.array([0.30, 0.37, 0.20, 0.10, 0.03])  # assumption
GRADE_SHARE = np.array([0.10, 0.45, 0.45])  # assumption

SURGERY_INTERCEPT = 0.55  # calibrated: about 40 % of patients recorded as operated
UNKNOWN_RECEPTOR_P = 0.03  # assumption
LOSS_TO_FOLLOW_UP = 0.02 / 12.0  # per month (assumption)
FOLLOW_UP_END = 2021.0  # administrative end of follow-up (1 January 2021)
YEARS = (2010, 2019)


@dataclass(frozen=True)
class SimulatedRegistry:
    """Columns of the registry contract as numpy arrays (codes index the label tuples).

    ``death_months`` (the uncensored death time) and ``subtype`` (the true
    subtype, before any receptor is recorded as unknown) are the truth the
    registry does not show; they exist for calibration checks.
    """

    true_hr: float
    seed: int | None
    year_of_diagnosis: IntArray
    age: IntArray
    er: IntArray  # index into RECEPTOR_CODES
    pr: IntArray
    her2: IntArray
    t: IntArray  # index into T_LABELS
    n: IntArray  # index into N_LABELS
    mets: BoolArray  # (n, 5) in MET_SITES order
    surgery: BoolArray
    surgery_months: FloatArray  # nan when no surgery
    survival_months: FloatArray
    dead: BoolArray
    ecog: IntArray
    grade: IntArray
    death_months: FloatArray
    subtype: IntArray  # index into SUBTYPES

    @property
    def n_patients(self) -> int:
        return int(self.age.size)


def _categorical(rng: np.random.Generator, shares: FloatArray, size: int) -> IntArray:
    """Draw category indices with the given shares (inverse CDF, vectorised)."""
    cdf = np.cumsum(shares / shares.sum())
    return np.searchsorted(cdf, rng.random(size), side="right").astype(np.int64)


def _sites(rng: np.random.Generator, size: int) -> BoolArray:
    pattern = _categorical(rng, PATTERN_SHARE, size)
    mets = np.zeros((size, len(MET_SITES)), dtype=bool)
    single = {0: 0, 2: 1, 3: 2, 4: 3, 5: 4}  # pattern -> the only site
    for p, site in single.items():
        mets[pattern == p, site] = True
    multi = np.flatnonzero(pattern == 1)
    # Redraw the rows with fewer than two sites; each pass is vectorised, and the
    # share left shrinks geometrically, so a handful of passes suffice.
    while multi.size:
        draw = rng.random((multi.size, len(MET_SITES))) < MULTI_SITE_P
        ok = draw.sum(axis=1) >= 2
        mets[multi[ok]] = draw[ok]
        multi = multi[~ok]
    return mets


def simulate_registry(
    n: int, true_hr: float = 1.0, seed: int | None = None, *, unmeasured: float = 0.0
) -> SimulatedRegistry:
    """Simulate ``n`` patients; surgery multiplies the death hazard by ``true_hr`` from surgery on.

    ``unmeasured`` (γ ≥ 0) adds a confounder absent from the registry: it raises
    the death hazard by ``exp(γ·U)`` and lowers the odds of surgery by the same
    factor; with γ > 0 no method of the ladder can recover ``true_hr`` exactly.
    """
    if not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive whole number, got {n!r}")
    if not np.isfinite(true_hr) or true_hr <= 0:
        raise ValueError(f"true_hr must be a positive number, got {true_hr!r}")
    if not np.isfinite(unmeasured) or unmeasured < 0:
        raise ValueError(f"unmeasured must be >= 0, got {unmeasured!r}")
    rng = np.random.default_rng(seed)

    year = rng.integers(YEARS[0], YEARS[1] + 1, size=n)
    age = np.clip(np.rint(rng.normal(61.0, 13.0, size=n)), 25, 95).astype(np.int64)
    ecog = _categorical(rng, ECOG_SHARE, n)
    grade = _categorical(rng, GRADE_SHARE, n) + 1
    t = _categorical(rng, T_SHARE, n)
    nodes = _categorical(rng, N_SHARE, n)
    subtype = _categorical(rng, SUBTYPE_SHARE, n)
    mets = _sites(rng, n)
    u = rng.standard_normal(n) * unmeasured

    # Receptors from the subtype: HR+ means ER+ (95 %, else PR+ only), PR+ in 75 % of ER+.
    hr_pos = subtype <= 1
    her2_pos = (subtype == 1) | (subtype == 2)
    er_pos = hr_pos & (rng.random(n) < 0.95)
    pr_pos = np.where(er_pos, rng.random(n) < 0.75, hr_pos)
    pos, neg, unk = (RECEPTOR_CODES.index(c) for c in ("positive", "negative", "unknown"))
    receptors = []
    for status in (er_pos, pr_pos, her2_pos):
        code = np.where(status, pos, neg)
        receptors.append(np.where(rng.random(n) < UNKNOWN_RECEPTOR_P, unk, code).astype(np.int64))
    er, pr, her2 = receptors

    t4 = t >= T_LABELS.index("T4b")
    n_pos = nodes >= N_LABELS.index("N1")
    bone_only = mets[:, 0] & (mets.sum(axis=1) == 1)
    log_hr = (
        0.02 * (age - 61)
        + 0.30 * ecog
        + mets.astype(float) @ SITE_LOG_HR
        + 0.15 * t4
        + 0.10 * n_pos
        + u
    )
    hazard = BASE_HAZARD[subtype] * np.exp(log_hr)

    logit = (
        SURGERY_INTERCEPT
        - 0.04 * (age - 61)
        - 0.5 * ecog
        + 0.7 * bone_only
        + 0.4 * hr_pos
        - 0.6 * mets[:, 3]
        - 0.3 * mets[:, 2]
        - 0.2 * t4
        - 0.10 * (year - YEARS[0])
        - u
    )
    planned = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    planned_time = 1.0 + 11.0 * rng.beta(2.0, 2.0, size=n)

    # Death time with the surgery effect acting from the planned surgery time on.
    e = rng.exponential(size=n)
    before = e <= hazard * planned_time
    after_surgery = planned_time + (e - hazard * planned_time) / (hazard * true_hr)
    death = np.where(planned & ~before, after_surgery, e / hazard)

    admin = (FOLLOW_UP_END - year - rng.random(n)) * 12.0
    lost = rng.exponential(1.0 / LOSS_TO_FOLLOW_UP, size=n)
    censor = np.minimum(admin, lost)
    time = np.minimum(death, censor)
    operated = planned & (planned_time < time)
    # Registries report months; one decimal here. Survival is rounded up so that it
    # stays > 0 and never precedes the (rounded) surgery time.
    survival_months = np.ceil(time * 10.0) / 10.0
    surgery_months = np.where(operated, np.round(planned_time, 1), np.nan)

    return SimulatedRegistry(
        true_hr=float(true_hr),
        seed=seed,
        year_of_diagnosis=year.astype(np.int64),
        age=age,
        er=er,
        pr=pr,
        her2=her2,
        t=t,
        n=nodes,
        mets=mets,
        surgery=operated,
        surgery_months=surgery_months,
        survival_months=survival_months,
        dead=death <= censor,
        ecog=ecog,
        grade=grade.astype(np.int64),
        death_months=death,
        subtype=subtype,
    )


def _sql_list(labels: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{label}'" for label in labels) + "]"


def write_registry(sim: SimulatedRegistry, path: str | Path) -> Path:
    """Write ``sim`` as a registry file (``.csv`` or ``.parquet``, by suffix) through DuckDB."""
    import duckdb
    import pandas as pd

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"output file must end in .csv or .parquet, got {path.name!r}")
    frame = pd.DataFrame(
        {
            "idx": np.arange(1, sim.n_patients + 1),
            "year_of_diagnosis": sim.year_of_diagnosis,
            "age": sim.age,
            "er": sim.er,
            "pr": sim.pr,
            "her2": sim.her2,
            "t": sim.t,
            "n": sim.n,
            **{f"mets_{site}": sim.mets[:, i] for i, site in enumerate(MET_SITES)},
            "surgery": sim.surgery,
            "surgery_months": sim.surgery_months,
            "survival_months": sim.survival_months,
            "dead": sim.dead,
            "ecog": sim.ecog,
            "grade": sim.grade,
        }
    )
    from locoreg.cohort.schema import RECEPTOR_CODES as R

    width = max(7, len(str(sim.n_patients)))
    select = (
        f"SELECT printf('P%0{width}d', idx) AS patient_id, year_of_diagnosis, age, "
        f"{_sql_list(R)}[er + 1] AS er, {_sql_list(R)}[pr + 1] AS pr, "
        f"{_sql_list(R)}[her2 + 1] AS her2, "
        f"{_sql_list(T_LABELS)}[t + 1] AS t, {_sql_list(N_LABELS)}[n + 1] AS n, "
        + ", ".join(f"mets_{site}" for site in MET_SITES)
        + ", surgery, CASE WHEN surgery THEN surgery_months END AS surgery_months, "
        "survival_months, dead, ecog, grade FROM sim ORDER BY idx"
    )
    fmt = "CSV, HEADER" if suffix == ".csv" else "PARQUET"
    con = duckdb.connect(":memory:")
    try:
        con.register("sim", frame)
        target = "'" + str(path).replace("'", "''") + "'"
        con.execute(f"COPY ({select}) TO {target} (FORMAT {fmt})")
    finally:
        con.close()
    return path
