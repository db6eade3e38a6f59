"""Fixtures for the store tests: a throw-away PostgreSQL database (skipped without one)."""

from __future__ import annotations

from helpers.postgresql import database, postgresql_database

__all__ = ["database", "postgresql_database"]  # pytest fixtures, shared with tests/fhir
