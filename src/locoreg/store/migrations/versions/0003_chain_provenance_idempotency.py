"""Hash chain, who asked, idempotency keys, FHIR resources used; REPLACE refused on SQLite.

- Both audit tables get the provenance columns (``user_id``, ``patient_id``,
  ``hook_instance``, ``token_issuer``, ``token_subject``, ``client_address``) and their
  chain link (``prev_hash``, ``record_hash``; ``prev_hash`` unique: no forks).
- ``assessments`` gets ``fhir_resources``, ``idempotency_key`` (unique) and
  ``request_digest``.
- Existing rows are chained here, in ``seq`` order (the only writes to old rows this
  project ever makes: filling the new link columns, with the append-only triggers
  suspended inside this one transaction).
- SQLite: ``INSERT OR REPLACE`` deletes the conflicting row without firing DELETE
  triggers (unless ``recursive_triggers`` is on), so a BEFORE INSERT trigger refuses any
  insert that collides with an existing row on a unique column. (PostgreSQL has no
  REPLACE; its ``ON CONFLICT DO UPDATE`` fires the UPDATE trigger and is refused.)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from locoreg.store.chain import GENESIS, chained_fields, record_hash
from locoreg.store.tables import CHAINED_FIELDS

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TABLES = ("assessments", "feedback")
_JSON = {"patient_input", "assessment", "versions", "fhir_resources", "override_reasons", "payload"}
# Unique columns a REPLACE could collide on, per table.
_UNIQUE = {
    "assessments": ("seq", "id", "idempotency_key", "prev_hash"),
    "feedback": ("seq", "id", "prev_hash"),
}


def _provenance() -> list[sa.Column[str]]:
    return [
        sa.Column("user_id", sa.Text, nullable=True),
        sa.Column("patient_id", sa.Text, nullable=True),
        sa.Column("hook_instance", sa.Text, nullable=True),
        sa.Column("token_issuer", sa.Text, nullable=True),
        sa.Column("token_subject", sa.Text, nullable=True),
        sa.Column("client_address", sa.String(64), nullable=True),
    ]


def _no_replace_sqlite(table: str) -> str:
    clash = " OR ".join(f"{c} = NEW.{c}" for c in _UNIQUE[table])
    return (
        f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
        f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {clash}) "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
    )


def _chain_existing(table: str, dialect: str) -> None:
    """Give every existing row its link, oldest first (triggers suspended meanwhile)."""
    columns = [
        sa.column(name, sa.JSON if name in _JSON else sa.DateTime(timezone=True))
        if name in _JSON or name == "created_at"
        else sa.column(name)
        for name in ("seq", *CHAINED_FIELDS[table])
    ]
    t = sa.table(table, *columns, sa.column("prev_hash"), sa.column("record_hash"))
    bind = op.get_bind()
    rows = bind.execute(sa.select(*columns).order_by(t.c.seq)).mappings().all()
    if not rows:
        return
    if dialect == "sqlite":
        op.execute(f"DROP TRIGGER {table}_no_update")
    elif dialect == "postgresql":
        op.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
    prev = GENESIS
    for row in rows:
        digest = record_hash(table, prev, chained_fields(table, row))
        bind.execute(
            sa.update(t).where(t.c.seq == row["seq"]).values(prev_hash=prev, record_hash=digest)
        )
        prev = digest
    if dialect == "sqlite":
        op.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )
    elif dialect == "postgresql":
        op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in _TABLES:
        for column in _provenance():
            op.add_column(table, column)
        op.add_column(table, sa.Column("prev_hash", sa.String(64), nullable=True))
        op.add_column(table, sa.Column("record_hash", sa.String(64), nullable=True))
    op.add_column("assessments", sa.Column("fhir_resources", sa.JSON, nullable=True))
    op.add_column("assessments", sa.Column("idempotency_key", sa.String(271), nullable=True))
    op.add_column("assessments", sa.Column("request_digest", sa.String(64), nullable=True))
    for table in _TABLES:
        _chain_existing(table, dialect)
        op.create_index(f"ux_{table}_prev_hash", table, ["prev_hash"], unique=True)
    op.create_index(
        "ux_assessments_idempotency_key", "assessments", ["idempotency_key"], unique=True
    )
    if dialect == "sqlite":
        for table in _TABLES:
            op.execute(_no_replace_sqlite(table))


def downgrade() -> None:
    # An audit trail is not downgraded: dropping its chain would remove its evidence.
    raise NotImplementedError("the audit store cannot be downgraded")
