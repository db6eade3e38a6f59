"""The rule table: all of locoreg's clinical logic in one declarative place (contract v2).

Each :class:`Rule` has an id, a condition on :class:`~locoreg.decision.facts.Facts`,
its effect — a recommendation or a factor — an explanation, and the evidence (study
IDs of the evidence base) it rests on. A recommendation rule also carries its
headline, its goals of care, the CDS card indicator and whether the local-control
figures apply to the patients it covers.

* ``RECOMMENDATION_RULES`` are ordered by precedence (CONTRACTS.md §2): the first rule
  whose condition holds gives the recommendation.
* ``FACTOR_RULES`` all fire when their condition holds; each adds one factor.

Figures in explanations are placeholders (``{hr:study:outcome:subgroup}``,
``{pooled:overall_survival}``) resolved against the current evidence snapshot by
:func:`locoreg.decision.figures.render`, so that a new or corrected record changes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from locoreg.decision.facts import MIN_MONTHS_ON_THERAPY, Facts
from locoreg.decision.figures import render
from locoreg.decision.model import (
    Direction,
    FactorName,
    Indicator,
    Modality,
    Recommendation,
    modality_label,
)
from locoreg.decision.options import REASSESS, local_therapy_options
from locoreg.decision.words import (
    capital,
    lesions_text,
    months_text,
    site_text,
    subtype_text,
    symptoms_text,
)
from locoreg.i18n import N_, num
from locoreg.i18n import gettext as _
from locoreg.patient import LocalSymptom, MetastaticSite

Text = Callable[[Facts], str]


def _fixed(text: str) -> Text:
    """A finding that does not depend on the patient (``text`` marked with ``N_``)."""
    return lambda _f: _(text)


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table.

    ``explanation`` and ``goals_of_care`` hold the English msgids (marked with ``N_``): they
    are the rule's identity (:func:`~locoreg.decision.assessment.rules_version` hashes
    them) and are translated where shown (:attr:`text`, :attr:`goals`).
    """

    id: str
    when: Callable[[Facts], bool]
    explanation: str
    evidence: tuple[str, ...]
    recommendation: Recommendation | None = None
    headline: Text | None = None
    goals_of_care: tuple[str, ...] = ()
    indicator: Indicator = Indicator.info
    local_control_applies: bool = False
    palliative: bool = False
    factor: FactorName | None = None
    direction: Direction | None = None
    finding: Text | None = None

    def __post_init__(self) -> None:
        if (self.recommendation is None) == (self.factor is None):
            raise ValueError(f"rule {self.id}: a rule gives a recommendation or a factor")
        if self.recommendation is not None and self.headline is None:
            raise ValueError(f"rule {self.id}: a recommendation rule needs a headline")
        if self.factor is not None and (self.direction is None or self.finding is None):
            raise ValueError(f"rule {self.id}: a factor rule needs a direction and a finding")
        if not self.evidence:
            raise ValueError(f"rule {self.id}: every rule names the evidence it rests on")

    @property
    def text(self) -> str:
        """The explanation in the current language, its figures resolved against the
        current snapshot."""
        return render(_(self.explanation))

    @property
    def goals(self) -> list[str]:
        """The goals of care in the current language."""
        return [_(g) for g in self.goals_of_care]


# Evidence groups reused by several rules.
TRIALS_OS = ("badwe2015", "soran2021", "khan2022", "fitzal2019", "shien2023", "reinhorn2021")
SELECTION = ("khan2022", "shien2023", "patrick2015")
TOPIC = ("uptodate_sabel2017",)
PALLIATION = (
    "uptodate_local_therapies",
    "palliative_indications_review",
    "nccn_palliation_summary",
)

F = FactorName
D = Direction
R = Recommendation

_T4_WORDS = {
    "T4": N_("T4 (subcategory not recorded): chest wall or skin involvement"),
    "T4a": N_("T4a: extension to the chest wall"),
    "T4b": N_("T4b: skin ulceration, satellite skin nodules or skin oedema (peau d'orange)"),
    "T4c": N_("T4c: both chest-wall extension and skin involvement (T4a and T4b)"),
}
_RISK_WORDS = {
    "low": N_("low surgical risk"),
    "standard": N_("standard surgical risk"),
    "high": N_("high surgical risk"),
}
_RESPONSE_WORDS = {
    "complete_response": N_("complete response"),
    "partial_response": N_("partial response"),
    "stable_disease": N_("stable disease"),
    "progressive_disease": N_("progressive disease"),
    "not_evaluated": N_("response not yet evaluated"),
}
#: The work-up items of a complete_workup, keyed by what is missing.
_WORKUP_WORDS = {
    "histology": N_("histological confirmation (core biopsy)"),
    "er": N_("ER status"),
    "pr": N_("PR status"),
    "her2": N_("HER2 status"),
}


def therapy_text(f: Facts) -> str:
    if not f.therapy_started:
        return _("systemic therapy not started")
    assert f.response is not None and f.months_on_therapy is not None
    return _("%(response)s after %(months)s of systemic therapy") % {
        "response": _(_RESPONSE_WORDS[f.response.value]),
        "months": months_text(f.months_on_therapy),
    }


def _missing_workup_keys(f: Facts) -> list[str]:
    p = f.patient
    out = [] if p.histology_confirmed else ["histology"]
    out += [
        key
        for key, value in (("er", p.er), ("pr", p.pr), ("her2", p.her2))
        if value.value == "unknown"
    ]
    return out


def missing_workup(f: Facts) -> list[str]:
    return [_(_WORKUP_WORDS[k]) for k in _missing_workup_keys(f)]


def _sites_text(f: Facts) -> str:
    return ", ".join(sorted(site_text(s) for s in f.patient.sites)) or _("none")


def heavy_reasons(f: Facts) -> list[str]:
    reasons = []
    if f.brain:
        reasons.append(_("brain metastasis"))
    if f.visceral_crisis:
        reasons.append(_("visceral crisis"))
    if f.n_sites >= 3:
        reasons.append(_("%(n)s distinct sites") % {"n": num(f.n_sites)})
    if f.non_bone_lesions > 5:
        reasons.append(_("%(n)s lesions outside bone") % {"n": num(f.non_bone_lesions)})
    return reasons


def _awaiting_note(f: Facts) -> str:
    """Symptoms that systemic therapy is expected to relieve first (before it has started)."""
    waiting = f.awaiting_systemic_relief
    if not waiting:
        return ""
    note = ""
    if LocalSymptom.nodal_complication in waiting:
        note += " " + _(
            "Nodal complication: start systemic therapy; palliative radiotherapy if it is not "
            "relieved, sooner if a neurological deficit or venous obstruction progresses."
        )
    rest = waiting - {LocalSymptom.nodal_complication}
    if rest:
        note += " " + _(
            "%(symptoms)s from the primary: systemic therapy first; palliative local therapy "
            "if not controlled once it has started."
        ) % {"symptoms": capital(symptoms_text(rest))}
    return note


# --- headlines (one per recommendation rule) --------------------------------------------


def _out_of_scope_m0(f: Facts) -> str:
    from locoreg.staging import stage_group_reason

    p = f.patient
    return _(
        "Not stage IV (M0; %(stage)s): outside the scope of this tool, which addresses the "
        "intact primary in de novo stage IV disease."
    ) % {"stage": stage_group_reason(p.t, p.n, p.m.value)}


def _out_of_scope_t0(_f: Facts) -> str:
    return _(
        "No breast primary (T0), stage IV: there is no intact primary to treat; outside the "
        "scope of this tool. Systemic therapy follows the metastatic disease."
    )


def _palliative(f: Facts) -> str:
    options = {o.modality: o for o in local_therapy_options(f, palliative=True)}
    surgery = options[Modality.surgery]
    reassess = _(REASSESS)
    if f.declines_local_therapy:
        how = (
            _(
                "the patient declines local therapy, so supportive local care (dressings, "
                "haemostatic measures, wound care) is the only option"
            )
            if Modality.supportive_local_care in options
            else _(
                "the patient declines local therapy: no local option; symptom control "
                "(analgesia) with systemic therapy"
            )
        )
    elif not any(o.suitable for o in options.values()):
        how = _(
            "no local modality is suitable (%(reason)s); symptom control (analgesia) and best "
            "supportive care"
        ) % {"reason": surgery.reason}
    else:
        suitable = [modality_label(o.modality) for o in options.values() if o.suitable]
        how = _("options: %(options)s") % {"options": ", ".join(suitable)}
        if not surgery.suitable:
            how += (
                _("; surgery: %(reassess)s") % {"reassess": reassess}
                if reassess in surgery.reason
                else _("; surgery not suitable (%(reason)s)") % {"reason": surgery.reason}
            )
    parts = [
        _("Palliative local treatment for uncontrolled %(symptoms)s: %(how)s.")
        % {"symptoms": symptoms_text(f.palliation_reasons), "how": how}
    ]
    if f.workup_incomplete:
        parts.append(
            _("Complete the work-up in parallel (%(missing)s); do not delay palliation.")
            % {"missing": ", ".join(missing_workup(f))}
        )
    if f.progression:
        parts.append(_("The disease is progressing: change systemic therapy."))
    elif not f.therapy_started:
        parts.append(_("Start systemic therapy."))
    return " ".join(parts)


def _complete_workup(f: Facts) -> str:
    text = _("Complete the work-up first: %(missing)s.") % {"missing": ", ".join(missing_workup(f))}
    if f.progression:
        text += " " + _("The disease is progressing: change systemic therapy.")
    return text + _awaiting_note(f)


def _progression(_f: Facts) -> str:
    return _(
        "Progression on systemic therapy: change systemic therapy. Local therapy of the primary "
        "is not routinely offered; the trials randomised only patients without progression."
    )


def _systemic_first(f: Facts) -> str:
    if not f.therapy_started:
        text = _(
            "Start systemic therapy; assess the response after about %(months)s months before "
            "deciding about the primary."
        ) % {"months": num(MIN_MONTHS_ON_THERAPY, 2)}
    elif f.restage_now:
        assert f.months_on_therapy is not None
        text = _(
            "Restage now: the response has not been evaluated after %(months)s of systemic "
            "therapy; decide about the primary once it is known."
        ) % {"months": months_text(f.months_on_therapy)}
    else:
        assert f.months_on_therapy is not None
        text = _(
            "Continue systemic therapy (%(months)s so far); assess the response at about "
            "%(min_months)s months before deciding about the primary."
        ) % {
            "months": months_text(f.months_on_therapy),
            "min_months": num(MIN_MONTHS_ON_THERAPY, 2),
        }
    return text + _awaiting_note(f)


_EVIDENCE_SCOPE = N_("The evidence covers patients without progression on first-line therapy.")


def _operation(f: Facts) -> str:
    if f.inflammatory:
        return _(
            "for inflammatory cancer, modified radical mastectomy with axillary dissection and "
            "post-mastectomy radiotherapy"
        )
    return _("surgery followed by radiotherapy as in curative practice")


def _discuss(f: Facts) -> str:
    options = {o.modality: o for o in local_therapy_options(f, palliative=False)}
    surgery = options[Modality.surgery]
    controlled = _("Disease controlled on systemic therapy (%(therapy)s)") % {
        "therapy": therapy_text(f)
    }
    if surgery.suitable:
        text = _(
            "%(controlled)s: local therapy of the primary — %(operation)s, or locoregional "
            "radiotherapy — may be discussed case by case; in randomised trials it improved "
            "locoregional control but not overall survival."
        ) % {"controlled": controlled, "operation": _operation(f)}
    else:
        text = _(
            "%(controlled)s: locoregional radiotherapy may be discussed for local control only; "
            "surgery is not suitable (%(reason)s). No randomised trial tested radiotherapy alone "
            "or showed a survival gain from local therapy."
        ) % {"controlled": controlled, "reason": surgery.reason}
    return text + " " + _(_EVIDENCE_SCOPE)


def missing_facts(f: Facts) -> list[str]:
    """The unknowns that stand between a responding patient and a discussion."""
    out = []
    if f.ecog_unknown:
        out.append(_("record performance status (ECOG)"))
    if f.non_bone_counts_unknown:
        sites = sorted(
            site_text(m.site)
            for m in f.patient.metastases
            if m.lesions is None and m.site is not MetastaticSite.bone
        )
        out.append(_("restage (count the lesions at %(sites)s)") % {"sites": ", ".join(sites)})
    return out


def _missing_facts(f: Facts) -> str:
    return _(
        "Disease controlled on systemic therapy (%(therapy)s), but facts are missing before "
        "local therapy can be discussed: %(missing)s."
    ) % {"therapy": therapy_text(f), "missing": "; ".join(missing_facts(f))}


def blockers(f: Facts) -> list[str]:
    out = []
    if f.declines_local_therapy:
        out.append(_("the patient declines local therapy"))
    if f.poor_performance:
        out.append(f"ECOG {f.patient.ecog}")
    if f.heavy_burden:
        out.append(
            _("heavy distant burden (%(reasons)s)") % {"reasons": ", ".join(heavy_reasons(f))}
        )
    return out


def _no_routine(f: Facts) -> str:
    why = blockers(f) or [_("no local modality is suitable")]
    return _(
        "Continue systemic therapy; local therapy of the primary is not routinely offered: "
        "%(reasons)s."
    ) % {"reasons": "; ".join(why)}


RECOMMENDATION_RULES: tuple[Rule, ...] = (
    Rule(
        id="R1-out-of-scope-m0",
        when=lambda f: not f.stage_iv,
        recommendation=R.out_of_scope,
        headline=_out_of_scope_m0,
        explanation=N_(
            "No distant metastasis (M0): not stage IV. locoreg addresses the intact "
            "primary in de novo stage IV disease only; the answer gives the AJCC stage group."
        ),
        evidence=TOPIC,
    ),
    Rule(
        id="R1-out-of-scope-t0",
        when=lambda f: f.stage_iv and f.t0,
        recommendation=R.out_of_scope,
        headline=_out_of_scope_t0,
        explanation=N_(
            "No breast primary (T0): there is no intact primary whose treatment the trials tested."
        ),
        evidence=("khan2022", "shien2023"),
    ),
    Rule(
        id="R2-palliative",
        when=lambda f: f.palliation_needed,
        recommendation=R.palliative_local_therapy,
        headline=_palliative,
        goals_of_care=(
            N_(
                "control of the uncontrolled local problem (bleeding, wound, pain or nodal "
                "complication)"
            ),
            N_("symptom control and wound care"),
            N_("quality of life"),
        ),
        indicator=Indicator.warning,
        palliative=True,
        explanation=N_(
            "Uncontrolled bleeding, infection, ulceration or fungation at any time, or "
            "uncontrolled pain, impending ulceration or a nodal complication once systemic therapy "
            "has started: palliative local treatment. Never deferred behind the work-up, which is "
            "completed in parallel; surgery after initial systemic therapy, radiotherapy as the "
            "alternative (NCCN, as summarised by a secondary page), supportive local care for "
            "wounds and bleeding."
        ),
        evidence=PALLIATION,
    ),
    Rule(
        id="R3-complete-workup",
        when=lambda f: f.workup_incomplete,
        recommendation=R.complete_workup,
        headline=_complete_workup,
        goals_of_care=(
            N_("establish the diagnosis and receptor status that systemic therapy depends on"),
        ),
        explanation=N_(
            "Histological confirmation by core biopsy and ER, PR and HER2 status come "
            "before any elective decision about the primary: they determine the systemic therapy "
            "that comes first."
        ),
        evidence=TOPIC,
    ),
    Rule(
        id="R4-progression",
        when=lambda f: f.progression,
        recommendation=R.no_routine_local_therapy,
        headline=_progression,
        goals_of_care=(
            N_("control of the distant disease with a change of systemic therapy"),
            N_("symptom control"),
            N_("quality of life"),
        ),
        indicator=Indicator.warning,
        explanation=N_(
            "Disease progressing on systemic therapy: the priority is a change of "
            "systemic therapy. E2108 and JCOG1017 randomised only patients without progression."
        ),
        evidence=("khan2022", "shien2023"),
    ),
    Rule(
        id="R5-systemic-first",
        when=lambda f: f.too_early_to_judge,
        recommendation=R.systemic_therapy_first,
        headline=_systemic_first,
        goals_of_care=(
            N_("prolongation of survival with systemic therapy"),
            N_("quality of life"),
            N_("assessment of the response before any elective local decision"),
        ),
        explanation=N_(
            # "4 months" is MIN_MONTHS_ON_THERAPY (tests/decision/test_languages.py checks it)
            "Start or continue systemic therapy and assess the response after about "
            "4 months (restage now when it has not been evaluated by then). "
            "Response selects the patients for whom local therapy can be discussed (E2108 "
            "randomised after 4–8 months, JCOG1017 after 3 months without progression)."
        ),
        evidence=(*SELECTION, *TOPIC),
    ),
    Rule(
        id="R6-discuss",
        when=lambda f: f.responding and f.discussion_favourable and f.discussion_unfavourable,
        recommendation=R.discuss_local_therapy,
        headline=_discuss,
        goals_of_care=(
            N_("locoregional control (fewer local progressions)"),
            N_("quality of life"),
            N_(
                "prolongation of survival rests on systemic therapy; "
                "local therapy did not add to it"
            ),
        ),
        local_control_applies=True,
        explanation=N_(
            "Response or stable disease after at least 4 months, a suitable local "
            "modality (ECOG 0–2; the patient does not decline all local therapy) and no heavy "
            "distant burden: local therapy can be discussed case by case. In randomised trials it "
            "did not prolong overall survival (pooled {pooled:overall_survival}) but improved "
            "locoregional control."
        ),
        evidence=(*TRIALS_OS, *SELECTION),
    ),
    Rule(
        id="R7-complete-workup-missing-facts",
        when=lambda f: f.responding and f.discussion_favourable,
        recommendation=R.complete_workup,
        headline=_missing_facts,
        goals_of_care=(
            N_("record the facts that decide whether local therapy can be discussed"),
            N_("continuation of effective systemic therapy"),
        ),
        local_control_applies=True,
        explanation=N_(
            "Only missing facts stand in the way of a discussion: with ECOG unknown "
            "counted as 0 and unknown non-bone lesion counts as 1 the conditions hold, with ECOG 3 "
            "and counts of 6 they do not. Record performance status; restage."
        ),
        evidence=SELECTION,
    ),
    Rule(
        id="R8-no-routine",
        when=lambda f: True,
        recommendation=R.no_routine_local_therapy,
        headline=_no_routine,
        goals_of_care=(
            N_("prolongation of survival with systemic therapy"),
            N_("symptom control"),
            N_("quality of life"),
        ),
        explanation=N_(
            "Continue systemic therapy; local therapy of the primary is not routinely "
            "offered: randomised trials found no overall-survival benefit (pooled "
            "{pooled:overall_survival}), and a condition for a case-by-case discussion is not met "
            "(poor performance status, heavy distant burden, or the patient declines)."
        ),
        evidence=(*TRIALS_OS, "patrick2015"),
    ),
)


FACTOR_RULES: tuple[Rule, ...] = (
    # --- local symptoms -------------------------------------------------------------
    Rule(
        id="F-symptoms-uncontrolled",
        when=lambda f: f.in_scope and f.palliation_needed,
        factor=F.local_symptoms,
        direction=D.favours_local_therapy,
        finding=lambda f: (
            _("uncontrolled %(symptoms)s") % {"symptoms": symptoms_text(f.palliation_reasons)}
        ),
        explanation=N_(
            "Uncontrolled local complications are the clearest indication for local "
            "treatment of the primary, for palliation and quality of life."
        ),
        evidence=PALLIATION,
    ),
    Rule(
        id="F-symptoms-awaiting-systemic-therapy",
        when=lambda f: f.in_scope and bool(f.awaiting_systemic_relief),
        factor=F.local_symptoms,
        direction=D.neutral,
        finding=lambda f: (
            _("%(symptoms)s, systemic therapy not started")
            % {"symptoms": symptoms_text(f.awaiting_systemic_relief)}
        ),
        explanation=N_(
            "Pain, impending ulceration and nodal complications are first treated by "
            "systemic therapy (and analgesia); they indicate palliative local therapy when they "
            "persist once systemic therapy has started."
        ),
        evidence=PALLIATION,
    ),
    Rule(
        id="F-symptoms-controlled",
        when=lambda f: f.in_scope and bool(f.symptoms) and f.patient.local_symptoms_controlled,
        factor=F.local_symptoms,
        direction=D.neutral,
        finding=lambda f: _("%(symptoms)s controlled") % {"symptoms": symptoms_text(f.symptoms)},
        explanation=N_(
            "Controlled symptoms do not by themselves call for local treatment; their return would."
        ),
        evidence=PALLIATION,
    ),
    Rule(
        id="F-symptoms-none",
        when=lambda f: f.in_scope and not f.symptoms,
        factor=F.local_symptoms,
        direction=D.neutral,
        finding=_fixed(N_("no symptoms from the primary or its regional nodes")),
        explanation=N_(
            "Without local complications, local therapy would aim at locoregional "
            "control, not palliation."
        ),
        evidence=("khan2022", "shien2023"),
    ),
    # --- surgical risk and resectability ---------------------------------------------
    Rule(
        id="F-surgical-risk-high",
        when=lambda f: f.in_scope and f.high_surgical_risk,
        factor=F.surgical_risk,
        direction=D.against_local_therapy,
        finding=_fixed(N_("high anaesthetic/surgical risk")),
        explanation=N_(
            "High anaesthetic or surgical risk rules out an operation whose survival "
            "benefit is unproven; radiotherapy and supportive care remain."
        ),
        evidence=(*TOPIC, "tosello2018"),
    ),
    Rule(
        id="F-surgical-risk-acceptable",
        when=lambda f: f.in_scope and not f.high_surgical_risk,
        factor=F.surgical_risk,
        direction=D.neutral,
        finding=lambda f: _(_RISK_WORDS[f.patient.surgical_risk.value]),
        explanation=N_(
            "In the trials breast surgery was safe: no treatment-related deaths in "
            "JCOG1017, local-therapy toxicity similar between arms in MF07-01 (Cochrane)."
        ),
        evidence=("shien2023", "tosello2018", "badwe2015"),
    ),
    Rule(
        id="F-not-resectable",
        when=lambda f: f.in_scope and f.resectable_false,
        factor=F.resectability,
        direction=D.against_local_therapy,
        finding=_fixed(N_("negative margins not achievable with standard surgery")),
        explanation=N_(
            "Registry benefit was confined to resection with free margins; an "
            "incomplete resection adds morbidity without local control. Radiotherapy remains."
        ),
        evidence=("khan2002", "pmid30146252"),
    ),
    Rule(
        id="F-resectable",
        when=lambda f: f.in_scope and f.patient.resectable is True,
        factor=F.resectability,
        direction=D.neutral,
        finding=_fixed(N_("resectable with negative margins")),
        explanation=N_(
            "Resectability with clear margins is a precondition for surgery of the "
            "primary, not a reason for it."
        ),
        evidence=("khan2002",),
    ),
    Rule(
        id="F-resectability-unknown",
        when=lambda f: f.in_scope and f.resectable_unknown,
        factor=F.resectability,
        direction=D.neutral,
        finding=_fixed(N_("resectability not yet assessed (surgery suitable pending the surgeon)")),
        explanation=N_(
            "The surgeon assesses whether negative margins are achievable; an unknown "
            "resectability never blocks a discussion."
        ),
        evidence=("khan2002",),
    ),
    Rule(
        id="F-t4-inflammatory",
        when=lambda f: f.in_scope and f.inflammatory,
        factor=F.resectability,
        direction=D.against_local_therapy,
        finding=_fixed(N_("inflammatory carcinoma (T4d)")),
        explanation=N_(
            "Inflammatory cancer: surgery only after a durable response to systemic "
            "therapy, and then modified radical mastectomy with axillary dissection and "
            "post-mastectomy radiotherapy; no breast conservation, sentinel node biopsy or "
            "immediate reconstruction."
        ),
        evidence=("ibc_surgery_reviews",),
    ),
    Rule(
        id="F-t4-locally-advanced",
        when=lambda f: f.in_scope and f.t4 and not f.inflammatory,
        factor=F.resectability,
        direction=D.neutral,
        finding=lambda f: _(_T4_WORDS[f.patient.t or "T4"]),
        explanation=N_(
            "Chest-wall or skin involvement needs more extensive surgery to reach "
            "negative margins (registry benefit was confined to free margins); it is also where "
            "locoregional control matters most."
        ),
        evidence=("khan2002", "khan2022"),
    ),
    # --- patient preference ---------------------------------------------------------
    Rule(
        id="F-preference-wants",
        when=lambda f: f.in_scope and f.wants,
        factor=F.patient_preference,
        direction=D.favours_local_therapy,
        finding=_fixed(N_("wishes local therapy")),
        explanation=N_(
            "The patient's wish counts; the patient should know that trials showed "
            "better local control but no longer survival, and broadly similar quality of life."
        ),
        evidence=("khan2022",),
    ),
    Rule(
        id="F-preference-declines-surgery",
        when=lambda f: f.in_scope and f.declines_surgery and not f.declines_local_therapy,
        factor=F.patient_preference,
        direction=D.neutral,
        finding=_fixed(N_("declines surgery, open to radiotherapy of the primary")),
        explanation=N_(
            "Declining an operation leaves locoregional radiotherapy (and supportive "
            "care) as the local options."
        ),
        evidence=("khan2022", "nccn_palliation_summary"),
    ),
    Rule(
        id="F-preference-declines",
        when=lambda f: f.in_scope and f.declines_local_therapy,
        factor=F.patient_preference,
        direction=D.against_local_therapy,
        finding=_fixed(N_("declines local therapy")),
        explanation=N_(
            "Without a proven survival benefit, a patient's decision to decline local "
            "therapy is decisive; supportive local care for wounds and bleeding remains."
        ),
        evidence=("reinhorn2021", "uptodate_local_therapies"),
    ),
    Rule(
        id="F-preference-undecided",
        when=lambda f: (
            f.in_scope and not f.wants and not f.declines_surgery and not f.declines_local_therapy
        ),
        factor=F.patient_preference,
        direction=D.neutral,
        finding=_fixed(N_("undecided or not yet discussed")),
        explanation=N_(
            "Shared decision-making: the benefit (local control) and the burden "
            "(surgery, radiotherapy, recovery) are discussed with the patient."
        ),
        evidence=("khan2022",),
    ),
    # --- distant disease burden -----------------------------------------------------
    Rule(
        id="F-burden-heavy",
        when=lambda f: f.in_scope and f.heavy_burden,
        factor=F.distant_disease_burden,
        direction=D.against_local_therapy,
        finding=lambda f: (
            _("heavy distant burden: %(reasons)s (sites: %(sites)s)")
            % {"reasons": ", ".join(heavy_reasons(f)), "sites": _sites_text(f)}
        ),
        explanation=N_(
            "Brain metastasis, visceral crisis, three or more sites or more than 5 "
            "lesions outside bone: survival is driven by the distant disease (5-year overall "
            "survival 31% with one metastatic site, 9% with four or more)."
        ),
        evidence=("taskindoust2021", "wang2019"),
    ),
    Rule(
        id="F-burden-bone-only",
        when=lambda f: f.in_scope and f.bone_only and not f.heavy_burden,
        factor=F.distant_disease_burden,
        direction=D.neutral,
        finding=lambda f: (
            (
                _("bone-only disease, %(lesions)s (bone lesions never make the burden heavy)")
                % {"lesions": lesions_text(f.patient.total_lesions)}
            )
            if not f.lesions_unknown
            else _(
                "bone-only disease, lesion count unknown (bone lesions never make the burden heavy)"
            )
        ),
        explanation=N_(
            "Bone-only disease has the best prognosis of the patterns and is never "
            "heavy by lesion count. The trial signal is an unplanned MF07-01 subgroup (solitary "
            "bone, {hr:soran2018:overall_survival:solitary bone-only metastasis}); pooled trials "
            "showed no difference in bone-only disease "
            "({hr:reinhorn2021:overall_survival:bone-only})."
        ),
        evidence=("soran2018", "reinhorn2021", "wang2019"),
    ),
    Rule(
        id="F-burden-limited",
        when=lambda f: f.in_scope and not f.bone_only and not f.heavy_burden,
        factor=F.distant_disease_burden,
        direction=D.neutral,
        finding=lambda f: (
            (
                _("limited visceral disease (sites: %(sites)s; %(lesions)s%(unknown)s)")
                if f.visceral
                else _("limited disease (sites: %(sites)s; %(lesions)s%(unknown)s)")
            )
            % {
                "sites": _sites_text(f),
                "lesions": lesions_text(f.non_bone_lesions, outside_bone=True),
                "unknown": _(", some counts unknown") if f.non_bone_counts_unknown else "",
            }
        ),
        explanation=N_(
            "No heavy distant burden. Pooled trials showed no overall-survival "
            "difference with visceral metastases ({hr:reinhorn2021:overall_survival:visceral})."
        ),
        evidence=("reinhorn2021",),
    ),
    # --- response to systemic therapy -------------------------------------------------
    Rule(
        id="F-response-not-started",
        when=lambda f: f.in_scope and not f.therapy_started,
        factor=F.response_to_systemic_therapy,
        direction=D.neutral,
        finding=therapy_text,
        explanation=N_(
            "Response to first-line systemic therapy is the main selector for a "
            "discussion of local therapy; it is not known yet."
        ),
        evidence=("khan2022", "shien2023"),
    ),
    Rule(
        id="F-response-too-early",
        when=lambda f: (
            f.in_scope and f.therapy_started and f.too_early_to_judge and not f.progression
        ),
        factor=F.response_to_systemic_therapy,
        direction=D.neutral,
        finding=therapy_text,
        explanation=N_(
            "Too early to judge, or not evaluated: response is assessed after about "
            "4 months of systemic therapy."
        ),
        evidence=("khan2022", "shien2023"),
    ),
    Rule(
        id="F-response-controlled",
        when=lambda f: f.in_scope and f.responding,
        factor=F.response_to_systemic_therapy,
        direction=D.favours_local_therapy,
        finding=therapy_text,
        explanation=N_(
            "Disease controlled on systemic therapy, as in the patients E2108 and "
            "JCOG1017 randomised; in them local therapy improved local control without longer "
            "survival (E2108 {hr:khan2022:overall_survival:overall}, JCOG1017 "
            "{hr:shien2023:overall_survival:overall})."
        ),
        evidence=("khan2022", "shien2023"),
    ),
    Rule(
        id="F-response-progression",
        when=lambda f: f.in_scope and f.progression,
        factor=F.response_to_systemic_therapy,
        direction=D.against_local_therapy,
        finding=therapy_text,
        explanation=N_(
            "Progression on systemic therapy calls for a change of systemic therapy; "
            "local therapy does not address the distant disease."
        ),
        evidence=("khan2022", "shien2023"),
    ),
    # --- HER2-positive disease ---------------------------------------------------------
    Rule(
        id="F-her2-brisk-response",
        when=lambda f: (
            f.in_scope
            and f.her2_positive
            and f.objective_response
            and (f.months_on_therapy or 0) >= MIN_MONTHS_ON_THERAPY
        ),
        factor=F.her2_status_and_response,
        direction=D.favours_local_therapy,
        finding=lambda f: _("HER2-positive with %(therapy)s") % {"therapy": therapy_text(f)},
        explanation=N_(
            "HER2-positive disease with a rapid, marked response may have a long "
            "disease-free interval after locoregional treatment; pooled trials showed no "
            "overall-survival difference in HER2-positive disease "
            "({hr:reinhorn2021:overall_survival:HER2 positive})."
        ),
        evidence=(*TOPIC, "reinhorn2021"),
    ),
    Rule(
        id="F-her2-positive-other",
        when=lambda f: (
            f.in_scope
            and f.her2_positive
            and not (f.objective_response and (f.months_on_therapy or 0) >= MIN_MONTHS_ON_THERAPY)
        ),
        factor=F.her2_status_and_response,
        direction=D.neutral,
        finding=lambda f: _("HER2-positive, %(therapy)s") % {"therapy": therapy_text(f)},
        explanation=N_(
            "The HER2-positive case for local therapy rests on a rapid, marked "
            "(objective) response to HER2-directed therapy after at least 4 months."
        ),
        evidence=(*TOPIC, "reinhorn2021"),
    ),
    # --- performance status ----------------------------------------------------------
    Rule(
        id="F-ecog-poor",
        when=lambda f: f.in_scope and f.poor_performance,
        factor=F.performance_status,
        direction=D.against_local_therapy,
        finding=lambda f: f"ECOG {f.patient.ecog}",
        explanation=N_(
            "Poor performance status: the trials enrolled fit patients; surgery is not "
            "suitable, and radiotherapy only for palliation (ECOG 0–3)."
        ),
        evidence=("khan2022", "nccn_palliation_summary"),
    ),
    Rule(
        id="F-ecog-fit",
        when=lambda f: f.in_scope and f.ecog_fit,
        factor=F.performance_status,
        direction=D.neutral,
        finding=lambda f: f"ECOG {f.patient.ecog}",
        explanation=N_("Fit for local therapy as far as performance status goes."),
        evidence=("khan2022",),
    ),
    Rule(
        id="F-ecog-unknown",
        when=lambda f: f.in_scope and f.ecog_unknown,
        factor=F.performance_status,
        direction=D.neutral,
        finding=_fixed(N_("ECOG not recorded")),
        explanation=N_(
            "Performance status decides whether surgery or radiotherapy is suitable; "
            "surgery is never offered without it."
        ),
        evidence=("khan2022",),
    ),
    # --- tumour subtype --------------------------------------------------------------
    Rule(
        id="F-subtype-triple-negative",
        when=lambda f: f.in_scope and f.triple_negative,
        factor=F.tumour_subtype,
        direction=D.against_local_therapy,
        finding=_fixed(N_("triple-negative")),
        explanation=N_(
            "Shortest survival of the subtypes; no trial signal of benefit (pooled "
            "subgroup {hr:reinhorn2021:overall_survival:triple negative})."
        ),
        evidence=("seer_subtype2021", "reinhorn2021"),
    ),
    Rule(
        id="F-subtype-hr-positive",
        when=lambda f: f.in_scope and f.hr_positive and f.patient.receptors_known,
        factor=F.tumour_subtype,
        direction=D.neutral,
        finding=lambda f: subtype_text(f.subtype),
        explanation=N_(
            "Hormone-receptor-positive: an unplanned MF07-01 subgroup suggested "
            "benefit ({hr:soran2018:overall_survival:ER/PR positive}) that pooled trials did not "
            "confirm ({hr:reinhorn2021:overall_survival:hormone receptor positive})."
        ),
        evidence=("soran2018", "reinhorn2021"),
    ),
    Rule(
        id="F-subtype-hr-negative-her2-positive",
        when=lambda f: (
            f.in_scope and f.patient.receptors_known and not f.hr_positive and f.her2_positive
        ),
        factor=F.tumour_subtype,
        direction=D.neutral,
        finding=_fixed(N_("HR-/HER2+")),
        explanation=N_("HER2-directed therapy drives the outcome; see the HER2 factor."),
        evidence=("reinhorn2021",),
    ),
    Rule(
        id="F-subtype-unknown",
        when=lambda f: f.in_scope and not f.patient.receptors_known,
        factor=F.tumour_subtype,
        direction=D.neutral,
        finding=lambda f: (
            _("receptor status incomplete: %(missing)s")
            % {
                "missing": ", ".join(
                    _(_WORKUP_WORDS[k]) for k in _missing_workup_keys(f) if k != "histology"
                )
            }
        ),
        explanation=N_(
            "Receptor status decides the systemic therapy and the prognosis (registry "
            "medians differ by subtype from 11 to 39 months)."
        ),
        evidence=("seer_subtype2021",),
    ),
)


def first_recommendation(facts: Facts) -> Rule:
    """The first recommendation rule (in precedence order) whose condition holds."""
    for rule in RECOMMENDATION_RULES:
        if rule.when(facts):
            return rule
    raise AssertionError("the last recommendation rule always applies")  # pragma: no cover


def factor_rules(facts: Facts) -> list[Rule]:
    """Every factor rule whose condition holds, in table order."""
    return [rule for rule in FACTOR_RULES if rule.when(facts)]


def all_rules() -> tuple[Rule, ...]:
    return RECOMMENDATION_RULES + FACTOR_RULES


def cited_evidence() -> frozenset[str]:
    """Every study ID the rule table rests on."""
    return frozenset(e for rule in all_rules() for e in rule.evidence)


def rule_table_markdown() -> str:
    """The rule table as Markdown (the generated part of docs/clinical-logic.md).

    Figures are shown as their placeholders (the record they are read from), so that the
    document does not change with every evidence snapshot.
    """
    rows = ["| id | effect | explanation | evidence |", "|---|---|---|---|"]
    for r in all_rules():
        if r.recommendation is not None:
            effect = f"recommendation `{r.recommendation.value}` ({r.indicator.value})"
        else:
            assert r.factor is not None and r.direction is not None
            effect = f"factor `{r.factor.value}` ({r.direction.value})"
        text = r.explanation.replace("{", "`{").replace("}", "}`")
        rows.append(f"| {r.id} | {effect} | {text} | {', '.join(r.evidence)} |")
    return "\n".join(rows)
