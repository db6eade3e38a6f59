"""Figures the engine quotes, read from the current evidence snapshot (never typed in).

A new or corrected record changes what an assessment says: the pooled randomised
overall-survival hazard ratio is recomputed by :func:`locoreg.evidence.pool.pool_by_design`
(random effects, REML) from the trials of the snapshot; single-study effects and arm values
are read from their records. Everything is cached per snapshot identifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from locoreg.evidence.base import EvidenceBase, load_evidence_base
from locoreg.evidence.model import Outcome, OutcomeKind, Study
from locoreg.i18n import gettext as _
from locoreg.i18n import num


@dataclass(frozen=True, slots=True)
class Effect:
    """A ratio with its interval, as a record or a pooled fit gives it."""

    estimate: float
    ci_low: float
    ci_high: float
    ci_level: float
    studies: tuple[str, ...]

    def text(self) -> str:
        """'HR 0.42, 95% CI 0.33–0.53' in the current language (the level always stated:
        E2108 and JCOG1017 use 90%). Built when asked, so a cached Effect serves every
        language."""
        return _("HR %(hr)s, %(level)s%% CI %(low)s–%(high)s") % {
            "hr": num(self.estimate, 2, exact=True),
            "level": num(100 * self.ci_level),
            "low": num(self.ci_low, 2, exact=True),
            "high": num(self.ci_high, 2, exact=True),
        }


def base() -> EvidenceBase:
    return load_evidence_base()


def outcome(study: str, kind: OutcomeKind, subgroup: str = "overall") -> Outcome:
    """The first record of ``kind`` for ``subgroup`` with an estimate, in ``study``."""
    for o in base().get(study).outcomes:
        if o.outcome is kind and o.subgroup == subgroup and o.estimate is not None:
            return o
    raise LookupError(f"{study}: no {kind.value} estimate for subgroup {subgroup!r}")


def effect(study: str, kind: OutcomeKind, subgroup: str = "overall") -> Effect:
    o = outcome(study, kind, subgroup)
    assert o.estimate is not None and o.ci_low is not None and o.ci_high is not None
    return Effect(o.estimate, o.ci_low, o.ci_high, o.ci_level or 0.95, (study,))


def arm_value(study: str, kind: OutcomeKind, metric: str, arm: str) -> float:
    """One arm's value (e.g. ``median_os_months`` of ``local_therapy``) from a record."""
    for o in base().get(study).outcomes:
        if o.outcome is kind:
            for a in o.arms:
                if a.metric == metric and a.arm == arm:
                    return a.value
    raise LookupError(f"{study}: no {arm} {metric} for {kind.value}")


@cache
def _pooled_trials_os(snapshot: str) -> Effect:
    from locoreg.evidence.pool import pool_by_design

    group = pool_by_design(base(), "overall_survival").groups["randomised"]
    lo, hi = group.hr_ci
    assert group.hr is not None and lo is not None and hi is not None
    return Effect(group.hr, lo, hi, 0.95, tuple(s.id for s in group.studies))


def pooled_trials_os() -> Effect:
    """Random-effects (REML) pool of the randomised overall-survival HRs of this snapshot."""
    return _pooled_trials_os(base().snapshot)


def study(study_id: str) -> Study:
    return base().get(study_id)


_PLACEHOLDER = re.compile(r"\{(hr|pooled):([^}]*)\}")


def render(text: str) -> str:
    """Resolve figure placeholders in rule text against the current snapshot.

    ``{hr:STUDY:OUTCOME:SUBGROUP}`` becomes that record's ``HR x (lo–hi)``;
    ``{pooled:overall_survival}`` the random-effects pool of the randomised trials. A rule's
    explanation thus names where its figure comes from and quotes it as the snapshot has it.
    """

    def one(m: re.Match[str]) -> str:
        if m.group(1) == "pooled":
            return pooled_trials_os().text()
        study_id, kind, subgroup = m.group(2).split(":")
        return effect(study_id, OutcomeKind(kind), subgroup).text()

    return _PLACEHOLDER.sub(one, text)
