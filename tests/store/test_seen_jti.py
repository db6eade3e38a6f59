"""The CDS Hooks replay guard in the store's database (table ``seen_jti``).

Shared by every store on one database (two stores = two worker processes or hosts),
kept across a restart, purged of expired rows, and atomic under concurrency: of many
simultaneous uses of one (issuer, jti) exactly one is accepted. SQLite always;
PostgreSQL when ``LOCOREG_TEST_POSTGRESQL_URL`` is set (tests/store/conftest.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DatabaseError

from locoreg.fhir.auth import JTI_MAX_LENGTH
from locoreg.store import AuditStore
from locoreg.store.seen_jti import PURGE_INTERVAL_SECONDS
from locoreg.store.tables import JTI_MAX_LENGTH as COLUMN_WIDTH
from locoreg.store.tables import seen_jti

from helpers.legacy_store import insert_legacy_assessment, migrate

ISS = "https://ehr.example.org"
NOW = 1_900_000_000.0  # a fixed clock: every call names its own "now"
INPUT, ASSESSMENT, VERSIONS = {"age": 60}, {"recommendation": "x"}, {"engine": "0"}


@pytest.fixture
def open_store(database: str) -> Iterator[Callable[[], AuditStore]]:
    """Open another store on the test's database (as another worker or host would)."""
    opened: list[AuditStore] = []

    def open_() -> AuditStore:
        opened.append(AuditStore(database))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


def rows(store: AuditStore) -> set[tuple[str, str, int]]:
    with store.engine.connect() as conn:
        return {(r.issuer, r.jti, r.expires_at) for r in conn.execute(select(seen_jti))}


def test_second_use_is_a_replay(open_store: Callable[[], AuditStore]) -> None:
    guard = open_store().seen_jti
    assert guard.first_use(ISS, "j-1", NOW + 300, NOW)
    assert not guard.first_use(ISS, "j-1", NOW + 300, NOW + 1)
    # The pair is what counts: another issuer may use the same jti.
    assert guard.first_use("https://other-ehr.example.org", "j-1", NOW + 300, NOW + 1)
    assert guard.first_use(ISS, "j-2", NOW + 300, NOW + 1)


def test_shared_by_two_stores_on_one_database(open_store: Callable[[], AuditStore]) -> None:
    worker_a, worker_b = open_store(), open_store()
    assert worker_a.engine is not worker_b.engine
    assert worker_a.seen_jti.first_use(ISS, "j-1", NOW + 300, NOW)
    assert not worker_b.seen_jti.first_use(ISS, "j-1", NOW + 300, NOW)
    assert worker_b.seen_jti.first_use(ISS, "j-2", NOW + 300, NOW)
    assert not worker_a.seen_jti.first_use(ISS, "j-2", NOW + 300, NOW)


def test_kept_across_a_restart(open_store: Callable[[], AuditStore]) -> None:
    before = open_store()
    assert before.seen_jti.first_use(ISS, "j-1", NOW + 300, NOW)
    before.close()
    after = open_store()  # migrations run again: a no-op
    assert not after.seen_jti.first_use(ISS, "j-1", NOW + 300, NOW + 5)


def test_expired_rows_are_purged(open_store: Callable[[], AuditStore]) -> None:
    store = open_store()
    guard = store.seen_jti
    assert guard.first_use(ISS, "short", NOW + 10, NOW)
    assert guard.first_use(ISS, "long", NOW + 1000, NOW + 1)
    assert guard.count() == 2
    # Within the purge interval nothing is purged (at most one purge per interval).
    assert guard.first_use(ISS, "third", NOW + 1000, NOW + 20)
    assert guard.count() == 3
    # Past the interval, the next check purges every expired row first.
    later = NOW + PURGE_INTERVAL_SECONDS + 1
    assert guard.first_use(ISS, "fourth", NOW + 1000, later)
    assert {r[1] for r in rows(store)} == {"long", "third", "fourth"}
    # A purge from any worker deletes what has expired everywhere.
    assert open_store().seen_jti.purge_expired(NOW + 2000) == 3
    assert guard.count() == 0


def test_a_pair_may_be_used_again_once_its_token_expired(
    open_store: Callable[[], AuditStore],
) -> None:
    store = open_store()
    guard = store.seen_jti
    assert guard.first_use(ISS, "j-1", NOW + 10, NOW)
    assert not guard.first_use(ISS, "j-1", NOW + 300, NOW + 9)  # still valid: replay
    # From its expiry on, the old token is refused by the exp check anyway.
    assert guard.first_use(ISS, "j-1", NOW + 310, NOW + 10)
    assert rows(store) == {(ISS, "j-1", int(NOW) + 310)}
    assert not guard.first_use(ISS, "j-1", NOW + 400, NOW + 11)


def test_expiry_is_rounded_up_to_whole_seconds(open_store: Callable[[], AuditStore]) -> None:
    store = open_store()
    assert store.seen_jti.first_use(ISS, "j-1", NOW + 10.2, NOW)
    assert rows(store) == {(ISS, "j-1", int(NOW) + 11)}
    assert not store.seen_jti.first_use(ISS, "j-1", NOW + 400, NOW + 10.9)


def test_concurrent_uses_of_one_token_accept_exactly_one(
    open_store: Callable[[], AuditStore],
) -> None:
    workers = 2  # two stores: two worker processes or hosts on one database
    guards = [open_store().seen_jti for _ in range(workers)]
    threads = 16
    for attempt in range(5):
        jti = f"contested-{attempt}"
        barrier = threading.Barrier(threads)

        def use(i: int, jti: str = jti, barrier: threading.Barrier = barrier) -> bool:
            barrier.wait()
            return guards[i % workers].first_use(ISS, jti, time.time() + 300, time.time())

        with ThreadPoolExecutor(threads) as pool:
            accepted = list(pool.map(use, range(threads)))
        assert accepted.count(True) == 1, accepted


def test_concurrent_distinct_tokens_are_all_accepted(
    open_store: Callable[[], AuditStore],
) -> None:
    guards = [open_store().seen_jti for _ in range(2)]
    threads = 8
    barrier = threading.Barrier(threads)

    def use(i: int) -> list[bool]:
        barrier.wait()
        now = time.time()
        return [guards[i % 2].first_use(ISS, f"t{i}-{k}", now + 300, now) for k in range(10)]

    with ThreadPoolExecutor(threads) as pool:
        results = [ok for batch in pool.map(use, range(threads)) for ok in batch]
    assert results == [True] * threads * 10
    assert guards[0].count() == threads * 10


def test_the_table_is_not_append_only_but_the_audit_tables_are(
    open_store: Callable[[], AuditStore],
) -> None:
    store = open_store()
    store.seen_jti.first_use(ISS, "j-1", NOW + 300, NOW)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM seen_jti"))
    assert store.seen_jti.count() == 0
    store.record_assessment(INPUT, ASSESSMENT, VERSIONS, "api")
    with pytest.raises(DatabaseError, match="append-only"), store.engine.begin() as conn:
        conn.execute(text("DELETE FROM assessments"))


def test_a_jti_wider_than_the_column_is_refused_before_the_database(
    open_store: Callable[[], AuditStore],
) -> None:
    assert JTI_MAX_LENGTH == COLUMN_WIDTH  # the JWT check refuses what the table cannot hold
    guard = open_store().seen_jti
    with pytest.raises(ValueError, match="longer than"):
        guard.first_use(ISS, "x" * (COLUMN_WIDTH + 1), NOW + 300, NOW)
    assert guard.first_use(ISS, "x" * COLUMN_WIDTH, NOW + 300, NOW)


def test_an_expiry_beyond_bigint_is_kept_for_ever(open_store: Callable[[], AuditStore]) -> None:
    guard = open_store().seen_jti
    assert guard.first_use(ISS, "j-1", 1e30, NOW)
    assert not guard.first_use(ISS, "j-1", NOW + 300, 1e18)  # year 3e10: still there


def test_an_existing_0001_store_is_upgraded_with_its_records(database: str) -> None:
    old = AuditStore(database, migrate=False)
    migrate(old, "upgrade", "0001")
    record_id = insert_legacy_assessment(old, INPUT)
    old.close()
    store = AuditStore(database)
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
        assert store.get_assessment(record_id) is not None
        assert store.verify_chain().broken is None  # 0003 chained the old row
        assert store.seen_jti.first_use(ISS, "j-1", NOW + 300, NOW)
    finally:
        store.close()


def test_downgrade_to_0001_drops_only_the_replay_table(database: str) -> None:
    store = AuditStore(database, migrate=False)
    migrate(store, "upgrade", "0002")
    record_id = insert_legacy_assessment(store, INPUT)
    try:
        migrate(store, "downgrade", "0001")
        assert "seen_jti" not in inspect(store.engine).get_table_names()
        with store.engine.connect() as conn:
            found = conn.execute(text("SELECT id FROM assessments")).scalars().all()
        assert found == [record_id]
    finally:
        store.close()


def test_the_audit_chain_is_never_downgraded(database: str) -> None:
    store = AuditStore(database)
    try:
        with pytest.raises(NotImplementedError, match="cannot be downgraded"):
            migrate(store, "downgrade", "0002")
    finally:
        store.close()
