"""The layer contract of ARCHITECTURE.md holds ([tool.importlinter] in pyproject.toml).

`make test` runs `lint-imports` too; this test makes a plain `pytest` catch an upward
import (function-level imports included) where it is made.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_layer_contract_is_kept() -> None:
    # In a child process: import-linter reconfigures logging when it runs, which would
    # silence the log records that later tests of this worker capture.
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        f"sys.exit(lint_imports({str(ROOT / 'pyproject.toml')!r}, no_cache=True, no_logo=True))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
