"""The ``locoreg`` command line.

Only ``typer`` and the standard library are imported here; each command imports
its heavy dependencies (scipy, matplotlib, FastAPI, DuckDB) inside its body, so
``locoreg --help`` starts fast.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

import typer

from locoreg import __version__
from locoreg.cli import assess, audit, cohort, evidence, meta, model, serve

app = typer.Typer(
    name="locoreg",
    help=(
        "Decision support for the intact primary tumour in de novo stage IV breast cancer. "
        "Not a substitute for clinical judgement."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"locoreg {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """locoreg: evidence, meta-analysis, registry re-analysis and a decision engine."""


for _module in (assess, evidence, meta, cohort, model, serve, audit):
    _module.register(app)


def main() -> None:
    """Run the command, then end the process without tearing the interpreter down.

    After a command, CPython's finalisation mostly frees memory that the operating system
    reclaims anyway - module dictionaries, numba's LLVM, DuckDB, matplotlib: about 0.5 s
    after ``cohort analyze``. When the command has left no thread running, what matters of
    finalisation is done here instead - the ``atexit`` handlers (logging, ``weakref.finalize``
    such as temporary directories), then the standard streams are flushed - and the process
    ends with ``os._exit``. Otherwise, and after an uncaught exception, it ends the usual way.
    """
    try:
        app()
        code: int = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # sys.exit("message"): printed, status 1, as the interpreter does
            print(exc.code, file=sys.stderr)
            code = 1
    _end(code)


def _end(code: int) -> NoReturn:
    run_atexit = getattr(atexit, "_run_exitfuncs", None)  # CPython's own exit step
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    if run_atexit is None or any(not t.daemon for t in others):
        sys.exit(code)
    run_atexit()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`): the interpreter says 120
            code = code or 120
    os._exit(code)
