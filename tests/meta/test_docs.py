"""docs/meta-analysis.md opens with a tutorial that must run as written (doctest)."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def test_meta_tutorial_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the tutorial reads tests/fixtures/metafor/dat_bcg.csv
    result = doctest.testfile(
        str(ROOT / "docs" / "meta-analysis.md"),
        module_relative=False,
        optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS,
    )
    assert result.attempted >= 8
    assert result.failed == 0
