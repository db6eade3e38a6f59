"""Shared CLI plumbing: one-line error messages, exit codes, option choices, the evidence base."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
import typing
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from locoreg.errors import FieldError, InputError

if TYPE_CHECKING:
    from locoreg.evidence.base import EvidenceBase

R = TypeVar("R")

EXIT_BAD_INPUT = 2
#: exit code when the packaged evidence base itself is broken (not the user's input)
EXIT_PROBLEMS = 1


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    patient_html = "patient-html"
    pdf = "pdf"


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


def with_options(**groups: type) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Give a typer command groups of options as frozen dataclasses.

    Each field of a group's dataclass has a ``typer.Option(...)`` as its default; the
    decorator adds the fields to the command's signature (so typer shows them as options)
    and calls the command with one instance per group, under the keyword ``groups`` names::

        @app.command()
        @with_options(selection=SelectionOptions)
        def sql(selection: SelectionOptions) -> None: ...

    Several commands share a group without repeating its options (typer has no option
    groups of its own).
    """

    def decorate(command: Callable[..., R]) -> Callable[..., R]:
        signature = inspect.signature(command)
        hints = typing.get_type_hints(command)
        kept = [p for name, p in signature.parameters.items() if name not in groups]
        added: list[inspect.Parameter] = []
        for cls in groups.values():
            types = typing.get_type_hints(cls)
            for f in dataclasses.fields(cls):
                added.append(
                    inspect.Parameter(
                        f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                        annotation=types[f.name],
                    )
                )  # fmt: skip

        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> R:
            for keyword, cls in groups.items():
                values = {f.name: kwargs.pop(f.name) for f in dataclasses.fields(cls)}
                kwargs[keyword] = cls(**values)
            return command(*args, **kwargs)

        run.__signature__ = signature.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
        run.__annotations__ = {
            **{k: v for k, v in hints.items() if k not in groups},
            **{p.name: p.annotation for p in added},
        }
        return run

    return decorate
