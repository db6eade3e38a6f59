"""The store's tables.

The audit tables: one row per assessment, one row per CDS Hooks feedback message.
Rows are written once and never changed. ``seq`` orders them in insertion order
(the history page lists newest first); ``id`` is the public UUID.

Every audit row also carries (revision 0003):

- who asked and for whom (:data:`PROVENANCE_COLUMNS`: the CDS ``context.userId`` and
  ``context.patientId``, the ``hookInstance``, the JWT ``iss`` and ``sub``, the client
  address as the server saw it); ``None`` where the channel does not say;
- its link in the hash chain, ``prev_hash`` and ``record_hash`` (:mod:`locoreg.store.chain`),
  over the fields in :data:`CHAINED_FIELDS`;
- assessments: ``fhir_resources`` (the FHIR resources the mapping read, for FHIR and CDS
  Hooks records) and ``idempotency_key`` / ``request_digest`` (a retried write returns the
  first record; the key is unique).

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

#: Who asked and for whom: the same nullable columns on both audit tables.
PROVENANCE_COLUMNS: tuple[str, ...] = (
    "user_id",
    "patient_id",
    "hook_instance",
    "token_issuer",
    "token_subject",
    "client_address",
)
#: Longest Idempotency-Key header accepted; stored with its channel prefix ("api:").
IDEMPOTENCY_KEY_MAX_LENGTH = 255


def _provenance() -> list[Column[str]]:
    return [
        Column("user_id", Text, nullable=True),
        Column("patient_id", Text, nullable=True),
        Column("hook_instance", Text, nullable=True),
        Column("token_issuer", Text, nullable=True),
        Column("token_subject", Text, nullable=True),
        Column("client_address", String(64), nullable=True),
    ]


def _chain(table: str) -> list[Column[str] | Index]:
    # Nullable only because rows older than revision 0003 got theirs in the migration.
    # A record can follow another only once: the unique prev_hash forbids a fork.
    return [
        Column("prev_hash", String(64), nullable=True),
        Column("record_hash", String(64), nullable=True),
        Index(f"ux_{table}_prev_hash", "prev_hash", unique=True),
    ]


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
    Column("fhir_resources", JSON, nullable=True),
    Column("idempotency_key", String(IDEMPOTENCY_KEY_MAX_LENGTH + 16), nullable=True),
    Column("request_digest", String(64), nullable=True),
    *_provenance(),
    *_chain("assessments"),
    Index("ux_assessments_idempotency_key", "idempotency_key", unique=True),
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
    *_provenance(),
    *_chain("feedback"),
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

#: The fields each record's hash covers (chain format 1; never change an existing list).
CHAINED_FIELDS: dict[str, tuple[str, ...]] = {
    "assessments": (
        "id",
        "created_at",
        "source",
        "recommendation",
        "headline",
        "patient_input",
        "assessment",
        "versions",
        "fhir_resources",
        "idempotency_key",
        "request_digest",
        *PROVENANCE_COLUMNS,
    ),
    "feedback": (
        "id",
        "created_at",
        "service_id",
        "card_uuid",
        "outcome",
        "override_reasons",
        "payload",
        *PROVENANCE_COLUMNS,
    ),
}
