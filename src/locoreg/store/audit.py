"""AuditStore: an append-only record of every assessment and every CDS Hooks feedback.

What is recorded for an assessment: the patient input as received, the Assessment
as returned, the versions it was made with (engine, rules, evidence snapshot), the
channel it came through (``web``, ``api``, ``cds-hooks``, ``cli``) and the UTC time.

Append-only: the store has no update or delete method, and the migration installs
triggers that abort any UPDATE or DELETE on SQLite and any UPDATE, DELETE or
TRUNCATE on PostgreSQL.

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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, get_args

from sqlalchemy import Engine, create_engine, event, func, insert, select
from sqlalchemy.engine import make_url

from locoreg.store.seen_jti import SeenJti
from locoreg.store.tables import assessments, feedback

log = logging.getLogger("locoreg.store")

Source = Literal["web", "api", "cds-hooks", "cli"]
SOURCES: tuple[str, ...] = get_args(Source)
MIGRATIONS = Path(__file__).parent / "migrations"


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
class StoredAssessment:
    id: str
    created_at: datetime
    source: str
    patient_input: dict[str, Any]
    assessment: dict[str, Any]
    versions: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "source": self.source,
            "patient_input": self.patient_input,
            "assessment": self.assessment,
            "versions": self.versions,
        }


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "service_id": self.service_id,
            "card_uuid": self.card_uuid,
            "outcome": self.outcome,
            "override_reasons": self.override_reasons,
            "payload": self.payload,
        }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = parsed.database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
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
    """Append-only audit store on SQLAlchemy 2 (SQLite file by default, or PostgreSQL)."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or default_database_url()
        self.engine = _engine(self.url)
        if migrate:
            upgrade(self.engine)
        #: The CDS Hooks replay guard on this database (shared by every worker and host).
        self.seen_jti = SeenJti(self.engine)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # -- assessments ---------------------------------------------------------------

    def record_assessment(
        self,
        patient_input: Mapping[str, Any],
        assessment: Mapping[str, Any],
        versions: Mapping[str, str],
        source: Source,
    ) -> str:
        """Store one assessment; returns its id (a UUID4 string)."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        record_id = str(uuid.uuid4())
        with self.engine.begin() as conn:
            conn.execute(
                insert(assessments).values(
                    id=record_id,
                    created_at=datetime.now(UTC),
                    source=source,
                    recommendation=assessment.get("recommendation"),
                    headline=assessment.get("headline"),
                    patient_input=dict(patient_input),
                    assessment=dict(assessment),
                    versions=dict(versions),
                )
            )
        log.info("assessment %s recorded (source %s)", record_id, source)
        return record_id

    def get_assessment(self, record_id: str) -> StoredAssessment | None:
        """The stored assessment, or ``None`` when no record has this id."""
        with self.engine.connect() as conn:
            row = conn.execute(select(assessments).where(assessments.c.id == record_id)).first()
        if row is None:
            return None
        return StoredAssessment(
            id=row.id,
            created_at=_utc(row.created_at),
            source=row.source,
            patient_input=row.patient_input,
            assessment=row.assessment,
            versions=row.versions,
        )

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
    ) -> str:
        """Store one CDS Hooks feedback item (accepted / overridden); returns its id."""
        record_id = str(uuid.uuid4())
        with self.engine.begin() as conn:
            conn.execute(
                insert(feedback).values(
                    id=record_id,
                    created_at=datetime.now(UTC),
                    service_id=service_id,
                    card_uuid=card_uuid,
                    outcome=outcome,
                    override_reasons=[dict(r) for r in override_reasons],
                    payload=dict(payload),
                )
            )
        log.info("feedback %s recorded (service %s, outcome %s)", record_id, service_id, outcome)
        return record_id

    def list_feedback(self, limit: int | None = None, offset: int = 0) -> list[StoredFeedback]:
        """Oldest first."""
        query = select(feedback).order_by(feedback.c.seq).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            StoredFeedback(
                r.id,
                _utc(r.created_at),
                r.service_id,
                r.card_uuid,
                r.outcome,
                r.override_reasons,
                r.payload,
            )
            for r in rows
        ]

    # -- export --------------------------------------------------------------------

    def iter_jsonl(self) -> Iterator[str]:
        """Every record, oldest first, as JSON-lines text (each line ends in ``\\n``).

        Assessments come first, then feedback; each object has ``"kind"`` =
        ``"assessment"`` or ``"feedback"`` and the keys of :meth:`StoredAssessment.as_dict`
        or :meth:`StoredFeedback.as_dict`. Rows are read in batches so a large store is
        streamed, not loaded whole.
        """
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=500).execute(
                select(assessments).order_by(assessments.c.seq)
            )
            for row in result:
                record = StoredAssessment(
                    row.id,
                    _utc(row.created_at),
                    row.source,
                    row.patient_input,
                    row.assessment,
                    row.versions,
                )
                yield json.dumps({"kind": "assessment", **record.as_dict()}) + "\n"
        for item in self.list_feedback():
            yield json.dumps({"kind": "feedback", **item.as_dict()}) + "\n"

    def export_jsonl(self, fp: IO[str]) -> int:
        """Write :meth:`iter_jsonl` to ``fp``; returns the number of records written."""
        count = 0
        for line in self.iter_jsonl():
            fp.write(line)
            count += 1
        return count
