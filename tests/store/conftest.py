"""Fixtures for the store tests: a throw-away PostgreSQL database (skipped without one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers.postgresql import temporary_database


@pytest.fixture
def postgresql_database() -> Iterator[str]:
    with temporary_database() as url:
        yield url
