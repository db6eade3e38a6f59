"""The multiverse: one estimate per defensible specification, side by side.

A specification is a choice of method × adjustment set × method parameter
(landmark time, grace period) × exclusion. Reading all of them at once
(specification curve: Simonsohn, Simmons & Nelson, Nat Hum Behav 2020;4:1208–14)
shows how much of a registry "effect" is owed to analytic choices — here,
mostly to whether the method handles immortal time.

Specifications run in a process pool (``workers``; ``workers=1`` runs in this
process); each worker receives the analytic table once, at start-up.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np

from locoreg.cohort.ladder import RUNG, LadderSettings, fit_rung
from locoreg.cohort.select import COVARIATE_SETS, AnalyticTable

# Exclusions as row filters on the analytic table (they mirror Selection options).
EXCLUSIONS: dict[str, str] = {
    "none": "all patients",
    "known_receptors": "ER, PR and HER2 known",
    "no_brain": "no brain metastases",
    "age_80_or_less": "aged 80 or less",
}
LANDMARKS: tuple[float, ...] = (6.0, 12.0, 18.0, 24.0)
GRACES: tuple[float, ...] = (3.0, 6.0, 9.0)


@dataclass(frozen=True, slots=True)
class Spec:
    method: str
    covariates: str  # a key of COVARIATE_SETS ("none" for the naive rung)
    exclusion: str  # a key of EXCLUSIONS
    parameter: float | None = None  # landmark months or grace months

    @property
    def label(self) -> str:
        par = "" if self.parameter is None else f" {self.parameter:g} mo"
        return f"{self.method}{par} · {self.covariates} · {self.exclusion}"


@dataclass(frozen=True, slots=True)
class SpecResult:
    spec: Spec
    hr: float
    ci_low: float
    ci_high: float
    n: int
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.spec.method,
            "covariates": self.spec.covariates,
            "exclusion": self.spec.exclusion,
            "parameter": self.spec.parameter,
            "handles_immortal_time": RUNG[self.spec.method].handles_immortal_time,
            "hr": None if self.error else self.hr,
            "ci_low": None if self.error else self.ci_low,
            "ci_high": None if self.error else self.ci_high,
            "n": self.n,
            **({"error": self.error} if self.error else {}),
        }


@dataclass(frozen=True)
class MultiverseResult:
    results: tuple[SpecResult, ...]

    def ok(self) -> tuple[SpecResult, ...]:
        return tuple(r for r in self.results if not r.error)

    def summary(self) -> dict[str, Any]:
        """Median and range of the HRs, separately by handling of immortal time."""
        out: dict[str, Any] = {"specifications": len(self.results), "failed": 0}
        out["failed"] = sum(1 for r in self.results if r.error)
        for flag, key in ((False, "immortal_time_not_handled"), (True, "immortal_time_handled")):
            hrs = np.array(
                [r.hr for r in self.ok() if RUNG[r.spec.method].handles_immortal_time is flag]
            )
            if hrs.size:
                out[key] = {
                    "k": int(hrs.size),
                    "median_hr": float(np.median(hrs)),
                    "min_hr": float(hrs.min()),
                    "max_hr": float(hrs.max()),
                }
        return out


def default_specs(exclusions: Iterable[str] = tuple(EXCLUSIONS)) -> list[Spec]:
    """Every method × covariate set × parameter × exclusion (136 specifications by default)."""
    specs: list[Spec] = []
    for exc in exclusions:
        if exc not in EXCLUSIONS:
            raise ValueError(f"unknown exclusion {exc!r}; allowed: {', '.join(EXCLUSIONS)}")
        specs.append(Spec("naive", "none", exc))
        for cov in COVARIATE_SETS:
            specs += [Spec(m, cov, exc) for m in ("adjusted", "iptw", "matched", "time_dependent")]
            specs += [Spec("landmark", cov, exc, at) for at in LANDMARKS]
            specs += [Spec("emulated_trial", cov, exc, g) for g in GRACES]
    return specs


def _keep(table: AnalyticTable, exclusion: str) -> np.ndarray:
    c = table.covariates
    if exclusion == "known_receptors":
        return c["subtype_unknown"] == 0
    if exclusion == "no_brain":
        return c["mets_brain"] == 0
    if exclusion == "age_80_or_less":
        return table.age <= 80
    return np.ones(table.n, dtype=bool)


def run_spec(
    table: AnalyticTable, spec: Spec, trim: float = 0.01, caliper: float = 0.2
) -> SpecResult:
    """Fit one specification; a failure is recorded, not raised."""
    return _fit_spec(table.subset(_keep(table, spec.exclusion)), spec, trim, caliper)


def _fit_spec(
    sub: AnalyticTable, spec: Spec, trim: float = 0.01, caliper: float = 0.2
) -> SpecResult:
    """Fit ``spec`` on ``sub``, the table after the spec's exclusion."""
    names = COVARIATE_SETS.get(spec.covariates, ())
    settings = LadderSettings(trim=trim, caliper=caliper)
    try:
        e = fit_rung(spec.method, sub, names, settings, spec.parameter)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        return SpecResult(spec, float("nan"), float("nan"), float("nan"), sub.n, str(exc))
    if not np.isfinite([e.hr, e.ci_low, e.ci_high]).all():
        return SpecResult(spec, e.hr, e.ci_low, e.ci_high, e.n, "non-finite estimate")
    return SpecResult(spec, e.hr, e.ci_low, e.ci_high, e.n)


# Relative cost of one specification (CPU seconds per specification, 50,000 patients,
# measured with benchmarks/bench_cohort.py; the emulated trial grows with the months of
# its grace period, its censoring model's person-month rows).
_COST: dict[str, float] = {
    "naive": 0.02,
    "adjusted": 0.04,
    "iptw": 0.05,
    "matched": 0.06,
    "landmark": 0.06,
    "time_dependent": 0.08,
}


def _cost(spec: Spec) -> float:
    if spec.method == "emulated_trial":
        return 0.1 + 0.02 * float(spec.parameter or 6.0)
    return _COST.get(spec.method, 0.1)


def _groups(specs: Iterable[Spec]) -> list[tuple[Spec, ...]]:
    """Specifications that share work, longest group first.

    Emulated trials with the same exclusion and grace period share their clone rows,
    their row order and the censoring model's person-month layout (only the
    adjustment set differs): run together, these are built once
    (:func:`locoreg.cohort.emulation.clone_layout`). Every other specification is a
    group of its own. Longest first, so that the pool's workers finish together.
    """
    by_key: dict[tuple[str, ...], list[Spec]] = {}
    for spec in specs:
        shared = spec.method == "emulated_trial"
        key = (spec.exclusion, str(spec.parameter)) if shared else (spec.label,)
        by_key.setdefault(key, []).append(spec)
    groups = [tuple(group) for group in by_key.values()]
    return sorted(groups, key=lambda g: -sum(_cost(s) for s in g))


def run_group(table: AnalyticTable, group: tuple[Spec, ...]) -> list[SpecResult]:
    """Fit a group of :func:`_groups` on ``table`` (one subset per exclusion)."""
    subsets: dict[str, AnalyticTable] = {}
    out = []
    for spec in group:
        if spec.exclusion not in subsets:
            subsets[spec.exclusion] = table.subset(_keep(table, spec.exclusion))
        out.append(_fit_spec(subsets[spec.exclusion], spec))
    return out


_WORKER_TABLE: AnalyticTable | None = None
# Imported once by the process that forks the workers, so that no worker imports them.
_PRELOAD = (
    "locoreg.cohort.multiverse",
    "locoreg.survival.cox",
    "locoreg.survival._cox_kernels",
    "locoreg.survival._logistic_kernels",
)


def _context() -> multiprocessing.context.ForkServerContext:
    # forkserver, not fork: forking a process that already runs BLAS, DuckDB, progress-bar
    # or test-runner threads can deadlock or kill the child (Python 3.14 makes this the
    # default). The server imports the fitting code once; each worker is a fork of it.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["__main__", *_PRELOAD])
    return ctx


def start_workers() -> None:
    """Start the process that forks the workers now, importing the fitting code.

    A caller that then reads the registry overlaps the two (~1 s each); otherwise the
    server starts with the first :func:`run_multiverse` that uses workers.
    """
    _context()
    multiprocessing.forkserver.ensure_running()


def _init_worker(table: AnalyticTable) -> None:
    global _WORKER_TABLE
    _WORKER_TABLE = table
    # The workers already keep the cores busy: BLAS threads of their own only compete
    # (measured: 2 workers 17 % faster with one BLAS thread each). The Cox engine loads
    # scipy's OpenBLAS next to numpy's; load it first so that both are set.
    import locoreg.survival.cox  # noqa: F401
    from locoreg.survival._cox_riskset import set_blas_threads

    set_blas_threads(1)


def _run_in_worker(group: tuple[Spec, ...]) -> list[SpecResult]:
    assert _WORKER_TABLE is not None, "worker not initialised"
    return run_group(_WORKER_TABLE, group)


def run_multiverse(
    table: AnalyticTable,
    specs: list[Spec] | None = None,
    *,
    workers: int = 1,
    progress: Callable[[SpecResult], None] | None = None,
) -> MultiverseResult:
    """Run every specification; results come back in the order of ``specs``.

    The specifications run in groups that share work (:func:`_groups`), the longest
    first; each group in one process. A specification's estimate does not depend on
    its group: the groups share built rows, not fitted values (tested against
    spec-by-spec fits).
    """
    specs = default_specs() if specs is None else specs
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    done: dict[Spec, SpecResult] = {}

    def record(results: list[SpecResult]) -> None:
        for res in results:
            done[res.spec] = res
            if progress:
                progress(res)

    groups = _groups(specs)
    if workers == 1:
        for group in groups:
            record(run_group(table, group))
    else:
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_context(),
            initializer=_init_worker,
            initargs=(table,),
        ) as pool:
            futures = [pool.submit(_run_in_worker, group) for group in groups]
            for fut in as_completed(futures):
                record(fut.result())
    return MultiverseResult(tuple(done[s] for s in specs))
