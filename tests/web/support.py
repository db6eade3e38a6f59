"""Web-test helpers: the example patients, an app on a temporary store, a form reader.

Every test gets its own database file under ``tmp_path`` (xdist-safe). The example
patients are read from ``examples/patients``; their file names start with the
recommendation the engine gives them, which the page tests check.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI

from locoreg.store import AuditStore
from locoreg.web.app import create_app
from locoreg.web.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "patients"
EXAMPLE_FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".json", ".yaml", ".yml"))

#: File-name prefix → the recommendation the example was written to show.
PREFIXES: dict[str, str] = {
    "complete_workup": "complete_workup",
    "discuss": "discuss_local_therapy",
    "no_routine": "no_routine_local_therapy",
    "out_of_scope": "out_of_scope",
    "palliative": "palliative_local_therapy",
    "systemic_therapy_first": "systemic_therapy_first",
}


def expected_recommendation(stem: str) -> str:
    for prefix, recommendation in PREFIXES.items():
        if stem.startswith(prefix):
            return recommendation
    raise AssertionError(f"example {stem!r} has no known recommendation prefix")


def load_example(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def make_app(tmp_path: Path, **env: str) -> tuple[FastAPI, AuditStore]:
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    settings = Settings.from_env(
        {"LOCOREG_CDS_JWT": "off", "LOCOREG_EXAMPLES_DIR": str(EXAMPLES), **env},
        database_url=url,
    )
    store = AuditStore(url)
    return create_app(settings, store), store


class FormReader(HTMLParser):
    """What a browser would submit from ``<form class="assessment-form">``.

    Collects text/number inputs, the selected option of each select (or its first
    option) and checked checkboxes, in document order, as (name, value) pairs.
    """

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.labels: dict[str, str] = {}  # label for= → text
        self.controls: dict[str, str] = {}  # id → tag
        self._in_form = False
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen: str | None = None
        self._label_for: str | None = None
        self._label_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "assessment-form" in a.get("class", ""):
            self._in_form = True
        if not self._in_form:
            return
        if "id" in a and tag in ("input", "select", "textarea"):
            self.controls[a["id"]] = tag
        if tag == "label" and "for" in a:
            self._label_for, self._label_text = a["for"], []
        if tag == "input" and "name" in a:
            kind = a.get("type", "text")
            if kind == "checkbox":
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button"):
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._select_first, self._select_chosen = a.get("name"), None, None
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self._select_chosen = value

    def handle_data(self, data: str) -> None:
        if self._label_for is not None:
            self._label_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "label" and self._label_for is not None:
            self.labels[self._label_for] = " ".join("".join(self._label_text).split())
            self._label_for = None
        elif tag == "select" and self._select is not None:
            chosen = self._select_chosen
            self.fields.append(
                (self._select, chosen if chosen is not None else self._select_first or "")
            )
            self._select = None


def read_form(html: str) -> FormReader:
    reader = FormReader()
    reader.feed(html)
    return reader


def form_token(client: Any) -> dict[str, str]:
    """The form's CSRF field, as a browser that opened the form sends it (the client keeps
    the cookie); for tests that post ``/assess`` without reading the whole form."""
    fields = dict(read_form(client.get("/").text).fields)
    return {"csrf_token": fields["csrf_token"]}


def patch_hypothesis_jsonschema() -> None:
    """Give hypothesis' ``many`` back the ``more()`` that hypothesis-jsonschema 0.23 calls.

    Newer hypothesis (6.15x+) replaced ``while elements.more():`` by a context manager
    and iterator; hypothesis-jsonschema (used by schemathesis for object bodies) still
    calls ``more()``. This adapter drives the new protocol from the old call: enter on
    the first call, one ``next()`` per call, exit when the iterator is done. A no-op
    when ``more`` exists (older hypothesis, or a fixed hypothesis-jsonschema).
    """
    from hypothesis.internal.conjecture import utils

    many: Any = utils.many
    if hasattr(many, "more"):
        return

    def more(self: Any) -> bool:
        iterator = getattr(self, "_compat_iterator", None)
        if iterator is None:
            self.__enter__()
            iterator = self._compat_iterator = iter(self)
        if next(iterator, StopIteration) is StopIteration:
            self.__exit__(None, None, None)
            return False
        return True

    many.more = more


def free_port() -> int:
    """A TCP port that was free a moment ago on the loopback interface."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``locoreg serve`` as a child process on a free loopback port.

    ``start()`` waits until ``/healthz`` answers; ``kill()`` sends SIGKILL (no
    shutdown handlers run, as in a crash); ``stop()`` terminates politely.
    """

    def __init__(self, database_url: str, env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.env = env or {}
        self.process: Any = None
        self.url = ""
        self.output = ""

    def start(self, timeout: float = 60.0) -> Server:
        import os
        import subprocess
        import sys
        import time

        import httpx

        for _attempt in range(3):  # another process may take the port in between
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            env = {**os.environ, "LOCOREG_CDS_JWT": "off", **self.env}
            self.process = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("locoreg")),
                    "serve",
                    "--port",
                    str(port),
                    "--database",
                    self.database_url,
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                        return self
                except httpx.HTTPError:
                    time.sleep(0.1)
            self.stop()
        raise RuntimeError(f"locoreg serve did not start:\n{self.output}")

    def kill(self) -> None:
        import signal

        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self._collect()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
        self._collect()

    def _collect(self) -> None:
        import subprocess

        if self.process is None:
            return
        try:
            out, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        self.output += out or ""
        self.process = None
