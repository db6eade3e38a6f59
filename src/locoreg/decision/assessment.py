"""Assess one patient: the rule table applied, explained factor by factor.

``assess(patient)`` is pure apart from reading the (cached) evidence base for its
snapshot identifier. It never raises for a valid Patient.

"What would change the recommendation" is computed, not written: the engine
re-assesses counterfactual versions of the patient (progression, response,
uncontrolled symptoms, declining, loss of fitness …) and reports those that
lead to a different recommendation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from functools import cache

from locoreg import DISCLAIMER, __version__
from locoreg.decision.facts import MIN_MONTHS_ON_THERAPY, Facts, derive
from locoreg.decision.model import RECOMMENDATION_LABELS, Assessment, Factor, Recommendation
from locoreg.decision.prognosis import local_control, prognosis
from locoreg.decision.rules import all_rules, factor_rules, first_recommendation
from locoreg.patient import LocalSymptom, Patient, PatientPreference, Response, SystemicTherapy

GOALS_OF_CARE: dict[Recommendation, tuple[str, ...]] = {
    Recommendation.out_of_scope: (),
    Recommendation.complete_workup: (
        "establish the diagnosis and receptor status that systemic therapy depends on",
    ),
    Recommendation.palliative_local_therapy: (
        "palliation of bleeding, ulceration, infection or fungation",
        "symptom control and wound care",
        "quality of life",
    ),
    Recommendation.systemic_therapy_first: (
        "prolongation of survival with systemic therapy",
        "quality of life",
        "reassessment of response before any local decision",
    ),
    Recommendation.discuss_local_therapy: (
        "locoregional control (fewer local progressions)",
        "quality of life",
        "prolongation of survival rests on systemic therapy; local therapy did not add to it",
    ),
    Recommendation.no_routine_local_therapy: (
        "prolongation of survival with systemic therapy",
        "symptom control",
        "quality of life",
    ),
}


def _headline(rec: Recommendation, f: Facts) -> str:
    if rec is Recommendation.out_of_scope:
        return "Not de novo stage IV (M0): outside the scope of this tool."
    if rec is Recommendation.complete_workup:
        missing = []
        if not f.patient.histology_confirmed:
            missing.append("histological confirmation")
        missing += [
            f"{name} status"
            for name, value in (
                ("ER", f.patient.er),
                ("PR", f.patient.pr),
                ("HER2", f.patient.her2),
            )
            if value.value == "unknown"
        ]
        return "Complete the work-up first: " + ", ".join(missing) + "."
    if rec is Recommendation.palliative_local_therapy:
        symptoms = ", ".join(sorted(s.value for s in f.palliative_symptoms))
        how = (
            "surgery is an option (resectable, fit)"
            if f.patient.resectable is True and f.fit
            else "radiotherapy or wound care if surgery is not feasible"
        )
        return f"Palliative local treatment of the primary for uncontrolled {symptoms}: {how}."
    if rec is Recommendation.systemic_therapy_first:
        return (
            "Systemic therapy first; reassess the response after about "
            f"{MIN_MONTHS_ON_THERAPY:g} months before deciding about the primary."
        )
    if rec is Recommendation.discuss_local_therapy:
        return (
            "Disease controlled on systemic therapy: local therapy can be discussed case by case "
            "— better local control, no proven survival benefit."
        )
    if f.progression:
        return "Progression on systemic therapy: no routine local therapy; review systemic therapy."
    return "Continue systemic therapy; local therapy of the primary is not routinely offered."


def _blockers(f: Facts) -> list[str]:
    """Why a responding patient is not offered a discussion (for the no-routine case)."""
    out = []
    if not f.fit:
        out.append("not fit for surgery (high surgical risk or ECOG 3–4)")
    if f.resectable_false:
        out.append("not resectable with negative margins")
    if f.declines:
        out.append("the patient declines local therapy")
    if f.heavy_burden:
        out.append("heavy distant burden")
    return out


def _missing_data(f: Facts) -> list[str]:
    p = f.patient
    out: list[str] = []
    if not f.stage_iv:
        return out
    if f.ecog_unknown:
        out.append("ECOG performance status (counted as fit)")
    if f.resectable_unknown:
        out.append("resectability with negative margins (not yet assessed)")
    if f.lesions_unknown:
        out.append("number of lesions at one or more sites (unknown counts add nothing)")
    if p.t is None:
        out.append("clinical T category")
    if p.n is None:
        out.append("clinical N category")
    if p.systemic_therapy is not None and p.systemic_therapy.response is Response.not_evaluated:
        out.append("response to systemic therapy (not evaluated)")
    return out


def _warnings(f: Facts) -> list[str]:
    out = []
    if f.patient.sex.value == "male":
        out.append("The trials enrolled women; evidence for men is extrapolated.")
    if f.stage_iv and f.patient.t == "T0" and f.patient.local_symptoms:
        out.append("Local symptoms recorded with T0 (no primary tumour): check the input.")
    return out


Counterfactual = tuple[str, Callable[[Patient], Patient | None]]


def _with_therapy(p: Patient, response: Response) -> Patient:
    months = max(p.systemic_therapy.months if p.systemic_therapy else 0.0, 6.0)
    return p.model_copy(
        update={"systemic_therapy": SystemicTherapy(months=months, response=response)}
    )


COUNTERFACTUALS: tuple[Counterfactual, ...] = (
    (
        "uncontrolled bleeding, ulceration, infection or fungation of the primary",
        lambda p: (
            None
            if p.local_symptoms and not p.local_symptoms_controlled
            else p.model_copy(
                update={
                    "local_symptoms": [*p.local_symptoms, LocalSymptom.bleeding],
                    "local_symptoms_controlled": False,
                }
            )
        ),
    ),
    (
        "the local symptoms controlled by systemic therapy or wound care",
        lambda p: (
            p.model_copy(update={"local_symptoms_controlled": True})
            if p.local_symptoms and not p.local_symptoms_controlled
            else None
        ),
    ),
    (
        "progression on systemic therapy",
        lambda p: (
            None
            if p.systemic_therapy and p.systemic_therapy.response is Response.progressive_disease
            else _with_therapy(p, Response.progressive_disease)
        ),
    ),
    (
        "a partial response (or stable disease) after at least 4 months of systemic therapy",
        lambda p: _with_therapy(p, Response.partial_response),
    ),
    (
        "the patient declining local therapy",
        lambda p: (
            None
            if p.patient_preference is PatientPreference.declines_local_therapy
            else p.model_copy(
                update={"patient_preference": PatientPreference.declines_local_therapy}
            )
        ),
    ),
    (
        "the patient no longer declining local therapy",
        lambda p: (
            p.model_copy(update={"patient_preference": PatientPreference.undecided})
            if p.patient_preference is PatientPreference.declines_local_therapy
            else None
        ),
    ),
    (
        "the primary judged not resectable with negative margins",
        lambda p: None if p.resectable is False else p.model_copy(update={"resectable": False}),
    ),
    (
        "the primary judged resectable with negative margins",
        lambda p: p.model_copy(update={"resectable": True}) if p.resectable is False else None,
    ),
    (
        "loss of fitness (ECOG 3 or worse)",
        lambda p: None if (p.ecog or 0) >= 3 else p.model_copy(update={"ecog": 3}),
    ),
)


def _recommend(p: Patient) -> Recommendation:
    rec = first_recommendation(derive(p)).recommendation
    assert rec is not None
    return rec


def _would_change(p: Patient, current: Recommendation) -> list[str]:
    if current in (Recommendation.out_of_scope, Recommendation.complete_workup):
        return [
            "Distant metastases confirmed (M1): the assessment applies."
            if current is Recommendation.out_of_scope
            else "Once histology and ER, PR and HER2 are known, repeat the assessment."
        ]
    out = []
    for description, change in COUNTERFACTUALS:
        other = change(p)
        if other is None:
            continue
        rec = _recommend(other)
        if rec is not current:
            out.append(f"With {description}: {RECOMMENDATION_LABELS[rec].lower()} ({rec.value}).")
    return out


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


@cache
def rules_version() -> str:
    """Short hash of the rule table: changes whenever a rule's id, text or evidence does."""
    text = "\n".join(f"{r.id}|{r.explanation}|{','.join(r.evidence)}" for r in all_rules())
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def versions() -> dict[str, str]:
    """Engine, rule-table and evidence-snapshot versions, recorded with every assessment."""
    from locoreg.evidence.base import load_evidence_base

    return {
        "engine": __version__,
        "rules": rules_version(),
        "evidence": load_evidence_base().snapshot,
    }


def assess(patient: Patient) -> Assessment:
    """Assess one patient (CONTRACTS.md §2)."""
    f = derive(patient)
    rec_rule = first_recommendation(f)
    assert rec_rule.recommendation is not None
    rec = rec_rule.recommendation
    fired = factor_rules(f)
    factors = [
        Factor(
            factor=r.factor,
            finding=r.finding(f),
            direction=r.direction,
            explanation=r.explanation,
            evidence=list(r.evidence),
            rule=r.id,
        )
        for r in fired
        if r.factor is not None and r.direction is not None and r.finding is not None
    ]
    prog = prognosis(f)
    local = local_control(f)
    warnings = _warnings(f)
    if rec is Recommendation.no_routine_local_therapy and f.responding:
        warnings.append("Not a candidate for discussion because: " + "; ".join(_blockers(f)) + ".")
    evidence = _unique(
        [
            *rec_rule.evidence,
            *(e for x in factors for e in x.evidence),
            *prog.evidence,
            *local.evidence,
        ]
    )
    from locoreg.staging import stage_group

    group = stage_group(patient.t, patient.n, patient.m.value)
    return Assessment(
        recommendation=rec,
        headline=_headline(rec, f),
        stage=None if group is None else group.value,
        factors=factors,
        prognosis=prog,
        local_control=local,
        evidence=evidence,
        warnings=warnings,
        versions=versions(),
        rules_fired=[rec_rule.id, *(r.id for r in fired)],
        missing=_missing_data(f),
        would_change=_would_change(patient, rec),
        goals_of_care=list(GOALS_OF_CARE[rec]),
        disclaimer=DISCLAIMER,
    )
