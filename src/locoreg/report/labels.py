"""What a reader sees for a code: display names in the language of the page.

Codes (enum values, JSON keys, form values) never change language; only what is shown
for them does. The English display of a code is the code with spaces for underscores
("distant_lymph_nodes" → "distant lymph nodes"), as the pages always showed it; that
text is the msgid, so :func:`code_name` needs no table, only the extraction list below
(:func:`locoreg.i18n.N_`). A code without a catalog entry is shown as in English.
"""

from __future__ import annotations

from locoreg import i18n
from locoreg.decision.model import (
    FACTOR_LABELS,
    RECOMMENDATION_LABELS,
    Direction,
    FactorName,
    Recommendation,
)
from locoreg.i18n import N_

#: The display names of the enum values the pages show (patient, decision, evidence).
CODE_NAMES: tuple[str, ...] = (
    # Patient: sex, receptors, sites, response, symptoms, surgical risk, preference
    N_("female"),
    N_("male"),
    N_("positive"),
    N_("negative"),
    N_("unknown"),
    N_("bone"),
    N_("lung"),
    N_("liver"),
    N_("brain"),
    N_("distant lymph nodes"),
    N_("pleura"),
    N_("skin soft tissue"),
    N_("other"),
    N_("complete response"),
    N_("partial response"),
    N_("stable disease"),
    N_("progressive disease"),
    N_("not evaluated"),
    N_("bleeding"),
    N_("ulceration"),
    N_("infection"),
    N_("fungation"),
    N_("pain"),
    N_("impending ulceration"),
    N_("nodal complication"),
    N_("low"),
    N_("standard"),
    N_("high"),
    N_("wants local therapy"),
    N_("undecided"),
    N_("declines surgery"),
    N_("declines local therapy"),
    # Decision: local therapy modalities
    N_("surgery"),
    N_("radiotherapy"),
    N_("supportive local care"),
    # Evidence: outcomes
    N_("overall survival"),
    N_("locoregional progression"),
    N_("distant progression"),
    N_("progression free survival"),
    N_("breast cancer specific survival"),
    N_("quality of life"),
    N_("toxicity"),
    N_("survival proportion"),
    N_("median survival"),
    # Evidence: arms and risk-of-bias judgements (RoB 2, ROBINS-I)
    N_("local therapy"),
    N_("no local therapy"),
    N_("some concerns"),
    N_("moderate"),
    N_("serious"),
    N_("critical"),
    N_("no information"),
)

DIRECTION_NAMES: dict[Direction, str] = {
    Direction.favours_local_therapy: N_("For local therapy"),
    Direction.against_local_therapy: N_("Against local therapy"),
    Direction.neutral: N_("Neutral"),
}

#: Factor names: the engine's own labels (one msgid per name).
FACTOR_NAMES: dict[FactorName, str] = FACTOR_LABELS


def code_name(code: str, lang: str) -> str:
    """The display name of ``code`` in ``lang`` ("distant_lymph_nodes" → "distant lymph nodes")."""
    return i18n.translations(lang).gettext(code.replace("_", " "))


def recommendation_name(recommendation: Recommendation | str, lang: str) -> str:
    """The recommendation's title in ``lang``; an unknown code is shown as it is."""
    try:
        english = RECOMMENDATION_LABELS[Recommendation(recommendation)]
    except ValueError:
        return str(recommendation)
    return i18n.translations(lang).gettext(english)
