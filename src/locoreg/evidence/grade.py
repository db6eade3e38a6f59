"""GRADE imprecision rated from a pooled hazard ratio, against stated thresholds.

GRADE's minimally contextualised approach (Schünemann et al., GRADE Handbook 2013, §5.2.6;
Zeng et al. 2021, J Clin Epidemiol 137:163) rates imprecision by where the interval lies
relative to thresholds of a clinically important effect. locoreg states them once, here,
and documents them in docs/evidence.md:

- important benefit: HR ≤ :data:`IMPORTANT_BENEFIT_HR` (0.80, a 20% lower hazard of the
  event with local therapy);
- important harm: HR ≥ :data:`IMPORTANT_HARM_HR` (1.25 = 1 / 0.80, the same distance from
  no effect on the log scale).

Rule (``levels`` = levels rated down):

1. The pooled confidence interval lies on both sides of both thresholds (it holds an
   important benefit and an important harm): 2 levels (very serious).
2. The pooled interval crosses one threshold (an important effect and no important
   effect are both compatible with it): 1 level (serious).
3. Otherwise, when the prediction interval (t-based, k − 2 df, when k ≥ 3) holds both
   an important benefit and an important harm — a new setting could see either — 1 level.
4. Otherwise not rated down.

The prediction interval is used because with few trials and between-trial variance a
narrow interval for the *average* effect hides that the effect in a new setting is
uncertain (IntHout et al. 2016, BMJ Open 6:e010247). A single study has no prediction
interval; its confidence interval alone is rated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: hazard ratio at or below which the benefit of local therapy is clinically important
IMPORTANT_BENEFIT_HR = 0.80
#: hazard ratio at or above which the harm of local therapy is clinically important
IMPORTANT_HARM_HR = 1.25

__all__ = ["IMPORTANT_BENEFIT_HR", "IMPORTANT_HARM_HR", "Imprecision", "rate_imprecision"]


@dataclass(frozen=True, slots=True)
class Imprecision:
    """GRADE imprecision of one pooled body of evidence: levels rated down, and why."""

    levels: int
    reason: str
    ci: tuple[float, float]
    #: the prediction interval the rule read (None: fewer than three studies)
    pi: tuple[float, float] | None

    @property
    def judgement(self) -> str:
        return ("not serious", "serious", "very serious")[self.levels]

    def to_dict(self) -> dict[str, Any]:
        return {
            "levels": self.levels,
            "judgement": self.judgement,
            "reason": self.reason,
            "important_benefit_hr": IMPORTANT_BENEFIT_HR,
            "important_harm_hr": IMPORTANT_HARM_HR,
            "ci": list(self.ci),
            "pi": None if self.pi is None else list(self.pi),
        }


def _crosses(low: float, high: float, threshold: float) -> bool:
    return low < threshold < high


def rate_imprecision(ci: tuple[float, float], pi: tuple[float, float] | None = None) -> Imprecision:
    """Rate imprecision from a pooled HR interval ``ci`` and prediction interval ``pi``."""
    lo, hi = ci
    span = f"{lo:.2f}–{hi:.2f}"
    benefit, harm = IMPORTANT_BENEFIT_HR, IMPORTANT_HARM_HR
    both = f"important benefit (HR ≤ {benefit:.2f}) and important harm (HR ≥ {harm:.2f})"
    if lo < benefit and hi > harm:
        return Imprecision(2, f"the pooled interval {span} holds both {both}", ci, pi)
    if _crosses(lo, hi, benefit) or _crosses(lo, hi, harm):
        side = (
            f"important benefit (HR ≤ {benefit:.2f})"
            if lo < benefit
            else (f"important harm (HR ≥ {harm:.2f})")
        )
        reason = f"the pooled interval {span} holds both {side} and no important effect"
        if pi is not None and pi[0] < benefit and pi[1] > harm:
            reason += f"; the prediction interval {pi[0]:.2f}–{pi[1]:.2f} holds both {both}"
        return Imprecision(1, reason, ci, pi)
    if pi is not None and pi[0] < benefit and pi[1] > harm:
        reason = f"the prediction interval {pi[0]:.2f}–{pi[1]:.2f} holds both {both}"
        return Imprecision(1, reason, ci, pi)
    where = "" if pi is None else f" and the prediction interval {pi[0]:.2f}–{pi[1]:.2f}"
    return Imprecision(0, f"no threshold crossed by the pooled interval {span}{where}", ci, pi)
