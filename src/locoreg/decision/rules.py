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
from locoreg.decision.model import Direction, FactorName, Indicator, Modality, Recommendation
from locoreg.decision.options import REASSESS, local_therapy_options
from locoreg.patient import LocalSymptom, MetastaticSite

Text = Callable[[Facts], str]


def _fixed(text: str) -> Text:
    return lambda _f: text


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table."""

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
        """The explanation with its figures resolved against the current snapshot."""
        return render(self.explanation)


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

_SYMPTOM_WORDS = {
    LocalSymptom.bleeding: "bleeding",
    LocalSymptom.ulceration: "ulceration",
    LocalSymptom.infection: "infection",
    LocalSymptom.fungation: "fungation",
    LocalSymptom.pain: "pain",
    LocalSymptom.impending_ulceration: "impending ulceration",
    LocalSymptom.nodal_complication: "a nodal complication (plexopathy, lymphoedema or venous "
    "obstruction)",
}
_T4_WORDS = {
    "T4": "T4 (subcategory not recorded): chest wall or skin involvement",
    "T4a": "T4a: extension to the chest wall",
    "T4b": "T4b: skin ulceration, satellite skin nodules or skin oedema (peau d'orange)",
    "T4c": "T4c: both chest-wall extension and skin involvement (T4a and T4b)",
}
_RESPONSE_WORDS = {
    "complete_response": "complete response",
    "partial_response": "partial response",
    "stable_disease": "stable disease",
    "progressive_disease": "progressive disease",
    "not_evaluated": "response not yet evaluated",
}


def symptoms_text(symptoms: frozenset[LocalSymptom]) -> str:
    words = [_SYMPTOM_WORDS[s] for s in sorted(symptoms)]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _plural(n: float, word: str) -> str:
    return f"{n:g} {word}" + ("" if n == 1 else "s")


def therapy_text(f: Facts) -> str:
    if not f.therapy_started:
        return "systemic therapy not started"
    assert f.response is not None and f.months_on_therapy is not None
    return (
        f"{_RESPONSE_WORDS[f.response.value]} after {_plural(f.months_on_therapy, 'month')} "
        "of systemic therapy"
    )


def missing_workup(f: Facts) -> list[str]:
    p = f.patient
    out = [] if p.histology_confirmed else ["histological confirmation (core biopsy)"]
    out += [
        f"{name} status"
        for name, value in (("ER", p.er), ("PR", p.pr), ("HER2", p.her2))
        if value.value == "unknown"
    ]
    return out


def _sites_text(f: Facts) -> str:
    return ", ".join(sorted(s.value.replace("_", " ") for s in f.patient.sites)) or "none"


def heavy_reasons(f: Facts) -> list[str]:
    reasons = []
    if f.brain:
        reasons.append("brain metastasis")
    if f.visceral_crisis:
        reasons.append("visceral crisis")
    if f.n_sites >= 3:
        reasons.append(f"{f.n_sites} distinct sites")
    if f.non_bone_lesions > 5:
        reasons.append(f"{f.non_bone_lesions} lesions outside bone")
    return reasons


def _awaiting_note(f: Facts) -> str:
    """Symptoms that systemic therapy is expected to relieve first (before it has started)."""
    waiting = f.awaiting_systemic_relief
    if not waiting:
        return ""
    note = ""
    if LocalSymptom.nodal_complication in waiting:
        note += (
            " Nodal complication: start systemic therapy; palliative radiotherapy if it is not "
            "relieved, sooner if a neurological deficit or venous obstruction progresses."
        )
    rest = waiting - {LocalSymptom.nodal_complication}
    if rest:
        note += (
            f" {symptoms_text(rest).capitalize()} from the primary: systemic therapy first; "
            "palliative local therapy if not controlled once it has started."
        )
    return note


# --- headlines (one per recommendation rule) --------------------------------------------


def _out_of_scope_m0(f: Facts) -> str:
    from locoreg.staging import stage_group_reason

    p = f.patient
    return (
        f"Not stage IV (M0; {stage_group_reason(p.t, p.n, p.m.value)}): outside the scope of "
        "this tool, which addresses the intact primary in de novo stage IV disease."
    )


def _out_of_scope_t0(_f: Facts) -> str:
    return (
        "No breast primary (T0), stage IV: there is no intact primary to treat; outside the "
        "scope of this tool. Systemic therapy follows the metastatic disease."
    )


def _palliative(f: Facts) -> str:
    options = {o.modality: o for o in local_therapy_options(f, palliative=True)}
    head = f"Palliative local treatment for uncontrolled {symptoms_text(f.palliation_reasons)}"
    surgery = options[Modality.surgery]
    if f.declines_local_therapy:
        how = (
            "the patient declines local therapy, so supportive local care (dressings, "
            "haemostatic measures, wound care) is the only option"
            if Modality.supportive_local_care in options
            else "the patient declines local therapy: no local option; symptom control "
            "(analgesia) with systemic therapy"
        )
    elif not any(o.suitable for o in options.values()):
        how = (
            f"no local modality is suitable ({surgery.reason}); symptom control (analgesia) "
            "and best supportive care"
        )
    else:
        suitable = [o.modality.value.replace("_", " ") for o in options.values() if o.suitable]
        how = "options: " + ", ".join(suitable)
        if not surgery.suitable:
            how += (
                f"; surgery: {REASSESS}"
                if REASSESS in surgery.reason
                else f"; surgery not suitable ({surgery.reason})"
            )
    parts = [f"{head}: {how}."]
    if f.workup_incomplete:
        parts.append(
            "Complete the work-up in parallel (" + ", ".join(missing_workup(f)) + "); "
            "do not delay palliation."
        )
    if f.progression:
        parts.append("The disease is progressing: change systemic therapy.")
    elif not f.therapy_started:
        parts.append("Start systemic therapy.")
    return " ".join(parts)


def _complete_workup(f: Facts) -> str:
    return "Complete the work-up first: " + ", ".join(missing_workup(f)) + "." + _awaiting_note(f)


def _progression(_f: Facts) -> str:
    return (
        "Progression on systemic therapy: change systemic therapy. Local therapy of the primary "
        "is not routinely offered; the trials randomised only patients without progression."
    )


def _systemic_first(f: Facts) -> str:
    if not f.therapy_started:
        text = (
            "Start systemic therapy; assess the response after about "
            f"{MIN_MONTHS_ON_THERAPY:g} months before deciding about the primary."
        )
    elif f.restage_now:
        assert f.months_on_therapy is not None
        text = (
            f"Restage now: the response has not been evaluated after "
            f"{_plural(f.months_on_therapy, 'month')} of systemic therapy; decide about the "
            "primary once it is known."
        )
    else:
        assert f.months_on_therapy is not None
        text = (
            f"Continue systemic therapy ({_plural(f.months_on_therapy, 'month')} so far); "
            f"assess the response at about {MIN_MONTHS_ON_THERAPY:g} months before deciding "
            "about the primary."
        )
    return text + _awaiting_note(f)


_EVIDENCE_SCOPE = "The evidence covers patients without progression on first-line therapy."


def _discuss(f: Facts) -> str:
    options = {o.modality: o for o in local_therapy_options(f, palliative=False)}
    surgery = options[Modality.surgery]
    controlled = f"Disease controlled on systemic therapy ({therapy_text(f)})"
    if surgery.suitable:
        return (
            f"{controlled}: local therapy of the primary — surgery followed by radiotherapy as "
            "in curative practice, or locoregional radiotherapy — may be discussed case by "
            "case; in randomised trials it improved locoregional control but not overall "
            "survival. " + _EVIDENCE_SCOPE
        )
    return (
        f"{controlled}: locoregional radiotherapy may be discussed for local control only; "
        f"surgery is not suitable ({surgery.reason}). No randomised trial tested radiotherapy "
        "alone or showed a survival gain from local therapy. " + _EVIDENCE_SCOPE
    )


def missing_facts(f: Facts) -> list[str]:
    """The unknowns that stand between a responding patient and a discussion."""
    out = []
    if f.ecog_unknown:
        out.append("record performance status (ECOG)")
    if f.non_bone_counts_unknown:
        sites = sorted(
            m.site.value.replace("_", " ")
            for m in f.patient.metastases
            if m.lesions is None and m.site is not MetastaticSite.bone
        )
        out.append("restage (count the lesions at " + ", ".join(sites) + ")")
    return out


def _missing_facts(f: Facts) -> str:
    return (
        f"Disease controlled on systemic therapy ({therapy_text(f)}), but facts are missing "
        "before local therapy can be discussed: " + "; ".join(missing_facts(f)) + "."
    )


def blockers(f: Facts) -> list[str]:
    out = []
    if f.declines_local_therapy:
        out.append("the patient declines local therapy")
    if f.poor_performance:
        out.append(f"ECOG {f.patient.ecog}")
    if f.heavy_burden:
        out.append("heavy distant burden (" + ", ".join(heavy_reasons(f)) + ")")
    return out


def _no_routine(f: Facts) -> str:
    why = blockers(f) or ["no local modality is suitable"]
    return (
        "Continue systemic therapy; local therapy of the primary is not routinely offered: "
        + "; ".join(why)
        + "."
    )


RECOMMENDATION_RULES: tuple[Rule, ...] = (
    Rule(
        id="R1-out-of-scope-m0",
        when=lambda f: not f.stage_iv,
        recommendation=R.out_of_scope,
        headline=_out_of_scope_m0,
        explanation="No distant metastasis (M0): not stage IV. locoreg addresses the intact "
        "primary in de novo stage IV disease only; the answer gives the AJCC stage group.",
        evidence=TOPIC,
    ),
    Rule(
        id="R1-out-of-scope-t0",
        when=lambda f: f.stage_iv and f.t0,
        recommendation=R.out_of_scope,
        headline=_out_of_scope_t0,
        explanation="No breast primary (T0): there is no intact primary whose treatment the "
        "trials tested.",
        evidence=("khan2022", "shien2023"),
    ),
    Rule(
        id="R2-palliative",
        when=lambda f: f.palliation_needed,
        recommendation=R.palliative_local_therapy,
        headline=_palliative,
        goals_of_care=(
            "control of the uncontrolled local problem (bleeding, wound, pain or nodal "
            "complication)",
            "symptom control and wound care",
            "quality of life",
        ),
        indicator=Indicator.warning,
        palliative=True,
        explanation="Uncontrolled bleeding, infection, ulceration or fungation at any time, or "
        "uncontrolled pain, impending ulceration or a nodal complication once systemic therapy "
        "has started: palliative local treatment. Never deferred behind the work-up, which is "
        "completed in parallel; surgery after initial systemic therapy, radiotherapy as the "
        "alternative (NCCN, as summarised by a secondary page), supportive local care for "
        "wounds and bleeding.",
        evidence=PALLIATION,
    ),
    Rule(
        id="R3-complete-workup",
        when=lambda f: f.workup_incomplete,
        recommendation=R.complete_workup,
        headline=_complete_workup,
        goals_of_care=(
            "establish the diagnosis and receptor status that systemic therapy depends on",
        ),
        explanation="Histological confirmation by core biopsy and ER, PR and HER2 status come "
        "before any elective decision about the primary: they determine the systemic therapy "
        "that comes first.",
        evidence=TOPIC,
    ),
    Rule(
        id="R4-progression",
        when=lambda f: f.progression,
        recommendation=R.no_routine_local_therapy,
        headline=_progression,
        goals_of_care=(
            "control of the distant disease with a change of systemic therapy",
            "symptom control",
            "quality of life",
        ),
        indicator=Indicator.warning,
        explanation="Disease progressing on systemic therapy: the priority is a change of "
        "systemic therapy. E2108 and JCOG1017 randomised only patients without progression.",
        evidence=("khan2022", "shien2023"),
    ),
    Rule(
        id="R5-systemic-first",
        when=lambda f: f.too_early_to_judge,
        recommendation=R.systemic_therapy_first,
        headline=_systemic_first,
        goals_of_care=(
            "prolongation of survival with systemic therapy",
            "quality of life",
            "assessment of the response before any elective local decision",
        ),
        explanation=f"Start or continue systemic therapy and assess the response after about "
        f"{MIN_MONTHS_ON_THERAPY:g} months (restage now when it has not been evaluated by then). "
        "Response selects the patients for whom local therapy can be discussed (E2108 "
        "randomised after 4–8 months, JCOG1017 after 3 months without progression).",
        evidence=(*SELECTION, *TOPIC),
    ),
    Rule(
        id="R6-discuss",
        when=lambda f: f.responding and f.discussion_favourable and f.discussion_unfavourable,
        recommendation=R.discuss_local_therapy,
        headline=_discuss,
        goals_of_care=(
            "locoregional control (fewer local progressions)",
            "quality of life",
            "prolongation of survival rests on systemic therapy; local therapy did not add to it",
        ),
        local_control_applies=True,
        explanation="Response or stable disease after at least 4 months, a suitable local "
        "modality (ECOG 0–2; the patient does not decline all local therapy) and no heavy "
        "distant burden: local therapy can be discussed case by case. In randomised trials it "
        "did not prolong overall survival (pooled {pooled:overall_survival}) but improved "
        "locoregional control.",
        evidence=(*TRIALS_OS, *SELECTION),
    ),
    Rule(
        id="R7-complete-workup-missing-facts",
        when=lambda f: f.responding and f.discussion_favourable,
        recommendation=R.complete_workup,
        headline=_missing_facts,
        goals_of_care=(
            "record the facts that decide whether local therapy can be discussed",
            "continuation of effective systemic therapy",
        ),
        local_control_applies=True,
        explanation="Only missing facts stand in the way of a discussion: with ECOG unknown "
        "counted as 0 and unknown non-bone lesion counts as 1 the conditions hold, with ECOG 3 "
        "and counts of 6 they do not. Record performance status; restage.",
        evidence=SELECTION,
    ),
    Rule(
        id="R8-no-routine",
        when=lambda f: True,
        recommendation=R.no_routine_local_therapy,
        headline=_no_routine,
        goals_of_care=(
            "prolongation of survival with systemic therapy",
            "symptom control",
            "quality of life",
        ),
        explanation="Continue systemic therapy; local therapy of the primary is not routinely "
        "offered: randomised trials found no overall-survival benefit (pooled "
        "{pooled:overall_survival}), and a condition for a case-by-case discussion is not met "
        "(poor performance status, heavy distant burden, or the patient declines).",
        evidence=(*TRIALS_OS, "patrick2015"),
    ),
)


FACTOR_RULES: tuple[Rule, ...] = (
    # --- local symptoms -------------------------------------------------------------
    Rule(
        id="F-symptoms-uncontrolled",
        when=lambda f: f.palliation_needed,
        factor=F.local_symptoms,
        direction=D.favours_local_therapy,
        finding=lambda f: "uncontrolled " + symptoms_text(f.palliation_reasons),
        explanation="Uncontrolled local complications are the clearest indication for local "
        "treatment of the primary, for palliation and quality of life.",
        evidence=PALLIATION,
    ),
    Rule(
        id="F-symptoms-awaiting-systemic-therapy",
        when=lambda f: bool(f.awaiting_systemic_relief),
        factor=F.local_symptoms,
        direction=D.neutral,
        finding=lambda f: (
            symptoms_text(f.awaiting_systemic_relief) + ", systemic therapy not started"
        ),
        explanation="Pain, impending ulceration and nodal complications are first treated by "
        "systemic therapy (and analgesia); they indicate palliative local therapy when they "
        "persist once systemic therapy has started.",
        evidence=PALLIATION,
    ),
    Rule(
        id="F-symptoms-controlled",
        when=lambda f: f.stage_iv and bool(f.symptoms) and f.patient.local_symptoms_controlled,
        factor=F.local_symptoms,
        direction=D.neutral,
        finding=lambda f: symptoms_text(f.symptoms) + " controlled",
        explanation="Controlled symptoms do not by themselves call for local treatment; "
        "their return would.",
        evidence=PALLIATION,
    ),
    Rule(
        id="F-symptoms-none",
        when=lambda f: f.stage_iv and not f.symptoms,
        factor=F.local_symptoms,
        direction=D.neutral,
        finding=_fixed("no symptoms from the primary or its regional nodes"),
        explanation="Without local complications, local therapy would aim at locoregional "
        "control, not palliation.",
        evidence=("khan2022", "shien2023"),
    ),
    # --- surgical risk and resectability ---------------------------------------------
    Rule(
        id="F-surgical-risk-high",
        when=lambda f: f.high_surgical_risk,
        factor=F.surgical_risk,
        direction=D.against_local_therapy,
        finding=_fixed("high anaesthetic/surgical risk"),
        explanation="High anaesthetic or surgical risk rules out an operation whose survival "
        "benefit is unproven; radiotherapy and supportive care remain.",
        evidence=(*TOPIC, "tosello2018"),
    ),
    Rule(
        id="F-surgical-risk-acceptable",
        when=lambda f: f.stage_iv and not f.high_surgical_risk,
        factor=F.surgical_risk,
        direction=D.neutral,
        finding=lambda f: f"{f.patient.surgical_risk.value} surgical risk",
        explanation="In the trials breast surgery was safe: no treatment-related deaths in "
        "JCOG1017, local-therapy toxicity similar between arms in MF07-01 (Cochrane).",
        evidence=("shien2023", "tosello2018", "badwe2015"),
    ),
    Rule(
        id="F-not-resectable",
        when=lambda f: f.resectable_false,
        factor=F.resectability,
        direction=D.against_local_therapy,
        finding=_fixed("negative margins not achievable with standard surgery"),
        explanation="Registry benefit was confined to resection with free margins; an "
        "incomplete resection adds morbidity without local control. Radiotherapy remains.",
        evidence=("khan2002", "pmid30146252"),
    ),
    Rule(
        id="F-resectable",
        when=lambda f: f.stage_iv and f.patient.resectable is True,
        factor=F.resectability,
        direction=D.neutral,
        finding=_fixed("resectable with negative margins"),
        explanation="Resectability with clear margins is a precondition for surgery of the "
        "primary, not a reason for it.",
        evidence=("khan2002",),
    ),
    Rule(
        id="F-resectability-unknown",
        when=lambda f: f.stage_iv and f.resectable_unknown,
        factor=F.resectability,
        direction=D.neutral,
        finding=_fixed("resectability not yet assessed (surgery suitable pending the surgeon)"),
        explanation="The surgeon assesses whether negative margins are achievable; an unknown "
        "resectability never blocks a discussion.",
        evidence=("khan2002",),
    ),
    Rule(
        id="F-t4-inflammatory",
        when=lambda f: f.stage_iv and f.inflammatory,
        factor=F.resectability,
        direction=D.against_local_therapy,
        finding=_fixed("inflammatory carcinoma (T4d)"),
        explanation="Inflammatory cancer: surgery only after a durable response to systemic "
        "therapy, and then modified radical mastectomy with axillary dissection and "
        "post-mastectomy radiotherapy; no breast conservation, sentinel node biopsy or "
        "immediate reconstruction.",
        evidence=("ibc_surgery_reviews",),
    ),
    Rule(
        id="F-t4-locally-advanced",
        when=lambda f: f.stage_iv and f.t4 and not f.inflammatory,
        factor=F.resectability,
        direction=D.neutral,
        finding=lambda f: _T4_WORDS[f.patient.t or "T4"],
        explanation="Chest-wall or skin involvement needs more extensive surgery to reach "
        "negative margins (registry benefit was confined to free margins); it is also where "
        "locoregional control matters most.",
        evidence=("khan2002", "khan2022"),
    ),
    # --- patient preference ---------------------------------------------------------
    Rule(
        id="F-preference-wants",
        when=lambda f: f.stage_iv and f.wants,
        factor=F.patient_preference,
        direction=D.favours_local_therapy,
        finding=_fixed("wishes local therapy"),
        explanation="The patient's wish counts; the patient should know that trials showed "
        "better local control but no longer survival, and broadly similar quality of life.",
        evidence=("khan2022",),
    ),
    Rule(
        id="F-preference-declines-surgery",
        when=lambda f: f.stage_iv and f.declines_surgery and not f.declines_local_therapy,
        factor=F.patient_preference,
        direction=D.neutral,
        finding=_fixed("declines surgery, open to radiotherapy of the primary"),
        explanation="Declining an operation leaves locoregional radiotherapy (and supportive "
        "care) as the local options.",
        evidence=("khan2022", "nccn_palliation_summary"),
    ),
    Rule(
        id="F-preference-declines",
        when=lambda f: f.stage_iv and f.declines_local_therapy,
        factor=F.patient_preference,
        direction=D.against_local_therapy,
        finding=_fixed("declines local therapy"),
        explanation="Without a proven survival benefit, a patient's decision to decline local "
        "therapy is decisive; supportive local care for wounds and bleeding remains.",
        evidence=("reinhorn2021", "uptodate_local_therapies"),
    ),
    Rule(
        id="F-preference-undecided",
        when=lambda f: (
            f.stage_iv and not f.wants and not f.declines_surgery and not f.declines_local_therapy
        ),
        factor=F.patient_preference,
        direction=D.neutral,
        finding=_fixed("undecided or not yet discussed"),
        explanation="Shared decision-making: the benefit (local control) and the burden "
        "(surgery, radiotherapy, recovery) are discussed with the patient.",
        evidence=("khan2022",),
    ),
    # --- distant disease burden -----------------------------------------------------
    Rule(
        id="F-burden-heavy",
        when=lambda f: f.stage_iv and f.heavy_burden,
        factor=F.distant_disease_burden,
        direction=D.against_local_therapy,
        finding=lambda f: (
            "heavy distant burden: " + ", ".join(heavy_reasons(f)) + f" (sites: {_sites_text(f)})"
        ),
        explanation="Brain metastasis, visceral crisis, three or more sites or more than 5 "
        "lesions outside bone: survival is driven by the distant disease (5-year overall "
        "survival 31% with one metastatic site, 9% with four or more).",
        evidence=("taskindoust2021", "wang2019"),
    ),
    Rule(
        id="F-burden-bone-only",
        when=lambda f: f.stage_iv and f.bone_only and not f.heavy_burden,
        factor=F.distant_disease_burden,
        direction=D.neutral,
        finding=lambda f: (
            "bone-only disease"
            + (
                f", {_plural(f.patient.total_lesions, 'lesion')}"
                if not f.lesions_unknown
                else ", lesion count unknown"
            )
            + " (bone lesions never make the burden heavy)"
        ),
        explanation="Bone-only disease has the best prognosis of the patterns and is never "
        "heavy by lesion count. The trial signal is an unplanned MF07-01 subgroup (solitary "
        "bone, {hr:soran2018:overall_survival:solitary bone-only metastasis}); pooled trials "
        "showed no difference in bone-only disease "
        "({hr:reinhorn2021:overall_survival:bone-only}).",
        evidence=("soran2018", "reinhorn2021", "wang2019"),
    ),
    Rule(
        id="F-burden-limited",
        when=lambda f: f.stage_iv and not f.bone_only and not f.heavy_burden,
        factor=F.distant_disease_burden,
        direction=D.neutral,
        finding=lambda f: (
            ("limited visceral disease" if f.visceral else "limited disease")
            + f" (sites: {_sites_text(f)}; {_plural(f.non_bone_lesions, 'lesion')} outside bone"
            + (", some counts unknown" if f.non_bone_counts_unknown else "")
            + ")"
        ),
        explanation="No heavy distant burden. Pooled trials showed no overall-survival "
        "difference with visceral metastases ({hr:reinhorn2021:overall_survival:visceral}).",
        evidence=("reinhorn2021",),
    ),
    # --- response to systemic therapy -------------------------------------------------
    Rule(
        id="F-response-not-started",
        when=lambda f: f.stage_iv and not f.therapy_started,
        factor=F.response_to_systemic_therapy,
        direction=D.neutral,
        finding=therapy_text,
        explanation="Response to first-line systemic therapy is the main selector for a "
        "discussion of local therapy; it is not known yet.",
        evidence=("khan2022", "shien2023"),
    ),
    Rule(
        id="F-response-too-early",
        when=lambda f: (
            f.stage_iv and f.therapy_started and f.too_early_to_judge and not f.progression
        ),
        factor=F.response_to_systemic_therapy,
        direction=D.neutral,
        finding=therapy_text,
        explanation=f"Too early to judge, or not evaluated: response is assessed after about "
        f"{MIN_MONTHS_ON_THERAPY:g} months of systemic therapy.",
        evidence=("khan2022", "shien2023"),
    ),
    Rule(
        id="F-response-controlled",
        when=lambda f: f.stage_iv and f.responding,
        factor=F.response_to_systemic_therapy,
        direction=D.favours_local_therapy,
        finding=therapy_text,
        explanation="Disease controlled on systemic therapy, as in the patients E2108 and "
        "JCOG1017 randomised; in them local therapy improved local control without longer "
        "survival (E2108 {hr:khan2022:overall_survival:overall}, JCOG1017 "
        "{hr:shien2023:overall_survival:overall}).",
        evidence=("khan2022", "shien2023"),
    ),
    Rule(
        id="F-response-progression",
        when=lambda f: f.stage_iv and f.progression,
        factor=F.response_to_systemic_therapy,
        direction=D.against_local_therapy,
        finding=therapy_text,
        explanation="Progression on systemic therapy calls for a change of systemic therapy; "
        "local therapy does not address the distant disease.",
        evidence=("khan2022", "shien2023"),
    ),
    # --- HER2-positive disease ---------------------------------------------------------
    Rule(
        id="F-her2-brisk-response",
        when=lambda f: (
            f.stage_iv
            and f.her2_positive
            and f.objective_response
            and (f.months_on_therapy or 0) >= MIN_MONTHS_ON_THERAPY
        ),
        factor=F.her2_status_and_response,
        direction=D.favours_local_therapy,
        finding=lambda f: f"HER2-positive with {therapy_text(f)}",
        explanation="HER2-positive disease with a rapid, marked response may have a long "
        "disease-free interval after locoregional treatment; pooled trials showed no "
        "overall-survival difference in HER2-positive disease "
        "({hr:reinhorn2021:overall_survival:HER2 positive}).",
        evidence=(*TOPIC, "reinhorn2021"),
    ),
    Rule(
        id="F-her2-positive-other",
        when=lambda f: (
            f.stage_iv
            and f.her2_positive
            and not (f.objective_response and (f.months_on_therapy or 0) >= MIN_MONTHS_ON_THERAPY)
        ),
        factor=F.her2_status_and_response,
        direction=D.neutral,
        finding=lambda f: f"HER2-positive, {therapy_text(f)}",
        explanation="The HER2-positive case for local therapy rests on a rapid, marked "
        "(objective) response to HER2-directed therapy after at least 4 months.",
        evidence=(*TOPIC, "reinhorn2021"),
    ),
    # --- performance status ----------------------------------------------------------
    Rule(
        id="F-ecog-poor",
        when=lambda f: f.stage_iv and f.poor_performance,
        factor=F.performance_status,
        direction=D.against_local_therapy,
        finding=lambda f: f"ECOG {f.patient.ecog}",
        explanation="Poor performance status: the trials enrolled fit patients; surgery is not "
        "suitable, and radiotherapy only for palliation (ECOG 0–3).",
        evidence=("khan2022", "nccn_palliation_summary"),
    ),
    Rule(
        id="F-ecog-fit",
        when=lambda f: f.stage_iv and f.ecog_fit,
        factor=F.performance_status,
        direction=D.neutral,
        finding=lambda f: f"ECOG {f.patient.ecog}",
        explanation="Fit for local therapy as far as performance status goes.",
        evidence=("khan2022",),
    ),
    Rule(
        id="F-ecog-unknown",
        when=lambda f: f.stage_iv and f.ecog_unknown,
        factor=F.performance_status,
        direction=D.neutral,
        finding=_fixed("ECOG not recorded"),
        explanation="Performance status decides whether surgery or radiotherapy is suitable; "
        "surgery is never offered without it.",
        evidence=("khan2022",),
    ),
    # --- tumour subtype --------------------------------------------------------------
    Rule(
        id="F-subtype-triple-negative",
        when=lambda f: f.stage_iv and f.triple_negative,
        factor=F.tumour_subtype,
        direction=D.against_local_therapy,
        finding=_fixed("triple-negative"),
        explanation="Shortest survival of the subtypes; no trial signal of benefit (pooled "
        "subgroup {hr:reinhorn2021:overall_survival:triple negative}).",
        evidence=("seer_subtype2021", "reinhorn2021"),
    ),
    Rule(
        id="F-subtype-hr-positive",
        when=lambda f: f.stage_iv and f.hr_positive and f.patient.receptors_known,
        factor=F.tumour_subtype,
        direction=D.neutral,
        finding=lambda f: f.subtype,
        explanation="Hormone-receptor-positive: an unplanned MF07-01 subgroup suggested "
        "benefit ({hr:soran2018:overall_survival:ER/PR positive}) that pooled trials did not "
        "confirm ({hr:reinhorn2021:overall_survival:hormone receptor positive}).",
        evidence=("soran2018", "reinhorn2021"),
    ),
    Rule(
        id="F-subtype-hr-negative-her2-positive",
        when=lambda f: (
            f.stage_iv and f.patient.receptors_known and not f.hr_positive and f.her2_positive
        ),
        factor=F.tumour_subtype,
        direction=D.neutral,
        finding=_fixed("HR-/HER2+"),
        explanation="HER2-directed therapy drives the outcome; see the HER2 factor.",
        evidence=("reinhorn2021",),
    ),
    Rule(
        id="F-subtype-unknown",
        when=lambda f: f.stage_iv and not f.patient.receptors_known,
        factor=F.tumour_subtype,
        direction=D.neutral,
        finding=lambda f: (
            "receptor status incomplete: "
            + ", ".join(m for m in missing_workup(f) if m.endswith("status"))
        ),
        explanation="Receptor status decides the systemic therapy and the prognosis (registry "
        "medians differ by subtype from 11 to 39 months).",
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
