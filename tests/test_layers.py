"""The layer contract of ARCHITECTURE.md holds ([tool.importlinter] in pyproject.toml).

`make test` runs `lint-imports` too; this test makes a plain `pytest` catch an upward
import (function-level imports included) where it is made.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_layer_contract_is_kept() -> None:
    from importlinter.cli import lint_imports

    assert lint_imports(str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0
