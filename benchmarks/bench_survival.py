"""Kaplan–Meier, log-rank and propensity matching speed, side by side with peers, as ratios.

  - Kaplan–Meier (log-log CI, median) on N rows: locoreg vs lifelines ``KaplanMeierFitter``
  - two-group log-rank on N rows: locoreg vs lifelines ``logrank_test``
  - greedy 1:1 caliper matching of M patients: locoreg vs a plain numpy reference
    (one vectorised nearest-available scan per treated patient, O(n_treated * n_control))

Peers that would take too long run on a smaller sample (``--peer-rows``); their time is
then scaled linearly to N and labelled "extrapolated". Each timing is the best of
``--repeat`` runs in this process. Usage:
  python benchmarks/bench_survival.py [--rows 10000000] [--peer-rows 1000000]
                                      [--match 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import numpy as np

from locoreg.survival import kaplan_meier, logrank, match_nearest


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--peer-rows", type=int, default=1_000_000)
    parser.add_argument("--match", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {platform.platform()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    rows: list[tuple[str, float, float, str]] = []

    t, e, g = simulate(args.rows)
    ours_km = best_of(lambda: kaplan_meier(t, e), args.repeat)
    ours_lr = best_of(lambda: logrank(t, e, g), args.repeat)
    try:
        from lifelines import KaplanMeierFitter
        from lifelines.statistics import logrank_test
    except ImportError:
        print("lifelines not installed: peer timings skipped")
    else:
        n_peer = min(args.peer_rows, args.rows)
        tp, ep, gp = t[:n_peer], e[:n_peer], g[:n_peer]
        scale = args.rows / n_peer
        label = "" if scale == 1 else f"extrapolated x{scale:g} from {n_peer:,} rows"
        peer_km = best_of(lambda: KaplanMeierFitter().fit(tp, ep), args.repeat) * scale
        a, b = gp == 0, gp == 1
        peer_lr = best_of(lambda: logrank_test(tp[a], tp[b], ep[a], ep[b]), args.repeat) * scale
        rows.append((f"Kaplan–Meier, {args.rows:,} rows", ours_km, peer_km, "lifelines " + label))
        rows.append((f"log-rank, {args.rows:,} rows", ours_lr, peer_lr, "lifelines " + label))

    rng = np.random.default_rng(2)
    logit = rng.normal(0, 1, args.match)
    treated = rng.random(args.match) < 1 / (1 + np.exp(-(logit - 0.5)))
    width = 0.2 * float(np.std(logit, ddof=1))
    ours_m = best_of(lambda: match_nearest(logit, treated, caliper=0.2), args.repeat)
    n_ours = match_nearest(logit, treated, caliper=0.2).n_matched_treated
    start = time.perf_counter()
    n_plain = plain_greedy(logit, treated, width)
    plain_m = time.perf_counter() - start
    assert n_ours == n_plain, (n_ours, n_plain)
    rows.append((f"greedy matching, {args.match:,} patients", ours_m, plain_m, "plain numpy scan"))

    print("\n| task | locoreg (s) | peer (s) | peer / locoreg | peer |")
    print("|---|---:|---:|---:|---|")
    for name, ours, peer, label in rows:
        print(f"| {name} | {ours:.2f} | {peer:.2f} | {peer / ours:.1f} | {label} |")


if __name__ == "__main__":
    main()
