"""Shared CLI plumbing: one-line error messages, exit codes, option choices, the evidence base."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, NoReturn

import typer

from locoreg.errors import FieldError, InputError

if TYPE_CHECKING:
    from locoreg.evidence.base import EvidenceBase

EXIT_BAD_INPUT = 2
#: exit code when the packaged evidence base itself is broken (not the user's input)
EXIT_PROBLEMS = 1


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


class DataFormat(StrEnum):
    text = "text"
    json = "json"


def fail(errors: Iterable[FieldError] | InputError | str) -> NoReturn:
    """Print one line per problem to stderr and exit with code 2 (no traceback)."""
    if isinstance(errors, str):
        lines = [errors]
    elif isinstance(errors, InputError):
        lines = [str(e) for e in errors.errors]
    else:
        lines = [str(e) for e in errors]
    for line in lines:
        print(f"error: {line}", file=sys.stderr)
    raise typer.Exit(EXIT_BAD_INPUT)


def choose(
    option: str,
    value: str,
    allowed: Sequence[str],
    errors: list[FieldError],
    *,
    upper: bool = False,
) -> str:
    """``value`` normalised (stripped; lower case, or upper with ``upper``); a problem naming
    ``option`` and the allowed values is appended to ``errors`` when it is not one of them."""
    normalised = value.strip().upper() if upper else value.strip().lower()
    if normalised not in allowed:
        errors.append(FieldError(option, f"unknown value {value!r}", ", ".join(allowed)))
    return normalised


def evidence_base() -> EvidenceBase:
    """The packaged base; a broken one is reported line by line (exit 1), never a traceback."""
    from locoreg.evidence.base import EvidenceError, load_evidence_base

    try:
        return load_evidence_base()
    except EvidenceError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(EXIT_PROBLEMS) from None
