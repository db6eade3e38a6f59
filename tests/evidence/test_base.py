"""The packaged evidence base: loads clean, matches the verified figures, answers queries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from locoreg.evidence.base import cite, load_evidence_base, url, validate_evidence
from locoreg.evidence.model import Design, Rob2, RobinsI

FIXTURES = Path(__file__).parents[1] / "fixtures" / "evidence"
CSV = FIXTURES / "verified_figures.csv"  # committed copy of ../shared/evidence
SHARED_CSV = Path("/work/shared/evidence/verified_figures.csv")
DEVELOPING = Path(__file__).parents[2] / "docs" / "DEVELOPING.md"


@pytest.fixture(scope="module")
def base():
    return load_evidence_base()


def test_packaged_base_validates_clean_and_is_cached(base) -> None:
    assert validate_evidence() == []
    assert load_evidence_base() is base
    assert len(base) == len(set(base.ids)) >= 45


def test_committed_csv_copy_matches_the_shared_one() -> None:
    if not SHARED_CSV.exists():
        pytest.skip("the shared evidence folder is not present (clean clone)")
    assert CSV.read_bytes() == SHARED_CSV.read_bytes()


def test_every_id_of_the_developing_table_exists(base) -> None:
    table = re.findall(r"^\| ([a-z0-9_]+) \| ([^|]+) \|", DEVELOPING.read_text(), re.MULTILINE)
    ids = {study_id for study_id, _ in table if study_id != "id"}
    assert len(ids) == 45
    assert ids <= set(base.ids), sorted(ids - set(base.ids))
    # the csv column of the table is the csv_id of the record
    for study_id, csv_id in table:
        if study_id in ids and not csv_id.strip().startswith("("):
            assert base.get(study_id).csv_id == csv_id.strip()


def test_ninety_percent_intervals_and_the_converted_abcsg28_hr(base) -> None:
    levels = {s.id: o.ci_level for s, o in base.outcomes("overall_survival")}
    assert levels["khan2022"] == levels["shien2023"] == pytest.approx(0.90)
    assert levels["badwe2015"] == pytest.approx(0.95)
    fitzal = base.get("fitzal2019").outcomes[0]
    assert fitzal.converted and fitzal.reported is not None and fitzal.conversion
    assert fitzal.estimate == pytest.approx(1 / fitzal.reported.estimate, abs=0.005)
    assert fitzal.ci_low == pytest.approx(1 / fitzal.reported.ci_high, abs=0.005)
    assert fitzal.ci_high == pytest.approx(1 / fitzal.reported.ci_low, abs=0.005)


def test_get_names_close_matches(base) -> None:
    assert base.get("badwe2015").citation.year == 2015
    with pytest.raises(KeyError, match="did you mean badwe2015"):
        base.get("badwe")


def test_queries(base) -> None:
    rcts = base.by_design("rct")
    assert {"badwe2015", "soran2018", "khan2022", "fitzal2019", "shien2023"} <= {s.id for s in rcts}
    assert all(s.design is Design.rct for s in rcts)
    pairs = base.outcomes("overall_survival")
    assert all(o.outcome.value == "overall_survival" and o.subgroup == "overall" for _, o in pairs)
    # a secondary report of the same analysis is not returned twice unless asked for
    shien = [o for s, o in pairs if s.id == "shien2023"]
    assert len(shien) == 1 and shien[0].estimate == 0.86
    every = base.outcomes("overall_survival", include_secondary=True)
    assert len([o for s, o in every if s.id == "shien2023"]) == 2
    subgroups = base.outcomes("overall_survival", subgroup=None, design=["rct"])
    assert any(o.subgroup == "solitary bone-only metastasis" for _, o in subgroups)
    with pytest.raises(ValueError):
        base.outcomes("survival")


def test_cite_and_url() -> None:
    assert cite("badwe2015") == "Badwe 2015, Lancet Oncol"
    assert cite("khan2022") == "Khan 2022, J Clin Oncol"
    assert cite("pmid30146252") == "PMID 30146252 2018"  # authors not confirmed
    assert cite("pmid27123297") == "Headon 2016, Mol Clin Oncol"
    assert url("pmid27123297") == "https://pubmed.gov/27123297/"
    assert url("khan2022") == "https://pmc.ncbi.nlm.nih.gov/articles/PMC8937009"


def test_risk_of_bias_fits_the_design(base) -> None:
    for s in base.studies:
        if isinstance(s.risk_of_bias, Rob2):
            assert s.design is Design.rct
        if isinstance(s.risk_of_bias, RobinsI):
            assert s.design.is_observational
        if s.design.is_observational and any(o.has_numbers for o in s.outcomes):
            assert isinstance(s.risk_of_bias, RobinsI), s.id
    for study_id in ("badwe2015", "soran2018", "soran2021", "khan2022", "fitzal2019", "shien2023"):
        assert isinstance(base.get(study_id).risk_of_bias, Rob2), study_id
    khan2002 = base.get("khan2002").risk_of_bias
    assert isinstance(khan2002, RobinsI) and khan2002.immortal_time_bias


def test_grade_uses_the_cochrane_ratings(base) -> None:
    cochrane = {
        g.outcome.value: g.certainty.value
        for g in base.grade
        if g.rated_by == "tosello2018" and g.body == "randomised"
    }
    assert cochrane["overall_survival"] == "very_low"
    assert cochrane["locoregional_progression"] == "low"
    assert cochrane["distant_progression"] == "moderate"
    observational = base.grade_for("overall_survival", "observational")
    assert observational and all(g.rated_by == "locoreg" for g in observational)


def test_every_reference_of_the_seed_topic_is_a_study(base) -> None:
    cited = {s.id for s in base.studies if "uptodate_sabel2017" in s.cited_in}
    assert len(cited) == 19  # the topic's reference list has 19 entries
    assert {"lee1992", "harris2013", "soran2013", "cady2008"} <= cited


def test_not_found_is_explicit(base) -> None:
    for study_id in ("rapiti2006", "fields2007", "leung2010", "carmichael2003", "nieto1999"):
        s = base.get(study_id)
        assert s.no_extractable_estimate and s.no_extractable_estimate_reason
        assert all(o.estimate is None and o.not_found for o in s.outcomes)


CORE_OUTCOMES = (
    "overall_survival",
    "locoregional_progression",
    "distant_progression",
    "quality_of_life",
    "toxicity",
)


def _body(study) -> str | None:
    """Which GRADE body a study informs: trials (and reviews of trials) or the rest."""
    if study.design is Design.rct:
        return "randomised"
    if study.design.is_observational:
        return "observational"
    return None  # meta-analyses can pool either; reviews and epidemiology inform none


def test_every_core_outcome_with_comparative_evidence_has_a_grade_rating(base) -> None:
    """If a trial (or a cohort) reports an outcome with a number, that body is rated for it."""
    for kind in CORE_OUTCOMES:
        for body in ("randomised", "observational"):
            reporting = {
                s.id
                for s, o in base.outcomes(kind, subgroup=None, include_secondary=True)
                if _body(s) == body and o.has_numbers
            }
            if reporting:
                assert base.grade_for(kind, body), (kind, body, sorted(reporting))
    # the trial evidence is rated for every core outcome
    assert {g.outcome.value for g in base.grade if g.body == "randomised"} == set(CORE_OUTCOMES)


def test_grade_ratings_rest_on_studies_of_their_body_that_report_the_outcome(base) -> None:
    for g in base.grade:
        for study_id in g.studies:
            s = base.get(study_id)
            assert _body(s) in (g.body, None), (g.outcome.value, g.body, study_id)
            assert any(o.outcome is g.outcome for o in s.outcomes), (g.outcome.value, study_id)


def test_every_assessed_trial_records_each_core_outcome_or_says_it_was_not_found(base) -> None:
    trials = [s for s in base.studies if isinstance(s.risk_of_bias, Rob2)]
    assert len(trials) >= 6
    for s in trials:
        for kind in CORE_OUTCOMES:
            mine = [o for o in s.outcomes if o.outcome.value == kind]
            assert mine, (s.id, kind)
            assert all(o.has_numbers or o.not_found or o.notes for o in mine), (s.id, kind)


def test_observational_assessments_name_selection_bias_and_immortal_time(base) -> None:
    robins = [s for s in base.studies if isinstance(s.risk_of_bias, RobinsI)]
    assert len(robins) >= 10
    for s in robins:
        rob = s.risk_of_bias
        assert isinstance(rob, RobinsI)
        assert "selection bias" in rob.confounding.reason.lower(), s.id
        if rob.immortal_time_bias:  # the model requires it to be named where it applies
            assert "immortal time" in rob.selection_of_participants.reason.lower(), s.id
        for name, domain in rob.domains().items():
            assert len(domain.reason.split()) >= 4, (s.id, name)  # a reason, not a label


def test_timing_of_surgery_of_the_trials(base) -> None:
    timing = {s.id: s.timing_of_surgery.value for s in base.by_design("rct")}
    assert timing["soran2018"] == timing["fitzal2019"] == "upfront"  # randomised at diagnosis
    assert timing["khan2022"] == timing["shien2023"] == "after_systemic_therapy"
    assert timing["badwe2015"] == "mixed"  # most after chemotherapy, some at diagnosis
