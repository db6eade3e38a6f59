"""The clinical vocabulary of the engine's sentences: symptoms, sites, subtypes, counts.

Tables hold the English msgids (marked with ``N_``); the functions give them in the
current language (:func:`locoreg.i18n.language`). Enum values and codes stay the keys.
"""

from __future__ import annotations

from locoreg.i18n import N_, and_list, ngettext, num
from locoreg.i18n import gettext as _
from locoreg.patient import LocalSymptom, MetastaticSite

SYMPTOM_WORDS = {
    LocalSymptom.bleeding: N_("bleeding"),
    LocalSymptom.ulceration: N_("ulceration"),
    LocalSymptom.infection: N_("infection"),
    LocalSymptom.fungation: N_("fungation"),
    LocalSymptom.pain: N_("pain"),
    LocalSymptom.impending_ulceration: N_("impending ulceration"),
    LocalSymptom.nodal_complication: N_(
        "a nodal complication (plexopathy, lymphoedema or venous obstruction)"
    ),
}
SITE_WORDS = {
    MetastaticSite.bone: N_("bone"),
    MetastaticSite.lung: N_("lung"),
    MetastaticSite.liver: N_("liver"),
    MetastaticSite.brain: N_("brain"),
    MetastaticSite.distant_lymph_nodes: N_("distant lymph nodes"),
    MetastaticSite.pleura: N_("pleura"),
    MetastaticSite.skin_soft_tissue: N_("skin soft tissue"),
    MetastaticSite.other: N_("other"),
}
#: Receptor subtypes (``Facts.subtype`` codes) in words.
SUBTYPE_WORDS = {
    "HR+/HER2+": N_("HR+/HER2+"),
    "HR+/HER2-": N_("HR+/HER2-"),
    "HR-/HER2+": N_("HR-/HER2+"),
    "triple-negative": N_("triple-negative"),
    "unknown": N_("unknown"),
}


def symptoms_text(symptoms: frozenset[LocalSymptom]) -> str:
    return and_list([_(SYMPTOM_WORDS[s]) for s in sorted(symptoms)])


def subtype_text(subtype: str) -> str:
    return _(SUBTYPE_WORDS[subtype])


def site_text(site: MetastaticSite) -> str:
    return _(SITE_WORDS[site])


def months_text(months: float) -> str:
    """'1 month', '6.5 months' in the current language."""
    return ngettext("%(n)s month", "%(n)s months", 1 if months == 1 else 2) % {"n": num(months, 2)}


def lesions_text(lesions: float, *, outside_bone: bool = False) -> str:
    """'1 lesion', '3 lesions' ('… outside bone') in the current language."""
    n = 1 if lesions == 1 else 2
    text = (
        ngettext("%(n)s lesion outside bone", "%(n)s lesions outside bone", n)
        if outside_bone
        else ngettext("%(n)s lesion", "%(n)s lesions", n)
    )
    return text % {"n": num(lesions, 2)}


def capital(text: str) -> str:
    """``text`` with its first letter upper case (the rest untouched, unlike str.capitalize)."""
    return text[:1].upper() + text[1:]
