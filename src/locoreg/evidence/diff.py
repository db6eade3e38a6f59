"""What a new or changed record changes: two evidence bases compared.

``diff_bases(old, new)`` lists the study ids added, removed and changed (any field of the
parsed record), every pooled estimate (outcome × design group, :func:`pool_by_design` with
its defaults) before and after, and the GRADE ratings that change — the curated ones in
``_grade.yaml`` and the imprecision computed from each pool
(:func:`locoreg.evidence.grade.rate_imprecision`). ``locoreg evidence diff`` adds the
assessments of the example patients re-run against each base (that part needs the
decision engine, a layer above this one).

JSON (CONTRACTS.md §3 v2): ``added``, ``removed``, ``changed`` (study ids) and ``pooled``:
a list of ``{"outcome", "group", "old": {"k", "hr", "ci_low", "ci_high"}, "new": {...}}``;
beyond the contract each ``pooled`` entry carries ``changed`` and the computed
``imprecision`` before and after, and ``grade`` lists the curated ratings that changed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from locoreg.evidence.model import GradeRating, dump
from locoreg.evidence.pool import GROUPS, OUTCOMES, GroupPool, pool_by_design

if TYPE_CHECKING:
    from locoreg.evidence.base import EvidenceBase

__all__ = ["EvidenceDiff", "GradeChange", "PooledChange", "PooledSummary", "diff_bases"]


@dataclass(frozen=True, slots=True)
class PooledSummary:
    """One pooled estimate: k, HR and its interval (None when nothing is pooled)."""

    k: int
    hr: float | None
    ci_low: float | None
    ci_high: float | None
    #: GRADE imprecision levels computed from this pool (None when nothing is pooled)
    imprecision: int | None

    @classmethod
    def of(cls, group: GroupPool) -> PooledSummary:
        lo, hi = group.hr_ci
        rated = group.imprecision
        return cls(group.k, group.hr, lo, hi, None if rated is None else rated.levels)

    def same_as(self, other: PooledSummary) -> bool:
        """Equal k and imprecision, and HR and limits equal to 1e-9 (relative)."""
        if (self.k, self.imprecision) != (other.k, other.imprecision):
            return False
        pairs = ((self.hr, other.hr), (self.ci_low, other.ci_low), (self.ci_high, other.ci_high))
        return all(
            (a is None and b is None)
            or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9))
            for a, b in pairs
        )

    def text(self) -> str:
        if self.hr is None or self.ci_low is None or self.ci_high is None:
            return f"k = {self.k}, nothing pooled"
        return f"k = {self.k}, HR {self.hr:.2f} ({self.ci_low:.2f}–{self.ci_high:.2f})"

    def to_dict(self) -> dict[str, Any]:
        return {"k": self.k, "hr": self.hr, "ci_low": self.ci_low, "ci_high": self.ci_high}


@dataclass(frozen=True, slots=True)
class PooledChange:
    """One outcome × design group before and after."""

    outcome: str
    group: str
    old: PooledSummary
    new: PooledSummary

    @property
    def changed(self) -> bool:
        return not self.old.same_as(self.new)

    @property
    def imprecision_changed(self) -> bool:
        return self.old.imprecision != self.new.imprecision

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "group": self.group,
            "old": self.old.to_dict(),
            "new": self.new.to_dict(),
            "changed": self.changed,
            "imprecision": {"old": self.old.imprecision, "new": self.new.imprecision},
        }


def _rating(g: GradeRating | None) -> dict[str, Any] | None:
    if g is None:
        return None
    return {"certainty": g.certainty.value, "downgrades": list(g.downgrades)}


@dataclass(frozen=True, slots=True)
class GradeChange:
    """A curated GRADE rating added, removed or changed (certainty or reasons)."""

    outcome: str
    body: str
    rated_by: str
    old: GradeRating | None
    new: GradeRating | None

    def text(self) -> str:
        old = "none" if self.old is None else self.old.certainty.value.replace("_", " ")
        new = "none" if self.new is None else self.new.certainty.value.replace("_", " ")
        what = f"{old} → {new}" if old != new else f"{new} (reasons changed)"
        return f"{self.outcome.replace('_', ' ')}, {self.body} ({self.rated_by}): {what}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "body": self.body,
            "rated_by": self.rated_by,
            "old": _rating(self.old),
            "new": _rating(self.new),
        }


@dataclass(frozen=True, slots=True)
class EvidenceDiff:
    """Two evidence bases compared (see the module docstring)."""

    old_snapshot: str
    new_snapshot: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    pooled: tuple[PooledChange, ...]
    grade: tuple[GradeChange, ...]

    def changelog_entry(self, date: str) -> str:
        """A ``data/CHANGELOG.md`` entry for the new snapshot (see docs/evidence.md)."""
        lines = [f"## {self.new_snapshot} ({date})"]
        for name, ids in (
            ("added", self.added),
            ("removed", self.removed),
            ("changed", self.changed),
        ):
            if ids:
                lines.append(f"- {name} {', '.join(ids)}")
        for p in self.pooled:
            if p.changed:
                what = f"{p.outcome.replace('_', ' ')}, {p.group}"
                lines.append(f"- pooled: {what}: {p.old.text()} → {p.new.text()}")
        lines += [f"- GRADE: {g.text()}" for g in self.grade]
        if len(lines) == 1:
            lines.append("- no change to records, pooled estimates or GRADE ratings")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_snapshot": self.old_snapshot,
            "new_snapshot": self.new_snapshot,
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": list(self.changed),
            "pooled": [p.to_dict() for p in self.pooled],
            "grade": [g.to_dict() for g in self.grade],
        }


def _grade_key(g: GradeRating) -> tuple[str, str, str]:
    return (g.outcome.value, g.body, g.rated_by)


def _grade_changes(old: EvidenceBase, new: EvidenceBase) -> tuple[GradeChange, ...]:
    before = {_grade_key(g): g for g in old.grade}
    after = {_grade_key(g): g for g in new.grade}
    out = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a is None or b is None or dump(a) != dump(b):
            out.append(GradeChange(*key, a, b))
    return tuple(out)


def diff_bases(old: EvidenceBase, new: EvidenceBase) -> EvidenceDiff:
    """Records added, removed and changed; pooled estimates and GRADE ratings before/after."""
    old_ids, new_ids = set(old.ids), set(new.ids)
    changed = sorted(i for i in old_ids & new_ids if dump(old.get(i)) != dump(new.get(i)))
    pooled: list[PooledChange] = []
    for outcome in OUTCOMES:
        before = pool_by_design(old, outcome=outcome)
        after = pool_by_design(new, outcome=outcome)
        pooled += [
            PooledChange(
                outcome,
                key,
                PooledSummary.of(before.groups[key]),
                PooledSummary.of(after.groups[key]),
            )
            for key in GROUPS
        ]
    return EvidenceDiff(
        old_snapshot=old.snapshot,
        new_snapshot=new.snapshot,
        added=tuple(sorted(new_ids - old_ids)),
        removed=tuple(sorted(old_ids - new_ids)),
        changed=tuple(changed),
        pooled=tuple(pooled),
        grade=_grade_changes(old, new),
    )
