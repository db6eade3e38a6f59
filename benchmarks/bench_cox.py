"""Cox regression (Efron ties) speed and memory, side by side with peers, as ratios.

Generates one data set (default 1,000,000 rows x 20 covariates, survival in whole days so
that deaths tie heavily, ~40 % censored) and fits the same model, in one run, with

  - locoreg ``cox(time, event, X, ties="efron")`` and its Harrell's C (best of ``--repeat``,
    after a warm-up that loads the compiled kernels);
  - lifelines ``CoxPHFitter`` (Efron; once), when installed;
  - R ``survival::coxph(ties = "efron")`` (once; timed inside R with ``system.time``
    around the call only, data already loaded), when ``Rscript`` is on the PATH.

It checks that the coefficients agree (largest relative difference to R / lifelines), then
prints the times, the peer / locoreg ratios and the peak memory that the locoreg fit
allocates (``tracemalloc``, which sees every numpy allocation; the compiled kernels are
given their outputs and allocate only p-vectors themselves) relative to the size of the
covariate matrix. Usage:

  python benchmarks/bench_cox.py [--rows 1000000] [--cols 20] [--repeat 3] [--no-r] [--quick]
                                 [--continuous]

``--quick`` uses 20,000 rows (a smoke run of a few seconds); ``--continuous`` keeps the
times unrounded (no ties: one risk set per death, the heaviest case for memory).
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from locoreg.survival import cox

R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; n <- as.integer(args[2]); p <- as.integer(args[3])
suppressPackageStartupMessages(library(survival))
rd <- function(f, k) readBin(file.path(dir, f), "double", k)
x <- matrix(rd("x.bin", n * p), nrow = n, ncol = p)  # column-major, as written
t <- rd("t.bin", n); e <- rd("e.bin", n)
el <- system.time(fit <- coxph(Surv(t, e) ~ x, ties = "efron"))[["elapsed"]]
cat("coxph", el, "\n")
cat("coef", unname(coef(fit)), "\n")
cat("concordance", unname(fit$concordance["concordance"]), "\n")
"""


def simulate(
    n: int, p: int, seed: int = 1, whole_days: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exponential survival with log-hazard ``x'beta``, exponential censoring; times in
    whole days (heavy ties, as registries record them) or continuous (no ties)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    beta = np.linspace(-0.3, 0.3, p)
    event_time = rng.exponential(365.0 * np.exp(-(x @ beta)))
    censor = rng.exponential(365.0 * 1.5, n)
    time = np.minimum(event_time, censor)
    return (np.ceil(time) if whole_days else time), (event_time <= censor).astype(np.float64), x


def run_r(t: np.ndarray, e: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray] | None:
    if shutil.which("Rscript") is None:
        print("Rscript not found: R timings skipped")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        t.tofile(Path(tmp) / "t.bin")
        e.tofile(Path(tmp) / "e.bin")
        np.asfortranarray(x).T.tofile(Path(tmp) / "x.bin")  # column-major for R's matrix()
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        proc = subprocess.run(
            ["Rscript", str(script), tmp, str(x.shape[0]), str(x.shape[1])],
            capture_output=True,
            text=True,
        )
    if proc.returncode != 0:
        print("R failed, R timings skipped:", proc.stderr.strip().splitlines()[-1:])
        return None
    out = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines() if line}
    if "concordance" in out:
        print(f"R concordance (part of R's fit time): {float(out['concordance'][0]):.6f}")
    return float(out["coxph"][0]), np.array([float(v) for v in out["coef"]])


def run_lifelines(t: np.ndarray, e: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray] | None:
    try:
        import pandas as pd
        from lifelines import CoxPHFitter
    except ImportError:
        print("lifelines not installed: its timings are skipped (pip install '.[bench]')")
        return None
    cols = [f"x{j + 1}" for j in range(x.shape[1])]
    df = pd.DataFrame(x, columns=cols)
    df["T"], df["E"] = t, e
    start = time.perf_counter()
    fitter = CoxPHFitter().fit(df, duration_col="T", event_col="E")
    elapsed = time.perf_counter() - start
    return elapsed, fitter.params_[cols].to_numpy()


def peak_memory(t: np.ndarray, e: np.ndarray, x: np.ndarray) -> float:
    """Peak bytes allocated during one fit (inputs already exist), over ``x.nbytes``."""
    tracemalloc.start()
    cox(t, e, x, ties="efron")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / x.nbytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-r", action="store_true", help="skip R")
    parser.add_argument("--no-lifelines", action="store_true", help="skip lifelines")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, one repeat")
    parser.add_argument(
        "--continuous", action="store_true", help="continuous times (no ties) instead of days"
    )
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeat = 20_000, 1

    print(f"machine: {platform.machine()}, {platform.platform()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    t, e, x = simulate(args.rows, args.cols, whole_days=not args.continuous)
    n_times = np.unique(t).shape[0]
    print(
        f"data: {args.rows:,} rows x {args.cols} covariates, {1 - e.mean():.1%} censored, "
        f"{n_times:,} distinct times, X = {x.nbytes / 2**20:.0f} MiB"
    )
    _ = cox(t[:2000], e[:2000], x[:2000]).concordance  # warm-up: imports, compiled kernels

    def fit_with_concordance() -> tuple[float, float]:
        start = time.perf_counter()
        fit = cox(t, e, x, ties="efron")
        fitted = time.perf_counter()
        _ = fit.concordance  # computed on first access (R's coxph always computes it)
        return fitted - start, time.perf_counter() - fitted

    runs = [fit_with_concordance() for _ in range(args.repeat)]
    ours = min(fit_s for fit_s, _ in runs)
    ours_c = min(fit_s + c_s for fit_s, c_s in runs)
    fit = cox(t, e, x, ties="efron")
    memory = peak_memory(t, e, x)
    rows = [
        ("locoreg cox (Efron)", ours, "fit only"),
        ("locoreg cox + concordance", ours_c, f"C = {fit.concordance:.6f}"),
    ]
    for label, result in (
        ("lifelines CoxPHFitter", None if args.no_lifelines else run_lifelines(t, e, x)),
        ("R survival::coxph", None if args.no_r else run_r(t, e, x)),
    ):
        if result is None:
            continue
        peer, coef = result
        diff = float(np.max(np.abs(coef - fit.coef) / np.maximum(np.abs(fit.coef), 1e-8)))
        rows.append((label, peer, f"max rel. coef difference {diff:.1e}"))

    head = f"fit, {args.rows:,} x {args.cols}"
    print(f"\n| {head} | time (s) | / locoreg fit | / locoreg fit + C | note |")
    print("|---|---:|---:|---:|---|")
    for label, secs, note in rows:
        print(f"| {label} | {secs:.3f} | {secs / ours:.1f} | {secs / ours_c:.1f} | {note} |")
    print(
        "\nlifelines computes its concordance on first access too, R's coxph always: compare "
        "lifelines with 'fit', R with 'fit + C'."
    )
    print(
        f"locoreg peak memory during the fit: {memory:.2f} x the covariate matrix "
        f"({memory * x.nbytes / 2**20:.0f} MiB; target <= 4x)"
    )
    print(f"Newton iterations: {fit.iterations}")


if __name__ == "__main__":
    main()
