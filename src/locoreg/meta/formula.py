"""The DataFrame and formula form of :func:`locoreg.meta.rma`, as metafor's
``rma(yi, vi, mods = ~ x, data = dat)``.

``yi`` and ``vi`` name columns of ``data`` (or are arrays, one value per row); ``mods`` is a
one-sided formula over the columns of ``data``, coded by formulaic with R's conventions:
treatment contrasts against the first level (``contr.treatment``), ``factor(x)`` an alias of
formulaic's ``C(x)``, text columns read as factors, interactions ``a:b`` and ``a*b``, and
R's column names (``factor(alloc)[T.random]`` becomes ``factor(alloc)random``). Rows with a
missing value in ``yi``, ``vi`` or a column the formula uses are dropped first, as R's
``na.omit`` and metafor do; the count is kept in the result (``n_dropped``).

Only this module imports pandas and formulaic, and only when a formula or ``data`` is
given: the array form of ``rma`` does not load them.

References
----------
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw
2010;36(3):1-48. formulaic: https://matthewwardrop.github.io/formulaic/
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from locoreg.meta.errors import ArgumentError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MetaFrame", "meta_frame"]

_LEVEL = re.compile(r"\[(?:T\.)?([^\]]*)\]")


@dataclass(frozen=True, eq=False)
class MetaFrame:
    """The arrays of a formula evaluated on a data frame, rows with NA dropped."""

    yi: NDArray[np.float64]
    vi: NDArray[np.float64]
    #: moderators without the intercept column (None for ``mods=None`` or ``"~ 1"``)
    mods: NDArray[np.float64] | None
    names: tuple[str, ...]
    n_dropped: int


def _column(value: str | ArrayLike, data: pd.DataFrame, argument: str) -> NDArray[Any]:
    if isinstance(value, str):
        if value not in data.columns:
            raise ArgumentError(
                argument, f"column {value!r} not found", allowed=", ".join(map(str, data.columns))
            )
        return np.asarray(data[value].to_numpy(dtype=np.float64, na_value=np.nan))
    values = np.asarray(value, dtype=np.float64)
    if values.shape != (len(data),):
        raise ArgumentError(argument, f"expected one value per row of data ({len(data)})")
    return values


def _columns_named(text: str, data: pd.DataFrame) -> list[Any]:
    """Columns of ``data`` whose name occurs as a whole token in ``text``."""
    return [
        c
        for c in data.columns
        if re.search(r"(?<![\w.])" + re.escape(str(c)) + r"(?![\w.])", text) is not None
    ]


def _r_name(name: str) -> str:
    """formulaic's ``alloc[T.random]`` -> R's ``allocrandom`` (a whole-number level of a
    float column reads as R prints it: ``1``)."""
    name = _LEVEL.sub(lambda m: re.sub(r"^(-?\d+)\.0$", r"\1", m.group(1)), name)
    return name.replace("`", "")


def meta_frame(
    yi: str | ArrayLike,
    vi: str | ArrayLike,
    mods: str | None,
    data: Any,
) -> MetaFrame:
    """Evaluate ``yi``, ``vi`` and the moderator formula ``mods`` on ``data``.

    Parameters
    ----------
    yi, vi : str or array_like
        Column names of ``data`` (or one value per row).
    mods : str or None
        One-sided formula such as ``"~ ablat + factor(alloc)"``; the intercept is kept
        (``- 1`` is refused: the engine always fits one).
    data : pandas.DataFrame
        The studies, one per row.

    Returns
    -------
    MetaFrame
        ``yi``, ``vi``, the moderator matrix without the intercept, R's coefficient names
        and the number of rows dropped for a missing value.
    """
    import pandas as pd

    if data is None:
        raise ArgumentError("data", "column names and a formula need data=, a DataFrame")
    if not isinstance(data, pd.DataFrame):
        raise ArgumentError("data", f"expected a pandas DataFrame, got {type(data).__name__}")
    if len(data) == 0:
        raise ArgumentError("data", "no rows (no studies)")
    y = _column(yi, data, "yi")
    v = _column(vi, data, "vi")
    keep = ~(np.isnan(y) | np.isnan(v))
    rhs: str | None = None
    if mods is not None:
        text = mods.strip()
        if not text.startswith("~") or not text[1:].strip():
            raise ArgumentError("mods", f"{mods!r} is not a one-sided formula", allowed='"~ year"')
        rhs = text[1:].strip()
        for name in _columns_named(rhs, data):
            keep &= data[name].notna().to_numpy()
    n_dropped = int(len(data) - keep.sum())
    if not keep.any():
        raise ArgumentError("data", "every row has a missing value in a column the model uses")
    sub = data if n_dropped == 0 else data.loc[keep]
    X, names = (None, ()) if rhs is None else _design(rhs, sub)
    return MetaFrame(y[keep], v[keep], X, names, n_dropped)


def _design(rhs: str, data: pd.DataFrame) -> tuple[NDArray[np.float64] | None, tuple[str, ...]]:
    """formulaic's model matrix of ``1 + rhs`` (treatment contrasts), intercept removed."""
    from formulaic import Formula, model_matrix
    from formulaic.errors import FormulaicError
    from formulaic.transforms.contrasts import C

    for column in (str(c) for c in data.columns if "." in str(c)):
        # R names such as ph.ecog are quoted, or formulaic reads attribute ecog of ph
        rhs = re.sub(r"(?<![\w.`])" + re.escape(column) + r"(?![\w.`])", f"`{column}`", rhs)
    try:
        if "1" not in [str(t) for t in Formula(rhs)]:
            raise ArgumentError("mods", "the model always has an intercept: remove '- 1'/'0 +'")
        mm = model_matrix(rhs, data, context={"factor": C}, na_action="raise", output="pandas")
    except ArgumentError:
        raise
    except (FormulaicError, NameError, SyntaxError, KeyError, ValueError, TypeError) as exc:
        # formulaic's message: first line, without the terminal colour codes
        reason = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()[0]
        absent = re.search(r"`([^`]+)` is not present in the dataset|name '(\w+)' is not", reason)
        if absent:
            name = absent.group(1) or absent.group(2)
            columns = ", ".join(map(str, data.columns))
            raise ArgumentError("mods", f"column {name!r} not found", allowed=columns) from None
        raise ArgumentError("mods", f"cannot read the formula {rhs!r}: {reason}") from None
    names = [_r_name(str(c)) for c in mm.columns if str(c) != "Intercept"]
    if not names:
        return None, ()
    values = mm.drop(columns="Intercept").to_numpy(dtype=np.float64)
    return values, tuple(names)
