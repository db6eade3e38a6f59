"""``POST /api/meta`` and the meta-analysis page: validate the request, call ``meta.rma``.

Input is either effect sizes on the analysis scale (``yi``, ``vi``) or hazard ratios
with their confidence limits (``hr``, ``ci_low``, ``ci_high``, ``ci_level``), which
are analysed on the log scale: ``yi = ln(hr)``, ``vi = ((ln(hi) − ln(lo)) / (2 z))²``
with ``z`` the standard-normal quantile of ``(1 + ci_level) / 2``
(``locoreg.meta.log_hr_from_ci``). Shape problems are all reported at once; the
numeric core's own checks (``ArgumentError`` for ``hr[3]``) become field errors (``hr.3``,
:func:`locoreg.errors.core_error`).

What is accepted is bounded so that the fit can be computed in floating point
(``EffectSize``, ``Variance``, ``Ratio``, ``Level``: each refusal names the field and
its range); a numeric failure that remains (an iterative τ² estimator that does not
converge, a fit that overflows) is a 422 saying what to change, never a 500.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from locoreg.errors import FieldError, InputError, core_error
from locoreg.meta.options import (
    CLOSED_FORM_METHODS,
    DEFAULT_METHOD,
    DEFAULT_TEST,
    Tau2Method,
    Test,
)
from locoreg.meta.rma import CONTRACT_KEYS

_MAX_STUDIES = 10_000

#: Accepted range of each number, (lowest, highest). Wide for real data (an effect size
#: of a million units, a hazard ratio of a million, variances over 24 orders of
#: magnitude) and narrow enough that squares, sums of weights and normal quantiles stay
#: finite; intervals below the 50% level are not reported by studies.
EFFECT_RANGE = (-1e6, 1e6)
VARIANCE_RANGE = (1e-12, 1e12)
RATIO_RANGE = (1e-6, 1e6)
LEVEL_RANGE = (0.5, 0.9999)


def _within(bounds: tuple[float, float]) -> Any:
    """A validator: a finite float in ``bounds``; the refusal names the range (``allowed``)."""
    low, high = bounds
    allowed = f"{low:g} to {high:g}"

    def check(value: float) -> float:
        if not math.isfinite(value):
            raise PydanticCustomError(
                "finite_number", "must be a finite number", {"allowed": allowed}
            )
        if not low <= value <= high:
            raise PydanticCustomError(
                "out_of_range",
                "{shown} is outside the accepted range",
                {"allowed": allowed, "shown": repr(value)},
            )
        return value

    return AfterValidator(check)


def _schema(bounds: tuple[float, float]) -> WithJsonSchema:
    return WithJsonSchema({"type": "number", "minimum": bounds[0], "maximum": bounds[1]})


EffectSize = Annotated[float, _within(EFFECT_RANGE), _schema(EFFECT_RANGE)]
Variance = Annotated[float, _within(VARIANCE_RANGE), _schema(VARIANCE_RANGE)]
Ratio = Annotated[float, _within(RATIO_RANGE), _schema(RATIO_RANGE)]
Level = Annotated[float, _within(LEVEL_RANGE), _schema(LEVEL_RANGE)]


class MetaRequest(BaseModel):
    """Either ``yi`` + ``vi`` or ``hr`` + ``ci_low`` + ``ci_high`` (same length each)."""

    model_config = ConfigDict(extra="forbid")

    yi: list[EffectSize] | None = Field(None, max_length=_MAX_STUDIES)
    vi: list[Variance] | None = Field(None, max_length=_MAX_STUDIES)
    hr: list[Ratio] | None = Field(None, max_length=_MAX_STUDIES)
    ci_low: list[Ratio] | None = Field(None, max_length=_MAX_STUDIES)
    ci_high: list[Ratio] | None = Field(None, max_length=_MAX_STUDIES)
    # range-checked in _check (each entry named, e.g. ci_level.3)
    ci_level: float | list[float] = Field(
        0.95,
        description="level of the given HR intervals: one for all studies, or one per study "
        f"(each {LEVEL_RANGE[0]:g} to {LEVEL_RANGE[1]:g})",
    )
    labels: list[str] | None = Field(None, max_length=_MAX_STUDIES)
    by: list[str] | None = Field(None, max_length=_MAX_STUDIES, description="subgroup per study")
    method: Tau2Method = DEFAULT_METHOD
    test: Test = DEFAULT_TEST
    level: Level = Field(0.95, description="level of the pooled intervals")


def _check(req: MetaRequest) -> tuple[bool, list[FieldError]]:
    """Check the request's shape, reporting every problem; returns (from_hr, problems)."""
    problems: list[FieldError] = []
    effect = req.yi is not None or req.vi is not None
    ratio = req.hr is not None or req.ci_low is not None or req.ci_high is not None
    if effect and ratio:
        problems.append(FieldError("", "give either yi and vi, or hr, ci_low and ci_high"))
        return False, problems
    if not effect and not ratio:
        problems.append(FieldError("", "give yi and vi, or hr, ci_low and ci_high"))
        return False, problems
    names = ("yi", "vi") if effect else ("hr", "ci_low", "ci_high")
    columns = {name: getattr(req, name) for name in names}
    for name, values in columns.items():
        if values is None:
            problems.append(FieldError(name, "required field is missing"))
        elif not values:
            problems.append(FieldError(name, "needs at least one study"))
    if problems:
        return False, problems
    k = len(columns[names[0]])
    for name, values in columns.items():
        if len(values) != k:  # each value's range is the model's
            problems.append(FieldError(name, f"has {len(values)} values, expected {k}"))
    for name in ("labels", "by"):
        values = getattr(req, name)
        if values is not None and len(values) != k:
            problems.append(FieldError(name, f"has {len(values)} values, expected {k}"))
    problems += _level_problems(req.ci_level, k)
    if req.by is not None and len(set(req.by)) < 2:
        problems.append(FieldError("by", "needs at least two different subgroups"))
    if problems:
        return False, problems
    if effect:
        return False, problems
    assert req.hr is not None and req.ci_low is not None and req.ci_high is not None
    for i, (h, lo, hi) in enumerate(zip(req.hr, req.ci_low, req.ci_high, strict=True)):
        if not lo < hi:
            problems.append(FieldError(f"ci_low.{i}", "must be below ci_high"))
        elif not lo <= h <= hi:
            problems.append(FieldError(f"hr.{i}", f"{h:g} lies outside [{lo:g}, {hi:g}]"))
    return True, problems


def _level_problems(ci_level: float | list[float], k: int) -> list[FieldError]:
    """One level in LEVEL_RANGE for all studies, or one per study, each named."""
    low, high = LEVEL_RANGE
    allowed = f"{low:g} to {high:g}"

    def bad(x: float) -> bool:
        return not (math.isfinite(x) and low <= x <= high)

    if isinstance(ci_level, list):
        if len(ci_level) != k:
            return [FieldError("ci_level", f"has {len(ci_level)} values, expected 1 or {k}")]
        return [
            FieldError(f"ci_level.{i}", f"{x:g} is outside the accepted range", allowed)
            for i, x in enumerate(ci_level)
            if bad(x)
        ]
    if bad(ci_level):
        return [FieldError("ci_level", f"{ci_level:g} is outside the accepted range", allowed)]
    return []


def _result_json(res: dict[str, Any], from_hr: bool) -> dict[str, Any]:
    """Contract keys (plus level and weights), and the HR scale when the input was HRs."""
    out = {key: res[key] for key in CONTRACT_KEYS}
    out["level"] = res["level"]
    out["weights"] = res["weights"]
    if from_hr:
        for key, src in (("hr", "estimate"), ("hr_ci_low", "ci_low"), ("hr_ci_high", "ci_high")):
            out[key] = math.exp(out[src]) if out[src] is not None else None
    return out


def run_meta(req: MetaRequest, *, log_ratio: bool = False) -> dict[str, Any]:
    """The meta-analysis result as CONTRACTS §3 JSON; :class:`InputError` on bad input.

    ``log_ratio``: ``yi`` are log hazard ratios, so report the HR scale too.
    """
    import numpy as np

    from locoreg.meta import log_hr_from_ci, rma

    from_hr, problems = _check(req)
    if problems:
        raise InputError(problems)
    ratio = from_hr or log_ratio
    with _numeric_failures(req.method):
        if from_hr:
            # _check has made sure all three are given (the `or []` is for the type checker)
            y, v = log_hr_from_ci(req.hr or [], req.ci_low or [], req.ci_high or [], req.ci_level)
        else:
            y, v = np.asarray(req.yi, dtype=float), np.asarray(req.vi, dtype=float)
        res = rma(y, v, method=req.method, test=req.test, level=req.level)
        out = _result_json(res.to_dict(), ratio)
        out["scale"] = "log hazard ratio" if ratio else "as given"
        if req.by is not None:
            out.update(_subgroups(y, v, req, ratio))
        _require_finite(out)
    return out


@contextmanager
def _numeric_failures(method: str) -> Iterator[None]:
    """Every failure of the numeric core as an :class:`InputError` saying what to change.

    The core's own checks name the argument (and entry) they refuse; an iterative τ²
    estimator that does not converge names ``method``; arithmetic that fails in floating
    point (a division by a vanishing sum of weights, an overflow, a singular matrix) names
    the data.
    """
    import numpy as np

    from locoreg.meta.rma import ConvergenceError

    try:
        yield
    except ConvergenceError:
        raise InputError(
            [
                FieldError(
                    "method",
                    f"the {method} estimator of tau² did not converge for these data; choose an "
                    "estimator with a closed form, or check yi and vi for entry errors",
                    ", ".join(CLOSED_FORM_METHODS),
                )
            ]
        ) from None
    except (ArithmeticError, np.linalg.LinAlgError):
        raise InputError([_NOT_COMPUTABLE]) from None
    except ValueError as exc:
        if str(exc) == "math domain error":  # math.sqrt/log of a value rounding error made < 0
            raise InputError([_NOT_COMPUTABLE]) from None
        # the numeric core names the argument (and entry) it refuses
        raise InputError([core_error(exc)]) from None


_NOT_COMPUTABLE = FieldError(
    "vi",
    "the model cannot be computed in floating point for these values: the sampling variances "
    "(or interval widths) differ by too many orders of magnitude, or the effect sizes are "
    "extreme relative to them; check yi and vi for entry errors or rescale the effect sizes",
)


def _require_finite(value: Any) -> None:
    """A result with an infinite or undefined number is a numeric failure, not an answer."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ArithmeticError("non-finite result")
    if isinstance(value, dict):
        for item in value.values():
            _require_finite(item)
    elif isinstance(value, list):
        for item in value:
            _require_finite(item)


def _subgroups(y: Any, v: Any, req: MetaRequest, from_hr: bool) -> dict[str, Any]:
    from locoreg.meta import subgroup_analysis

    assert req.by is not None
    data = subgroup_analysis(y, v, req.by, req.method, req.test, req.level).to_dict()
    return {
        "subgroups": {
            level: _result_json(res, from_hr) for level, res in data["subgroups"].items()
        },
        "q_between": data["q_between"],
        "q_between_df": data["q_between_df"],
        "q_between_p": data["q_between_p"],
    }
