"""Formula and DataFrame front end: R's ``Surv(time, status) ~ x + strata(s)`` for the fits.

The right-hand side is parsed and coded by formulaic (treatment contrasts against the first
level, R's column names: ``sex[T.male]`` becomes ``sexmale``; ``factor(x)`` is an alias of
formulaic's ``C(x)``; interactions ``a:b`` and ``a*b``); the left-hand side and R's
specials are handled around it:

* ``Surv(time, status)``: right censoring; as R, a status coded 1/2 means 2 = event.
  ``Surv(start, stop, status)``: counting-process rows (start, stop].
* ``strata(a, b)``: stratum per combination of levels; ``cluster(id)``: ids for the robust
  variance; ``offset(expr)``: a fixed term of the linear predictor.

Rows with a missing value in any used column (time, status, covariates, specials, weights)
are dropped first, as R's default ``na.action = na.omit``; the count is kept in the result
(``n_dropped``) and printed. Everything here only translates a data frame into the arrays
of the numeric functions, which stay free of pandas.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]

_SPECIALS = ("strata", "cluster", "offset")
_SPECIAL = re.compile(r"^\s*(strata|cluster|offset)\s*\((.*)\)\s*$", re.S)
_SURV = re.compile(r"^\s*Surv\s*\((.*)\)\s*$", re.S)
_LEVEL = re.compile(r"\[(?:T\.)?([^\]]*)\]")
_FUNCTIONS: dict[str, Any] = {
    "log": np.log,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "np": np,
    "I": lambda value: value,  # formulaic's/R's "as is"
}


@dataclass(frozen=True, eq=False)
class ModelFrame:
    """Arrays of a formula evaluated on a data frame, rows with NA dropped."""

    formula: str
    time: FloatArray
    event: NDArray[Any]
    entry: FloatArray | None
    X: FloatArray | None
    names: tuple[str, ...]
    groups: tuple[NDArray[Any], ...]  # right-hand side variables, uncoded (KM, log-rank)
    group_names: tuple[str, ...]
    strata: NDArray[Any] | None
    cluster: NDArray[Any] | None
    offset: FloatArray | None
    weights: FloatArray | None
    index: pd.Index  # the kept rows of ``data``
    n_dropped: int


# --------------------------------------------------------------------------- parsing


def _split_arguments(text: str) -> list[str]:
    """Top-level comma-separated arguments of a call (brackets and quotes respected)."""
    parts: list[str] = []
    depth = 0
    quote = ""
    current: list[str] = []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


class _Columns(Mapping[str, Any]):
    """Data frame columns as names for ``eval`` (numpy functions as fallbacks)."""

    def __init__(self, data: pd.DataFrame) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        if key in self._data.columns:
            return self._data[key].to_numpy()
        if key in _FUNCTIONS:
            return _FUNCTIONS[key]
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data.columns)

    def __len__(self) -> int:
        return len(self._data.columns)


def _evaluate(expr: str, data: pd.DataFrame, role: str) -> NDArray[Any]:
    """A column (name, or `backticked name`) or a Python expression over the columns."""
    text = expr.strip()
    name = text[1:-1] if text.startswith("`") and text.endswith("`") else text
    if name in data.columns:
        return data[name].to_numpy()
    code = re.sub(r"`([^`]*)`", lambda m: f"__column__({m.group(1)!r})", text)
    for column in (str(c) for c in data.columns if "." in str(c)):  # R names as ph.ecog
        code = re.sub(
            r"(?<![\w.'])" + re.escape(column) + r"(?![\w.'])", f"__column__({column!r})", code
        )
    scope = _Columns(data)
    try:
        value = eval(code, {"__builtins__": {}, "__column__": lambda k: scope[k]}, scope)
    except Exception as exc:
        raise ValueError(
            f"{role} {expr!r} is neither a column of data nor an expression over its columns "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    out = np.asarray(value)
    if out.ndim == 0:
        out = np.full(len(data), out.item())
    if out.shape != (len(data),):
        raise ValueError(f"{role} {expr!r} does not give one value per row")
    return out


def _missing(values: NDArray[Any]) -> NDArray[np.bool_]:
    import pandas as pd

    return np.asarray(pd.isna(values), dtype=bool)


def _combine(columns: list[NDArray[Any]]) -> NDArray[Any]:
    """One label per combination of levels (R ``strata(a, b)`` / ``interaction``)."""
    if len(columns) == 1:
        return columns[0]
    return np.array([", ".join(map(str, row)) for row in zip(*columns, strict=True)], dtype=object)


def _columns_named(text: str, data: pd.DataFrame) -> list[Any]:
    """Columns of ``data`` whose name occurs as a whole token in ``text`` (R names may
    contain dots, as ``ph.ecog``, which formulaic's own variable list splits)."""
    return [
        c
        for c in data.columns
        if re.search(r"(?<![\w.])" + re.escape(str(c)) + r"(?![\w.])", text) is not None
    ]


def _split_formula(formula: str) -> tuple[str, str]:
    if not isinstance(formula, str) or "~" not in formula:
        raise ValueError(f"formula must look like 'Surv(time, status) ~ x + y', got {formula!r}")
    lhs, rhs = formula.split("~", 1)
    if not rhs.strip():
        raise ValueError("formula has no right-hand side; use '~ 1' for no covariates")
    return lhs.strip(), rhs.strip()


def _r_name(name: str) -> str:
    """formulaic's ``sex[T.male]`` (or ``sex[male]`` in full coding) -> R's ``sexmale``;
    a whole-number level of a float column (read with NaN) reads as R prints it: ``1``."""
    name = _LEVEL.sub(lambda m: re.sub(r"^(-?\d+)\.0$", r"\1", m.group(1)), name)
    return name.replace("`", "")


def model_frame(
    formula: str,
    data: pd.DataFrame,
    *,
    design: bool = True,
    weights: str | Any | None = None,
    binary_event: bool = True,
    survival: bool = True,
) -> ModelFrame:
    """Evaluate ``formula`` on ``data`` as R ``model.frame`` + ``model.matrix``.

    Parameters
    ----------
    formula : str
        ``"Surv(time, status) ~ terms"`` (or ``"y ~ terms"`` with ``survival=False``).
    data : pandas.DataFrame
        The columns the formula names.
    design : bool
        Code the right-hand side as a design matrix (regressions); otherwise keep each
        right-hand side term as an uncoded column (curves and tests by group).
    weights : str or array_like, optional
        Case weights: a column name or one value per row of ``data``.
    binary_event : bool
        Apply R's 1/2 status rule (2 = event).
    survival : bool
        False: the left-hand side is a plain column (a treatment indicator).

    Returns
    -------
    ModelFrame
        The arrays, R's column names and ``n_dropped``.

    Notes
    -----
    Treatment contrasts against the first level (R ``contr.treatment``); a row is dropped
    when any used column is missing (R ``na.omit``).

    References
    ----------
    Chambers JM, Hastie TJ. Statistical Models in S. Wadsworth 1992, ch. 2 (formulas,
    model frames). formulaic: https://matthewwardrop.github.io/formulaic/
    """
    import pandas as pd
    from formulaic import Formula

    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    lhs, rhs = _split_formula(formula)
    n = len(data)
    if n == 0:
        raise ValueError("data has no rows")

    # Left-hand side.
    entry_raw: NDArray[Any] | None = None
    if survival:
        m = _SURV.match(lhs)
        if m is None:
            raise ValueError(f"the left-hand side must be Surv(time, status), got {lhs!r}")
        args = _split_arguments(m.group(1))
        if len(args) not in (2, 3):
            raise ValueError(
                "Surv() takes (time, status) or (start, stop, status), got " + str(len(args))
            )
        cols = [_evaluate(a, data, "Surv() argument") for a in args]
        if len(cols) == 3:
            entry_raw = cols[0]
        time_raw, event_raw = cols[-2], cols[-1]
    else:
        time_raw = np.zeros(n)
        event_raw = _evaluate(lhs, data, "left-hand side")

    # Right-hand side: R's specials are taken out, the rest goes to formulaic.
    terms = [str(t) for t in Formula(rhs)]
    specials: dict[str, list[NDArray[Any]]] = {s: [] for s in _SPECIALS}
    plain: list[str] = []
    for term in terms:
        sm = _SPECIAL.match(term)
        if sm is None:
            plain.append(term)
            continue
        kind, inner = sm.group(1), sm.group(2)
        for arg in _split_arguments(inner):
            specials[kind].append(_evaluate(arg, data, f"{kind}()"))
    plain = [t for t in plain if t not in ("1", "0")]
    if "1" not in terms:
        raise ValueError("remove no intercept ('- 1'): these models have none to remove")

    used: list[NDArray[Any]] = [time_raw, event_raw]
    if entry_raw is not None:
        used.append(entry_raw)
    for values in specials.values():
        used.extend(values)
    weight_raw: NDArray[Any] | None = None
    if weights is not None:
        weight_raw = (
            _evaluate(weights, data, "weights")
            if isinstance(weights, str)
            else np.asarray(weights, dtype=np.float64)
        )
        if weight_raw.shape != (n,):
            raise ValueError(f"weights must have one value per row of data ({n})")
        used.append(weight_raw)
    group_cols: list[NDArray[Any]] = []
    rhs_columns: list[str] = []
    if plain:
        rhs_columns = _columns_named(" + ".join(plain), data)
        if not design:
            group_cols = [_evaluate(t, data, "grouping term") for t in plain]
            used.extend(group_cols)
    keep = np.ones(n, dtype=bool)
    for column in used:
        keep &= ~_missing(column)
    for name in rhs_columns:  # column by column: no sub-frame copy
        keep &= data[name].notna().to_numpy()
    n_dropped = int(n - keep.sum())
    if n_dropped == n:
        raise ValueError("every row of data has a missing value in a column the formula uses")
    sub = data if n_dropped == 0 else data.loc[keep]

    def kept(values: NDArray[Any] | None) -> NDArray[Any] | None:
        return values if values is None or n_dropped == 0 else values[keep]

    x: FloatArray | None = None
    names: tuple[str, ...] = ()
    if design and plain:
        x, names = _design(plain, sub)

    event = np.asarray(kept(event_raw))
    if binary_event and survival and event.size:
        ev = np.asarray(event, dtype=np.float64)
        if set(np.unique(ev).tolist()) == {1.0, 2.0}:
            # R Surv(): a status with min 1 and max 2 means 1 = censored, 2 = event
            event = (ev == 2.0).astype(np.float64)
    strata = specials["strata"]
    cluster = specials["cluster"]
    offsets = specials["offset"]
    return ModelFrame(
        formula=formula,
        time=np.asarray(kept(time_raw), dtype=np.float64),
        event=event,
        entry=None if entry_raw is None else np.asarray(kept(entry_raw), dtype=np.float64),
        X=x,
        names=names,
        groups=tuple(np.asarray(kept(g)) for g in group_cols),
        group_names=tuple(plain) if not design else (),
        strata=None if not strata else np.asarray(kept(_combine(strata))),
        cluster=None if not cluster else np.asarray(kept(_combine(cluster))),
        offset=None
        if not offsets
        else np.asarray(kept(np.sum([np.asarray(o, np.float64) for o in offsets], axis=0))),
        weights=None if weight_raw is None else np.asarray(kept(weight_raw), dtype=np.float64),
        index=sub.index,
        n_dropped=n_dropped,
    )


def _design(plain: list[str], data: pd.DataFrame) -> tuple[FloatArray, tuple[str, ...]]:
    """Design matrix (columns in formulaic's term order) and R's column names.

    Terms that are a numeric column used in no other term are copied straight from the
    frame (one contiguous copy per column, the least a fit needs); the rest are coded by
    formulaic with an intercept, as R codes a Cox design (treatment contrasts), which is
    then dropped: the baseline hazard plays its part. A column that also appears in an
    interaction stays with formulaic, whose coding of the interaction depends on it.
    """
    from formulaic import Formula, model_matrix

    rhs = " + ".join(plain)
    for column in (str(c) for c in data.columns if "." in str(c)):
        # R names such as ph.ecog: quoted, so that formulaic reads factor(ph.ecog) as a
        # column and not as attribute ecog of a variable ph.
        rhs = re.sub(r"(?<![\w.`])" + re.escape(column) + r"(?![\w.`])", f"`{column}`", rhs)
    terms = [t for t in Formula(rhs) if str(t) != "1"]
    factors = [[str(f.expr) for f in t.factors] for t in terms]
    direct = set()
    for k, names_k in enumerate(factors):
        name = names_k[0].strip("`")
        if (
            len(names_k) == 1
            and name in data.columns
            and data[name].dtype.kind in "iuf"
            and not any(names_k[0] in other for i, other in enumerate(factors) if i != k)
        ):
            direct.add(k)
    coded: dict[str, tuple[FloatArray, list[str]]] = {}
    rest = [str(t) for k, t in enumerate(terms) if k not in direct]
    if rest:
        mm = model_matrix(
            "1 + " + " + ".join(rest),
            data,
            context={"factor": _categorical()},
            na_action="ignore",
            output="numpy",
        )
        values = np.asarray(mm, dtype=np.float64)
        column_names = list(mm.model_spec.column_names)
        for term, idx in mm.model_spec.term_indices.items():
            coded[str(term)] = (values[:, list(idx)], [column_names[j] for j in idx])
    width = len(direct) + sum(v.shape[1] for k, (v, _) in coded.items() if k != "1")
    # Column-major: every column is written contiguously; the Cox fit sorts rows anyway.
    x = np.empty((len(data), width), order="F")
    names: list[str] = []
    for k, term in enumerate(terms):
        if k in direct:
            name = factors[k][0].strip("`")
            x[:, len(names)] = data[name].to_numpy(dtype=np.float64)
            names.append(name)
        else:
            block, block_names = coded[str(term)]
            x[:, len(names) : len(names) + block.shape[1]] = block
            names.extend(_r_name(c) for c in block_names)
    return x, tuple(names)


def _categorical() -> Any:
    from formulaic.transforms.contrasts import C

    return C


def group_labels(frame: ModelFrame) -> tuple[NDArray[Any], list[Hashable], list[str]]:
    """Group code per row, the sorted group keys and R's labels (``"trt=1"``)."""
    if not frame.groups:
        raise ValueError("the formula has no grouping variable on the right-hand side")
    if len(frame.groups) == 1:
        keys_arr, codes = np.unique(frame.groups[0], return_inverse=True)
        keys: list[Hashable] = [k.item() if hasattr(k, "item") else k for k in keys_arr]
        labels = [f"{frame.group_names[0]}={k}" for k in keys]
        return codes, keys, labels
    uniques = [np.unique(g, return_inverse=True) for g in frame.groups]
    combined = np.ravel_multi_index([u[1] for u in uniques], [len(u[0]) for u in uniques])
    present, codes = np.unique(combined, return_inverse=True)
    keys, labels = [], []
    for flat in present.tolist():
        idx = np.unravel_index(flat, [len(u[0]) for u in uniques])
        values = tuple(
            u[0][i].item() if hasattr(u[0][i], "item") else u[0][i]
            for u, i in zip(uniques, idx, strict=True)
        )
        keys.append(values)
        labels.append(
            ", ".join(f"{nm}={v}" for nm, v in zip(frame.group_names, values, strict=True))
        )
    return codes, keys, labels


# --------------------------------------------------------------------------- front ends


def _no_arrays(fn_name: str, args: tuple[Any, ...], options: Mapping[str, Any]) -> None:
    if args:
        raise TypeError(
            f"{fn_name}(formula, data=...) takes no further positional arguments; "
            "pass options by keyword"
        )
    for key in ("time", "event", "X", "group", "strata", "cluster", "entry", "offset", "names"):
        if key in options:
            raise TypeError(f"{key}= comes from the formula; remove it from the call")


def _data(options: dict[str, Any], fn_name: str) -> pd.DataFrame:
    if "data" not in options:
        raise TypeError(f"{fn_name}(formula, data=df): data is missing")
    return options.pop("data")


def _cox(fn: Callable[..., Any], formula: str, *args: Any, **options: Any) -> Any:
    data = _data(options, "cox")
    _no_arrays("cox", args, options)
    frame = model_frame(formula, data, weights=options.pop("weights", None))
    if frame.X is None:
        raise ValueError("the formula has no covariates: a Cox model needs at least one")
    fit = fn(
        frame.time,
        frame.event,
        frame.X,
        strata=frame.strata,
        weights=frame.weights,
        cluster=frame.cluster,
        entry=frame.entry,
        offset=frame.offset,
        names=frame.names,
        **options,
    )
    return replace(fit, formula=formula, n_dropped=frame.n_dropped)


def _kaplan_meier(fn: Callable[..., Any], formula: str, *args: Any, **options: Any) -> Any:
    from .km import KaplanMeierGroups

    data = _data(options, "kaplan_meier")
    _no_arrays("kaplan_meier", args, options)
    frame = model_frame(formula, data, design=False, weights=options.pop("weights", None))
    if frame.strata is not None or frame.cluster is not None or frame.offset is not None:
        raise ValueError("kaplan_meier formulas take grouping variables only (no specials)")
    if not frame.groups:
        fit = fn(frame.time, frame.event, weights=frame.weights, entry=frame.entry, **options)
        return replace(fit, formula=formula, n_dropped=frame.n_dropped)
    codes, keys, labels = group_labels(frame)
    curves = {}
    for k, key in enumerate(keys):
        rows = codes == k
        curves[key] = fn(
            frame.time[rows],
            frame.event[rows],
            weights=None if frame.weights is None else frame.weights[rows],
            entry=None if frame.entry is None else frame.entry[rows],
            **options,
        )
    return KaplanMeierGroups(
        curves=curves, labels=tuple(labels), formula=formula, n_dropped=frame.n_dropped
    )


def _logrank(fn: Callable[..., Any], formula: str, *args: Any, **options: Any) -> Any:
    data = _data(options, "logrank")
    _no_arrays("logrank", args, options)
    frame = model_frame(formula, data, design=False, weights=options.pop("weights", None))
    codes, _, labels = group_labels(frame)
    fit = fn(frame.time, frame.event, codes, strata=frame.strata, weights=frame.weights, **options)
    return replace(fit, groups=tuple(labels), formula=formula, n_dropped=frame.n_dropped)


def _aalen_johansen(fn: Callable[..., Any], formula: str, *args: Any, **options: Any) -> Any:
    data = _data(options, "aalen_johansen")
    _no_arrays("aalen_johansen", args, options)
    frame = model_frame(
        formula, data, design=False, weights=options.pop("weights", None), binary_event=False
    )
    if frame.groups:
        codes, keys, _ = group_labels(frame)
        return {
            key: fn(
                frame.time[codes == k],
                frame.event[codes == k],
                weights=None if frame.weights is None else frame.weights[codes == k],
                entry=None if frame.entry is None else frame.entry[codes == k],
                **options,
            )
            for k, key in enumerate(keys)
        }
    return fn(frame.time, frame.event, weights=frame.weights, entry=frame.entry, **options)


def _gray_test(fn: Callable[..., Any], formula: str, *args: Any, **options: Any) -> Any:
    data = _data(options, "gray_test")
    _no_arrays("gray_test", args, options)
    frame = model_frame(formula, data, design=False, binary_event=False)
    codes, _, labels = group_labels(frame)
    fit = fn(frame.time, frame.event, codes, strata=frame.strata, **options)
    return replace(fit, groups=tuple(labels))


def _fine_gray(fn: Callable[..., Any], formula: str, *args: Any, **options: Any) -> Any:
    data = _data(options, "fine_gray")
    _no_arrays("fine_gray", args, options)
    frame = model_frame(formula, data, binary_event=False)
    if frame.X is None:
        raise ValueError("the formula has no covariates")
    if frame.strata is not None or frame.cluster is not None or frame.offset is not None:
        raise ValueError("fine_gray formulas take covariates only (no specials)")
    fit = fn(frame.time, frame.event, frame.X, **options)
    return replace(fit, names=frame.names, formula=formula, n_dropped=frame.n_dropped)


def _propensity_score(fn: Callable[..., Any], formula: str, *args: Any, **options: Any) -> Any:
    data = _data(options, "propensity_score")
    _no_arrays("propensity_score", args, options)
    frame = model_frame(formula, data, survival=False)
    if frame.X is None:
        raise ValueError("the formula has no covariates")
    fit = fn(frame.X, frame.event, **options)
    return replace(fit, names=("(Intercept)", *frame.names), n_dropped=frame.n_dropped)


def _iptw_weights(fn: Callable[..., Any], formula: str, *args: Any, **options: Any) -> Any:
    """``treated ~ covariates``: fit the propensity model, then the weights (a Series
    aligned with ``data``; NaN on rows dropped for missing values)."""
    import pandas as pd

    from .causal import propensity_score

    data = _data(options, "iptw_weights")
    _no_arrays("iptw_weights", args, options)
    frame = model_frame(formula, data, survival=False)
    if frame.X is None:
        raise ValueError("the formula has no covariates")
    model = propensity_score(frame.X, frame.event)
    w = fn(model.ps, frame.event, **options)
    return pd.Series(w, index=frame.index, name="iptw").reindex(data.index)


def _rmst(fn: Callable[..., Any], formula: str, *args: Any, **options: Any) -> Any:
    data = _data(options, "rmst")
    _no_arrays("rmst", args, options)
    frame = model_frame(formula, data, design=False)
    if frame.strata is not None or frame.cluster is not None or frame.offset is not None:
        raise ValueError("rmst formulas take grouping variables only (no specials)")
    if frame.entry is not None:
        raise ValueError("rmst takes right-censored data: Surv(time, status)")
    if not frame.groups:
        return fn(frame.time, frame.event, **options)
    codes, _, labels = group_labels(frame)
    fit = fn(frame.time, frame.event, group=codes, **options)
    return replace(fit, groups=tuple(labels))


def _survreg(fn: Callable[..., Any], formula: str, *args: Any, **options: Any) -> Any:
    data = _data(options, "survreg")
    _no_arrays("survreg", args, options)
    frame = model_frame(formula, data, weights=options.pop("weights", None))
    if frame.strata is not None or frame.cluster is not None or frame.offset is not None:
        raise ValueError("survreg formulas take covariates only (no specials)")
    if frame.entry is not None:
        raise ValueError("survreg takes right-censored data: Surv(time, status)")
    fit = fn(frame.time, frame.event, frame.X, weights=frame.weights, names=frame.names, **options)
    return replace(fit, formula=formula, n_dropped=frame.n_dropped)


def from_columns(
    fn_name: str,
    data: pd.DataFrame,
    *args: Any,
    duration_col: str | None = None,
    event_col: str | None = None,
    entry_col: str | None = None,
    strata: str | list[str] | None = None,
    cluster: str | None = None,
    **options: Any,
) -> tuple[str, dict[str, Any]]:
    """The formula of lifelines' DataFrame form: ``cox(df, duration_col="T",
    event_col="E")`` is ``cox("Surv(T, E) ~ <every other column>", data=df)``;
    ``entry_col`` gives (start, stop] rows, ``strata``/``cluster`` name columns, and a
    ``weights`` column name is left out of the covariates."""
    if fn_name not in ("cox", "survreg"):
        raise TypeError(f"{fn_name}() takes a formula with data=, not a DataFrame first")
    if args:
        raise TypeError(f"{fn_name}(df, ...) takes options by keyword only")
    if duration_col is None or event_col is None:
        raise TypeError(f"{fn_name}(df, duration_col=..., event_col=...): both are needed")
    stratum_cols = [strata] if isinstance(strata, str) else list(strata or [])
    weights = options.get("weights")
    special = [entry_col, duration_col, event_col, cluster, *stratum_cols]
    special += [weights] if isinstance(weights, str) else []
    for name in special:
        if name is not None and name not in data.columns:
            raise ValueError(f"{name!r} is not a column of the DataFrame")
    covariates = [c for c in data.columns if c not in special]
    if not covariates:
        raise ValueError("the DataFrame has no covariate columns besides the named ones")

    def q(name: Any) -> str:
        return f"`{name}`"

    surv = ", ".join(q(c) for c in (entry_col, duration_col, event_col) if c is not None)
    rhs = [q(c) for c in covariates]
    if stratum_cols:
        rhs.append(f"strata({', '.join(q(c) for c in stratum_cols)})")
    if cluster is not None:
        rhs.append(f"cluster({q(cluster)})")
    return f"Surv({surv}) ~ {' + '.join(rhs)}", {"data": data, **options}


FRONT_ENDS: dict[str, Callable[..., Any]] = {
    "rmst": _rmst,
    "survreg": _survreg,
    "cox": _cox,
    "kaplan_meier": _kaplan_meier,
    "logrank": _logrank,
    "aalen_johansen": _aalen_johansen,
    "gray_test": _gray_test,
    "fine_gray": _fine_gray,
    "propensity_score": _propensity_score,
    "iptw_weights": _iptw_weights,
}
