"""The change log kept with the records: parsed, and whether it describes the snapshot."""

from __future__ import annotations

from pathlib import Path

from locoreg.evidence.changelog import read_changelog


def test_entries_newest_first_with_continued_bullets(tmp_path: Path) -> None:
    (tmp_path / "CHANGELOG.md").write_text(
        "# Log\n\nintro\n\n## 2026.11-bbb (2026-12-06)\n- added x: a long\n  line\n- changed y\n\n"
        "## 2026.11-aaa\n- first\n",
        encoding="utf-8",
    )
    log = read_changelog(tmp_path, "2026.11-bbb")
    assert [e.snapshot for e in log.entries] == ["2026.11-bbb", "2026.11-aaa"]
    assert log.entries[0].date == "2026-12-06" and log.entries[1].date is None
    assert log.entries[0].changes == ("added x: a long line", "changed y")
    assert log.current
    assert not read_changelog(tmp_path, "2026.11-ccc").current  # records changed since


def test_no_changelog_is_an_empty_log(tmp_path: Path) -> None:
    log = read_changelog(tmp_path, "2026.11-aaa")
    assert log.entries == () and not log.current


def test_the_packaged_log_parses() -> None:
    from locoreg.evidence.base import DATA_DIR, load_evidence_base

    log = read_changelog(DATA_DIR, load_evidence_base().snapshot)
    assert len(log.entries) >= 2 and all(e.changes for e in log.entries)
