"""``locoreg serve`` as a real process: the URL it prints, and a kill -9 that loses nothing.

The server runs on a free loopback port with its own SQLite file under ``tmp_path``.
A record is committed (WAL, ``synchronous=FULL``) before the 201 is sent, so after
SIGKILL and a restart on the same file it must be there, byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from locoreg.store import AuditStore
from web.support import EXAMPLE_FILES, Server, load_example


@pytest.mark.slow
def test_record_survives_a_killed_server(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite"
    url = f"sqlite:///{db}"
    patient = load_example(EXAMPLE_FILES[0])
    server = Server(url).start()
    try:
        assert f"serving on {server.url}/" in _printed(server)
        r = httpx.post(f"{server.url}/api/assessments", json=patient, timeout=30)
        assert r.status_code == 201
        created = r.json()
    finally:
        server.kill()  # SIGKILL: no shutdown handler, no checkpoint
    assert Path(f"{db}-wal").exists()  # the record may still sit in the write-ahead log

    restarted = Server(url).start()
    try:
        stored = httpx.get(f"{restarted.url}/api/assessments/{created['id']}", timeout=30)
        assert stored.status_code == 200
        record = stored.json()
        assert record["patient_input"] == patient
        assert record["assessment"] == {k: v for k, v in created.items() if k != "id"}
        history = httpx.get(f"{restarted.url}/api/assessments", timeout=30).json()
        assert history["total"] == 1
    finally:
        restarted.stop()
    store = AuditStore(url)
    try:
        assert store.get_assessment(created["id"]) is not None
    finally:
        store.close()


def _printed(server: Server) -> str:
    """What the server printed so far (read without waiting for it to exit)."""
    import os
    import select

    assert server.process is not None and server.process.stdout is not None
    fd = server.process.stdout.fileno()
    os.set_blocking(fd, False)
    chunks = []
    while select.select([fd], [], [], 0.5)[0]:
        data = os.read(fd, 65536)
        if not data:
            break
        chunks.append(data.decode())
    return "".join(chunks)


def test_serve_refuses_an_unusable_database() -> None:
    from typer.testing import CliRunner

    from locoreg.cli import app

    result = CliRunner().invoke(app, ["serve", "--port", "0", "--database", "nosuchdialect://x"])
    assert result.exit_code == 2
    assert "--database" in result.output and "Traceback" not in result.output


def test_audit_export_command_writes_json_lines(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from locoreg.cli import app

    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    store = AuditStore(url)
    first = store.record_assessment({"age": 60}, {"recommendation": "out_of_scope"}, {}, "cli")
    store.record_feedback("locoreg-primary-tumour", "c1", "overridden", [{"code": "x"}], {})
    store.close()
    out = tmp_path / "audit.jsonl"
    runner = CliRunner()
    result = runner.invoke(app, ["audit-export", "--database", url, "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert (lines[0]["kind"], lines[0]["id"]) == ("assessment", first)
    assert lines[1]["kind"] == "feedback" and lines[1]["outcome"] == "overridden"
    assert "exported 2 records" in result.output
    # To standard output by default; an unwritable file is exit 2 naming the option.
    result = runner.invoke(app, ["audit-export", "--database", url])
    assert result.exit_code == 0 and result.output.count('"kind": ') == 2
    result = runner.invoke(app, ["audit-export", "--database", url, "-o", str(tmp_path)])
    assert result.exit_code == 2 and "--output" in result.output


@pytest.mark.parametrize("option", [[], ["--host", "127.0.0.1"]])
def test_serve_binds_loopback_by_default(option: list[str]) -> None:
    from typer.testing import CliRunner

    from locoreg.cli import app

    # --help shows the defaults without starting a server.
    result = CliRunner().invoke(app, ["serve", *option, "--help"])
    assert result.exit_code == 0
    assert "127.0.0.1" in result.output and "LOCOREG_DATABASE_URL" in result.output
