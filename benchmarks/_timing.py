"""Wall-clock timing shared by the benchmark scripts (run as ``python benchmarks/bench_x.py``,
so this folder is on ``sys.path``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def best_of_with_result(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Best wall time of ``repeat`` calls (least disturbed by the machine), and the last result."""
    best = float("inf")
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def best_of(fn: Callable[[], object], repeat: int) -> float:
    return best_of_with_result(fn, repeat)[0]
