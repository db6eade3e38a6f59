"""Registry re-analysis at scale, side by side with peers, reported as ratios.

Measures, in one run on the same data:
  - simulate 1,000,000 patients (vectorised numpy) and write Parquet through DuckDB;
  - load + check + extract 50,000 patients (DuckDB), then the whole ladder (all seven
    rungs + landmark sensitivity + balance) — the done-when target is "well under a minute";
  - each rung on its own;
  - peers: the time-dependent Cox fit and the weighted clone–censor Cox fit in lifelines
    (CoxTimeVaryingFitter / CoxPHFitter with entry and cluster), when lifelines is installed,
    with the ratio of their time to ours and the agreement of the hazard ratios.
Usage: python benchmarks/bench_cohort.py [--n 50000] [--peer-n 10000] [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# Earlier wall-clock seconds of the whole `cohort multiverse` CLI (benchmarks/README.md).
MULTIVERSE_BEFORE = (35.6, 30.7, 14.5)
MULTIVERSE_TARGET = 8.0


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def timed_cpu(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall-clock and CPU seconds of this process (CPU is the fairer figure on a shared box)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main() -> None:
    from locoreg.cohort.emulation import clone_rows, emulated_trial
    from locoreg.cohort.ladder import (
        LadderSettings,
        adjusted,
        covariate_names,
        iptw,
        landmark,
        matched,
        naive,
        propensity,
        run_ladder,
        time_dependent,
        time_dependent_rows,
    )
    from locoreg.cohort.load import load_registry
    from locoreg.cohort.multiverse import run_multiverse
    from locoreg.cohort.select import extract
    from locoreg.cohort.simulate import simulate_registry, write_registry

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument(
        "--quick", action="store_true", help="2,000 / 100,000 patients; peers on 500"
    )
    parser.add_argument(
        "--peer-n", type=int, default=None, help="patients for the peer fits (default: --n)"
    )
    args = parser.parse_args()
    if args.quick:
        args.n, args.big, args.peer_n = 2_000, 100_000, 500

    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        t, c, sim = timed_cpu(lambda: simulate_registry(args.big, seed=1))
        rows.append((f"simulate {args.big:,} patients", t, c))
        t, c, _ = timed_cpu(lambda: write_registry(sim, Path(tmp) / "big.parquet"))
        rows.append((f"write {args.big:,} patients (Parquet)", t, c))
        path = write_registry(simulate_registry(args.n, seed=2), Path(tmp) / "reg.parquet")
        t, c, table = timed_cpu(lambda: extract(load_registry(path)))
        rows.append((f"load + check + extract {args.n:,} (DuckDB)", t, c))
        t, c, result = timed_cpu(lambda: run_ladder(table, LadderSettings()))
        rows.append((f"whole ladder, {args.n:,} patients", t, c))
        t, c, _ = timed_cpu(lambda: run_multiverse(table, workers=2))
        # CPU of this process only: the two worker processes do the fitting.
        rows.append((f"multiverse, 136 specifications, 2 workers ({args.n:,})", t, c))
        # All the fitting in this process: its CPU seconds are the work the workers share.
        t, c, _ = timed_cpu(lambda: run_multiverse(table, workers=1))
        rows.append((f"multiverse, 136 specifications, 1 process ({args.n:,})", t, c))

        names = covariate_names("full")
        model = propensity(table, names)
        rungs: dict[str, Callable[[], Any]] = {
            "naive": lambda: naive(table),
            "adjusted": lambda: adjusted(table, names),
            "iptw (incl. propensity model)": lambda: iptw(table, propensity(table, names), 0.01),
            "matched": lambda: matched(table, model, 0.2),
            "landmark 12": lambda: landmark(table, names, 12.0),
            "time_dependent": lambda: time_dependent(table, names),
            "emulated_trial": lambda: emulated_trial(table, names),
        }
        for name, fn in rungs.items():
            t, c, _ = timed_cpu(fn)
            rows.append((f"  rung: {name}", t, c))

        # DuckDB runs its own threads, so its CPU seconds can exceed wall-clock.
        print(f"{'step':55s} {'wall s':>9s} {'cpu s':>9s}")
        for name, seconds, cpu in rows:
            print(f"{name:55s} {seconds:9.2f} {cpu:9.2f}")
        print(
            "\nmultiverse, whole CLI (`cohort multiverse`, 50,000 patients, 2 workers, wall s): "
            f"{' -> '.join(f'{s:g}' for s in MULTIVERSE_BEFORE)}; target {MULTIVERSE_TARGET:g} "
            "(this run's CLI: benchmarks/cli_time.py; figures in benchmarks/README.md)"
        )
        print("\nladder:")
        for key, e in result.estimates.items():
            print(f"  {key:16s} HR {e.hr:.3f} ({e.ci_low:.3f}-{e.ci_high:.3f}) n={e.n}")

        if not importlib.util.find_spec("lifelines"):
            print("\nlifelines not installed: peer comparison skipped (pip install '.[bench]')")
            return
        import pandas as pd
        from lifelines import CoxPHFitter, CoxTimeVaryingFitter

        if args.peer_n is not None and args.peer_n < table.n:
            # lifelines is far slower; compare on a subset so that --quick stays quick.
            table = table.subset(np.arange(args.peer_n))
        X, used = table.design(names)
        start, stop, event, exposed, patient = time_dependent_rows(table)
        frame = pd.DataFrame(X[patient], columns=list(used))
        frame["surgery"] = exposed
        frame["id"], frame["start"], frame["stop"], frame["event"] = patient, start, stop, event
        ours_t, ours = timed(lambda: time_dependent(table, names))
        peer_t, peer = timed(
            lambda: CoxTimeVaryingFitter().fit(
                frame, id_col="id", event_col="event", start_col="start", stop_col="stop"
            )
        )
        print(f"\npeer comparison (same rows, same model; {table.n:,} patients):")
        print(f"{'fit':55s} {'seconds':>9s} {'ratio to locoreg':>17s} {'HR':>8s}")
        print(
            f"{'locoreg time-dependent Cox (Efron)':55s} {ours_t:9.2f} {1.0:17.2f} {ours.hr:8.4f}"
        )
        hr = float(np.exp(peer.params_["surgery"]))
        print(f"{'lifelines CoxTimeVaryingFitter (Efron)':55s} {peer_t:9.2f} "
              f"{peer_t / ours_t:17.2f} {hr:8.4f}")  # fmt: skip

        clones = clone_rows(table, names, 6.0)
        cf = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in clones.items()})
        ours_t, ours = timed(lambda: emulated_trial(table, names))
        peer_t, peer = timed(
            lambda: CoxPHFitter().fit(
                cf[["start", "stop", "event", "arm", "weight", "patient"]],
                duration_col="stop", event_col="event", entry_col="start",
                weights_col="weight", cluster_col="patient", robust=True,
            )
        )  # fmt: skip
        label = "locoreg emulated trial (incl. censoring model)"
        print(f"{label:55s} {ours_t:9.2f} {1.0:17.2f} {ours.hr:8.4f}")
        hr = float(np.exp(peer.params_["arm"]))
        print(f"{'lifelines CoxPHFitter, weighted, entry + cluster':55s} {peer_t:9.2f} "
              f"{peer_t / ours_t:17.2f} {hr:8.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
