"""Tamper evidence, REPLACE refusal, idempotency and strict JSON of the audit store.

SQLite always; PostgreSQL when ``LOCOREG_TEST_POSTGRESQL_URL`` is set.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from locoreg.store import AuditStore, Idempotency, IdempotencyConflict, Provenance
from locoreg.store.chain import GENESIS, canonical, finite

from helpers.legacy_store import insert_legacy_assessment, migrate

PATIENT = {"age": 61, "sex": "female"}
ASSESSMENT = {"recommendation": "systemic_therapy_first", "headline": "Systemic therapy first."}
VERSIONS = {"engine": "0.1.0"}


@pytest.fixture
def store(database: str) -> Iterator[AuditStore]:
    s = AuditStore(database)
    yield s
    s.close()


def _strict(line: str) -> Any:
    def refuse(token: str) -> Any:
        raise ValueError(f"bare {token} is not JSON")

    return json.loads(line, parse_constant=refuse)


def _suspend_triggers(store: AuditStore, statement: str) -> None:
    """Tamper as someone with write access to the database file would."""
    with store.engine.begin() as conn:
        if store.backend == "sqlite":
            conn.execute(text("DROP TRIGGER assessments_no_update"))
            conn.execute(text("DROP TRIGGER assessments_no_delete"))
        else:
            conn.execute(text("ALTER TABLE assessments DISABLE TRIGGER USER"))
        conn.execute(text(statement))


# -- the chain ---------------------------------------------------------------------------


def test_each_record_carries_the_hash_of_the_previous_one(store: AuditStore) -> None:
    ids = [store.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "api") for _ in range(3)]
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, prev_hash, record_hash FROM assessments ORDER BY seq")
        ).all()
    assert [r.id for r in rows] == ids
    assert rows[0].prev_hash == GENESIS
    assert [r.prev_hash for r in rows[1:]] == [r.record_hash for r in rows[:-1]]
    assert len({r.record_hash for r in rows}) == 3
    report = store.verify_chain()
    assert report.broken is None and report.counts == {"assessments": 3, "feedback": 0}
    assert report.heads["assessments"] == rows[-1].record_hash


@pytest.mark.parametrize(
    ("tamper", "broken_at", "reason"),
    [
        ("UPDATE assessments SET headline = 'Surgery.' WHERE seq = 2", 1, "content"),
        ("DELETE FROM assessments WHERE seq = 2", 1, "prev_hash"),
    ],
)
def test_verify_names_the_first_broken_record(
    store: AuditStore, tamper: str, broken_at: int, reason: str
) -> None:
    ids = [store.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "api") for _ in range(4)]
    assert store.verify_chain().broken is None
    _suspend_triggers(store, tamper)
    broken = store.verify_chain().broken
    assert broken is not None
    # Changed: the record itself; removed: the one after the gap.
    expected = ids[broken_at] if reason == "content" else ids[2]
    assert (broken.table, broken.record_id) == ("assessments", expected)
    assert reason in broken.reason


def test_two_concurrent_writers_never_fork_the_chain(database: str) -> None:
    """Two stores (two worker processes) writing at once: one linear chain."""
    stores = [AuditStore(database), AuditStore(database)]
    try:
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda i: stores[i % 2].record_assessment(
                        {**PATIENT, "age": 40 + i}, ASSESSMENT, VERSIONS, "api"
                    ),
                    range(24),
                )
            )
        report = stores[0].verify_chain()
        assert report.broken is None and report.counts["assessments"] == 24
    finally:
        for s in stores:
            s.close()


def test_feedback_has_its_own_chain_and_provenance(store: AuditStore) -> None:
    who = Provenance(token_issuer="https://ehr.example.org", token_subject="client-1")
    store.record_feedback("svc", "c1", "accepted", [], {"a": 1}, provenance=who)
    store.record_feedback("svc", "c2", "overridden", [], {"a": 2})
    first, second = store.list_feedback()
    assert first.provenance == who and second.provenance == Provenance()
    report = store.verify_chain()
    assert report.broken is None and report.counts["feedback"] == 2
    assert report.heads["feedback"] == second.record_hash


# -- append-only: INSERT OR REPLACE ----------------------------------------------------


@pytest.mark.parametrize("table", ["assessments", "feedback"])
def test_sqlite_insert_or_replace_is_refused(tmp_path: Path, table: str) -> None:
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.sqlite'}")
    record_id = store.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "api")
    store.record_feedback("svc", "c1", "accepted", [], {})
    with store.engine.connect() as conn:
        before = conn.execute(text(f"SELECT * FROM {table}")).all()
    columns = ", ".join(before[0]._fields)
    values = ", ".join(
        "'rewritten'" if name in ("headline", "outcome") else name for name in before[0]._fields
    )
    replace = f"INSERT OR REPLACE INTO {table} ({columns}) SELECT {values} FROM {table}"
    with pytest.raises(DatabaseError, match="append-only"), store.engine.begin() as conn:
        conn.execute(text(replace))
    with store.engine.connect() as conn:
        assert conn.execute(text(f"SELECT * FROM {table}")).all() == before
    assert store.get_assessment(record_id) is not None
    assert store.verify_chain().broken is None
    store.close()


def test_postgresql_upsert_is_refused(postgresql_database: str) -> None:
    store = AuditStore(postgresql_database)
    record_id = store.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "api")
    upsert = (
        "INSERT INTO assessments SELECT * FROM assessments "
        "ON CONFLICT (seq) DO UPDATE SET headline = 'rewritten'"
    )
    with pytest.raises(DatabaseError, match="append-only"), store.engine.begin() as conn:
        conn.execute(text(upsert))
    got = store.get_assessment(record_id)
    assert got is not None and got.assessment["headline"] == ASSESSMENT["headline"]
    store.close()


# -- idempotency ---------------------------------------------------------------------------


def test_a_retried_write_returns_the_first_record(store: AuditStore) -> None:
    key = Idempotency.of("api", "retry-1", PATIENT)
    first = store.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "api", idempotency=key)
    again = store.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "api", idempotency=key)
    assert again == first and store.count_assessments() == 1
    found = store.find_idempotent(key)
    assert found is not None and found.id == first
    # Key order does not make a different request.
    same = Idempotency.of("api", "retry-1", dict(reversed(PATIENT.items())))
    assert store.find_idempotent(same) is not None
    # Another channel's key space is separate.
    assert store.find_idempotent(Idempotency.of("cds-hooks", "retry-1", PATIENT)) is None


def test_a_reused_key_with_another_request_is_a_conflict(store: AuditStore) -> None:
    first = store.record_assessment(
        PATIENT, ASSESSMENT, VERSIONS, "api", idempotency=Idempotency.of("api", "k", PATIENT)
    )
    other = Idempotency.of("api", "k", {**PATIENT, "age": 62})
    with pytest.raises(IdempotencyConflict) as caught:
        store.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "api", idempotency=other)
    assert caught.value.record_id == first
    with pytest.raises(IdempotencyConflict):
        store.find_idempotent(other)
    assert store.count_assessments() == 1


def test_concurrent_retries_give_one_record(database: str) -> None:
    stores = [AuditStore(database), AuditStore(database)]
    key = Idempotency.of("api", "concurrent", PATIENT)
    try:
        with ThreadPoolExecutor(8) as pool:
            ids = set(
                pool.map(
                    lambda i: stores[i % 2].record_assessment(
                        PATIENT, ASSESSMENT, VERSIONS, "api", idempotency=key
                    ),
                    range(16),
                )
            )
        assert len(ids) == 1 and stores[0].count_assessments() == 1
    finally:
        for s in stores:
            s.close()


def test_an_idempotency_key_is_bounded() -> None:
    with pytest.raises(ValueError, match="1 to 255"):
        Idempotency.of("api", "x" * 256, {})
    with pytest.raises(ValueError, match="1 to 255"):
        Idempotency.of("api", "", {})


# -- provenance and resources ------------------------------------------------------------


def test_who_asked_and_the_resources_are_columns_of_the_record(store: AuditStore) -> None:
    who = Provenance(
        user_id="Practitioner/7",
        patient_id="p-1",
        hook_instance="d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        token_issuer="https://ehr.example.org",
        token_subject="ehr-client",
        client_address="10.0.0.8",
    )
    resources = [{"resourceType": "Patient", "id": "p-1"}]
    record_id = store.record_assessment(
        PATIENT, ASSESSMENT, VERSIONS, "cds-hooks", provenance=who, fhir_resources=resources
    )
    got = store.get_assessment(record_id)
    assert got is not None and got.provenance == who and got.fhir_resources == resources
    with store.engine.connect() as conn:
        row = conn.execute(text("SELECT user_id, patient_id, token_subject FROM assessments")).one()
    assert tuple(row) == ("Practitioner/7", "p-1", "ehr-client")


# -- strict JSON -------------------------------------------------------------------------


def test_export_is_strict_json_with_non_finite_numbers(store: AuditStore) -> None:
    odd = {**ASSESSMENT, "estimate": math.nan, "upper": math.inf, "rows": [-math.inf, 1.5]}
    record_id = store.record_assessment(PATIENT, odd, VERSIONS, "api")
    store.record_feedback("svc", record_id, "accepted", [], {"score": math.nan})
    buffer = io.StringIO()
    assert store.export_jsonl(buffer) == 2
    first, second = (_strict(line) for line in buffer.getvalue().splitlines())
    assert first["assessment"]["estimate"] is None and first["assessment"]["rows"] == [None, 1.5]
    assert second["payload"] == {"score": None}
    assert store.verify_chain().broken is None


def test_a_legacy_sqlite_row_with_bare_nan_is_exported_strict_and_chained(tmp_path: Path) -> None:
    old = AuditStore(f"sqlite:///{tmp_path / 'audit.sqlite'}", migrate=False)
    migrate(old, "upgrade", "0002")
    legacy = insert_legacy_assessment(old, PATIENT, nan_json='{"recommendation": "x", "p": NaN}')
    old.close()
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.sqlite'}")  # 0003 chains the old row
    newer = store.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "api")
    lines = [_strict(line) for line in store.iter_jsonl()]
    assert [x["id"] for x in lines] == [legacy, newer]
    assert lines[0]["assessment"] == {"recommendation": "x", "p": None}
    report = store.verify_chain()
    assert report.broken is None and report.counts["assessments"] == 2
    store.close()


def test_canonical_serialisation_is_stable() -> None:
    assert canonical({"b": 1, "a": [1.0, math.nan], "é": "ü"}) == (
        '{"a":[1.0,null],"b":1,"é":"ü"}'.encode()
    )
    assert finite((math.inf, {"x": -math.inf})) == [None, {"x": None}]


# -- the single writer ---------------------------------------------------------------------


def test_concurrent_writes_share_commits(store: AuditStore) -> None:
    """Group commit: many concurrent records, fewer transactions than records."""
    from sqlalchemy import event

    commits: list[int] = []
    event.listen(store.engine, "commit", lambda _conn: commits.append(1))
    with ThreadPoolExecutor(16) as pool:
        ids = list(
            pool.map(
                lambda i: store.record_assessment(PATIENT, ASSESSMENT, VERSIONS, "api"), range(64)
            )
        )
    assert len(set(ids)) == 64 and store.count_assessments() == 64
    assert len(commits) < 64
    assert store.verify_chain().broken is None


def test_a_bad_record_in_a_batch_fails_alone(store: AuditStore) -> None:
    unserialisable = {"age": {1, 2}}  # a set is not JSON
    with ThreadPoolExecutor(8) as pool:
        futures = [
            pool.submit(
                store.record_assessment,
                unserialisable if i == 3 else PATIENT,
                ASSESSMENT,
                VERSIONS,
                "api",
            )
            for i in range(8)
        ]
    errors = [f.exception() for f in futures]
    assert isinstance(errors[3], Exception) and "JSON" in str(errors[3])
    assert all(e is None for i, e in enumerate(errors) if i != 3)
    assert store.count_assessments() == 7 and store.verify_chain().broken is None
