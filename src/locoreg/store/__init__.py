"""The append-only audit store (SQLAlchemy 2; SQLite by default, PostgreSQL by URL)."""

from locoreg.store.audit import (
    SOURCES,
    AssessmentSummary,
    AuditStore,
    Source,
    StoredAssessment,
    StoredFeedback,
    default_database_path,
    default_database_url,
)

__all__ = [
    "SOURCES",
    "AssessmentSummary",
    "AuditStore",
    "Source",
    "StoredAssessment",
    "StoredFeedback",
    "default_database_path",
    "default_database_url",
]
