"""The append-only audit store (SQLAlchemy 2; SQLite by default, PostgreSQL by URL).

Its database also holds the CDS Hooks replay guard (:class:`SeenJti`), which is not
part of the audit trail.
"""

from locoreg.store.audit import (
    SOURCES,
    AssessmentSummary,
    AuditStore,
    ChainReport,
    Provenance,
    Source,
    StoredAssessment,
    StoredFeedback,
    default_database_path,
    default_database_url,
)
from locoreg.store.seen_jti import SeenJti
from locoreg.store.writer import Idempotency, IdempotencyConflict

__all__ = [
    "SOURCES",
    "AssessmentSummary",
    "AuditStore",
    "ChainReport",
    "Idempotency",
    "IdempotencyConflict",
    "Provenance",
    "SeenJti",
    "Source",
    "StoredAssessment",
    "StoredFeedback",
    "default_database_path",
    "default_database_url",
]
