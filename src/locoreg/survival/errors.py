"""The survival engine's typed argument error.

The engine imports nothing else of locoreg, so it raises :class:`ArgumentError` (a
``ValueError``) naming the argument at fault and, where it helps, the offending row and
the allowed values; ``locoreg.errors.core_error`` turns it into a field error. The
survival messages are whole sentences that already name the argument
(``"weights must be positive"``), so ``str()`` is the message itself.
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
        super().__init__(message)
