"""The single writer of the audit trail: one queue, group commit, one chain.

Every record of a store goes through one writer thread per process. It takes what is
queued (up to :data:`BATCH` records) and appends it in **one** short transaction:

1. hold the chains — ``BEGIN IMMEDIATE`` on SQLite (the database's write lock, shared
   with any other process); a transaction-scoped advisory lock per table on PostgreSQL
   (shared by every worker process and host, taken in a fixed order);
2. read each table's head hash, then for each record: look up its idempotency key
   (a record with it is the answer, or :class:`IdempotencyConflict`), link it to the
   head, insert it;
3. commit, then wake the waiting callers.

Why: a durable commit costs one fsync (milliseconds), and chained writes must be
serial. With one commit per record, twenty concurrent writers wait for up to twenty
fsyncs in a row (and on SQLite they poll the busy handler, which sleeps); with group
commit they wait for about two. A caller returns only after the commit of its record.

If a batch fails as a whole (a database error), each of its records is retried in a
transaction of its own, so one bad record cannot fail the others.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Table, insert, select, text

from locoreg.store.chain import GENESIS, chained_fields, digest, record_hash
from locoreg.store.tables import IDEMPOTENCY_KEY_MAX_LENGTH, assessments

log = logging.getLogger("locoreg.store")

#: Most records appended in one transaction.
BATCH = 64
# PostgreSQL advisory lock keys, one per chained table ("locore" + table number).
_CHAIN_LOCKS = {"assessments": 0x6C6F636F7265_01, "feedback": 0x6C6F636F7265_02}


@dataclass(frozen=True, slots=True)
class Idempotency:
    """A retry key and the digest of the request it was first used with.

    ``key`` carries its channel (``api:<Idempotency-Key>``, ``cds-hooks:<hookInstance>``)
    so that keys of different channels never meet.
    """

    key: str
    request_digest: str

    @classmethod
    def of(cls, channel: str, key: str, request: Any) -> Idempotency:
        """The key of ``channel`` for ``request`` (digest of its canonical JSON)."""
        if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH:
            raise ValueError(f"an idempotency key has 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters")
        return cls(f"{channel}:{key}", digest(request))


class IdempotencyConflict(Exception):
    """The key was first used with a different request; ``record_id`` is that record."""

    def __init__(self, record_id: str):
        super().__init__("idempotency key reused with a different request")
        self.record_id = record_id


def first_with_key(conn: Connection, idempotency: Idempotency) -> str | None:
    """The id of the record made with this key, or None; a conflict if another request's."""
    row = conn.execute(
        select(assessments.c.id, assessments.c.request_digest).where(
            assessments.c.idempotency_key == idempotency.key
        )
    ).first()
    if row is None:
        return None
    if row.request_digest != idempotency.request_digest:
        raise IdempotencyConflict(row.id)
    return str(row.id)


@dataclass(eq=False)
class _Pending:
    table: Table
    values: Mapping[str, Any]
    idempotency: Idempotency | None
    done: threading.Event = field(default_factory=threading.Event)
    record_id: str | None = None
    new: bool = False
    error: BaseException | None = None


class ChainWriter:
    """Appends records to their table's chain from one thread, a batch per transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def append(
        self, table: Table, values: Mapping[str, Any], idempotency: Idempotency | None = None
    ) -> tuple[str, bool]:
        """Queue one record and wait for its commit: (record id, True if newly written).

        With ``idempotency``, an existing record with that key is returned instead
        (``False``), or :class:`IdempotencyConflict` raised.
        """
        item = _Pending(table, values, idempotency)
        self._ensure_thread()
        self._queue.put(item)
        item.done.wait()
        if item.error is not None:
            raise item.error
        assert item.record_id is not None
        return item.record_id, item.new

    def close(self) -> None:
        """Stop the writer thread after what is queued (idempotent)."""
        with self._start:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="locoreg-audit-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            self._write(batch)
        except Exception as exc:  # handed to the caller, who answers for it
            if len(batch) == 1:
                batch[0].error = exc
                batch[0].done.set()
                return
            log.warning("audit batch of %d failed; writing its records one by one", len(batch))
            for item in batch:
                self._commit([item])
            return
        for item in batch:
            item.done.set()

    def _write(self, batch: list[_Pending]) -> None:
        tables = sorted({item.table.name: item.table for item in batch}.items())
        with self.engine.connect() as conn:
            conn.execution_options(locoreg_write=True)  # BEGIN IMMEDIATE on SQLite
            with conn.begin():
                heads: dict[str, str] = {}
                for name, table in tables:  # a fixed order: no deadlock between processes
                    if conn.dialect.name == "postgresql":
                        conn.execute(
                            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCKS[name]}
                        )
                    head = conn.execute(
                        select(table.c.record_hash).order_by(table.c.seq.desc()).limit(1)
                    ).scalar()
                    heads[name] = head or GENESIS
                for item in batch:
                    self._append_one(conn, item, heads)

    @staticmethod
    def _append_one(conn: Connection, item: _Pending, heads: dict[str, str]) -> None:
        item.error = None
        if item.idempotency is not None:
            try:
                first = first_with_key(conn, item.idempotency)
            except IdempotencyConflict as exc:
                item.error = exc
                return
            if first is not None:
                item.record_id, item.new = first, False
                return
        name = item.table.name
        values = {**item.values, "prev_hash": heads[name]}
        values["record_hash"] = record_hash(name, heads[name], chained_fields(name, values))
        conn.execute(insert(item.table), values)
        heads[name] = values["record_hash"]
        item.record_id, item.new = str(values["id"]), True
