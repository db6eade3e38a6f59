"""The formula front end's entry point on the public functions.

``@accepts_formula("cox")`` lets ``cox("Surv(time, status) ~ age", data=df)`` and the
array form ``cox(time, event, X)`` share one public name. The wrapper costs one
``isinstance`` on the array path; pandas and formulaic are imported only when a formula
is given (``locoreg.survival.formula``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, Protocol, TypeVar, cast, overload

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)


class FormulaOrArrays(Protocol[P, R_co]):
    """A public function that takes either a formula and ``data`` or its arrays."""

    @overload
    def __call__(self, formula: str, /, *, data: Any, **options: Any) -> R_co: ...
    @overload
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...


def accepts_formula(
    name: str,
) -> Callable[[Callable[P, R_co]], FormulaOrArrays[P, R_co]]:
    """Route a call whose first argument is a str to ``formula.FRONT_ENDS[name]``."""

    def decorate(fn: Callable[P, R_co]) -> FormulaOrArrays[P, R_co]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if args and isinstance(args[0], str):
                from .formula import FRONT_ENDS

                return FRONT_ENDS[name](fn, *args, **kwargs)
            return fn(*args, **kwargs)

        return cast(FormulaOrArrays[P, R_co], wrapper)

    return decorate
