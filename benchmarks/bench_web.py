"""Loopback load benchmark of `locoreg serve`: latency (p50, p99) and throughput, as ratios.

Starts `locoreg serve` as a child process on a free 127.0.0.1 port with a fresh audit
store — a SQLite file (WAL, synchronous=FULL: every assessment is on disk before its
201) or, with ``--postgresql ADMIN_URL``, a throw-away PostgreSQL database (dropped
afterwards; ``--workers N`` serves it from N processes) — then drives it with concurrent
httpx clients (20 by default). Peers, side by side in one run:

  - GET  /healthz                                  the floor: HTTP + routing, no work
  - POST /api/assessments                          validate, assess, record (one example patient)
  - POST /cds-services/locoreg-primary-tumour      CDS Hooks patient-view with mCODE prefetch:
                                                   map FHIR, assess, record, build the card

CDS Hooks JWT verification is switched off for this run only, explicitly
(LOCOREG_CDS_JWT=off in the child's environment); the server logs that it is off.
Every CDS Hooks request has a hookInstance of its own (a repeated one is a retry and
would be answered from the first record). Ratios are each endpoint's p50 and p99 to
those of /healthz, measured in the same run; the goal (issue 11) is p99 ≤ 3 × the
/healthz p99 for both writing endpoints at 20 clients.

Usage: python benchmarks/bench_web.py [--requests 1000] [--clients 20] [--quick]
       [--postgresql postgresql+psycopg://user:pw@host/postgres [--workers N]]
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
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
    server_cpu_ms: float  # server CPU time per request (all its processes), nan if unknown


def server_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid`` and its descendants, from /proc (Linux).

    Unlike latency, CPU per request hardly depends on what else runs on the machine.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    try:
        while pending:
            current = pending.pop()
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
    except (OSError, ValueError, IndexError):
        return float("nan")
    return total


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


GOAL_P99_RATIO = 3.0


@contextmanager
def postgresql_database(admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one run (append-only tables cannot be emptied)."""
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"locoreg_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def start_server(database_url: str, workers: int) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    locoreg = str(Path(sys.executable).with_name("locoreg"))
    env = {**os.environ, "LOCOREG_CDS_JWT": "off"}  # explicit: benchmark only
    command = [locoreg, "serve", "--port", str(port), "--database", database_url]
    if workers > 1:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(
        command,
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


Body = Callable[[], Any]


async def drive(
    url: str, method: str, path: str, body: Body, expect: int, n: int, clients: int
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
            payload = body()  # made before the clock starts
            start = time.perf_counter()
            response = await client.request(method, path, json=payload)
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
    server: int,
    url: str,
    name: str,
    method: str,
    path: str,
    body: Body,
    expect: int,
    n: int,
    clients: int,
) -> Result:
    warm = max(5, n // 20)  # first calls import the engine and open the database
    asyncio.run(drive(url, method, path, body, expect, warm, clients))
    cpu = server_cpu_seconds(server)
    latencies, errors, wall = asyncio.run(drive(url, method, path, body, expect, n, clients))
    cpu = server_cpu_seconds(server) - cpu
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return Result(name, n, errors, statistics.median(ms), p99, n / wall, cpu / n * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help="requests per endpoint")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--quick", action="store_true", help="60 requests per endpoint")
    parser.add_argument(
        "--postgresql", metavar="ADMIN_URL", help="serve a throw-away PostgreSQL database"
    )
    parser.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL)")
    args = parser.parse_args()
    if args.quick:
        args.requests = 60
    patient = json.loads(PATIENT.read_text())
    hook = prefetch_request(json.loads(BUNDLE.read_text()))

    def new_hook_call() -> dict[str, Any]:
        return {**hook, "hookInstance": str(uuid.uuid4())}

    cases: list[tuple[str, str, str, Body, int]] = [
        ("GET /healthz", "GET", "/healthz", lambda: None, 200),
        ("POST /api/assessments", "POST", "/api/assessments", lambda: patient, 201),
        (
            "POST /cds-services/locoreg-primary-tumour",
            "POST",
            "/cds-services/locoreg-primary-tumour",
            new_hook_call,
            200,
        ),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgresql:
            store: Any = postgresql_database(args.postgresql)
            backend = f"PostgreSQL, {args.workers} worker process(es)"
        else:
            store = nullcontext(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
            backend = "SQLite WAL synchronous=FULL, 1 process"
        with store as database_url:
            process, url = start_server(database_url, args.workers)
            try:
                results = [
                    measure(
                        process.pid,
                        url,
                        name,
                        method,
                        path,
                        body,
                        expect,
                        args.requests,
                        args.clients,
                    )
                    for name, method, path, body, expect in cases
                ]
            finally:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
    floor = results[0]
    print(
        f"loopback, {args.clients} concurrent clients, {args.requests} requests per endpoint, "
        f"{backend}, CDS Hooks JWT check off (benchmark only)"
    )
    header = f"{'endpoint':44s} {'n':>6s} {'errors':>6s} {'p50 ms':>8s} {'p99 ms':>8s}"
    print(f"{header} {'req/s':>8s} {'p50/healthz':>12s} {'p99/healthz':>12s} {'cpu ms/req':>11s}")
    for r in results:
        print(
            f"{r.name:44s} {r.n:6d} {r.errors:6d} {r.p50_ms:8.2f} {r.p99_ms:8.2f} "
            f"{r.per_second:8.1f} {r.p50_ms / floor.p50_ms:12.1f} {r.p99_ms / floor.p99_ms:12.1f} "
            f"{r.server_cpu_ms:11.2f}"
        )
    print(f"machine load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    worst = max(r.p99_ms / floor.p99_ms for r in results[1:])
    verdict = "met" if worst <= GOAL_P99_RATIO else "NOT met"
    print(f"goal p99 <= {GOAL_P99_RATIO:g} x healthz p99 for the writes: {verdict} ({worst:.1f} x)")
    if any(r.errors for r in results):
        raise SystemExit("some requests did not get the expected status")


if __name__ == "__main__":
    main()
