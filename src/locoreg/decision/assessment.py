"""Assess one patient: the rule table applied, explained factor by factor (contract v2).

``assess(patient)`` is pure apart from reading the (cached) evidence base. It never
raises for a valid Patient.

"What would change the recommendation" is computed, not written: the engine re-assesses
counterfactual versions of the patient (progression, response, uncontrolled bleeding,
declining, loss of fitness …) and reports those that lead to a different recommendation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from functools import cache

from locoreg import DISCLAIMER, __version__, i18n
from locoreg.decision.facts import Facts, derive
from locoreg.decision.harms import trial_harms
from locoreg.decision.model import (
    Assessment,
    Factor,
    Recommendation,
    recommendation_label,
)
from locoreg.decision.options import local_therapy_options
from locoreg.decision.prognosis import local_control, prognosis
from locoreg.decision.rules import (
    all_rules,
    factor_rules,
    first_recommendation,
    missing_facts,
)
from locoreg.decision.words import capital
from locoreg.i18n import N_, and_list
from locoreg.i18n import gettext as _
from locoreg.patient import LocalSymptom, Patient, PatientPreference, Response, SystemicTherapy
from locoreg.staging import stage_group, stage_group_reason


def _missing(f: Facts) -> list[str]:
    p = f.patient
    if not f.in_scope:
        return []
    out: list[str] = []
    if not p.histology_confirmed:
        out.append(_("histological confirmation of the primary (core biopsy)"))
    out += [
        _(status)
        for status, value in (
            (N_("ER status"), p.er),
            (N_("PR status"), p.pr),
            (N_("HER2 status"), p.her2),
        )
        if value.value == "unknown"
    ]
    if f.ecog_unknown:
        out.append(_("ECOG performance status (surgery is not offered without it)"))
    if f.resectable_unknown:
        out.append(_("resectability with negative margins (surgeon's assessment)"))
    if f.lesions_unknown:
        out.append(_("number of lesions at one or more sites (restage)"))
    if p.t is None:
        out.append(_("clinical T category"))
    if p.n is None:
        out.append(_("clinical N category"))
    if p.systemic_therapy is not None and p.systemic_therapy.response is Response.not_evaluated:
        out.append(_("response to systemic therapy (not evaluated)"))
    return out


def _warnings(f: Facts) -> list[str]:
    p = f.patient
    out = []
    if f.male:
        out.append(_("The trials enrolled women; evidence for men is extrapolated."))
    if f.stage_iv and f.tis:
        out.append(
            _(
                "Tis with M1: an in-situ primary does not explain distant metastases; review the "
                "pathology (a missed invasive component or another primary) and confirm the "
                "metastasis."
            )
        )
    if f.t0 and p.local_symptoms:
        out.append(_("Local symptoms recorded with T0 (no primary tumour): check the input."))
    if f.confirm_metastasis and not f.tis:
        out.append(
            _(
                "M1 rests on a single lesion or only on distant nodes or skin: confirm the "
                "metastasis (biopsy where feasible) before treating the disease as stage IV."
            )
        )
    return out


#: A change to the patient, described by an English msgid (shown translated).
Counterfactual = tuple[str, Callable[[Patient], Patient | None]]


def _with_therapy(p: Patient, response: Response) -> Patient:
    months = max(p.systemic_therapy.months if p.systemic_therapy else 0.0, 6.0)
    return p.model_copy(
        update={"systemic_therapy": SystemicTherapy(months=months, response=response)}
    )


def _add_bleeding(p: Patient) -> Patient | None:
    """Uncontrolled bleeding, kept whatever other symptom (e.g. pain) is present."""
    f = derive(p)
    if LocalSymptom.bleeding in f.palliation_reasons:
        return None
    symptoms = [*p.local_symptoms, LocalSymptom.bleeding]
    return p.model_copy(update={"local_symptoms": symptoms, "local_symptoms_controlled": False})


COUNTERFACTUALS: tuple[Counterfactual, ...] = (
    (N_("uncontrolled bleeding from the primary"), _add_bleeding),
    (
        N_("the local symptoms controlled by systemic therapy, wound care or radiotherapy"),
        lambda p: (
            p.model_copy(update={"local_symptoms_controlled": True})
            if p.local_symptoms and not p.local_symptoms_controlled
            else None
        ),
    ),
    (
        N_("progression on systemic therapy"),
        lambda p: (
            None
            if p.systemic_therapy and p.systemic_therapy.response is Response.progressive_disease
            else _with_therapy(p, Response.progressive_disease)
        ),
    ),
    (
        N_("a partial response (or stable disease) after at least 4 months of systemic therapy"),
        lambda p: _with_therapy(p, Response.partial_response),
    ),
    (
        N_("the patient declining surgery (open to radiotherapy)"),
        lambda p: (
            p.model_copy(update={"patient_preference": PatientPreference.declines_surgery})
            if p.patient_preference
            in (PatientPreference.undecided, PatientPreference.wants_local_therapy)
            else None
        ),
    ),
    (
        N_("the patient declining all local therapy"),
        lambda p: (
            None
            if p.patient_preference is PatientPreference.declines_local_therapy
            else p.model_copy(
                update={"patient_preference": PatientPreference.declines_local_therapy}
            )
        ),
    ),
    (
        N_("the patient no longer declining local therapy"),
        lambda p: (
            p.model_copy(update={"patient_preference": PatientPreference.undecided})
            if p.patient_preference
            in (PatientPreference.declines_local_therapy, PatientPreference.declines_surgery)
            else None
        ),
    ),
    (
        N_("the primary judged not resectable with negative margins"),
        lambda p: None if p.resectable is False else p.model_copy(update={"resectable": False}),
    ),
    (
        N_("ECOG recorded as 0–1"),
        lambda p: p.model_copy(update={"ecog": 1}) if p.ecog is None else None,
    ),
    (
        N_("loss of fitness (ECOG 3 or worse)"),
        lambda p: None if (p.ecog or 0) >= 3 else p.model_copy(update={"ecog": 3}),
    ),
    (
        N_("a visceral crisis"),
        lambda p: None if p.visceral_crisis else p.model_copy(update={"visceral_crisis": True}),
    ),
    (
        N_("the visceral crisis resolved"),
        lambda p: p.model_copy(update={"visceral_crisis": False}) if p.visceral_crisis else None,
    ),
)


def _recommend(p: Patient) -> Recommendation:
    rec = first_recommendation(derive(p)).recommendation
    assert rec is not None
    return rec


def _would_change(p: Patient, f: Facts, current: Recommendation) -> list[str]:
    if not f.stage_iv:
        return [
            _("Distant metastases confirmed (M1) with an intact primary: the assessment applies.")
        ]
    if f.t0:
        return [_("None within this tool: without an intact primary there is nothing to treat.")]
    out = []
    if f.workup_incomplete:
        out.append(_("Once histology and ER, PR and HER2 are known, repeat the assessment."))
    if current is Recommendation.complete_workup and not f.workup_incomplete:
        out.append(
            _("%(facts)s, then repeat the assessment.")
            % {"facts": capital(and_list(missing_facts(f)))}
        )
    for description, change in COUNTERFACTUALS:
        other = change(p)
        if other is None:
            continue
        rec = _recommend(other)
        if rec is not current:
            label = recommendation_label(rec)
            out.append(
                _("With %(change)s: %(recommendation)s (%(code)s).")
                % {
                    "change": _(description),
                    "recommendation": label[:1].lower() + label[1:],
                    "code": rec.value,
                }
            )
    return out


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


@cache
def rules_version() -> str:
    """Short hash of the rule table: changes whenever a rule's id, text or evidence does."""
    text = "\n".join(
        f"{r.id}|{r.explanation}|{','.join(r.evidence)}|{','.join(r.goals_of_care)}|"
        f"{r.indicator.value}|{r.local_control_applies}"
        for r in all_rules()
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def versions() -> dict[str, str]:
    """Engine, rule-table and evidence-snapshot versions, recorded with every assessment."""
    from locoreg.evidence.base import load_evidence_base

    return {
        "engine": __version__,
        "rules": rules_version(),
        "evidence": load_evidence_base().snapshot,
    }


def assess(patient: Patient, *, lang: str = i18n.DEFAULT_LANGUAGE) -> Assessment:
    """Assess one patient (CONTRACTS.md §2, contract v2).

    ``lang`` is the language of the sentences (headline, factors, options, goals,
    would-change, warnings, prognosis and harms texts); codes, enums and keys stay
    English. The decision itself never depends on it.
    """
    with i18n.language(lang):
        return _assess(patient)


def _assess(patient: Patient) -> Assessment:
    f = derive(patient)
    rule = first_recommendation(f)
    assert rule.recommendation is not None and rule.headline is not None
    rec = rule.recommendation
    fired = factor_rules(f)
    factors = [
        Factor(
            factor=r.factor,
            finding=r.finding(f),
            direction=r.direction,
            explanation=r.text,
            evidence=list(r.evidence),
            rule=r.id,
        )
        for r in fired
        if r.factor is not None and r.direction is not None and r.finding is not None
    ]
    options = local_therapy_options(f, palliative=rule.palliative)
    harms = trial_harms() if f.in_scope else []
    prog = prognosis(f)
    local = local_control(f, applies=rule.local_control_applies)
    group = stage_group(patient.t, patient.n, patient.m.value)
    evidence = _unique(
        [
            *rule.evidence,
            *(e for x in factors for e in x.evidence),
            *(e for o in options for e in o.evidence),
            *(e for h in harms for e in h.evidence),
            *prog.evidence,
            *(e for r in prog.references for e in r.evidence),
            *local.evidence,
        ]
    )
    return Assessment(
        recommendation=rec,
        headline=rule.headline(f),
        stage=None if group is None else group.value,
        factors=factors,
        local_therapy_options=options,
        harms=harms,
        prognosis=prog,
        local_control=local,
        goals_of_care=rule.goals,
        would_change=_would_change(patient, f, rec),
        missing=_missing(f),
        evidence=evidence,
        warnings=_warnings(f),
        versions=versions(),
        indicator=rule.indicator,
        stage_text=stage_group_reason(patient.t, patient.n, patient.m.value),
        rules_fired=[rule.id, *(r.id for r in fired)],
        disclaimer=_(DISCLAIMER),
    )
