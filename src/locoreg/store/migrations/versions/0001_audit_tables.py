"""Audit tables for assessments and CDS Hooks feedback, append-only by trigger.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = ("assessments", "feedback")


def _append_only_sqlite(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
    ]


_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION locoreg_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql
"""


def _append_only_postgresql(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION locoreg_append_only()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION locoreg_append_only()",
    ]


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("recommendation", sa.String(64), nullable=True),
        sa.Column("headline", sa.Text, nullable=True),
        sa.Column("patient_input", sa.JSON, nullable=False),
        sa.Column("assessment", sa.JSON, nullable=False),
        sa.Column("versions", sa.JSON, nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_id", sa.String(128), nullable=False),
        sa.Column("card_uuid", sa.String(128), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("override_reasons", sa.JSON, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
    )
    dialect = op.get_bind().dialect.name
    statements: list[str] = []
    if dialect == "sqlite":
        for table in _TABLES:
            statements += _append_only_sqlite(table)
    elif dialect == "postgresql":
        statements.append(_PG_FUNCTION)
        for table in _TABLES:
            statements += _append_only_postgresql(table)
    # Other dialects: append-only by code path only (the store has no update/delete API).
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    # An audit trail is not downgraded: dropping it would destroy the record.
    raise NotImplementedError("the audit store cannot be downgraded")
