"""The meta-analysis engine's typed argument error.

The engine imports nothing else of locoreg, so it cannot raise the package's
``FieldError``; it raises :class:`ArgumentError`, which names the argument, the entry
(0-based index, when one element of an array is at fault) and the allowed values.
``locoreg.errors.core_error`` turns it into a field error for the CLI and the API.
It is a ``ValueError``, and ``str()`` reads ``"vi[3]: sampling variance -1 must be > 0"``.
"""

from __future__ import annotations


class ArgumentError(ValueError):
    """A bad argument of a numeric function: ``argument``, ``index``, ``message``, ``allowed``."""

    def __init__(
        self,
        argument: str,
        message: str,
        *,
        index: int | None = None,
        allowed: str | None = None,
    ) -> None:
        self.argument = argument
        self.message = message
        self.index = index
        self.allowed = allowed
        where = argument if index is None else f"{argument}[{index}]"
        super().__init__(f"{where}: {message}")
