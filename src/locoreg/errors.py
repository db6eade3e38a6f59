"""Errors as values: a field path, what is wrong, and what is allowed.

The same :class:`FieldError` list feeds the CLI (one line each, exit code 2) and
the HTTP API (422 with ``{"errors": [...]}``), so a user reads the same words
wherever the input came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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


#: where FastAPI says a value came from; users name the field, not the transport
_LOCATIONS = ("body", "query", "path", "header", "cookie")


def _field(loc: Sequence[Any], ctx: Mapping[str, Any]) -> str:
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    if parts:
        return ".".join(str(p) for p in parts)
    return str(ctx.get("field", ""))


def _enum_values(expected: str) -> str:
    """pydantic's "'a', 'b' or 'c'" → "a, b, c" (the CLI's wording)."""
    return expected.replace("' or '", ", ").replace("', '", ", ").strip("'")


_WHOLE_BODY = ("model_attributes_type", "dict_type", "model_type")


def pydantic_errors(errors: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    """pydantic (or FastAPI request) error dicts → :class:`FieldError`, the one translator.

    The field is the error's location without FastAPI's transport part (``body``,
    ``query``...); cross-field checks raise ``PydanticCustomError`` with a ``field`` (and
    ``allowed``) entry in their context, so that they too name the field they are about.
    Enum and literal errors list the allowed values.
    """
    out: list[FieldError] = []
    for err in errors:
        ctx = err.get("ctx") or {}
        kind = err.get("type", "")
        field = _field(err.get("loc", ()), ctx)
        allowed = ctx.get("allowed") or (
            _enum_values(ctx["expected"]) if kind in ("enum", "literal_error") else None
        )
        if kind == "json_invalid":
            # the whole body is unreadable: no field to name (loc holds a byte offset)
            field = ""
        elif not field and kind in _WHOLE_BODY:
            out.append(FieldError("", "the request body must be a JSON object"))
            continue
        if kind == "extra_forbidden":
            message = "unknown field; it is not part of the input contract"
        elif kind == "missing":
            message = "required field is missing" if field else "the request body is empty"
        elif kind == "json_invalid":
            message = "the request body is not valid JSON"
        else:
            # pydantic prefixes custom messages with "Value error, "; users do not need it
            message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        out.append(FieldError(field, message, str(allowed) if allowed is not None else None))
    return out


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Translate a pydantic ``ValidationError`` (see :func:`pydantic_errors`)."""
    return pydantic_errors(exc.errors(include_url=False))


def core_error(
    exc: Exception, *, columns: Mapping[str, str] | None = None, rows: bool = False
) -> FieldError:
    """A numeric core's ``ArgumentError`` (``locoreg.meta.errors``, ``locoreg.survival.errors``)
    → :class:`FieldError`.

    The cores import nothing of the package, so their error is read by its attributes
    (``argument``, ``message``, ``index``, ``allowed``). ``columns`` renames an argument
    to the input field it came from (``{"yi": "logHR"}``); an entry ``index`` becomes
    ``field.index`` (JSON arrays), or with ``rows=True`` the message prefix ``row
    index+1`` (CSV data rows, 1 = first row after the header). Any other exception gives
    a field-less error with its text.
    """
    argument = getattr(exc, "argument", None)
    if not isinstance(argument, str):
        return FieldError("", str(exc))
    field = (columns or {}).get(argument, argument)
    message = str(getattr(exc, "message", exc))
    index = getattr(exc, "index", None)
    if index is not None:
        if rows:
            message = f"row {index + 1}: {message}"
        else:
            field = f"{field}.{index}"
    allowed = getattr(exc, "allowed", None)
    return FieldError(field, message, allowed if isinstance(allowed, str) else None)
