"""The meta-analysis page: pool the evidence base's hazard ratios, by design or all together.

Studies enter when they report a hazard ratio with its interval for the chosen
outcome (overall population). Reviews (``meta_analysis``) and background records
are left out so that no patient is counted twice, and of several reports of one
trial (``related``) only the first in the base's order is kept.
"""

from __future__ import annotations

from typing import Any

from locoreg.errors import FieldError, InputError
from locoreg.evidence.base import load_evidence_base
from locoreg.evidence.model import OBSERVATIONAL_DESIGNS, Design, OutcomeKind
from locoreg.web.meta_service import MetaRequest, run_meta

META_METHODS: tuple[str, ...] = ("REML", "DL", "PM", "ML", "HE", "SJ", "EB", "HS", "FE")
META_TESTS: tuple[str, ...] = ("z", "knha")
META_BY: dict[str, str] = {
    "design": "randomised trials vs observational studies",
    "none": "all studies together",
}
_POOLABLE = frozenset({Design.rct, *OBSERVATIONAL_DESIGNS})


def _choice(field: str, value: str, allowed: tuple[str, ...] | list[str]) -> None:
    if value not in allowed:
        raise InputError([FieldError(field, f"unknown value {value!r}", ", ".join(allowed))])


def study_rows(outcome: OutcomeKind) -> list[dict[str, Any]]:
    """One row per poolable study: id, label, design body, HR and interval."""
    base = load_evidence_base()
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for study, o in base.outcomes(outcome, "overall", measure="HR"):
        if study.design not in _POOLABLE or study.id in seen:
            continue
        if o.estimate is None or o.ci_low is None or o.ci_high is None or o.ci_level is None:
            continue
        seen.add(study.id)
        seen.update(study.related)
        rows.append(
            {
                "id": study.id,
                "label": study.cite(),
                "body": "randomised" if study.design is Design.rct else "observational",
                "hr": o.estimate,
                "ci_low": o.ci_low,
                "ci_high": o.ci_high,
                "ci_level": o.ci_level,
            }
        )
    return rows


def pooled_evidence(outcome: str, method: str, test: str, by: str) -> dict[str, Any]:
    """Rows, the pooled result (with subgroups when ``by == "design"``) and a forest plot."""
    _choice("outcome", outcome, [o.value for o in OutcomeKind])
    _choice("method", method, META_METHODS)
    _choice("test", test, META_TESTS)
    _choice("by", by, tuple(META_BY))
    rows = study_rows(OutcomeKind(outcome))
    if not rows:
        raise InputError(
            [FieldError("outcome", "no study reports a hazard ratio with its interval for it")]
        )
    bodies = sorted({r["body"] for r in rows})
    grouped = by == "design" and len(bodies) > 1
    # Intervals of different levels (E2108 and JCOG1017 report 90%) are each converted
    # with their own level, study by study.
    from locoreg.meta import log_hr_from_ci

    yi, vi = log_hr_from_ci(
        [r["hr"] for r in rows],
        [r["ci_low"] for r in rows],
        [r["ci_high"] for r in rows],
        [r["ci_level"] for r in rows],
    )
    request = MetaRequest(
        yi=list(map(float, yi)),
        vi=list(map(float, vi)),
        method=method,
        test=test,
        by=[r["body"] for r in rows] if grouped else None,
        labels=[r["label"] for r in rows],
    )
    result = run_meta(request, log_ratio=True)
    return {"rows": rows, "result": result, "grouped": grouped, "svg": forest_svg(rows, result)}


def forest_svg(rows: list[dict[str, Any]], result: dict[str, Any]) -> str | None:
    """The forest plot from ``locoreg.plots.forest`` (filled in when that module is present)."""
    return None
