"""Every row of verified_figures.csv is in the evidence base: same numbers, same source URL.

The CSV (committed copy of ``../shared/evidence/verified_figures.csv``) is the audited list
of published figures. This test walks *every* row and every filled column that carries a
number or an identity (study, author, year, design, data source, N, arm sizes, follow-up,
outcome, subgroup, estimate, interval, level, p value, medians, source URL) and finds it in
the record, so a typo in a YAML file or a figure dropped from the base fails here.

The few places where a record words something differently from the CSV are listed in the
tables below (outcome labels, subgroup labels, design labels, data sources), each with the
reason.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from locoreg.evidence.base import load_evidence_base
from locoreg.evidence.model import (
    DATA_SOURCE_DESIGNS,
    DataSource,
    Design,
    Outcome,
    OutcomeKind,
    Study,
)

CSV = Path(__file__).parents[1] / "fixtures" / "evidence" / "verified_figures.csv"

# CSV outcome label -> the record's outcome kind
KIND: dict[str, OutcomeKind] = {
    "OS": OutcomeKind.overall_survival,
    "OS (overall mortality)": OutcomeKind.overall_survival,
    "3-year survival": OutcomeKind.overall_survival,  # Harris: odds ratio of surviving 3 years
    "distant PFS": OutcomeKind.distant_progression,
    "time to distant progression": OutcomeKind.distant_progression,
    "metastatic PFS": OutcomeKind.distant_progression,
    "locoregional progression (3-yr cumulative incidence)": (OutcomeKind.locoregional_progression),
    "local relapse-free survival": OutcomeKind.locoregional_progression,
    "local PFS": OutcomeKind.locoregional_progression,
    "time to locoregional progression": OutcomeKind.locoregional_progression,
    "chest wall (local) control": OutcomeKind.locoregional_progression,  # its complement
    "time to first progression": OutcomeKind.progression_free_survival,
    "quality of life": OutcomeKind.quality_of_life,
    "toxicity from local therapy": OutcomeKind.toxicity,
    "breast-cancer-specific survival": OutcomeKind.breast_cancer_specific_survival,
    "4-yr breast-cancer-specific survival, de novo stage IV": (
        OutcomeKind.breast_cancer_specific_survival
    ),
    "median OS (all de novo stage IV)": OutcomeKind.median_survival,
    "median OS by subtype": OutcomeKind.median_survival,
    "median OS": OutcomeKind.median_survival,
    "survival by metastatic site": OutcomeKind.other,  # a distribution of sites, not survival
    "proportion of new breast cancers presenting with stage IV": OutcomeKind.other,
}

# (csv study_id, csv subgroup) -> (record subgroup, text the record's comparison must contain).
# The CSV puts a narrower comparison or the analysed population into the subgroup column;
# the record keeps subgroup "overall" (so pooling finds it) and says what was compared.
SUBGROUP: dict[tuple[str, str], tuple[str, str | None]] = {
    ("KHAN2002_NCDB", "surgery with free margins vs no surgery"): ("overall", "free margins"),
    ("TAN2016_SEER", "primary site resection only vs no resection"): ("overall", "primary site"),
    ("BLANCHARD2008_BAYLOR", "overall (survived >90 days)"): ("overall", None),
    ("PMID30146252_MA", "overall (observational)"): ("overall", None),
    ("SORAN_MF07-01_final_abstract", "age <55 years (AMBIGUOUS)"): (
        "age <55 years (ambiguous)",
        None,
    ),
    ("EPI_PROPORTION", "overall"): ("Japan and US (JCOG1017 protocol paper)", None),
}

# CSV design label -> record design
DESIGN: dict[str, Design] = {
    "RCT": Design.rct,
    "retrospective registry": Design.retrospective_registry,
    "retrospective registry (propensity-matched)": Design.retrospective_registry,
    "retrospective registry (epidemiology)": Design.epidemiology,
    "single-institution retrospective": Design.single_institution,
    "retrospective database": Design.single_institution,  # one institution's own database
    "retrospective matched-pair": Design.single_institution,  # Massachusetts institutions
}

# CSV data_source text (of registry, institutional and epidemiology rows) -> the record's
# data_source: the first phrase found names the database. Blanchard's row says only
# "institutional breast cancer database"; its study_id and the record's setting say Baylor.
SOURCE: tuple[tuple[str, DataSource], ...] = (
    ("SEER", DataSource.seer),
    ("NCDB", DataSource.ncdb),
    ("Geneva Cancer Registry", DataSource.geneva_cancer_registry),
    ("Eindhoven Cancer Registry", DataSource.eindhoven_cancer_registry),
    ("MD Anderson", DataSource.md_anderson),
    ("Lynn Sage Breast Center", DataSource.northwestern_lynn_sage),
    ("Massachusetts institutional data", DataSource.massachusetts_institutional),
    ("institutional breast cancer database", DataSource.baylor_breast_database),
)

# a number standing alone: not the 2 of "HER2", not part of a longer number
_NUMBER = re.compile(r"(?<![A-Za-z\d.])\d+(?:\.\d+)?")


def _rows() -> list[dict[str, str]]:
    with CSV.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


ROWS = _rows()


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@pytest.fixture(scope="module")
def by_csv() -> dict[str, Study]:
    base = load_evidence_base()
    studies = [s for s in base.studies if s.csv_id]
    ids = [s.csv_id for s in studies]
    assert len(ids) == len(set(ids)), "two records claim the same csv study_id"
    return {s.csv_id: s for s in studies if s.csv_id}


def _outcome(study: Study, row: dict[str, str]) -> Outcome:
    """The single outcome of ``study`` that records this CSV row."""
    kind = KIND[row["outcome"]]
    subgroup, _ = SUBGROUP.get((row["study_id"], row["subgroup"]), (row["subgroup"], None))
    url = row["source_url"] or None
    estimate = _float(row["estimate"])
    found = [
        o
        for o in study.outcomes
        if o.outcome is kind
        and o.subgroup == subgroup
        and o.source_url == url
        and (estimate is None or o.estimate == estimate)
    ]
    assert len(found) == 1, f"{study.id}: {len(found)} outcomes match {kind.value}/{subgroup}"
    return found[0]


def _row_id(row: dict[str, str]) -> str:
    return f"{row['study_id']}:{row['outcome']}:{row['subgroup']}"


def test_the_tables_cover_every_label_of_the_csv() -> None:
    assert {r["outcome"] for r in ROWS} <= set(KIND)
    designs = {r["design"] for r in ROWS if r["design"]}
    assert {d for d in designs if not d.startswith("meta-analysis")} <= set(DESIGN)
    assert len(ROWS) >= 70


def test_every_csv_study_has_exactly_one_record_and_no_record_is_stale(by_csv) -> None:
    assert {r["study_id"] for r in ROWS} == set(by_csv)


@pytest.mark.parametrize("row", ROWS, ids=[_row_id(r) for r in ROWS])
def test_row_is_in_the_base(row: dict[str, str], by_csv: dict[str, Study]) -> None:
    study = by_csv[row["study_id"]]
    o = _outcome(study, row)

    # identity of the study
    if row["first_author"] not in ("", "not found", "various"):
        assert study.citation.first_author == row["first_author"]
    year = _float(row["year"][:4]) if row["year"][:4].isdigit() else None
    if year is not None:
        assert study.citation.year == year
    if row["design"].startswith("meta-analysis"):
        assert study.design is Design.meta_analysis
    elif row["design"]:
        assert study.design is DESIGN[row["design"]]

    # the analysed subgroup and comparison
    _, comparison = SUBGROUP.get((row["study_id"], row["subgroup"]), (row["subgroup"], None))
    if comparison is not None:
        assert o.comparison is not None and comparison in o.comparison

    # the effect estimate, its interval and level, the p value, all from this URL
    estimate = _float(row["estimate"])
    if estimate is not None:
        assert o.estimate == estimate
        assert (o.ci_low, o.ci_high) == (_float(row["ci_low"]), _float(row["ci_high"]))
        level = float(row["ci_level"].rstrip("%")) / 100 if row["ci_level"] else None
        assert o.ci_level == (pytest.approx(level) if level is not None else None)
    elif row["estimate"]:
        # a figure printed as text ("16.3 vs 39.8", "82% (36/44) vs 34% (20/59)"):
        # every number of it is an arm or category value of the outcome
        values = {a.value for a in o.arms} | {c.value for c in o.categories}
        if o.estimate is not None:
            values.add(o.estimate)
        for number in _NUMBER.findall(row["estimate"]):
            assert float(number) in values, f"{number} of {row['estimate']!r} not recorded"
    else:
        assert o.estimate is None and o.ci_low is None and o.ci_high is None
        assert o.not_found or o.measure.value == "descriptive"
    if row["p_value"]:
        assert o.p_value == row["p_value"]
    assert o.source_url == (row["source_url"] or None)

    # median survival per arm
    arms = {(a.arm, a.value) for a in o.arms if "median" in a.metric}
    if _float(row["median_os_lrt_months"]) is not None:
        assert ("local_therapy", float(row["median_os_lrt_months"])) in arms
    if _float(row["median_os_no_lrt_months"]) is not None:
        assert ("no_local_therapy", float(row["median_os_no_lrt_months"])) in arms


@pytest.mark.parametrize("row", ROWS, ids=[_row_id(r) for r in ROWS])
def test_row_sizes_and_follow_up_are_in_the_base(
    row: dict[str, str], by_csv: dict[str, Study]
) -> None:
    study = by_csv[row["study_id"]]
    o = _outcome(study, row)
    url = row["source_url"]
    n = _float(row["n_total"])
    if n is not None:
        # N of this analysis (outcome.n, read at the outcome's URL) or of the study
        # (n_total, read at the study's source_url, which must be one of its rows' URLs)
        study_urls = {r["source_url"] for r in ROWS if r["study_id"] == row["study_id"]}
        assert o.n == n or (study.n_total == n and study.source_url in study_urls)
    for column, attribute in (("n_lrt", "n_local_therapy"), ("n_no_lrt", "n_no_local_therapy")):
        if row[column]:
            assert getattr(study, attribute) == float(row[column])
            assert study.source_url == url
    follow_up = row["followup_months"]
    if _float(follow_up) is not None and study.follow_up_months is not None:
        assert study.follow_up_months == float(follow_up)
    elif follow_up:
        # a range or a label ("23-40", "120" = the 10-year label): kept as text
        text = f"{o.follow_up or ''} {study.follow_up or ''}"
        numbers = {float(x) for x in _NUMBER.findall(text)}
        assert {float(x) for x in _NUMBER.findall(follow_up)} <= numbers | {120.0}, text
        if follow_up == "120":
            assert "10-year" in text


@pytest.mark.parametrize(
    "row",
    [r for r in ROWS if r["notes"].startswith("NOT FOUND")],
    ids=lambda r: r["study_id"],
)
def test_not_found_rows_are_recorded_as_no_extractable_estimate(
    row: dict[str, str], by_csv: dict[str, Study]
) -> None:
    study = by_csv[row["study_id"]]
    assert study.no_extractable_estimate and study.no_extractable_estimate_reason
    o = _outcome(study, row)
    assert o.estimate is None and o.not_found


def _source(text: str) -> DataSource | None:
    found = [source for phrase, source in SOURCE if phrase in text]
    return found[0] if found else None


@pytest.mark.parametrize("study_id", sorted({r["study_id"] for r in ROWS}))
def test_data_source_is_the_one_the_csv_names(study_id: str, by_csv: dict[str, Study]) -> None:
    """Registry and observational records carry the database their CSV rows name, and none
    where the CSV names none (nothing invented); trials and reviews carry none."""
    study = by_csv[study_id]
    texts = {r["data_source"] for r in ROWS if r["study_id"] == study_id}
    assert len(texts) == 1, texts
    (text,) = texts
    if study.design not in DATA_SOURCE_DESIGNS:
        assert study.data_source is None
        return
    expected = _source(text)
    assert expected is not None or text == "", f"add {text!r} to SOURCE"
    assert study.data_source == expected


def test_the_walk_can_fail(by_csv: dict[str, Study]) -> None:
    """A record that lost a digit is caught: the matcher is not vacuous."""
    row = next(r for r in ROWS if r["study_id"] == "BADWE2015_TMC" and r["outcome"] == "OS")
    study = by_csv["BADWE2015_TMC"]
    first = study.outcomes[0].model_copy(update={"estimate": 1.4})
    broken = study.model_copy(update={"outcomes": (first, *study.outcomes[1:])})
    with pytest.raises(AssertionError):
        _outcome(broken, row)
