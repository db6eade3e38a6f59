"""Alembic migrations of the audit store (run on start: ``upgrade head``)."""
