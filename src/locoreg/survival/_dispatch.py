"""The formula front end's entry point on the public functions.

``@accepts_formula("cox")`` lets ``cox("Surv(time, status) ~ age", data=df)`` and the
array form ``cox(time, event, X)`` share one public name. The wrapper costs one
``isinstance`` on the array path; pandas and formulaic are imported only when a formula
is given (``locoreg.survival.formula``). The regressions (``cox``, ``survreg``) also take a
DataFrame first, as lifelines' ``fit(df, duration_col, event_col)``: every other column is
a covariate (``survival.formula.from_columns`` writes the formula). For type checkers
the wrapped function is a :class:`FormulaOrArrays`: the array signature unchanged, plus
the formula (and DataFrame) overloads, whose result type is the function's own unless
``returns`` names another (a curve per group, a pandas Series).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, cast, overload

if TYPE_CHECKING:
    import pandas as pd

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F")
R_co = TypeVar("R_co", covariant=True)
F_co = TypeVar("F_co", covariant=True)


class FormulaOrArrays(Protocol[P, R_co, F_co]):
    """A public function that takes either a formula and ``data`` or its arrays."""

    @overload
    def __call__(self, formula: str, /, *, data: Any, **options: Any) -> F_co: ...
    @overload
    def __call__(
        self, data: pd.DataFrame, /, *, duration_col: str, event_col: str, **options: Any
    ) -> F_co: ...
    @overload
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...


@overload
def accepts_formula(name: str) -> Callable[[Callable[P, R]], FormulaOrArrays[P, R, R]]: ...
@overload
def accepts_formula(
    name: str, returns: type[F]
) -> Callable[[Callable[P, R]], FormulaOrArrays[P, R, F]]: ...
def accepts_formula(name: str, returns: Any = None) -> Any:
    """Route a call whose first argument is a str to ``formula.FRONT_ENDS[name]``.

    ``returns`` only informs the type checker of the formula form's result type.
    """

    def decorate(fn: Callable[..., Any]) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if args and isinstance(args[0], str):
                from .formula import FRONT_ENDS

                return FRONT_ENDS[name](fn, *args, **kwargs)
            pandas = sys.modules.get("pandas")  # a DataFrame means pandas is loaded already
            if args and pandas is not None and isinstance(args[0], pandas.DataFrame):
                from .formula import FRONT_ENDS, from_columns

                formula, options = from_columns(name, *args, **kwargs)
                return FRONT_ENDS[name](fn, formula, **options)
            return fn(*args, **kwargs)

        return cast(Any, wrapper)

    return decorate
