"""``POST /api/meta`` and the meta-analysis page: validate the request, call ``meta.rma``.

Input is either effect sizes on the analysis scale (``yi``, ``vi``) or hazard ratios
with their confidence limits (``hr``, ``ci_low``, ``ci_high``, ``ci_level``), which
are analysed on the log scale: ``yi = ln(hr)``, ``vi = ((ln(hi) − ln(lo)) / (2 z))²``
with ``z`` the standard-normal quantile of ``(1 + ci_level) / 2``
(``locoreg.meta.log_hr_from_ci``). Shape problems are all reported at once; the
numeric core's own checks (``ArgumentError`` for ``hr[3]``) become field errors (``hr.3``,
:func:`locoreg.errors.core_error`).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from locoreg.errors import FieldError, InputError, core_error
from locoreg.meta.options import DEFAULT_METHOD, DEFAULT_TEST, Tau2Method, Test
from locoreg.meta.rma import CONTRACT_KEYS

_MAX_STUDIES = 10_000


class MetaRequest(BaseModel):
    """Either ``yi`` + ``vi`` or ``hr`` + ``ci_low`` + ``ci_high`` (same length each)."""

    model_config = ConfigDict(extra="forbid")

    yi: list[float] | None = Field(None, max_length=_MAX_STUDIES)
    vi: list[float] | None = Field(None, max_length=_MAX_STUDIES)
    hr: list[float] | None = Field(None, max_length=_MAX_STUDIES)
    ci_low: list[float] | None = Field(None, max_length=_MAX_STUDIES)
    ci_high: list[float] | None = Field(None, max_length=_MAX_STUDIES)
    ci_level: float | list[float] = Field(
        0.95,
        description="level of the given HR intervals: one for all studies, or one per study",
    )
    labels: list[str] | None = Field(None, max_length=_MAX_STUDIES)
    by: list[str] | None = Field(None, max_length=_MAX_STUDIES, description="subgroup per study")
    method: Tau2Method = DEFAULT_METHOD
    test: Test = DEFAULT_TEST
    level: float = Field(0.95, gt=0, lt=1, description="level of the pooled intervals")


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
        if len(values) != k:
            problems.append(FieldError(name, f"has {len(values)} values, expected {k}"))
        for i, v in enumerate(values):
            if not math.isfinite(v):
                problems.append(FieldError(f"{name}.{i}", "must be a finite number"))
            elif name != "yi" and v <= 0:
                problems.append(FieldError(f"{name}.{i}", "must be positive"))
    for name in ("labels", "by"):
        values = getattr(req, name)
        if values is not None and len(values) != k:
            problems.append(FieldError(name, f"has {len(values)} values, expected {k}"))
    if not effect:
        problems += _level_problems(req.ci_level, k)
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
    """One level in (0, 1) for all studies, or one per study."""
    allowed = "a number in (0, 1), e.g. 0.95, or one per study"
    if isinstance(ci_level, list):
        if len(ci_level) != k:
            return [FieldError("ci_level", f"has {len(ci_level)} values, expected 1 or {k}")]
        return [
            FieldError(f"ci_level.{i}", f"{x:g} is not in (0, 1)", allowed)
            for i, x in enumerate(ci_level)
            if not (math.isfinite(x) and 0 < x < 1)
        ]
    if not (math.isfinite(ci_level) and 0 < ci_level < 1):
        return [FieldError("ci_level", f"{ci_level:g} is not in (0, 1)", allowed)]
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
    try:  # the numeric core names the argument (and entry) it refuses
        if from_hr:
            y, v = log_hr_from_ci(req.hr, req.ci_low, req.ci_high, req.ci_level)
        else:
            y, v = np.asarray(req.yi, dtype=float), np.asarray(req.vi, dtype=float)
        res = rma(y, v, method=req.method, test=req.test, level=req.level)
    except ValueError as exc:
        raise InputError([core_error(exc)]) from None
    out = _result_json(res.to_dict(), ratio)
    out["scale"] = "log hazard ratio" if ratio else "as given"
    if req.by is not None:
        out.update(_subgroups(y, v, req, ratio))
    return out


def _subgroups(y: Any, v: Any, req: MetaRequest, from_hr: bool) -> dict[str, Any]:
    from locoreg.meta import subgroup_analysis

    assert req.by is not None
    try:
        sub = subgroup_analysis(y, v, req.by, req.method, req.test, req.level)
    except ValueError as exc:
        raise InputError([core_error(exc)]) from None
    data = sub.to_dict()
    return {
        "subgroups": {
            level: _result_json(res, from_hr) for level, res in data["subgroups"].items()
        },
        "q_between": data["q_between"],
        "q_between_df": data["q_between_df"],
        "q_between_p": data["q_between_p"],
    }
