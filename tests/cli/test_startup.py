"""`locoreg --help` must start fast: heavy libraries are imported lazily, inside commands.

Not a timed test: it checks *what* is imported, which is what makes start-up slow.
The time itself is measured in benchmarks/bench_startup.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("scipy", "matplotlib", "fastapi", "pandas", "duckdb", "sqlalchemy", "numpy",
         "fhir", "jinja2", "uvicorn", "numba")  # fmt: skip


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


def test_numba_loads_on_the_first_fit_not_with_the_package() -> None:
    """The compiled kernels (and numba, ~0.3 s to import) load on the first Cox fit."""
    code = (
        "import sys\n"
        "from locoreg.survival import cox, kaplan_meier\n"
        "kaplan_meier([1.0, 2.0, 3.0], [1, 0, 1])\n"
        "print('numba' in sys.modules)\n"
        "cox([1.0, 2.0, 3.0, 4.0], [1, 1, 0, 1], [[0.1], [0.5], [0.2], [0.9]])\n"
        "print('numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_version_flag() -> None:
    from typer.testing import CliRunner

    from locoreg import __version__
    from locoreg.cli import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"locoreg {__version__}"
