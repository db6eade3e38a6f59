"""Run every benchmark in this folder, one after the other: python benchmarks/run_all.py

Each benchmark prints its own table of peers side by side and their ratios. Pass
``--quick`` for small sizes (a smoke run); the default sizes are those the issues name.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n=== {script.name} ===", flush=True)
        cmd = [sys.executable, str(script)] + (["--quick"] if quick else [])
        if subprocess.run(cmd).returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
