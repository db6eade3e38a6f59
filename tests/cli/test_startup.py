"""`locoreg --help` must start fast: heavy libraries are imported lazily, inside commands.

Not a timed test: it checks *what* is imported, which is what makes start-up slow.
The time itself is measured in benchmarks/bench_startup.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("scipy", "matplotlib", "fastapi", "pandas", "duckdb", "sqlalchemy", "numpy",
         "fhir", "jinja2", "uvicorn")  # fmt: skip


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys, json\n"
        "from locoreg.cli import app\n"
        "try:\n"
        "    app(['--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    assert json.loads(out) == []


def test_version_flag() -> None:
    from typer.testing import CliRunner

    from locoreg import __version__
    from locoreg.cli import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"locoreg {__version__}"
