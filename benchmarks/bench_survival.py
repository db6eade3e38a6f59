"""Kaplan–Meier, log-rank and propensity matching speed, side by side with peers, as ratios.

Measures, in one run on the same simulated data:
  - Kaplan–Meier (log-log CI, median) on N rows: locoreg vs lifelines ``KaplanMeierFitter``
    and, when ``Rscript`` with survival is installed, R ``survfit``;
  - two-group log-rank on N rows: locoreg vs lifelines ``logrank_test`` and R ``survdiff``;
  - Aalen–Johansen cumulative incidence with standard errors (2 causes) on A rows: locoreg
    (both causes) vs lifelines ``AalenJohansenFitter`` (one cause per fit, variance on);
  - greedy 1:1 caliper (0.2 SD of the logit) matching of M patients: locoreg vs a plain
    numpy reference (one vectorised nearest-available scan per treated patient,
    O(n_treated * n_control)); both must match the same number of patients. (R MatchIt
    4.5.1 is not used: its nearest/caliper matches differ from the documented greedy rule,
    see benchmarks/README.md.)

Each locoreg timing is the best of ``--repeat`` runs; peers run once (they are slower).
R timings are taken inside R (``system.time`` around the call only, data already loaded).
``--peer-rows`` runs lifelines on a subsample and scales its time linearly (labelled
"extrapolated"); by default peers see all N rows. Usage:
  python benchmarks/bench_survival.py [--rows 10000000] [--match 100000] [--quick]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from _timing import best_of

from locoreg.survival import aalen_johansen, kaplan_meier, logrank, match_nearest

R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; n <- as.integer(args[2])
rd <- function(f, k) readBin(file.path(dir, f), "double", k)
suppressPackageStartupMessages(library(survival))
t <- rd("t.bin", n); e <- rd("e.bin", n); g <- rd("g.bin", n)
km <- system.time(survfit(Surv(t, e) ~ 1, conf.type = "log-log"))[["elapsed"]]
lr <- system.time(survdiff(Surv(t, e) ~ g))[["elapsed"]]
cat("km", km, "\n"); cat("logrank", lr, "\n")
"""


def simulate(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Registry-like data: survival in days (ties), ~60 % deaths, two treatment groups."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    event_time = rng.exponential(900.0 * np.where(group == 1, 1.2, 1.0))
    censor = rng.uniform(0, 3650, n)
    time_days = np.ceil(np.minimum(event_time, censor))
    return time_days, (event_time <= censor).astype(np.int64), group


def plain_greedy(score: np.ndarray, treated: np.ndarray, width: float) -> int:
    """Reference greedy matching: for each treated (largest first) scan all free controls."""
    controls = np.flatnonzero(~treated)
    free = np.ones(controls.shape[0], dtype=bool)
    c_score = score[controls]
    matched = 0
    for i in np.flatnonzero(treated)[np.argsort(-score[treated], kind="stable")]:
        dist = np.where(free, np.abs(c_score - score[i]), np.inf)
        j = int(np.argmin(dist))
        if dist[j] <= width:
            free[j] = False
            matched += 1
    return matched


def run_r(arrays: dict[str, np.ndarray], n: int) -> dict[str, list[float]]:
    """Time R survival on the same data; {} when Rscript is missing."""
    if shutil.which("Rscript") is None:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, arr in arrays.items():
            np.asarray(arr, dtype=np.float64).tofile(Path(tmp) / f"{name}.bin")
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        proc = subprocess.run(["Rscript", str(script), tmp, str(n)], capture_output=True, text=True)
    if proc.returncode != 0:
        print("R failed, R timings skipped:", proc.stderr.strip().splitlines()[-1:])
        return {}
    out: dict[str, list[float]] = {}
    for line in proc.stdout.splitlines():
        key, *vals = line.split()
        out[key] = [float(v) for v in vals]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--peer-rows", type=int, default=None, help="default: --rows")
    parser.add_argument("--match", type=int, default=100_000)
    parser.add_argument("--aj-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-r", action="store_true", help="skip the R peers")
    parser.add_argument("--quick", action="store_true", help="200,000 rows, 5,000 patients")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.match, args.repeat, args.aj_rows = 200_000, 5_000, 1, 20_000
    n_peer = min(args.peer_rows or args.rows, args.rows)

    print(f"machine: {platform.processor() or platform.machine()}, {platform.platform()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    rows: list[tuple[str, float, float, str]] = []

    t, e, g = simulate(args.rows)
    ours_km = best_of(lambda: kaplan_meier(t, e), args.repeat)
    ours_lr = best_of(lambda: logrank(t, e, g), args.repeat)
    km_name = f"Kaplan–Meier, {args.rows:,} rows"
    lr_name = f"log-rank, {args.rows:,} rows"
    try:
        from lifelines import KaplanMeierFitter
        from lifelines.statistics import logrank_test
    except ImportError:
        print("lifelines not installed: its timings are skipped (pip install '.[bench]')")
    else:
        tp, ep, gp = t[:n_peer], e[:n_peer], g[:n_peer]
        scale = args.rows / n_peer
        label = "lifelines" + ("" if scale == 1 else f" (extrapolated x{scale:g})")
        peer_km = best_of(lambda: KaplanMeierFitter().fit(tp, ep), 1) * scale
        a, b = gp == 0, gp == 1
        peer_lr = best_of(lambda: logrank_test(tp[a], tp[b], ep[a], ep[b]), 1) * scale
        rows.append((km_name, ours_km, peer_km, label))
        rows.append((lr_name, ours_lr, peer_lr, label))

    # competing risks: cause 1 / cause 2 / censored, daily times
    rng_aj = np.random.default_rng(3)
    t_aj = np.ceil(rng_aj.exponential(500.0, args.aj_rows))
    c_aj = rng_aj.integers(0, 3, args.aj_rows)
    ours_aj = best_of(lambda: aalen_johansen(t_aj, c_aj), args.repeat)
    try:
        import warnings

        from lifelines import AalenJohansenFitter
    except ImportError:
        pass
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lifelines warns about jittering tied times
            peer_aj = best_of(
                lambda: AalenJohansenFitter(calculate_variance=True).fit(
                    t_aj, c_aj, event_of_interest=1
                ),
                1,
            )
        aj_name = f"Aalen–Johansen + SE, {args.aj_rows:,} rows"
        rows.append((aj_name, ours_aj, peer_aj, "lifelines (one cause)"))

    rng = np.random.default_rng(2)
    logit = rng.normal(0, 1, args.match)
    treated = rng.random(args.match) < 1 / (1 + np.exp(-(logit - 0.5)))
    width = 0.2 * float(np.std(logit, ddof=1))
    ours_m = best_of(lambda: match_nearest(logit, treated, caliper=0.2), args.repeat)
    n_ours = match_nearest(logit, treated, caliper=0.2).n_matched_treated
    start = time.perf_counter()
    n_plain = plain_greedy(logit, treated, width)
    plain_m = time.perf_counter() - start
    if n_ours != n_plain:
        raise SystemExit(f"matching disagrees with the plain reference: {n_ours} vs {n_plain}")
    m_name = f"greedy 1:1 matching, {args.match:,} patients"
    rows.append((m_name, ours_m, plain_m, "plain numpy scan"))

    if not args.no_r:
        r = run_r({"t": t, "e": e, "g": g}, args.rows)
        if "km" in r:
            rows.append((km_name, ours_km, r["km"][0], "R survival::survfit"))
            rows.append((lr_name, ours_lr, r["logrank"][0], "R survival::survdiff"))

    print(f"matched treated: {n_ours:,} of {int(treated.sum()):,}")
    print("\n| task | locoreg (s) | peer (s) | peer / locoreg | peer |")
    print("|---|---:|---:|---:|---|")
    for name, ours, peer, label in rows:
        print(f"| {name} | {ours:.3f} | {peer:.3f} | {peer / ours:.1f} | {label} |")


if __name__ == "__main__":
    main()
