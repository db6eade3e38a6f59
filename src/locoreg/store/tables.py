"""The audit tables: one row per assessment, one row per CDS Hooks feedback message.

Rows are written once and never changed. ``seq`` orders them in insertion order
(the history page lists newest first); ``id`` is the public UUID.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, Text

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

#: Tables whose rows may never be updated or deleted (enforced by triggers, see migrations).
APPEND_ONLY_TABLES: tuple[str, ...] = ("assessments", "feedback")
