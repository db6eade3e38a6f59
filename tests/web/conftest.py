"""Fixtures for the web tests: an app on a temporary SQLite store and its test client.

Every test gets its own database file under ``tmp_path`` (xdist-safe).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from locoreg.store import AuditStore
from web.support import FormReader, make_app, read_form


@pytest.fixture
def app_store(tmp_path: Path) -> Iterator[tuple[FastAPI, AuditStore]]:
    app, store = make_app(tmp_path)
    yield app, store
    store.close()


@pytest.fixture
def store(app_store: tuple[FastAPI, AuditStore]) -> AuditStore:
    return app_store[1]


@pytest.fixture
def client(app_store: tuple[FastAPI, AuditStore]) -> Iterator[TestClient]:
    # raise_server_exceptions=False: a 500 must show up as a status code, as a user sees it.
    with TestClient(app_store[0], raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def form_of() -> Callable[[str], FormReader]:
    return read_form
