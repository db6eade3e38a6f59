"""Facts derived once from a Patient: the vocabulary the rule table is written in.

Definitions follow CONTRACTS.md §2 (contract v2):

* *palliation needed*: an uncontrolled ``bleeding``, ``infection``, ``ulceration`` or
  ``fungation`` at any time, or an uncontrolled ``pain``, ``impending_ulceration`` or
  ``nodal_complication`` once systemic therapy has started.
* *heavy distant burden*: any brain metastasis, ``visceral_crisis``, three or more
  distinct sites (every ``site`` value counts), or more than 5 lesions summed over the
  non-bone sites. Bone lesions never count: bone-only disease is never heavy by count.
* *responding*: complete or partial response or stable disease after at least
  ``MIN_MONTHS_ON_THERAPY`` months — the selection E2108 used (randomised after 4–8
  months without progression; JCOG1017 after 3).
* *discussion conditions*: responding, a local modality suitable (ECOG recorded and 0–2;
  the patient does not decline all local therapy), no heavy burden. With missing facts
  they are evaluated twice (:func:`discussion_passes`): unknowns favourable (ECOG 0; each
  null non-bone count = 1) and unfavourable (ECOG 3; each null non-bone count = 6).
"""

from __future__ import annotations

from dataclasses import dataclass

from locoreg.patient import (
    PALLIATIVE_INDICATIONS,
    PALLIATIVE_ON_THERAPY,
    VISCERAL_SITES,
    WOUND_PROBLEMS,
    LocalSymptom,
    MetastaticSite,
    MStage,
    Patient,
    PatientPreference,
    ReceptorStatus,
    Response,
    SurgicalRisk,
)

MIN_MONTHS_ON_THERAPY = 4.0
MAX_LESIONS_OLIGO = 5
HEAVY_SITE_COUNT = 3
FIT_ECOG_MAX = 2
PALLIATIVE_RT_ECOG_MAX = 3
# Stand-ins for unknowns in the two evaluations of the discussion conditions (§2).
FAVOURABLE_ECOG, UNFAVOURABLE_ECOG = 0, 3
FAVOURABLE_COUNT, UNFAVOURABLE_COUNT = 1, 6

_RESPONDING = frozenset(
    {Response.complete_response, Response.partial_response, Response.stable_disease}
)
_OBJECTIVE_RESPONSE = frozenset({Response.complete_response, Response.partial_response})
# Sites whose progression makes an operation unsafe in palliation (§2 suitability).
_UNSAFE_PROGRESSING_SITES = frozenset({MetastaticSite.brain, MetastaticSite.liver})
# Sites which, alone, should be confirmed histologically before M1 is accepted.
_CONFIRM_SITES = frozenset({MetastaticSite.distant_lymph_nodes, MetastaticSite.skin_soft_tissue})


def non_bone_lesions(p: Patient, unknown_as: int = 0) -> int:
    """Lesions summed over the non-bone sites, a null count taken as ``unknown_as``."""
    return sum(
        (m.lesions if m.lesions is not None else unknown_as)
        for m in p.metastases
        if m.site is not MetastaticSite.bone
    )


def heavy_burden(p: Patient, unknown_as: int = 0) -> bool:
    """Heavy distant burden (§2) with null non-bone counts taken as ``unknown_as``."""
    return (
        MetastaticSite.brain in p.sites
        or p.visceral_crisis
        or len(p.sites) >= HEAVY_SITE_COUNT
        or non_bone_lesions(p, unknown_as) > MAX_LESIONS_OLIGO
    )


def discussion_passes(p: Patient, *, favourable: bool) -> bool:
    """The §2 discussion conditions beyond response, unknowns favourable or unfavourable.

    A local modality is suitable when ECOG is 0–2 (radiotherapy needs nothing more; surgery
    needs more, but radiotherapy is then still there) and the patient does not decline all
    local therapy; and the distant burden must not be heavy.
    """
    ecog = p.ecog
    if ecog is None:
        ecog = FAVOURABLE_ECOG if favourable else UNFAVOURABLE_ECOG
    count = FAVOURABLE_COUNT if favourable else UNFAVOURABLE_COUNT
    return (
        ecog <= FIT_ECOG_MAX
        and p.patient_preference is not PatientPreference.declines_local_therapy
        and not heavy_burden(p, unknown_as=count)
    )


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the rules ask about a patient, computed once."""

    patient: Patient
    stage_iv: bool
    t0: bool
    in_scope: bool
    workup_incomplete: bool
    symptoms: frozenset[LocalSymptom]
    uncontrolled: frozenset[LocalSymptom]
    palliation_needed: bool
    palliation_reasons: frozenset[LocalSymptom]
    wound_problems: frozenset[LocalSymptom]
    awaiting_systemic_relief: frozenset[LocalSymptom]
    therapy_started: bool
    months_on_therapy: float | None
    response: Response | None
    progression: bool
    too_early_to_judge: bool
    restage_now: bool
    responding: bool
    objective_response: bool
    ecog_unknown: bool
    ecog_fit: bool
    poor_performance: bool
    high_surgical_risk: bool
    heavy_burden: bool
    brain: bool
    unsafe_progression: bool
    n_sites: int
    non_bone_lesions: int
    non_bone_counts_unknown: bool
    lesions_unknown: bool
    bone_only: bool
    visceral: bool
    visceral_crisis: bool
    oligometastatic: bool
    resectable_false: bool
    resectable_unknown: bool
    declines_surgery: bool
    declines_local_therapy: bool
    wants: bool
    her2_positive: bool
    hr_positive: bool
    triple_negative: bool
    t4: bool
    inflammatory: bool
    tis: bool
    confirm_metastasis: bool
    discussion_favourable: bool
    discussion_unfavourable: bool

    @property
    def subtype(self) -> str:
        """Receptor subtype label as registry studies group it."""
        if not self.patient.receptors_known:
            return "unknown"
        hr = "HR+" if self.hr_positive else "HR-"
        her2 = "HER2+" if self.her2_positive else "HER2-"
        return "triple-negative" if self.triple_negative else f"{hr}/{her2}"

    @property
    def male(self) -> bool:
        return self.patient.sex.value == "male"


def derive(p: Patient) -> Facts:
    """Compute the facts of one patient (pure; no I/O)."""
    therapy = p.systemic_therapy
    response = therapy.response if therapy else None
    months = therapy.months if therapy else None
    started = therapy is not None
    symptoms = frozenset(p.local_symptoms)
    uncontrolled = frozenset() if p.local_symptoms_controlled else symptoms
    reasons = (uncontrolled & PALLIATIVE_INDICATIONS) | (
        uncontrolled & PALLIATIVE_ON_THERAPY if started else frozenset()
    )
    sites = p.sites
    brain = MetastaticSite.brain in sites
    progression = response is Response.progressive_disease
    responding = (
        therapy is not None
        and therapy.months >= MIN_MONTHS_ON_THERAPY
        and therapy.response in _RESPONDING
    )
    her2_pos = p.her2 is ReceptorStatus.positive
    hr_pos = p.hormone_receptor_positive
    t0 = p.t == "T0"
    stage_iv = p.m is MStage.M1
    known_total = not p.lesion_count_unknown
    return Facts(
        patient=p,
        stage_iv=stage_iv,
        t0=t0,
        in_scope=stage_iv and not t0,
        workup_incomplete=not p.histology_confirmed or not p.receptors_known,
        symptoms=symptoms,
        uncontrolled=uncontrolled,
        palliation_needed=bool(reasons),
        palliation_reasons=reasons,
        wound_problems=symptoms & WOUND_PROBLEMS,
        awaiting_systemic_relief=(uncontrolled & PALLIATIVE_ON_THERAPY)
        if not started
        else frozenset(),
        therapy_started=started,
        months_on_therapy=months,
        response=response,
        progression=progression,
        too_early_to_judge=(
            therapy is None
            or therapy.months < MIN_MONTHS_ON_THERAPY
            or therapy.response is Response.not_evaluated
        ),
        restage_now=therapy is not None
        and therapy.months >= MIN_MONTHS_ON_THERAPY
        and therapy.response is Response.not_evaluated,
        responding=responding,
        objective_response=response in _OBJECTIVE_RESPONSE,
        ecog_unknown=p.ecog is None,
        ecog_fit=p.ecog is not None and p.ecog <= FIT_ECOG_MAX,
        poor_performance=p.ecog is not None and p.ecog > FIT_ECOG_MAX,
        high_surgical_risk=p.surgical_risk is SurgicalRisk.high,
        heavy_burden=heavy_burden(p),
        brain=brain,
        unsafe_progression=progression and bool(sites & _UNSAFE_PROGRESSING_SITES),
        n_sites=len(sites),
        non_bone_lesions=non_bone_lesions(p),
        non_bone_counts_unknown=any(
            m.lesions is None for m in p.metastases if m.site is not MetastaticSite.bone
        ),
        lesions_unknown=p.lesion_count_unknown,
        bone_only=bool(sites) and sites == {MetastaticSite.bone},
        visceral=bool(sites & VISCERAL_SITES),
        visceral_crisis=p.visceral_crisis,
        oligometastatic=bool(sites) and known_total and p.total_lesions <= MAX_LESIONS_OLIGO,
        resectable_false=p.resectable is False,
        resectable_unknown=p.resectable is None,
        declines_surgery=p.patient_preference
        in (PatientPreference.declines_surgery, PatientPreference.declines_local_therapy),
        declines_local_therapy=p.patient_preference is PatientPreference.declines_local_therapy,
        wants=p.patient_preference is PatientPreference.wants_local_therapy,
        her2_positive=her2_pos,
        hr_positive=hr_pos,
        triple_negative=p.receptors_known and not hr_pos and not her2_pos,
        t4=bool(p.t and p.t.startswith("T4")),
        inflammatory=p.t == "T4d",
        tis=p.t == "Tis",
        confirm_metastasis=stage_iv
        and (
            (len(p.metastases) == 1 and p.metastases[0].lesions == 1)
            or (bool(sites) and sites <= _CONFIRM_SITES)
        ),
        discussion_favourable=discussion_passes(p, favourable=True),
        discussion_unfavourable=discussion_passes(p, favourable=False),
    )
