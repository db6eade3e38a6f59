"""Errors as values: a field path, what is wrong, and what is allowed.

The same :class:`FieldError` list feeds the CLI (one line each, exit code 2) and
the HTTP API (422 with ``{"errors": [...]}``), so a user reads the same words
wherever the input came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field.

    ``field`` is a dotted path into the input (``metastases.0.site``); the empty
    string means the input as a whole.
    """

    field: str
    message: str
    allowed: str | None = None

    def __str__(self) -> str:
        where = self.field or "input"
        text = f"{where}: {self.message}"
        if self.allowed and self.allowed not in self.message:
            text += f" (allowed: {self.allowed})"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class InputError(ValueError):
    """Invalid input; carries every problem found, not just the first."""

    def __init__(self, errors: Sequence[FieldError]):
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors))

    @classmethod
    def single(cls, field: str, message: str, allowed: str | None = None) -> InputError:
        return cls([FieldError(field, message, allowed)])


def _path(loc: Iterable[int | str]) -> str:
    return ".".join(str(part) for part in loc)


# Strict types (contract v2): say what is allowed, and what was given, in JSON spelling.
_STRICT_TYPE_MESSAGES = {
    "int_type": "must be a whole number written as a JSON/YAML integer (e.g. 52)",
    "int_from_float": "must be a whole number written as a JSON/YAML integer (e.g. 52)",
    "bool_type": "must be true or false",
    "float_type": "must be a number (e.g. 6 or 6.5)",
    "finite_number": "must be a finite number (NaN and infinity are not allowed)",
}


def _shown(value: object) -> str:
    """The given value in JSON spelling (true, "52", NaN), shortened."""
    import json

    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Translate a pydantic ``ValidationError`` into :class:`FieldError` values.

    Cross-field checks raise ``PydanticCustomError`` with a ``field`` entry in
    their context, so that they too name the field they are about.
    """
    out: list[FieldError] = []
    for err in exc.errors(include_url=False):
        ctx = err.get("ctx") or {}
        loc = err.get("loc", ())
        field = _path(loc) if loc else str(ctx.get("field", ""))
        kind = err.get("type", "")
        allowed = ctx.get("allowed")
        if kind == "extra_forbidden":
            message = "unknown field; it is not part of the input contract"
        elif kind == "missing":
            message = "required field is missing"
        elif kind in _STRICT_TYPE_MESSAGES:
            message = f"{_STRICT_TYPE_MESSAGES[kind]}, not {_shown(err.get('input'))}"
        else:
            message = str(err.get("msg", "invalid value"))
            # pydantic prefixes custom messages with "Value error, "; users do not need it.
            message = message.removeprefix("Value error, ")
        out.append(FieldError(field, message, str(allowed) if allowed is not None else None))
    return out
