"""The evidence base's change log: ``data/CHANGELOG.md``, kept with the records.

Each entry is a level-2 heading naming the snapshot it produced and the date, then one
bullet per change::

    ## 2026.11-4da7c1d35dcd (2026-12-06)
    - added neuman2010: ...

The file is Markdown, not YAML, so it is not part of the snapshot hash
(:func:`locoreg.evidence.base.snapshot_id` reads ``*.yaml`` only): an entry can name the
snapshot it describes. When the newest entry names another snapshot than the loaded one,
the records changed after the last entry (:attr:`ChangeLog.current`), which the web page
says. ``locoreg evidence diff OLD NEW`` prints what to write (docs/evidence.md).
Chosen over git metadata because an installed package has no repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CHANGELOG_FILE", "ChangeEntry", "ChangeLog", "read_changelog"]

CHANGELOG_FILE = "CHANGELOG.md"
_HEADING = re.compile(r"^##\s+(?P<snapshot>\S+)(?:\s+\((?P<date>[^)]*)\))?\s*$")


@dataclass(frozen=True, slots=True)
class ChangeEntry:
    """One release of the records: the snapshot it produced, its date, what changed."""

    snapshot: str
    date: str | None
    changes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChangeLog:
    """The entries, newest first, and whether the newest describes the loaded snapshot."""

    entries: tuple[ChangeEntry, ...]
    snapshot: str

    @property
    def current(self) -> bool:
        return bool(self.entries) and self.entries[0].snapshot == self.snapshot


def read_changelog(directory: Path, snapshot: str) -> ChangeLog:
    """Parse ``directory/CHANGELOG.md`` (an empty log when there is none)."""
    path = directory / CHANGELOG_FILE
    if not path.is_file():
        return ChangeLog((), snapshot)
    entries: list[ChangeEntry] = []
    heading: re.Match[str] | None = None
    changes: list[str] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), "## end"]:
        if line.startswith("## "):
            if heading is not None:
                entries.append(ChangeEntry(heading["snapshot"], heading["date"], tuple(changes)))
            heading, changes = _HEADING.match(line), []
        elif heading is not None and line.startswith("- "):
            changes.append(line[2:].strip())
        elif heading is not None and line.startswith("  ") and changes:
            changes[-1] += " " + line.strip()  # a bullet continued on the next line
    return ChangeLog(tuple(entries), snapshot)
