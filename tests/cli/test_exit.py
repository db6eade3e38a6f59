"""`locoreg.cli.main` ends the process with ``os._exit`` once the command is done (no slow
interpreter teardown): the exit status, buffered output and ``atexit`` handlers are kept, and
a thread the command left running is still waited for."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


def test_status_output_and_atexit_handlers_survive_the_fast_exit(tmp_path: Path) -> None:
    marker, missing = tmp_path / "atexit.txt", tmp_path / "missing.csv"
    torn_down = tmp_path / "teardown.txt"
    out = _run(f"""
        import atexit, pathlib, sys
        atexit.register(lambda: pathlib.Path({str(marker)!r}).write_text("ran"))
        class Resident:  # freed only by the interpreter's teardown, which is skipped
            def __del__(self):
                pathlib.Path({str(torn_down)!r}).write_text("torn down")
        resident = Resident()
        sys.argv = ["locoreg", "cohort", "analyze", {str(missing)!r}]
        from locoreg.cli import main
        print("buffered, not yet flushed", end="")
        main()
        print("never printed")
    """)
    assert out.returncode == 2
    assert out.stdout == "buffered, not yet flushed"
    assert out.stderr.startswith("error: file: no such file")
    assert marker.read_text() == "ran"
    assert not torn_down.exists()


def test_a_thread_left_running_ends_the_usual_way(tmp_path: Path) -> None:
    marker = tmp_path / "thread.txt"
    out = _run(f"""
        import pathlib, sys, threading, time
        def late():
            time.sleep(0.3)
            pathlib.Path({str(marker)!r}).write_text("joined")
        threading.Thread(target=late).start()
        sys.argv = ["locoreg", "--version"]
        from locoreg.cli import main
        main()
    """)
    assert out.returncode == 0 and out.stdout.startswith("locoreg ")
    assert marker.read_text() == "joined"
