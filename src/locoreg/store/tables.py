"""The store's tables.

The audit tables: one row per assessment, one row per CDS Hooks feedback message.
Rows are written once and never changed. ``seq`` orders them in insertion order
(the history page lists newest first); ``id`` is the public UUID.

``seen_jti`` is not an audit record: it is the CDS Hooks replay guard shared by every
worker and host on the database (:mod:`locoreg.store.seen_jti`). Its rows expire with
their token and are purged.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

assessments = Table(
    "assessments",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("source", String(16), nullable=False),
    Column("recommendation", String(64), nullable=True),
    Column("headline", Text, nullable=True),
    Column("patient_input", JSON, nullable=False),
    Column("assessment", JSON, nullable=False),
    Column("versions", JSON, nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("service_id", String(128), nullable=False),
    Column("card_uuid", String(128), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("override_reasons", JSON, nullable=False),
    Column("payload", JSON, nullable=False),
)

#: Longest ``jti`` the replay guard stores (longer ones are refused by the JWT check).
JTI_MAX_LENGTH = 256

seen_jti = Table(
    "seen_jti",
    metadata,
    # The trusted issuer (a configured ``iss``) and the token's ``jti``: the primary key is
    # the unique constraint that makes check-and-record one atomic INSERT.
    Column("issuer", Text, nullable=False),
    Column("jti", String(JTI_MAX_LENGTH), nullable=False),
    # Unix seconds after which the token is refused as expired anyway (exp + leeway,
    # rounded up); from then on the row may be purged and the jti used again.
    Column("expires_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("issuer", "jti", name="pk_seen_jti"),
    Index("ix_seen_jti_expires_at", "expires_at"),
)
