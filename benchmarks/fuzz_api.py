"""Generated requests against a live `locoreg serve`: how many answers are 5xx?

Starts `locoreg serve` on a free 127.0.0.1 port with a fresh SQLite audit store (or uses
`--url` of a running server), draws `--requests` requests (default 20,000) and sends
them over `--clients` keep-alive httpx connections (default 4): mostly `POST /api/meta`
bodies from the request model with edge floats (`tests/web/generators.py`, the
strategies the test suite runs two hundred of), now and then assessments, static paths
with NUL and `..`, pages. It counts answers by status, 5xx, and transport errors (a
connection reset after an answer shows up here), and prints the first few 5xx bodies.
Exit status 1 when any request got a 5xx or a transport error.

Usage: python benchmarks/fuzz_api.py [--requests 20000] [--clients 4] [--seed 0] [--url URL]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the shared request strategies (web.generators)

JSON = {"content-type": "application/json"}


def generate(n: int, seed: int) -> list[tuple[str, str, Any]]:
    """``n`` requests drawn by hypothesis (generation only: no shrinking, no database)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    from web.generators import requests

    drawn: list[tuple[str, str, Any]] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(requests())
    def collect(request: tuple[str, str, Any]) -> None:
        drawn.append(request)

    collect()
    return drawn


def send(url: str, batch: list[tuple[str, str, Any]]) -> tuple[collections.Counter[Any], list[str]]:
    """One keep-alive client sends its share; counts by status, and the first failures."""
    from web.generators import encode

    counts: collections.Counter[Any] = collections.Counter()
    failures: list[str] = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for method, path, body in batch:
            try:
                if body is None:
                    r = client.request(method, path)
                else:
                    r = client.request(method, path, content=encode(body), headers=JSON)
            except httpx.HTTPError as exc:
                counts["transport error"] += 1
                if len(failures) < 5:
                    failures.append(f"{method} {path}: {type(exc).__name__} {exc}")
                continue
            counts[r.status_code] += 1
            if r.status_code >= 500 and len(failures) < 5:
                failures.append(f"{method} {path} {str(body)[:200]} -> {r.text[:200]}")
    return counts, failures


def run(
    url: str, drawn: list[tuple[str, str, Any]], clients: int
) -> tuple[collections.Counter[Any], list[str], float]:
    from concurrent.futures import ThreadPoolExecutor

    batches = [drawn[i::clients] for i in range(clients)]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda batch: send(url, batch), batches))
    seconds = time.perf_counter() - start
    counts: collections.Counter[Any] = collections.Counter()
    failures: list[str] = []
    for c, f in results:
        counts.update(c)
        failures += f
    return counts, failures, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clients", type=int, default=4, help="keep-alive clients in parallel")
    parser.add_argument("--url", help="a running server (default: start one)")
    args = parser.parse_args()

    from web.support import Server

    start = time.perf_counter()
    drawn = generate(args.requests, args.seed)
    print(f"generated {len(drawn)} requests in {time.perf_counter() - start:.0f} s")
    server = None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url
        if url is None:
            server = Server(f"sqlite:///{Path(tmp) / 'audit.sqlite'}").start()
            url = server.url
        try:
            counts, failures, seconds = run(url, drawn, args.clients)
        finally:
            if server is not None:
                server.stop()
    total = sum(counts.values())
    server_errors = sum(v for k, v in counts.items() if isinstance(k, int) and k >= 500)
    transport = counts.get("transport error", 0)
    print(
        f"requests: {total} in {seconds:.0f} s ({total / seconds:.0f}/s) from {args.clients} "
        f"keep-alive clients, seed {args.seed}"
    )
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str))
    print(f"by status: {statuses}")
    print(f"5xx: {server_errors}   transport errors: {transport}")
    for line in failures:
        print("  " + line)
    if total < args.requests:
        print(f"note: hypothesis stopped after {total} of {args.requests} requests")
    sys.exit(1 if server_errors or transport else 0)


if __name__ == "__main__":
    main()
