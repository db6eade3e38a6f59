"""Wall-clock and CPU seconds of a command together with every process it starts.

``/usr/bin/time`` counts only the children its command waits for: the multiverse's workers
are forked by a forkserver process that outlives the command and is never waited for, so
their CPU seconds go missing. Here this process becomes the *subreaper* of the command's
tree (Linux ``PR_SET_CHILD_SUBREAPER``): the orphaned server and workers are re-parented to
it, it waits for them, and ``RUSAGE_CHILDREN`` then holds the CPU of the whole tree.
Wall-clock stops when the command itself exits. On a machine shared with other work, CPU
seconds (user + sys) are the steadier figure; the 1-minute load average is printed too.

Usage: python benchmarks/cli_time.py [--repeat N] -- COMMAND [ARGS...]
e.g.   python benchmarks/cli_time.py --repeat 2 -- locoreg cohort multiverse reg.parquet --workers 2
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def run(command: list[str]) -> tuple[int, float, float, float]:
    """(exit code, wall s, user s, sys s) of ``command`` and all its descendants."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    code = proc.wait()
    wall = time.perf_counter() - start
    while True:  # reap the orphans (forkserver, workers) that now report to this process
        try:
            os.wait()
        except ChildProcessError:
            break
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return code, wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")
    if sys.platform != "linux":
        sys.exit("cli_time.py needs Linux (prctl PR_SET_CHILD_SUBREAPER)")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"prctl failed: {os.strerror(ctypes.get_errno())}")
    for _ in range(max(1, args.repeat)):
        load = os.getloadavg()[0]
        code, wall, user, system = run(command)
        print(
            f"exit {code}  wall {wall:6.2f} s  cpu {user + system:6.2f} s "
            f"(user {user:.2f}, sys {system:.2f})  load average {load:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
