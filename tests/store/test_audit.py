"""The audit store: round trip, order, append-only triggers, durability pragmas, JSONL export."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from locoreg.store import AuditStore

PATIENT = {"age": 61, "sex": "female", "marker": "PATIENT-SECRET-7731"}
ASSESSMENT = {"recommendation": "systemic_therapy_first", "headline": "Systemic therapy first."}
VERSIONS = {"engine": "0.1.0", "evidence": "2026.11-abc"}


# postgresql: a database of its own per test (tests/store/conftest.py; skipped without
# LOCOREG_TEST_POSTGRESQL_URL).
@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    else:
        url = request.getfixturevalue("postgresql_database")
    s = AuditStore(url)
    yield s
    s.close()


def test_record_and_get_round_trip(store: AuditStore) -> None:
    record_id = store.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "api")
    got = store.get_assessment(record_id)
    assert got is not None
    assert (got.patient_input, got.assessment, got.versions) == (PATIENT, ASSESSMENT, VERSIONS)
    assert got.source == "api"
    assert got.created_at.tzinfo is not None
    assert store.get_assessment("no-such-id") is None


def test_history_is_newest_first_with_paging(store: AuditStore) -> None:
    ids = [store.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "web") for _ in range(5)]
    assert [s.id for s in store.list_assessments(10)] == ids[::-1]
    assert [s.id for s in store.list_assessments(2, offset=1)] == [ids[3], ids[2]]
    assert store.count_assessments() == 5
    summary = store.list_assessments(1)[0]
    assert summary.recommendation == "systemic_therapy_first"
    assert "marker" not in json.dumps(summary.as_dict())  # the history carries no patient data


def test_unknown_source_is_refused(store: AuditStore) -> None:
    with pytest.raises(ValueError, match="source must be one of"):
        store.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "email")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE assessments SET source = 'cli'",
        "DELETE FROM assessments",
        "UPDATE feedback SET outcome = 'accepted'",
        "DELETE FROM feedback",
    ],
)
def test_rows_cannot_be_changed_or_deleted(store: AuditStore, statement: str) -> None:
    record_id = store.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "api")
    store.record_feedback("svc", "card-1", "overridden", [{"code": "x"}], {"k": 1})
    with pytest.raises(DatabaseError, match="append-only"), store.engine.begin() as conn:
        conn.execute(text(statement))
    got = store.get_assessment(record_id)
    assert got is not None and got.source == "api"
    assert [f.outcome for f in store.list_feedback()] == ["overridden"]


def test_store_offers_no_update_or_delete() -> None:
    public = {name for name in dir(AuditStore) if not name.startswith("_")}
    assert not {n for n in public if any(w in n for w in ("update", "delete", "remove", "edit"))}


def test_postgresql_refuses_truncate(postgresql_database: str) -> None:
    s = AuditStore(postgresql_database)
    record_id = s.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "api")
    with pytest.raises(DatabaseError, match="append-only"), s.engine.begin() as conn:
        conn.execute(text("TRUNCATE assessments"))
    assert s.get_assessment(record_id) is not None
    s.close()


def test_sqlite_is_durable_wal_full(tmp_path: Path) -> None:
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.sqlite'}")
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    store.close()


def test_migrations_run_once_and_data_survives_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'audit.sqlite'}"
    first = AuditStore(url)
    record_id = first.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "cli")
    first.close()
    second = AuditStore(url)  # upgrade head again: a no-op
    with second.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
    assert second.get_assessment(record_id) is not None
    second.close()


def test_feedback_round_trip(store: AuditStore) -> None:
    reasons = [{"code": "patient-declined", "system": "https://example.org"}]
    fid = store.record_feedback("locoreg-primary-tumour", "c-9", "overridden", reasons, {"a": 1})
    (item,) = store.list_feedback()
    assert (item.id, item.card_uuid, item.override_reasons, item.payload) == (
        fid,
        "c-9",
        reasons,
        {"a": 1},
    )


def test_export_jsonl_has_every_record_in_order(store: AuditStore) -> None:
    a1 = store.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "api")
    a2 = store.record_assessment({**PATIENT, "age": 70}, ASSESSMENT, VERSIONS, "web")
    f1 = store.record_feedback("svc", "card", "accepted", [], {})
    buffer = io.StringIO()
    assert store.export_jsonl(buffer) == 3
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [(x["kind"], x["id"]) for x in lines] == [
        ("assessment", a1),
        ("assessment", a2),
        ("feedback", f1),
    ]
    assert lines[1]["patient_input"]["age"] == 70 and lines[1]["source"] == "web"


def test_logs_name_ids_not_patient_data(
    store: AuditStore, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        record_id = store.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "api")
    assert record_id in caplog.text
    # The random record id may itself contain "61"; look only at the rest of the log.
    rest = caplog.text.replace(record_id, "")
    assert "PATIENT-SECRET" not in rest and "61" not in rest
