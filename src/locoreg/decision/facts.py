"""Facts derived once from a Patient: the vocabulary the rule table is written in.

Definitions follow CONTRACTS.md §2:

* *fit*: ``surgical_risk`` is not ``high`` and ECOG is 0–2; unknown ECOG counts
  as fit (and is reported as missing data).
* *heavy distant burden*: any brain metastasis, or three or more organ sites, or
  more than 5 lesions in total; unknown lesion counts add nothing (and are
  reported as missing data). An "organ site" is one distinct ``site`` value.
* *oligometastatic*: at most 5 lesions in total with every count known.
* *responding*: complete or partial response or stable disease after at least
  ``MIN_MONTHS_ON_THERAPY`` months — the selection the later trials used
  (E2108 randomised after 4–8 months without progression; JCOG1017 after 3).
"""

from __future__ import annotations

from dataclasses import dataclass

from locoreg.patient import (
    PALLIATIVE_INDICATIONS,
    VISCERAL_SITES,
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

_RESPONDING = frozenset(
    {Response.complete_response, Response.partial_response, Response.stable_disease}
)
_OBJECTIVE_RESPONSE = frozenset({Response.complete_response, Response.partial_response})


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the rules ask about a patient, computed once."""

    patient: Patient
    stage_iv: bool
    workup_incomplete: bool
    palliative_symptoms: frozenset[LocalSymptom]
    palliative_symptoms_uncontrolled: bool
    pain_only: bool
    therapy_started: bool
    months_on_therapy: float | None
    response: Response | None
    progression: bool
    too_early_to_judge: bool
    responding: bool
    objective_response: bool
    fit: bool
    ecog_unknown: bool
    poor_performance: bool
    high_surgical_risk: bool
    heavy_burden: bool
    brain: bool
    n_sites: int
    total_lesions: int
    lesions_unknown: bool
    bone_only: bool
    visceral: bool
    oligometastatic: bool
    resectable_false: bool
    resectable_unknown: bool
    declines: bool
    wants: bool
    her2_positive: bool
    hr_positive: bool
    triple_negative: bool
    t4: bool
    inflammatory: bool

    @property
    def subtype(self) -> str:
        """Receptor subtype label as registry studies group it."""
        if not self.patient.receptors_known:
            return "unknown"
        hr = "HR+" if self.hr_positive else "HR-"
        her2 = "HER2+" if self.her2_positive else "HER2-"
        return "triple-negative" if self.triple_negative else f"{hr}/{her2}"


def derive(p: Patient) -> Facts:
    """Compute the facts of one patient (pure; no I/O)."""
    therapy = p.systemic_therapy
    response = therapy.response if therapy else None
    months = therapy.months if therapy else None
    palliative = frozenset(p.local_symptoms) & PALLIATIVE_INDICATIONS
    sites = p.sites
    ecog_unknown = p.ecog is None
    poor_performance = p.ecog is not None and p.ecog > FIT_ECOG_MAX
    high_risk = p.surgical_risk is SurgicalRisk.high
    brain = MetastaticSite.brain in sites
    heavy = brain or len(sites) >= HEAVY_SITE_COUNT or p.total_lesions > MAX_LESIONS_OLIGO
    too_early = (
        therapy is None
        or therapy.months < MIN_MONTHS_ON_THERAPY
        or therapy.response is Response.not_evaluated
    )
    responding = (
        therapy is not None
        and therapy.months >= MIN_MONTHS_ON_THERAPY
        and therapy.response in _RESPONDING
    )
    her2_pos = p.her2 is ReceptorStatus.positive
    hr_pos = p.hormone_receptor_positive
    return Facts(
        patient=p,
        stage_iv=p.m is MStage.M1,
        workup_incomplete=not p.histology_confirmed or not p.receptors_known,
        palliative_symptoms=palliative,
        palliative_symptoms_uncontrolled=bool(palliative) and not p.local_symptoms_controlled,
        pain_only=set(p.local_symptoms) == {LocalSymptom.pain},
        therapy_started=therapy is not None,
        months_on_therapy=months,
        response=response,
        progression=response is Response.progressive_disease,
        too_early_to_judge=too_early,
        responding=responding,
        objective_response=response in _OBJECTIVE_RESPONSE,
        fit=not high_risk and not poor_performance,
        ecog_unknown=ecog_unknown,
        poor_performance=poor_performance,
        high_surgical_risk=high_risk,
        heavy_burden=heavy,
        brain=brain,
        n_sites=len(sites),
        total_lesions=p.total_lesions,
        lesions_unknown=p.lesion_count_unknown,
        bone_only=bool(sites) and sites == {MetastaticSite.bone},
        visceral=bool(sites & VISCERAL_SITES),
        oligometastatic=bool(sites)
        and not p.lesion_count_unknown
        and p.total_lesions <= MAX_LESIONS_OLIGO,
        resectable_false=p.resectable is False,
        resectable_unknown=p.resectable is None,
        declines=p.patient_preference is PatientPreference.declines_local_therapy,
        wants=p.patient_preference is PatientPreference.wants_local_therapy,
        her2_positive=her2_pos,
        hr_positive=hr_pos,
        triple_negative=p.receptors_known and not hr_pos and not her2_pos,
        t4=bool(p.t and p.t.startswith("T4")),
        inflammatory=p.t == "T4d",
    )
