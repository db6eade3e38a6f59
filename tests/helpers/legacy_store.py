"""Stores as older revisions left them: alembic steps and rows written before revision 0003."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from locoreg.store import AuditStore
from locoreg.store.audit import MIGRATIONS


def migrate(store: AuditStore, step: str, revision: str) -> None:
    """alembic ``upgrade``/``downgrade`` to ``revision`` on the store's connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, step)(config, revision)


def insert_legacy_assessment(
    store: AuditStore, patient_input: dict[str, Any], *, nan_json: str | None = None
) -> str:
    """A row as revisions 0001/0002 wrote it (no chain, no provenance columns).

    ``nan_json``: raw JSON text for ``assessment`` (e.g. with a bare ``NaN``, which the
    old store wrote on SQLite).
    """
    record_id = str(uuid.uuid4())
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO assessments (id, created_at, source, recommendation, headline, "
                "patient_input, assessment, versions) VALUES (:id, :at, 'api', 'x', NULL, "
                ":patient, :assessment, :versions)"
            ),
            {
                "id": record_id,
                "at": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
                "patient": json.dumps(patient_input),
                "assessment": nan_json or json.dumps({"recommendation": "x"}),
                "versions": json.dumps({"engine": "0"}),
            },
        )
    return record_id
