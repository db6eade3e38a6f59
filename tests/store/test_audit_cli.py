"""`locoreg audit-verify` (exit 0 intact / 1 broken / 2 bad input), strict `audit-export`,
and `locoreg serve --workers` refusing a SQLite store."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from locoreg.cli import app
from locoreg.store import AuditStore

PATIENT = {"age": 61, "sex": "female"}


def _store_with_records(url: str, n: int = 3) -> list[str]:
    store = AuditStore(url)
    ids = [
        store.record_assessment({**PATIENT, "age": 50 + i}, {"p": math.nan}, {}, "cli")
        for i in range(n)
    ]
    store.record_feedback("svc", ids[0], "accepted", [], {})
    store.close()
    return ids


def test_verify_an_intact_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    _store_with_records(url)
    result = CliRunner().invoke(app, ["audit-verify", "--database", url])
    assert result.exit_code == 0, result.output
    assert "intact: 3 assessments, 1 feedback" in result.output
    assert result.output.count("head ") == 2


def test_verify_names_the_first_broken_record(database: str) -> None:
    ids = _store_with_records(database, 4)
    store = AuditStore(database)
    with store.engine.begin() as conn:  # someone with write access to the database
        if store.backend == "sqlite":
            conn.execute(text("DROP TRIGGER assessments_no_update"))
        else:
            conn.execute(text("ALTER TABLE assessments DISABLE TRIGGER USER"))
        conn.execute(
            text("UPDATE assessments SET recommendation = 'surgery' WHERE id = :id"),
            {"id": ids[1]},
        )
    store.close()
    result = CliRunner().invoke(app, ["audit-verify", "--database", database])
    assert result.exit_code == 1
    assert f"assessments record {ids[1]}" in result.output and "changed" in result.output


def test_verify_bad_input_is_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(
        app, ["audit-verify", "--database", f"sqlite:///{tmp_path / 'none.sqlite'}"]
    )
    assert missing.exit_code == 2 and "no audit store" in missing.output
    assert not (tmp_path / "none.sqlite").exists()  # verifying creates nothing
    bad = runner.invoke(app, ["audit-verify", "--database", "nosuchdialect://x"])
    assert bad.exit_code == 2 and "--database" in bad.output
    assert "Traceback" not in bad.output + missing.output


def test_export_command_is_strict_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    _store_with_records(url, 1)
    out = tmp_path / "audit.jsonl"
    result = CliRunner().invoke(app, ["audit-export", "--database", url, "-o", str(out)])
    assert result.exit_code == 0, result.output

    def refuse(token: str) -> None:
        raise ValueError(token)

    lines = [json.loads(line, parse_constant=refuse) for line in out.read_text().splitlines()]
    assert lines[0]["assessment"] == {"p": None}


def test_serve_workers_need_postgresql(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    result = CliRunner().invoke(app, ["serve", "--port", "0", "--database", url, "--workers", "2"])
    assert result.exit_code == 2
    assert "--workers" in result.output and "PostgreSQL" in result.output


@pytest.mark.slow
def test_serve_workers_on_postgresql_share_one_chain(postgresql_database: str) -> None:
    """Two worker processes: retries with one key give one record, the chain verifies."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    from web.support import EXAMPLE_FILES, free_port, load_example

    port = free_port()
    command = [str(Path(sys.executable).with_name("locoreg")), "serve", "--port", str(port)]
    command += ["--database", postgresql_database, "--workers", "2"]
    env = {**os.environ, "LOCOREG_CDS_JWT": "off"}
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        patient = load_example(EXAMPLE_FILES[0])
        ids = {
            httpx.post(
                f"{base}/api/assessments",
                json=patient,
                headers={"Idempotency-Key": "two-workers"},
                timeout=30,
            ).json()["id"]
            for _ in range(6)
        }
        assert len(ids) == 1
        for _ in range(4):
            assert httpx.post(f"{base}/api/assessments", json=patient, timeout=30).is_success
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "2 worker process(es)" in output
    result = CliRunner().invoke(app, ["audit-verify", "--database", postgresql_database])
    assert result.exit_code == 0 and "intact: 5 assessments" in result.output
