"""Loopback load benchmark of `locoreg serve`: latency (p50, p99) and throughput, as ratios.

Starts `locoreg serve` as a child process on a free 127.0.0.1 port with a fresh SQLite
audit store (WAL, synchronous=FULL: every assessment is on disk before its 201), then
drives it with a few concurrent httpx clients. Peers, side by side in one run:

  - GET  /healthz                                  the floor: HTTP + routing, no work
  - POST /api/assessments                          validate, assess, record (one example patient)
  - POST /cds-services/locoreg-primary-tumour      CDS Hooks patient-view with mCODE prefetch:
                                                   map FHIR, assess, record, build the card

CDS Hooks JWT verification is switched off for this run only, explicitly
(LOCOREG_CDS_JWT=off in the child's environment); the server logs that it is off.
Ratios are each endpoint's p50 to the p50 of /healthz, measured in the same run.

Usage: python benchmarks/bench_web.py [--requests 1000] [--clients 4] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PATIENT = ROOT / "examples" / "patients" / "discuss_bone_oligometastatic.json"
BUNDLE = ROOT / "examples" / "fhir" / "discuss_local_therapy.json"


@dataclass(frozen=True)
class Result:
    name: str
    n: int
    errors: int
    p50_ms: float
    p99_ms: float
    per_second: float


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    locoreg = str(Path(sys.executable).with_name("locoreg"))
    env = {**os.environ, "LOCOREG_CDS_JWT": "off"}  # explicit: benchmark only
    process = subprocess.Popen(
        [locoreg, "serve", "--port", str(port), "--database", f"sqlite:///{database}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("locoreg serve exited before it was ready")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("locoreg serve did not become ready in 120 s")


def prefetch_request(bundle: dict[str, Any]) -> dict[str, Any]:
    """A patient-view request whose prefetch is the example Bundle split as an EHR sends it."""
    resources = [e["resource"] for e in bundle["entry"]]

    def searchset(kind: str) -> dict[str, Any]:
        found = [{"resource": r} for r in resources if r["resourceType"] == kind]
        return {"resourceType": "Bundle", "type": "searchset", "total": len(found), "entry": found}

    patient = next(r for r in resources if r["resourceType"] == "Patient")
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/bench", "patientId": patient["id"]},
        "prefetch": {
            "patient": patient,
            "conditions": searchset("Condition"),
            "observations": searchset("Observation"),
            "medicationStatements": searchset("MedicationStatement"),
            "medicationRequests": searchset("MedicationRequest"),
        },
    }


async def drive(
    url: str, method: str, path: str, body: Any, expect: int, n: int, clients: int
) -> tuple[list[float], int, float]:
    """``n`` requests over ``clients`` concurrent connections; (latencies s, errors, wall s)."""
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            start = time.perf_counter()
            response = await client.request(method, path, json=body)
            latencies.append(time.perf_counter() - start)
            if response.status_code != expect:
                errors += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        wall = time.perf_counter() - start
    return latencies, errors, wall


def measure(
    url: str, name: str, method: str, path: str, body: Any, expect: int, n: int, clients: int
) -> Result:
    warm = max(5, n // 20)  # first calls import the engine and open the database
    asyncio.run(drive(url, method, path, body, expect, warm, clients))
    latencies, errors, wall = asyncio.run(drive(url, method, path, body, expect, n, clients))
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return Result(name, n, errors, statistics.median(ms), p99, n / wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help="requests per endpoint")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--quick", action="store_true", help="60 requests per endpoint")
    args = parser.parse_args()
    if args.quick:
        args.requests = 60
    patient = json.loads(PATIENT.read_text())
    hook = prefetch_request(json.loads(BUNDLE.read_text()))
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_server(Path(tmp) / "bench.sqlite")
        try:
            cases = [
                ("GET /healthz", "GET", "/healthz", None, 200),
                ("POST /api/assessments", "POST", "/api/assessments", patient, 201),
                (
                    "POST /cds-services/locoreg-primary-tumour",
                    "POST",
                    "/cds-services/locoreg-primary-tumour",
                    hook,
                    200,
                ),
            ]
            results = [
                measure(url, name, method, path, body, expect, args.requests, args.clients)
                for name, method, path, body, expect in cases
            ]
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    floor = results[0].p50_ms
    print(
        f"loopback, {args.clients} concurrent clients, {args.requests} requests per endpoint, "
        "SQLite WAL synchronous=FULL, CDS Hooks JWT check off (benchmark only)"
    )
    header = f"{'endpoint':44s} {'n':>6s} {'errors':>6s} {'p50 ms':>8s} {'p99 ms':>8s}"
    print(f"{header} {'req/s':>8s} {'p50 / healthz':>14s}")
    for r in results:
        print(
            f"{r.name:44s} {r.n:6d} {r.errors:6d} {r.p50_ms:8.2f} {r.p99_ms:8.2f} "
            f"{r.per_second:8.1f} {r.p50_ms / floor:14.1f}"
        )
    if any(r.errors for r in results):
        raise SystemExit("some requests did not get the expected status")


if __name__ == "__main__":
    main()
