"""Shared CLI plumbing: one-line error messages and exit code 2 for bad input."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from enum import StrEnum
from typing import NoReturn

import typer

from locoreg.errors import FieldError, InputError

EXIT_BAD_INPUT = 2


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
