"""The decision engine: facts, the rule table, prognosis and the assessment."""

from locoreg.decision.assessment import assess
from locoreg.decision.model import Assessment, Direction, Factor, FactorName, Recommendation

__all__ = ["Assessment", "Direction", "Factor", "FactorName", "Recommendation", "assess"]
