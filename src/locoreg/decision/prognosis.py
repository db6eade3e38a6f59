"""Prognosis and local control from published figures, each traced to a study ID.

Prognosis (median overall survival) chooses the most specific published figure
that applies to the patient, and reports as ``interval_months`` the *range of the
published medians that apply to her* — not a confidence interval: the sources
give medians without intervals. Where no figure exists, it says so.

Order of specificity:

1. disease controlled after >= 4 months of systemic therapy: the trial
   populations selected exactly that way (E2108, JCOG1017), whose arm medians
   are the closest published figure — and local therapy did not change them;
2. receptor subtype with a published de novo stage IV median (HR+/HER2+,
   triple-negative);
3. bone involvement (SEER cohorts with bone metastases at diagnosis);
4. all de novo stage IV.
"""

from __future__ import annotations

from dataclasses import dataclass

from locoreg.decision.facts import Facts
from locoreg.decision.model import LocalControl, Prognosis
from locoreg.patient import MetastaticSite


@dataclass(frozen=True, slots=True)
class PublishedMedian:
    """A published median overall survival, in months, for a named population."""

    population: str
    months: float
    study: str


# Every figure below is a row of ../shared/evidence/verified_figures.csv, held with its
# source URL in src/locoreg/evidence/data/<study>.yaml.
ALL_DE_NOVO = (PublishedMedian("all de novo stage IV (SEER 1988–2016)", 25.0, "taskindoust2021"),)
BY_SUBTYPE: dict[str, tuple[PublishedMedian, ...]] = {
    "HR+/HER2+": (
        PublishedMedian("HR+/HER2+ de novo stage IV (SEER 2010–15)", 39.0, "seer_subtype2021"),
    ),
    "triple-negative": (
        PublishedMedian(
            "triple-negative de novo stage IV (SEER 2010–15)", 11.0, "seer_subtype2021"
        ),
    ),
}
BONE = (
    PublishedMedian("bone metastases at diagnosis (SEER 2010–14)", 30.0, "gong2018"),
    PublishedMedian("bone metastases at diagnosis (SEER 2012–16)", 38.0, "seer_bone2020"),
)
# Arm medians of the trials that randomised patients without progression on systemic therapy.
CONTROLLED_ON_THERAPY = (
    PublishedMedian("E2108, continued systemic therapy", 53.1, "khan2022"),
    PublishedMedian("E2108, early local therapy", 54.9, "khan2022"),
    PublishedMedian("JCOG1017, systemic therapy alone", 69.0, "shien2023"),
    PublishedMedian("JCOG1017, primary tumour resection", 75.0, "shien2023"),
)


def _ids(figures: tuple[PublishedMedian, ...]) -> list[str]:
    return list(dict.fromkeys(f.study for f in figures))


def _notes(facts: Facts) -> list[tuple[str, str | None]]:
    """Qualifiers that apply whatever figure is chosen (text, study ID)."""
    notes: list[tuple[str, str | None]] = []
    if facts.n_sites >= 4:
        notes.append(
            (
                "With four or more metastatic sites 5-year survival was 9%, against 31% with one.",
                "taskindoust2021",
            )
        )
    if facts.brain:
        notes.append(
            (
                "No published median for brain metastases was found; they had the worst "
                "survival of the metastatic patterns.",
                "wang2019",
            )
        )
    if facts.subtype in ("HR+/HER2-", "HR-/HER2+"):
        notes.append((f"No published median was found for {facts.subtype} de novo stage IV.", None))
    return notes


def prognosis(facts: Facts) -> Prognosis:
    """Median overall survival with the range of applicable published medians."""
    if not facts.stage_iv:
        return Prognosis(
            median_os_months=None,
            interval_months=None,
            basis="Not applicable: the figures held are for de novo stage IV disease.",
            evidence=[],
        )
    if facts.responding:
        chosen: tuple[PublishedMedian, ...] = CONTROLLED_ON_THERAPY
        headline = chosen[0]
        basis = (
            "Median overall survival of trial patients whose disease was controlled after "
            "3–8 months of systemic therapy (E2108 53.1–54.9 months; JCOG1017 69–75 months); "
            "local therapy did not change it. Interval: range of those arm medians."
        )
    else:
        specific = BY_SUBTYPE.get(facts.subtype, ())
        bone = BONE if MetastaticSite.bone in facts.patient.sites else ()
        chosen = specific + bone + ALL_DE_NOVO
        headline = chosen[0]
        basis = (
            f"Registry median for {headline.population}: {headline.months:g} months. "
            "Interval: range of the published registry medians that apply "
            f"({'; '.join(f'{f.population} {f.months:g}' for f in chosen)})."
        )
    notes = _notes(facts)
    if notes:
        basis += " " + " ".join(text for text, _ in notes)
    months = [f.months for f in chosen]
    evidence = _ids(chosen) + [s for _, s in notes if s is not None]
    return Prognosis(
        median_os_months=headline.months,
        interval_months=(min(months), max(months)) if len(months) > 1 else None,
        basis=basis,
        evidence=list(dict.fromkeys(evidence)),
    )


def local_control(facts: Facts) -> LocalControl:
    """Expected locoregional progression with and without local therapy (trial figures)."""
    if not facts.stage_iv:
        return LocalControl(
            applies=False, summary="Not applicable outside de novo stage IV disease."
        )
    return LocalControl(
        applies=True,
        summary=(
            "Local therapy roughly halves locoregional progression: at 3 years 16.3% with early "
            "local therapy vs 39.8% with systemic therapy alone (E2108); local relapse-free "
            "survival HR 0.42 (JCOG1017)."
        ),
        with_local_therapy_pct=16.3,
        without_local_therapy_pct=39.8,
        horizon_years=3.0,
        local_relapse_free_survival_hr=0.42,
        overall_survival=(
            "Overall survival is not changed by local therapy in randomised trials: pooled HR "
            "0.97 (0.72–1.29) over four trials; E2108 HR 1.11; JCOG1017 HR 0.86 (90% CI "
            "0.69–1.07). MF07-01 alone reported longer survival (HR 0.66, 0.49–0.88)."
        ),
        evidence=["khan2022", "shien2023", "reinhorn2021", "soran2018"],
    )
