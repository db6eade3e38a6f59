"""A throw-away PostgreSQL database per test, for the store's shared-deployment backend.

``LOCOREG_TEST_POSTGRESQL_URL`` names a server whose user may create databases, e.g.
``postgresql+psycopg://locoreg:locoreg@127.0.0.1/postgres`` (``.ci/run`` starts one when
it can). Every test gets a database of its own, because append-only tables cannot be
emptied between tests. Without the variable the test is skipped with that reason.
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

POSTGRESQL_URL = os.environ.get("LOCOREG_TEST_POSTGRESQL_URL")


@contextmanager
def temporary_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards; skips without a server."""
    if not POSTGRESQL_URL:
        pytest.skip("LOCOREG_TEST_POSTGRESQL_URL is not set (no PostgreSQL server)")
    admin = create_engine(POSTGRESQL_URL, isolation_level="AUTOCOMMIT")
    name = f"locoreg_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRESQL_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _drop(admin, name)
        admin.dispose()


def _drop(admin: Engine, name: str, attempts: int = 20) -> None:
    """Drop the test database. FORCE ends the test's own leftover connections; it cannot
    end a server process of another role (an autovacuum worker that has just started on
    the new database), so a refusal is retried until that worker is done; a database left
    behind is only a warning (it is never reused: every name is new)."""
    for attempt in range(attempts):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except DBAPIError as exc:
            if attempt == attempts - 1:
                warnings.warn(f"test database {name} left behind: {exc.orig}", stacklevel=2)
                return
            time.sleep(0.25)


@pytest.fixture
def postgresql_database() -> Iterator[str]:
    """A new PostgreSQL database for this test (skipped without a server)."""
    with temporary_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test's database URL: a SQLite file of its own, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.sqlite'}"
    url: str = request.getfixturevalue("postgresql_database")
    return url
