"""The ``locoreg`` command line.

Only ``typer`` and the standard library are imported here; each command imports
its heavy dependencies (scipy, matplotlib, FastAPI, DuckDB) inside its body, so
``locoreg --help`` starts fast.
"""

from __future__ import annotations

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
    app()
