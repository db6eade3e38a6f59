"""The CDS Hooks replay guard, shared through the store's database.

A CDS Hooks JWT may be used once: its ``(iss, jti)`` pair is recorded in the table
``seen_jti`` until the token expires, and a second use of the pair is a replay. Because
the pairs live in the database, every worker process and every host on that database
sees the same set, and a restart forgets nothing.

Check-and-record is one transaction, atomic by the table's primary key
``(issuer, jti)``:

1. delete the row of this pair if it has expired (its token is refused as expired by
   every verifier anyway, so the ``jti`` may be used again, as the issuer's next token);
2. insert the pair with its expiry. If the insert violates the primary key, a live row
   exists — recorded earlier, or by a concurrent transaction that committed first — and
   the token is a replay.

SQLite serialises writers (the first statement of the transaction is a write, so a
waiting writer retries under ``busy_timeout``); PostgreSQL makes the second of two
concurrent inserts of one key wait for the first and fail once it commits. Either way
exactly one of any number of concurrent uses is accepted.

Expired rows are purged opportunistically: a check deletes every expired row first,
at most once per ``purge_interval`` seconds per process.

This table is **not** part of the audit trail: it has no append-only triggers, is not
exported, and its rows are deleted when they expire. It holds issuer URLs and token ids,
no patient data; nothing here logs either.
"""

from __future__ import annotations

import logging
import math
import threading

from sqlalchemy import Engine, and_, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from locoreg.store.tables import JTI_MAX_LENGTH, seen_jti

log = logging.getLogger("locoreg.store")

#: At most one purge of expired rows per this many seconds, per process.
PURGE_INTERVAL_SECONDS = 60.0
# BIGINT: an ``exp`` beyond it (year 292 billion) is stored as "never expires".
_EXPIRES_MAX = 2**63 - 1


class SeenJti:
    """``(issuer, jti)`` pairs seen until their token expires, in the store's database."""

    def __init__(self, engine: Engine, *, purge_interval: float = PURGE_INTERVAL_SECONDS):
        self.engine = engine
        self.purge_interval = purge_interval
        self._next_purge = -math.inf
        self._purge_lock = threading.Lock()

    def first_use(self, issuer: str, jti: str, expires_at: float, now: float) -> bool:
        """Record the pair; True if it is new (or its earlier token expired), False on replay.

        ``expires_at``: Unix time from which the token is refused as expired (exp plus the
        verifier's leeway); ``now``: the verifier's clock.
        """
        if len(jti) > JTI_MAX_LENGTH:
            raise ValueError(f"jti longer than {JTI_MAX_LENGTH} characters")
        expires = min(math.ceil(expires_at), _EXPIRES_MAX)
        # A row is expired when expires_at <= now; expires_at is whole seconds.
        cutoff = math.floor(now)
        self._maybe_purge(cutoff)
        key = and_(seen_jti.c.issuer == issuer, seen_jti.c.jti == jti)
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(seen_jti).where(key, seen_jti.c.expires_at <= cutoff))
                conn.execute(insert(seen_jti).values(issuer=issuer, jti=jti, expires_at=expires))
        except IntegrityError:
            return False
        return True

    def purge_expired(self, now: float) -> int:
        """Delete every expired row; returns how many went."""
        with self.engine.begin() as conn:
            result = conn.execute(delete(seen_jti).where(seen_jti.c.expires_at <= math.floor(now)))
        purged = result.rowcount or 0
        if purged:
            log.debug("replay guard: %d expired jti row(s) purged", purged)
        return purged

    def count(self) -> int:
        """Rows held, expired or not (for monitoring and tests)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(seen_jti)).scalar_one())

    def _maybe_purge(self, now: float) -> None:
        if now < self._next_purge or not self._purge_lock.acquire(blocking=False):
            return
        try:
            if now >= self._next_purge:
                self._next_purge = now + self.purge_interval
                self.purge_expired(now)
        finally:
            self._purge_lock.release()
