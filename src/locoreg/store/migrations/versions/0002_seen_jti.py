"""CDS Hooks replay guard: the (issuer, jti) pairs seen, until their token expires.

Not an audit table: no append-only triggers. Rows are deleted once their token has
expired (``locoreg.store.seen_jti``); nothing in them is patient data.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_jti",
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("jti", sa.String(256), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("issuer", "jti", name="pk_seen_jti"),
    )
    op.create_index("ix_seen_jti_expires_at", "seen_jti", ["expires_at"])


def downgrade() -> None:
    # Only the replay guard goes; the audit tables of 0001 are never downgraded.
    op.drop_index("ix_seen_jti_expires_at", table_name="seen_jti")
    op.drop_table("seen_jti")
