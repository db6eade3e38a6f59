"""`locoreg cohort analyze --report` as a user runs it: the whole process, imports included.

Simulates a registry (50,000 patients by default), then runs
``locoreg cohort analyze REG --report OUT.html`` (and ``locoreg --help``) in fresh
processes, ``--repeat`` times each, and prints per run the wall time, the CPU seconds
(user + sys of the process and its threads) and the load average of the machine, which
is shared: a wall time means little without the load next to it.

``--baseline SRC`` runs another source tree (e.g. a ``git archive`` of main unpacked in
/tmp, its ``src`` folder) alternately with this one, baseline first, so that both see the
same conditions, and checks that both print the same text, byte for byte.
Usage: python benchmarks/bench_analyze.py [--n 50000] [--repeat 3] [--baseline DIR/src]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def run(cmd: list[str], src: Path) -> tuple[float, float, bytes]:
    """Wall and CPU seconds (user + sys, all threads) of one fresh process, and its stdout."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, check=True).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None, help="src folder to compare")
    parser.add_argument("--quick", action="store_true", help="5,000 patients, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.n, args.repeat = 5_000, 1
    locoreg = shutil.which("locoreg") or f"{sys.prefix}/bin/locoreg"
    trees = {"this tree": SRC}
    if args.baseline is not None:
        trees = {"baseline": args.baseline.resolve(), **trees}
    with tempfile.TemporaryDirectory() as tmp:
        reg, html = Path(tmp) / "reg.parquet", Path(tmp) / "r.html"
        run([locoreg, "cohort", "simulate", "--n", str(args.n), "--seed", "1", "-o", str(reg)], SRC)
        commands = {
            f"cohort analyze --report ({args.n:,})": [
                locoreg, "cohort", "analyze", str(reg), "--report", str(html)
            ],
            "--help": [locoreg, "--help"],
        }  # fmt: skip
        for src in trees.values():  # warm: numba compiles or loads its cache once per tree
            run(commands[f"cohort analyze --report ({args.n:,})"], src)
        print(f"{'command':34s} {'tree':10s} {'wall s':>7s} {'cpu s':>7s} {'load 1 min':>10s}")
        texts: dict[str, set[bytes]] = {}
        for name, cmd in commands.items():
            walls: dict[str, list[float]] = {t: [] for t in trees}
            for _ in range(args.repeat):
                for tree, src in trees.items():
                    load = os.getloadavg()[0]
                    wall, cpu, out = run(cmd, src)
                    walls[tree].append(wall)
                    texts.setdefault(name, set()).add(out)
                    print(f"{name:34s} {tree:10s} {wall:7.2f} {cpu:7.2f} {load:10.2f}")
            for tree in trees:
                print(f"{name:34s} {tree:10s} median {statistics.median(walls[tree]):.2f} s")
        same = all(len(outs) == 1 for outs in texts.values())
        print("text output identical across trees and runs:", same)


if __name__ == "__main__":
    main()
