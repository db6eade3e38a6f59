"""Tamper evidence for the audit trail: a hash chain over a canonical serialisation.

Every audit record carries ``prev_hash``, the ``record_hash`` of the record before it
in the same table (``GENESIS`` for the first), and its own ``record_hash``::

    record_hash = SHA-256( canonical({"table": t, "prev_hash": prev_hash, **fields}) )

``canonical`` is JSON with sorted keys, no insignificant whitespace, UTF-8, and
non-finite numbers written as ``null`` (JSON has no NaN or Infinity; see :func:`finite`).
Times are ISO 8601 in UTC with microseconds. Each table (assessments, feedback) is
its own chain, ordered by ``seq``.

Changing any stored field, deleting or inserting a record in the middle, or reordering
records breaks the chain at that record, which :func:`first_break` names. What a chain
cannot show on its own is the loss of its *last* records, or a complete rewrite by
someone who recomputes every hash (there is no secret key): keep the head hash that
``locoreg audit-verify`` prints somewhere else (a ticket, a log) to anchor it.

The serialisation is format version 1 and must not change: old records are verified
with it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: ``prev_hash`` of the first record of a table.
GENESIS = "0" * 64


def finite(value: Any) -> Any:
    """``value`` as strict JSON data: NaN and ±Infinity become ``None``, recursively.

    The same rule as JavaScript's ``JSON.stringify``; tuples become lists.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def utc_text(value: datetime) -> str:
    """A stored time as hashed: UTC, ISO 8601, microseconds (SQLite drops the offset)."""
    value = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(data: Any) -> bytes:
    """The canonical serialisation (format 1): sorted keys, compact, UTF-8, finite."""
    options: dict[str, Any] = {
        "sort_keys": True,
        "separators": (",", ":"),
        "ensure_ascii": False,
        "allow_nan": False,
    }
    try:
        text = json.dumps(data, **options)
    except ValueError:  # a non-finite number: the (slower) walk that writes it as null
        text = json.dumps(finite(data), **options)
    return text.encode("utf-8")


def record_hash(table: str, prev_hash: str, fields: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of one record, linked to the previous one by ``prev_hash``."""
    return digest({**fields, "table": table, "prev_hash": prev_hash})


def digest(data: Any) -> str:
    """SHA-256 (hex) of the canonical serialisation of ``data``."""
    return hashlib.sha256(canonical(data)).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first record whose link or content does not verify."""

    table: str
    seq: int
    record_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.table} record {self.record_id} (seq {self.seq}): {self.reason}"


@dataclass(frozen=True, slots=True)
class ChainedRow:
    """What the verifier needs of one stored row."""

    seq: int
    record_id: str
    prev_hash: str | None
    record_hash: str | None
    fields: Mapping[str, Any]


def first_break(table: str, rows: Iterable[ChainedRow]) -> tuple[ChainBreak | None, int, str]:
    """Walk one table's chain in ``seq`` order.

    Returns (the first break or None, records checked, head hash). A break is a record
    whose ``prev_hash`` is not the previous record's hash (a record removed, inserted
    or moved) or whose content does not hash to its ``record_hash`` (a field changed).
    """
    expected_prev = GENESIS
    count = 0
    for row in rows:
        count += 1
        if row.prev_hash is None or row.record_hash is None:
            return ChainBreak(table, row.seq, row.record_id, "no hash"), count, expected_prev
        if row.prev_hash != expected_prev:
            reason = "prev_hash does not match the previous record (a record removed or moved)"
            return ChainBreak(table, row.seq, row.record_id, reason), count, expected_prev
        if record_hash(table, row.prev_hash, row.fields) != row.record_hash:
            reason = "content does not match its record_hash (the record was changed)"
            return ChainBreak(table, row.seq, row.record_id, reason), count, expected_prev
        expected_prev = row.record_hash
    return None, count, expected_prev


def chained_fields(table: str, row: Mapping[Any, Any]) -> dict[str, Any]:
    """The fields of a stored row that its hash covers, as hashed (times as UTC text)."""
    from locoreg.store.tables import CHAINED_FIELDS

    out: dict[str, Any] = {name: row.get(name) for name in CHAINED_FIELDS[table]}
    created: datetime = out["created_at"]
    out["created_at"] = utc_text(created)
    return out
