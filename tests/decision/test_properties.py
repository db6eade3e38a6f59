"""Property-based: every valid patient gets exactly one cited recommendation; every invalid
patient is rejected with a message that names a field."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from locoreg.decision import Recommendation, assess
from locoreg.decision.facts import derive
from locoreg.decision.model import Modality
from locoreg.decision.prognosis import ALL_DE_NOVO, BY_SITE, BY_SUBTYPE, RegistryFigure
from locoreg.errors import InputError
from locoreg.evidence.base import load_evidence_base
from locoreg.patient import (
    N_CATEGORIES,
    T_CATEGORIES,
    LocalSymptom,
    MetastaticSite,
    PatientPreference,
    ReceptorStatus,
    Response,
    SurgicalRisk,
    parse_patient,
)


def values(enum: Any) -> st.SearchStrategy[str]:
    return st.sampled_from([e.value for e in enum])


metastasis = st.fixed_dictionaries(
    {"site": values(MetastaticSite)},
    optional={"lesions": st.none() | st.integers(1, 30)},
)
therapy = st.none() | st.fixed_dictionaries(
    {"months": st.floats(0, 60, allow_nan=False)}, optional={"response": values(Response)}
)


@st.composite
def valid_patients(draw: st.DrawFn) -> dict[str, Any]:
    m = draw(st.sampled_from(["M0", "M1"]))
    data: dict[str, Any] = {
        "age": draw(st.integers(18, 110)),
        "sex": draw(st.sampled_from(["female", "male", "FEMALE"])),
        "histology_confirmed": draw(st.booleans()),
        "er": draw(values(ReceptorStatus)),
        "pr": draw(values(ReceptorStatus)),
        "her2": draw(values(ReceptorStatus)),
        "m": m,
        "metastases": draw(
            st.lists(metastasis, min_size=1, max_size=6, unique_by=lambda m: m["site"])
        )
        if m == "M1"
        else [],
    }
    optional = {
        "ecog": st.none() | st.integers(0, 4),
        "t": st.none() | st.sampled_from(T_CATEGORIES),
        "n": st.none() | st.sampled_from(N_CATEGORIES),
        "systemic_therapy": therapy,
        "local_symptoms": st.lists(values(LocalSymptom), max_size=5),
        "local_symptoms_controlled": st.booleans(),
        "surgical_risk": values(SurgicalRisk),
        "resectable": st.none() | st.booleans(),
        "patient_preference": values(PatientPreference),
        "visceral_crisis": st.booleans(),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            data[key] = draw(strategy)
    return data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_patients())
def test_any_valid_patient_gets_one_cited_recommendation(data: dict[str, Any]) -> None:
    a = assess(parse_patient(data))
    assert a.recommendation in set(Recommendation)
    assert a.rules_fired[0].startswith("R")
    assert sum(rule.startswith("R") for rule in a.rules_fired) == 1
    assert a.stage is not None or data["m"] == "M0"
    if a.recommendation is not Recommendation.out_of_scope:
        assert a.factors, "at least one factor"
        assert a.evidence, "cited evidence"
    assert all(f.evidence for f in a.factors)
    assert set(e for f in a.factors for e in f.evidence) <= set(a.evidence)
    assert a.headline and a.disclaimer
    # every study cited anywhere in the answer is a record of the evidence base
    cited = set(a.evidence) | {e for o in a.local_therapy_options for e in o.evidence}
    cited |= {e for h in a.harms for e in h.evidence}
    assert cited <= set(load_evidence_base().ids)
    assert cited <= set(a.evidence)
    # The same recommendation again: the engine is deterministic.
    assert assess(parse_patient(data)).recommendation is a.recommendation


def _surgery_never_suitable_when_unfit_unknown_or_in_visceral_crisis(p: Any, a: Any) -> None:
    surgery = [o for o in a.local_therapy_options if o.modality is Modality.surgery]
    if p.ecog is None or p.ecog >= 3 or p.visceral_crisis:
        assert not any(o.suitable for o in surgery), (a.recommendation, surgery)
    if a.recommendation is Recommendation.discuss_local_therapy:
        assert any(o.suitable for o in a.local_therapy_options)
    if a.recommendation not in (
        Recommendation.discuss_local_therapy,
        Recommendation.palliative_local_therapy,
    ):
        assert not any(o.suitable for o in surgery)


def _palliation_is_never_hidden_behind_the_workup(f: Any, a: Any) -> None:
    if f.in_scope and f.palliation_needed:
        assert a.recommendation is Recommendation.palliative_local_therapy
        if f.workup_incomplete:
            assert "in parallel" in a.headline
        assert not a.local_control.applies
    if a.recommendation is Recommendation.palliative_local_therapy:
        assert f.palliation_needed


def _belongs(p: Any, f: Any, figure: RegistryFigure) -> bool:
    if figure in ALL_DE_NOVO:
        return True
    for subtype, figs in BY_SUBTYPE.items():
        if figure in figs:
            return f.subtype == subtype
    for site, figs in BY_SITE.items():
        if figure in figs:
            return site in p.sites
    return False


def _prognosis_headline_only_from_the_patients_own_population(p: Any, f: Any, a: Any) -> None:
    prog = a.prognosis
    if prog.median_os_months is None:
        return
    assert f.in_scope
    assert not f.poor_performance and not f.brain and not p.visceral_crisis
    figures = [*ALL_DE_NOVO, *(x for v in BY_SUBTYPE.values() for x in v)]
    figures += [x for v in BY_SITE.values() for x in v]
    chosen = [x for x in figures if x.population == prog.population]
    assert len(chosen) == 1, prog.population
    assert _belongs(p, f, chosen[0])
    assert prog.median_os_months == chosen[0].months
    assert "not conditional on response" in prog.basis


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_patients())
def test_safety_properties_over_random_patients(data: dict[str, Any]) -> None:
    """No surgery when ECOG is unknown or >= 3 or in visceral crisis; palliation never hidden
    behind the work-up; the prognosis headline only from the patient's own population."""
    p = parse_patient(data)
    f = derive(p)
    a = assess(p)
    _surgery_never_suitable_when_unfit_unknown_or_in_visceral_crisis(p, a)
    _palliation_is_never_hidden_behind_the_workup(f, a)
    _prognosis_headline_only_from_the_patients_own_population(p, f, a)


CORRUPTIONS: list[tuple[str, Any]] = [
    ("age", 17),
    ("age", "old"),
    ("sex", "unknown"),
    ("ecog", 7),
    ("er", "maybe"),
    ("her2", 3),
    ("t", "T5"),
    ("n", "N9"),
    ("m", "M2"),
    ("metastases", "bone"),
    ("metastases", [{"site": "heart"}]),
    ("systemic_therapy", {"months": -2}),
    ("local_symptoms", ["itching"]),
    ("surgical_risk", "extreme"),
    ("resectable", "perhaps"),
    ("resectable", "no"),
    ("ecog", True),
    ("age", "52"),
    ("visceral_crisis", "yes"),
    ("label", "x" * 41),
    ("patient_preference", "no"),
    ("histology_confirmed", "unsure"),
    ("nickname", "x"),
]


@settings(max_examples=150, deadline=None)
@given(valid_patients(), st.sampled_from(CORRUPTIONS))
def test_any_invalid_patient_is_rejected_naming_the_field(
    data: dict[str, Any], corruption: tuple[str, Any]
) -> None:
    field, bad = corruption
    data = {**data, field: bad}
    try:
        parse_patient(data)
    except InputError as exc:
        assert any(e.field.split(".")[0] == field for e in exc.errors), exc.errors
        assert all(e.message for e in exc.errors)
    else:
        raise AssertionError(f"{field}={bad!r} was accepted")
