"""Cold start of the `locoreg` command, side by side with its peers, reported as ratios.

Runs each command N times in fresh interpreters and reports the median wall time:
  - `python -c pass`                  (the floor: interpreter start)
  - `locoreg --help`                  (our CLI)
  - `python -c "import scipy.stats, matplotlib.pyplot, fastapi, pandas"` (what an eager CLI pays)
  - `lifelines`-style eager import (`python -c "import lifelines"`), when installed
Usage: python benchmarks/bench_startup.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import subprocess
import sys
import time


def median_seconds(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 3
    py = sys.executable
    locoreg = shutil.which("locoreg") or f"{sys.prefix}/bin/locoreg"
    cases = {
        "python -c pass": [py, "-c", "pass"],
        "locoreg --help": [locoreg, "--help"],
        "eager imports (scipy, matplotlib, fastapi, pandas)": [
            py, "-c", "import scipy.stats, matplotlib.pyplot, fastapi, pandas"
        ],
    }  # fmt: skip
    if importlib.util.find_spec("lifelines"):
        cases["python -c 'import lifelines'"] = [py, "-c", "import lifelines"]
    results = {name: median_seconds(cmd, args.repeat) for name, cmd in cases.items()}
    ours = results["locoreg --help"]
    print(f"{'command':55s} {'median s':>9s} {'ratio to locoreg --help':>24s}")
    for name, seconds in results.items():
        print(f"{name:55s} {seconds:9.3f} {seconds / ours:24.2f}")


if __name__ == "__main__":
    main()
