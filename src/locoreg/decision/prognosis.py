"""Prognosis and local control from published figures, read from the evidence snapshot.

Prognosis (CONTRACTS.md §2, contract v2) gives the most specific published median
overall survival for a population the patient *belongs to*, in this order:

1. her receptor subtype (HR+/HER2+, triple-negative: SEER de novo stage IV);
2. a site figure whose population the patient belongs to (bone: any bone involvement at
   diagnosis — the SEER bone cohorts are not bone-only);
3. all de novo stage IV.

Every registry median is "median from diagnosis, unselected registry patients, not
conditional on response". ``interval_months`` is the range of the published medians of
the populations the patient belongs to (``interval_kind`` = ``range_of_published_medians``),
never a confidence interval. Where no source describes the population the figure is
``None`` and the basis says so: ECOG 3–4 (registries do not report by performance
status; the trials enrolled fit patients), brain metastases and visceral crisis (no
published median was found; brain metastases had the worst survival of the patterns).

Trial arm medians are shown only as labelled references where the patient meets the trial's
eligibility (E2108: ≥ 4 months without progression; JCOG1017: ≥ 3 months without
progression; Tata Memorial: age ≤ 65; MF07-01: only before systemic therapy starts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from locoreg.decision import figures
from locoreg.decision.facts import Facts
from locoreg.decision.model import IntervalKind, LocalControl, Prognosis, ReferenceMedian
from locoreg.decision.words import subtype_text
from locoreg.evidence.model import OutcomeKind
from locoreg.i18n import N_, num
from locoreg.i18n import gettext as _
from locoreg.patient import MetastaticSite, Response

REGISTRY_LABEL = N_(
    "median from diagnosis, unselected registry patients, not conditional on response"
)
_NO_PROGRESSION = frozenset(
    {Response.complete_response, Response.partial_response, Response.stable_disease}
)


@dataclass(frozen=True, slots=True)
class RegistryFigure:
    """A registry median held in the evidence base: study, subgroup and who it describes
    (``population``: English msgid, shown translated)."""

    population: str
    study: str
    subgroup: str

    @property
    def months(self) -> float:
        o = figures.outcome(self.study, OutcomeKind.median_survival, self.subgroup)
        assert o.estimate is not None
        return o.estimate


BY_SUBTYPE: dict[str, tuple[RegistryFigure, ...]] = {
    "HR+/HER2+": (
        RegistryFigure(N_("HR+/HER2+ de novo stage IV (SEER)"), "seer_subtype2021", "HR+/HER2+"),
    ),
    "triple-negative": (
        RegistryFigure(
            N_("triple-negative de novo stage IV (SEER)"), "seer_subtype2021", "triple negative"
        ),
    ),
}
BY_SITE: dict[MetastaticSite, tuple[RegistryFigure, ...]] = {
    MetastaticSite.bone: (
        RegistryFigure(
            N_("any bone involvement at diagnosis (SEER 2010–14)"),
            "gong2018",
            "bone metastases at diagnosis (not bone-only)",
        ),
        RegistryFigure(
            N_("any bone involvement at diagnosis (SEER 2012–16)"),
            "seer_bone2020",
            "bone metastases at diagnosis",
        ),
    ),
}
ALL_DE_NOVO = (RegistryFigure(N_("all de novo stage IV (SEER)"), "taskindoust2021", "overall"),)


@dataclass(frozen=True, slots=True)
class TrialReference:
    """A trial whose arm medians are shown where the patient meets its eligibility."""

    name: str
    study: str
    eligibility: str
    eligible: Callable[[Facts], bool]


def _without_progression_for(months: float) -> Callable[[Facts], bool]:
    return lambda f: (
        f.months_on_therapy is not None
        and f.months_on_therapy >= months
        and f.response in _NO_PROGRESSION
    )


TRIAL_REFERENCES: tuple[TrialReference, ...] = (
    TrialReference(
        "E2108", "khan2022", N_("≥ 4 months of systemic therapy without progression"),
        _without_progression_for(4.0),
    ),
    TrialReference(
        "JCOG1017", "shien2023", N_("≥ 3 months of systemic therapy without progression"),
        _without_progression_for(3.0),
    ),
    TrialReference(
        "Tata Memorial", "badwe2015", N_("age ≤ 65"), lambda f: f.patient.age <= 65
    ),
    TrialReference(
        "MF07-01", "soran2021", N_("randomised at diagnosis, before systemic therapy"),
        lambda f: not f.therapy_started,
    ),
)  # fmt: skip


def _references(f: Facts) -> list[ReferenceMedian]:
    out = []
    for t in TRIAL_REFERENCES:
        if not t.eligible(f):
            continue
        local = figures.arm_value(
            t.study, OutcomeKind.overall_survival, "median_os_months", "local_therapy"
        )
        other = figures.arm_value(
            t.study, OutcomeKind.overall_survival, "median_os_months", "no_local_therapy"
        )
        out.append(
            ReferenceMedian(
                population=_(
                    "%(trial)s trial arms: %(without)s months without and %(with)s months with "
                    "local therapy (selected trial patients, not a figure for this patient)"
                )
                % {"trial": t.name, "without": num(other, 2), "with": num(local, 2)},
                months=other,
                eligibility=_(t.eligibility),
                evidence=[t.study],
            )
        )
    return out


def _not_described(f: Facts) -> str | None:
    if f.poor_performance:
        return _(
            "ECOG %(ecog)s: no published median describes this population (registries do not "
            "report by performance status; the trials enrolled fit patients)."
        ) % {"ecog": f.patient.ecog}
    if f.brain:
        return _(
            "Brain metastases: no published median for this population was found; brain "
            "metastases had the worst survival of the metastatic patterns."
        )
    if f.visceral_crisis:
        return _("Visceral crisis: no published median describes this population.")
    return None


def prognosis(f: Facts) -> Prognosis:
    """The most specific published median for the patient's own population, or none."""
    if not f.in_scope:
        return Prognosis(
            median_os_months=None,
            interval_months=None,
            basis=_(
                "Not applicable: the figures held are for de novo stage IV disease with an "
                "intact primary."
            ),
        )
    why_none = _not_described(f)
    if why_none is not None:
        evidence = ["wang2019"] if f.brain else []
        return Prognosis(
            median_os_months=None,
            interval_months=None,
            interval_kind=IntervalKind.none,
            population=_("not described by any source held"),
            basis=why_none + " " + _("No figure is borrowed from another population."),
            evidence=evidence,
            references=[] if f.poor_performance else _references(f),
        )
    chosen = (
        BY_SUBTYPE.get(f.subtype, ())
        + tuple(x for site in sorted(f.patient.sites) for x in BY_SITE.get(site, ()))
        + ALL_DE_NOVO
    )
    head = chosen[0]
    months = [x.months for x in chosen]
    notes = ""
    if f.subtype in ("HR+/HER2-", "HR-/HER2+"):
        notes = " " + _("No published median was found for %(subtype)s de novo stage IV.") % {
            "subtype": subtype_text(f.subtype)
        }
    if f.n_sites >= 4:
        notes += " " + _(
            "With four or more metastatic sites 5-year survival was 9%, against 31% with one."
        )
    basis = (
        _(
            "%(months)s months: %(label)s; population: %(population)s. Range of the published "
            "medians of the populations the patient belongs to: %(medians)s."
        )
        % {
            "months": num(head.months, 2),
            "label": _(REGISTRY_LABEL),
            "population": _(head.population),
            "medians": "; ".join(f"{_(x.population)} {num(x.months, 2)}" for x in chosen),
        }
        + notes
    )
    evidence = list(dict.fromkeys(x.study for x in chosen))
    if f.n_sites >= 4:
        evidence.append("taskindoust2021")
    distinct = sorted(set(months))
    return Prognosis(
        median_os_months=head.months,
        interval_months=(distinct[0], distinct[-1]) if len(distinct) > 1 else None,
        interval_kind=(
            IntervalKind.range_of_published_medians if len(distinct) > 1 else IntervalKind.none
        ),
        population=_(head.population),
        basis=basis,
        evidence=list(dict.fromkeys(evidence)),
        references=_references(f),
    )


def local_control(f: Facts, applies: bool) -> LocalControl:
    """Locoregional progression with and without local therapy, stated exactly.

    ``applies`` is decided by the recommendation rule (not for palliative, progressing,
    unfit or heavily burdened patients). Figures: E2108 3-year locoregional progression,
    JCOG1017 local relapse-free survival HR, and the pooled randomised overall-survival HR
    computed from the current snapshot.
    """
    if not applies:
        return LocalControl(
            applies=False,
            summary=(
                _(
                    "Not shown: the trial figures on local control describe fit patients whose "
                    "disease was controlled on systemic therapy, which does not apply here."
                )
                if f.in_scope
                else _("Not applicable outside de novo stage IV disease with an intact primary.")
            ),
        )
    kind = OutcomeKind.locoregional_progression
    metric = "locoregional_progression_3y_percent"
    with_lt = figures.arm_value("khan2022", kind, metric, "local_therapy")
    without = figures.arm_value("khan2022", kind, metric, "no_local_therapy")
    lrfs = figures.effect("shien2023", kind)
    pooled = figures.pooled_trials_os()
    mf = figures.effect("soran2021", OutcomeKind.overall_survival)
    return LocalControl(
        applies=True,
        summary=_(
            "Locoregional progression at 3 years: %(with)s%% with early local therapy vs "
            "%(without)s%% with continued systemic therapy (E2108, patients without "
            "progression after 4–8 months). JCOG1017 local relapse-free survival with "
            "surgery: %(lrfs)s."
        )
        % {"with": num(with_lt, 2), "without": num(without, 2), "lrfs": lrfs.text()},
        with_local_therapy_pct=with_lt,
        without_local_therapy_pct=without,
        horizon_years=3.0,
        local_relapse_free_survival_hr=lrfs.estimate,
        local_relapse_free_survival_ci=(lrfs.ci_low, lrfs.ci_high),
        overall_survival=_(
            "Overall survival was not changed by local therapy in the randomised trials: "
            "pooled %(pooled)s over %(trials)s trials (random effects, computed from the "
            "current evidence snapshot). MF07-01 alone, which randomised at diagnosis, "
            "reported longer survival in its 10-year report: %(mf)s."
        )
        % {"pooled": pooled.text(), "trials": num(len(pooled.studies)), "mf": mf.text()},
        evidence=list(dict.fromkeys(["khan2022", "shien2023", *pooled.studies, "soran2021"])),
    )
