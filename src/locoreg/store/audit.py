"""AuditStore: an append-only, hash-chained record of every assessment and CDS Hooks feedback.

What is recorded for an assessment: the Patient the engine read (for FHIR and CDS
Hooks, the Patient the mapping produced, plus the FHIR resources the mapping read), the
Assessment as returned, the versions it was made with (engine, rules, evidence
snapshot), the channel it came through (``web``, ``api``, ``cds-hooks``, ``cli``), the
UTC time, and who asked for whom (:class:`Provenance`).

Append-only: the store has no update or delete method, and the migrations install
triggers that abort any UPDATE, DELETE or colliding INSERT (``INSERT OR REPLACE``) on
SQLite and any UPDATE, DELETE or TRUNCATE on PostgreSQL.

Tamper evidence: each record carries the hash of the previous one in its table
(:mod:`locoreg.store.chain`); :meth:`AuditStore.verify_chain` walks the chains.

One writer: every record goes through the store's :class:`~locoreg.store.writer.ChainWriter`
— one queue and one thread per process, group commit of what is queued in one short
transaction that holds the chain (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on
PostgreSQL shared by every worker process and host); a unique ``prev_hash`` makes a
fork impossible even without the lock.

Idempotency: a write may carry an :class:`~locoreg.store.writer.Idempotency` key. In the
writer's transaction the key is looked up; a record with that key is returned instead of
a new one (same request digest) or refused with ``IdempotencyConflict`` (another request
reused the key). Two concurrent retries therefore give one record.

Strict JSON: non-finite numbers are stored as ``null`` (JSON has no NaN/Infinity) and
the export never writes bare ``NaN``; rows written before that rule are exported the
same way.

Durability: the embedded SQLite file runs in WAL journal mode with
``synchronous=FULL``, so a record is on disk when ``record_*`` returns and a killed
server loses nothing that was committed.

Logging: only record ids and channels are logged, never patient data.

The same database holds the CDS Hooks replay guard (``AuditStore.seen_jti``, table
``seen_jti``): not an audit record, its rows are purged once their token expires
(:mod:`locoreg.store.seen_jti`).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, get_args

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from locoreg.store.chain import (
    ChainBreak,
    ChainedRow,
    chained_fields,
    finite,
    first_break,
)
from locoreg.store.seen_jti import SeenJti
from locoreg.store.tables import assessments, feedback
from locoreg.store.writer import ChainWriter, Idempotency, first_with_key

log = logging.getLogger("locoreg.store")

Source = Literal["web", "api", "cds-hooks", "cli"]
SOURCES: tuple[str, ...] = get_args(Source)
MIGRATIONS = Path(__file__).parent / "migrations"

#: Connections per process (PostgreSQL and SQLite files): enough for the web server's
#: 40 worker threads (Starlette's default pool) without waiting on the pool.
POOL_SIZE = 10
POOL_OVERFLOW = 30


def default_database_path() -> Path:
    """The embedded SQLite file in the user's data directory (platformdirs)."""
    from platformdirs import user_data_path

    return user_data_path("locoreg", appauthor=False) / "audit.sqlite"


def default_database_url() -> str:
    return f"sqlite:///{default_database_path()}"


def _utc(value: datetime) -> datetime:
    # SQLite drops the offset; every stored time is UTC by construction.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Provenance:
    """Who asked and for whom, as far as the channel says (``None`` where it does not).

    CDS Hooks: ``context.userId``, ``context.patientId``, ``hookInstance`` and the JWT's
    ``iss`` / ``sub``. REST: the client address, and for a FHIR Bundle its Patient id.
    """

    user_id: str | None = None
    patient_id: str | None = None
    hook_instance: str | None = None
    token_issuer: str | None = None
    token_subject: str | None = None
    client_address: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)

    @classmethod
    def of_row(cls, row: Any) -> Provenance:
        return cls(
            row.user_id,
            row.patient_id,
            row.hook_instance,
            row.token_issuer,
            row.token_subject,
            row.client_address,
        )


@dataclass(frozen=True, slots=True)
class StoredAssessment:
    id: str
    created_at: datetime
    source: str
    patient_input: dict[str, Any]
    assessment: dict[str, Any]
    versions: dict[str, str]
    fhir_resources: list[dict[str, Any]] | None = None
    provenance: Provenance = field(default_factory=Provenance)
    idempotency_key: str | None = None
    record_hash: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "source": self.source,
            "patient_input": self.patient_input,
            "assessment": self.assessment,
            "versions": self.versions,
            "fhir_resources": self.fhir_resources,
            "provenance": self.provenance.as_dict(),
            "idempotency_key": self.idempotency_key,
            "record_hash": self.record_hash,
        }

    @classmethod
    def of_row(cls, row: Any) -> StoredAssessment:
        return cls(
            id=row.id,
            created_at=_utc(row.created_at),
            source=row.source,
            patient_input=row.patient_input,
            assessment=row.assessment,
            versions=row.versions,
            fhir_resources=row.fhir_resources,
            provenance=Provenance.of_row(row),
            idempotency_key=row.idempotency_key,
            record_hash=row.record_hash,
        )


@dataclass(frozen=True, slots=True)
class AssessmentSummary:
    """One line of the history: enough to list and re-open, no patient data."""

    id: str
    created_at: datetime
    source: str
    recommendation: str | None
    headline: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "source": self.source,
            "recommendation": self.recommendation,
            "headline": self.headline,
        }


@dataclass(frozen=True, slots=True)
class StoredFeedback:
    id: str
    created_at: datetime
    service_id: str
    card_uuid: str
    outcome: str
    override_reasons: list[dict[str, Any]]
    payload: dict[str, Any]
    provenance: Provenance = field(default_factory=Provenance)
    record_hash: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "service_id": self.service_id,
            "card_uuid": self.card_uuid,
            "outcome": self.outcome,
            "override_reasons": self.override_reasons,
            "payload": self.payload,
            "provenance": self.provenance.as_dict(),
            "record_hash": self.record_hash,
        }

    @classmethod
    def of_row(cls, row: Any) -> StoredFeedback:
        return cls(
            row.id,
            _utc(row.created_at),
            row.service_id,
            row.card_uuid,
            row.outcome,
            row.override_reasons,
            row.payload,
            Provenance.of_row(row),
            row.record_hash,
        )


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What :meth:`AuditStore.verify_chain` found: records checked, head hashes, first break."""

    counts: dict[str, int]
    heads: dict[str, str]
    broken: ChainBreak | None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Transactions are begun by _sqlite_begin, not by the driver (so BEGIN IMMEDIATE works).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A write takes the database's write lock at BEGIN, before it reads the chain's head:
    # a second writer (another process) waits there and then reads the new head.
    immediate = conn.get_execution_options().get("locoreg_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _json_text(value: Any) -> str:
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:  # NaN or ±Infinity somewhere: written as null (see chain.finite)
        return json.dumps(finite(value), allow_nan=False)


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, json_serializer=_json_text, **pool)
    database = parsed.database
    memory = not database or database == ":memory:"
    if not memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
    # An in-memory database exists per connection: one shared connection, so that the
    # writer thread and the readers see the same database (tests and trials only).
    sizing: dict[str, Any] = {"poolclass": StaticPool} if memory else pool
    engine = create_engine(
        url, connect_args={"check_same_thread": False}, json_serializer=_json_text, **sizing
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (alembic ``upgrade head``)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class AuditStore:
    """Append-only, hash-chained audit store on SQLAlchemy 2 (SQLite file, or PostgreSQL)."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or default_database_url()
        self.engine = _engine(self.url)
        if migrate:
            upgrade(self.engine)
        # Every record goes through one writer thread: one queue, group commit.
        self._writer = ChainWriter(self.engine)
        #: The CDS Hooks replay guard on this database (shared by every worker and host).
        self.seen_jti = SeenJti(self.engine)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self._writer.close()
        self.engine.dispose()

    # -- assessments ---------------------------------------------------------------

    def record_assessment(
        self,
        patient_input: Mapping[str, Any],
        assessment: Mapping[str, Any],
        versions: Mapping[str, str],
        source: Source,
        *,
        provenance: Provenance | None = None,
        fhir_resources: Sequence[Mapping[str, Any]] | None = None,
        idempotency: Idempotency | None = None,
    ) -> str:
        """Store one assessment; returns its id (a UUID4 string).

        With ``idempotency``: if a record with that key exists, its id is returned and
        nothing is written (or :class:`IdempotencyConflict` is raised when it was made
        for a different request).
        """
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        record_id = str(uuid.uuid4())
        values: dict[str, Any] = {
            "id": record_id,
            "created_at": datetime.now(UTC),
            "source": source,
            "recommendation": assessment.get("recommendation"),
            "headline": assessment.get("headline"),
            "patient_input": dict(patient_input),
            "assessment": dict(assessment),
            "versions": dict(versions),
            "fhir_resources": None if fhir_resources is None else [dict(r) for r in fhir_resources],
            "idempotency_key": idempotency.key if idempotency else None,
            "request_digest": idempotency.request_digest if idempotency else None,
            **(provenance or Provenance()).as_dict(),
        }
        record_id, new = self._writer.append(assessments, values, idempotency)
        if new:
            log.info("assessment %s recorded (source %s)", record_id, source)
        else:
            log.info("assessment %s returned for a retried request", record_id)
        return record_id

    def find_idempotent(self, idempotency: Idempotency) -> StoredAssessment | None:
        """The record first made with this key, or None; :class:`IdempotencyConflict` if
        it was made for a different request."""
        with self.engine.connect() as conn:
            record_id = first_with_key(conn, idempotency)
        return None if record_id is None else self.get_assessment(record_id)

    def get_assessment(self, record_id: str) -> StoredAssessment | None:
        """The stored assessment, or ``None`` when no record has this id."""
        with self.engine.connect() as conn:
            row = conn.execute(select(assessments).where(assessments.c.id == record_id)).first()
        return None if row is None else StoredAssessment.of_row(row)

    def has_assessment(self, record_id: str) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(assessments.c.seq).where(assessments.c.id == record_id)
            ).first()
        return found is not None

    def list_assessments(self, limit: int = 50, offset: int = 0) -> list[AssessmentSummary]:
        """Newest first."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must be non-negative")
        query = (
            select(
                assessments.c.id,
                assessments.c.created_at,
                assessments.c.source,
                assessments.c.recommendation,
                assessments.c.headline,
            )
            .order_by(assessments.c.seq.desc())
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AssessmentSummary(r.id, _utc(r.created_at), r.source, r.recommendation, r.headline)
            for r in rows
        ]

    def count_assessments(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(assessments)).scalar_one())

    # -- CDS Hooks feedback --------------------------------------------------------

    def record_feedback(
        self,
        service_id: str,
        card_uuid: str,
        outcome: str,
        override_reasons: Sequence[Mapping[str, Any]],
        payload: Mapping[str, Any],
        *,
        provenance: Provenance | None = None,
    ) -> str:
        """Store one CDS Hooks feedback item (accepted / overridden); returns its id."""
        record_id = str(uuid.uuid4())
        values: dict[str, Any] = {
            "id": record_id,
            "created_at": datetime.now(UTC),
            "service_id": service_id,
            "card_uuid": card_uuid,
            "outcome": outcome,
            "override_reasons": [dict(r) for r in override_reasons],
            "payload": dict(payload),
            **(provenance or Provenance()).as_dict(),
        }
        self._writer.append(feedback, values)
        log.info("feedback %s recorded (service %s, outcome %s)", record_id, service_id, outcome)
        return record_id

    def list_feedback(self, limit: int | None = None, offset: int = 0) -> list[StoredFeedback]:
        """Oldest first."""
        query = select(feedback).order_by(feedback.c.seq).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [StoredFeedback.of_row(r) for r in rows]

    # -- tamper evidence -----------------------------------------------------------

    def verify_chain(self) -> ChainReport:
        """Walk both chains (assessments, then feedback); stop at the first break."""
        counts: dict[str, int] = {}
        heads: dict[str, str] = {}
        with self.engine.connect() as conn:
            for table in (assessments, feedback):
                result = conn.execution_options(yield_per=500).execute(
                    select(table).order_by(table.c.seq)
                )
                rows = (
                    ChainedRow(
                        r.seq,
                        r.id,
                        r.prev_hash,
                        r.record_hash,
                        chained_fields(table.name, r._mapping),
                    )
                    for r in result
                )
                broken, counts[table.name], heads[table.name] = first_break(table.name, rows)
                result.close()
                if broken is not None:
                    return ChainReport(counts, heads, broken)
        return ChainReport(counts, heads, None)

    # -- export --------------------------------------------------------------------

    def iter_jsonl(self) -> Iterator[str]:
        """Every record, oldest first, as strict JSON-lines text (each line ends in ``\\n``).

        Assessments come first, then feedback; each object has ``"kind"`` =
        ``"assessment"`` or ``"feedback"`` and the keys of :meth:`StoredAssessment.as_dict`
        or :meth:`StoredFeedback.as_dict`. Rows are read in batches so a large store is
        streamed, not loaded whole. Non-finite numbers are written as ``null``.
        """
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=500).execute(
                select(assessments).order_by(assessments.c.seq)
            )
            for row in result:
                record = StoredAssessment.of_row(row)
                yield _json_text({"kind": "assessment", **record.as_dict()}) + "\n"
        for item in self.list_feedback():
            yield _json_text({"kind": "feedback", **item.as_dict()}) + "\n"

    def export_jsonl(self, fp: IO[str]) -> int:
        """Write :meth:`iter_jsonl` to ``fp``; returns the number of records written."""
        count = 0
        for line in self.iter_jsonl():
            fp.write(line)
            count += 1
        return count
