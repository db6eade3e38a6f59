"""A synthetic OMOP CDM v5.4 database holding the simulated registry, with a known surgery effect.

:func:`write_omop` spreads a :class:`~locoreg.cohort.simulate.SimulatedRegistry`
over the OMOP tables the cohort reads (one Parquet file per table, with the
``concept`` and ``concept_ancestor`` rows they use), so that the OMOP route
(:mod:`locoreg.cohort.omop`) can be checked end to end against the truth.
Months become days at 30.4375 days a month, rounded to the day.

What the extraction must see through, on purpose:

* codes below the concept-set ancestors (local descendant concepts, ids
  ≥ 2,000,000,000), so that only a ``concept_ancestor`` join finds them;
* a second, later breast cancer record (the first one dates the diagnosis) and
  the oncology extension's ``episode`` of first occurrence;
* a biopsy (not surgery of the primary) before diagnosis;
* receptor results from more than a year before diagnosis that contradict the
  ones at diagnosis, and new metastases long after diagnosis (recurrences);
* people who are not in the cohort: breast cancer without metastasis, breast
  cancer whose metastases came later, and people without breast cancer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from locoreg.cohort import omop_concepts as oc
from locoreg.cohort.schema import MET_SITES, RECEPTOR_CODES
from locoreg.cohort.simulate import N_LABELS, T_LABELS, SimulatedRegistry

EHR = 32817  # Type Concept "EHR"
# Local concepts (ids >= 2,000,000,000: the range OMOP leaves to sites).
LOCAL_BREAST = oc.Concept(
    2000000001,
    "Malignant tumour of upper outer quadrant of breast (synthetic local)",
    "Condition",
    "Local",
    "L-BR-UOQ",
    False,
)
LOCAL_BONE = oc.Concept(
    2000000011,
    "Secondary malignant neoplasm of vertebral column (synthetic local)",
    "Condition",
    "Local",
    "L-MET-SPINE",
    False,
)
LOCAL_OTHER = oc.Concept(
    2000000015,
    "Secondary malignant neoplasm of pleura (synthetic local)",
    "Condition",
    "Local",
    "L-MET-PLEURA",
    False,
)
LOCAL_BIOPSY = oc.Concept(
    2000000020,
    "Core needle biopsy of breast (synthetic local)",
    "Procedure",
    "Local",
    "L-BIOPSY",
    False,
)
LOCAL_OTHER_DISEASE = oc.Concept(
    2000000030, "Essential hypertension (synthetic local)", "Condition", "Local", "L-HTN", False
)
TYPE_EHR = oc.Concept(EHR, "EHR", "Type Concept", "Type Concept", "OMOP4976890", True)
DAY = oc.DAYS_PER_MONTH


def _dates(year: np.ndarray, offset: np.ndarray) -> np.ndarray:
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    return start + offset.astype("timedelta64[D]")


def _days(months: np.ndarray) -> np.ndarray:
    return np.rint(np.nan_to_num(months) * DAY).astype(np.int64)


class _Rows:
    """Accumulates rows per table as column arrays."""

    def __init__(self) -> None:
        self.parts: dict[str, list[pd.DataFrame]] = {}

    def add(self, table: str, **cols: Any) -> None:
        self.parts.setdefault(table, []).append(pd.DataFrame(cols))

    def frame(self, table: str) -> pd.DataFrame:
        return pd.concat(self.parts[table], ignore_index=True)


def _vocabulary() -> tuple[pd.DataFrame, pd.DataFrame]:
    sets = oc.all_sets()
    concepts = {c.concept_id: c for group in sets.values() for c in group}
    for c in (LOCAL_BREAST, LOCAL_BONE, LOCAL_OTHER, LOCAL_BIOPSY, LOCAL_OTHER_DISEASE, TYPE_EHR):
        concepts[c.concept_id] = c
    rows = list(concepts.values())
    concept = pd.DataFrame(
        {
            "concept_id": [c.concept_id for c in rows],
            "concept_name": [c.name for c in rows],
            "domain_id": [c.domain for c in rows],
            "vocabulary_id": [c.vocabulary for c in rows],
            "concept_class_id": [
                "Clinical Finding" if c.domain == "Condition" else c.domain for c in rows
            ],
            "standard_concept": ["S" if c.concept_id < 2_000_000_000 else None for c in rows],
            "concept_code": [c.code for c in rows],
            "valid_start_date": np.datetime64("1970-01-01", "D"),
            "valid_end_date": np.datetime64("2099-12-31", "D"),
            "invalid_reason": None,
        }
    )
    metastasis = oc.METASTASIS[0].concept_id
    pairs = [(c.concept_id, c.concept_id, 0) for c in rows]  # every concept is its own descendant
    pairs += [(metastasis, s[0].concept_id, 1) for s in oc.METASTASIS_SITES.values()]
    pairs += [
        (oc.BREAST_CANCER[0].concept_id, LOCAL_BREAST.concept_id, 1),
        (oc.METASTASIS_SITES["bone"][0].concept_id, LOCAL_BONE.concept_id, 1),
        (metastasis, LOCAL_BONE.concept_id, 2),
        (metastasis, LOCAL_OTHER.concept_id, 1),
    ]
    ancestor = pd.DataFrame(
        pairs, columns=["ancestor_concept_id", "descendant_concept_id", "min_levels_of_separation"]
    )
    ancestor["max_levels_of_separation"] = ancestor["min_levels_of_separation"]
    return concept, ancestor


def omop_tables(sim: SimulatedRegistry, seed: int | None = None) -> dict[str, pd.DataFrame]:
    """The OMOP tables (as data frames) of ``sim`` plus people outside the cohort."""
    rng = np.random.default_rng(None if seed is None else seed + 7919)
    n = sim.n_patients
    rows = _Rows()
    pid = np.arange(1, n + 1, dtype=np.int64)
    year = sim.year_of_diagnosis
    dx = _dates(year, rng.integers(0, 365, size=n))
    doy = (dx - _dates(year, np.zeros(n, dtype=np.int64))).astype(np.int64)
    end = dx + _days(sim.survival_months).astype("timedelta64[D]")

    # Extra people: breast cancer without metastasis, with later metastasis only, no cancer.
    k = max(n // 10, 1)
    xid = np.arange(n + 1, n + 3 * k + 1, dtype=np.int64)
    xyear = rng.integers(2010, 2020, size=3 * k)
    xdx = _dates(xyear, rng.integers(0, 365, size=3 * k))
    xend = xdx + rng.integers(200, 2000, size=3 * k).astype("timedelta64[D]")

    age = np.concatenate([sim.age, rng.integers(30, 85, size=3 * k)])
    all_dx = np.concatenate([dx, xdx])
    all_doy = np.concatenate(
        [doy, (xdx - _dates(xyear, np.zeros(3 * k, dtype=np.int64))).astype(np.int64)]
    )
    birth_year = np.concatenate([year, xyear]) - age
    # A birthday already passed in the year of diagnosis: completed years = age.
    birth = _dates(birth_year, rng.integers(0, np.maximum(all_doy - 1, 1)))
    b = pd.DatetimeIndex(birth)
    rows.add(
        "person",
        person_id=np.concatenate([pid, xid]),
        gender_concept_id=oc.FEMALE.concept_id,
        year_of_birth=b.year.to_numpy(),
        month_of_birth=b.month.to_numpy(),
        day_of_birth=b.day.to_numpy(),
        race_concept_id=0,
        ethnicity_concept_id=0,
    )
    all_id = np.concatenate([pid, xid])
    rows.add(
        "observation_period",
        observation_period_id=all_id,
        person_id=all_id,
        observation_period_start_date=all_dx - np.timedelta64(365, "D"),
        observation_period_end_date=np.concatenate([end, xend]),
        period_type_concept_id=EHR,
    )
    dead = sim.dead
    rows.add(
        "death",
        person_id=pid[dead],
        death_date=end[dead],
        death_type_concept_id=EHR,
    )

    def condition(person: np.ndarray, concept: np.ndarray | int, date: np.ndarray) -> None:
        rows.add(
            "condition_occurrence",
            person_id=person,
            condition_concept_id=concept,
            condition_start_date=date,
            condition_type_concept_id=EHR,
        )

    breast = np.where(rng.random(n) < 0.3, LOCAL_BREAST.concept_id, oc.BREAST_CANCER[0].concept_id)
    condition(pid, breast, dx)
    condition(pid, oc.BREAST_CANCER[0].concept_id, dx + np.timedelta64(60, "D"))  # follow-up visit
    for j, site in enumerate(MET_SITES):
        has = sim.mets[:, j]
        if site == "other":
            concept: np.ndarray | int = LOCAL_OTHER.concept_id
        else:
            ancestor = oc.METASTASIS_SITES[site][0].concept_id
            concept = (
                np.where(rng.random(int(has.sum())) < 0.5, LOCAL_BONE.concept_id, ancestor)
                if site == "bone"
                else ancestor
            )
        when = dx[has] + rng.integers(-20, 60, size=int(has.sum())).astype("timedelta64[D]")
        condition(pid[has], concept, when)
    # Recurrences long after diagnosis: new liver metastases that must not count.
    late = (~sim.mets[:, 2]) & (rng.random(n) < 0.2) & (sim.survival_months > 14)
    condition(
        pid[late], oc.METASTASIS_SITES["liver"][0].concept_id, dx[late] + np.timedelta64(400, "D")
    )

    # People outside the cohort.
    a, b2, c = xid[:k], xid[k : 2 * k], xid[2 * k :]
    condition(
        np.concatenate([a, b2]),
        oc.BREAST_CANCER[0].concept_id,
        np.concatenate([xdx[:k], xdx[k : 2 * k]]),
    )
    condition(
        b2, oc.METASTASIS_SITES["bone"][0].concept_id, xdx[k : 2 * k] + np.timedelta64(150, "D")
    )
    condition(c, LOCAL_OTHER_DISEASE.concept_id, xdx[2 * k :])

    def measurement(person: np.ndarray, what: int, date: np.ndarray, **values: Any) -> None:
        rows.add(
            "measurement",
            person_id=person,
            measurement_concept_id=what,
            measurement_date=date,
            measurement_type_concept_id=EHR,
            value_as_number=values.get("number", np.nan),
            value_as_concept_id=values.get("concept", 0),
            value_source_value=values.get("text"),
        )

    pos, neg = oc.POSITIVE.concept_id, oc.NEGATIVE.concept_id
    for marker, codes in (("er", sim.er), ("pr", sim.pr), ("her2", sim.her2)):
        concept_id = oc.RECEPTORS[marker][0].concept_id
        known = codes != RECEPTOR_CODES.index("unknown")
        value = np.where(codes == RECEPTOR_CODES.index("positive"), pos, neg)
        when = dx + rng.integers(-10, 20, size=n).astype("timedelta64[D]")
        measurement(pid[known], concept_id, when[known], concept=value[known])
        old = known & (rng.random(n) < 0.1)  # a contradicting result 400 days earlier
        flipped = np.where(value == pos, neg, pos)
        measurement(pid[old], concept_id, dx[old] - np.timedelta64(400, "D"), concept=flipped[old])
    prefix = np.where(rng.random(n) < 0.5, "c", "")
    for marker, codes, labels, unknown in (
        ("t", sim.t, T_LABELS, "TX"),
        ("n", sim.n, N_LABELS, "NX"),
    ):
        text = np.asarray(labels, dtype=object)[codes]
        known = text != unknown
        measurement(
            pid[known],
            oc.STAGING[marker][0].concept_id,
            dx[known],
            text=(prefix.astype(object) + text)[known],
        )
    measurement(pid, oc.STAGING["ecog"][0].concept_id, dx, number=sim.ecog.astype(float))

    surgery = sim.surgery
    kind = np.where(rng.random(n) < 0.6, oc.SURGERY[0].concept_id, oc.SURGERY[1].concept_id)
    rows.add(
        "procedure_occurrence",
        person_id=pid[surgery],
        procedure_concept_id=kind[surgery],
        procedure_date=dx[surgery] + _days(sim.surgery_months[surgery]).astype("timedelta64[D]"),
        procedure_type_concept_id=EHR,
    )
    rows.add(
        "procedure_occurrence",
        person_id=pid,
        procedure_concept_id=LOCAL_BIOPSY.concept_id,
        procedure_date=dx - np.timedelta64(5, "D"),
        procedure_type_concept_id=EHR,
    )

    hr_pos = (sim.er == 0) | (sim.pr == 0)
    endocrine = hr_pos & (rng.random(n) < 0.8)
    chemo = (~hr_pos) & (rng.random(n) < 0.7)
    for mask, concept_id in (
        (endocrine, oc.THERAPY["endocrine_therapy"][0].concept_id),
        (chemo, oc.THERAPY["chemotherapy"][0].concept_id),
    ):
        start = dx[mask] + np.timedelta64(30, "D")
        rows.add(
            "drug_exposure",
            person_id=pid[mask],
            drug_concept_id=concept_id,
            drug_exposure_start_date=start,
            drug_exposure_end_date=start + np.timedelta64(90, "D"),
            drug_type_concept_id=EHR,
        )
    rows.add(
        "episode",
        person_id=pid,
        episode_concept_id=oc.DISEASE_FIRST_OCCURRENCE.concept_id,
        episode_start_date=dx,
        episode_object_concept_id=oc.BREAST_CANCER[0].concept_id,
        episode_type_concept_id=EHR,
    )

    tables = {name: rows.frame(name) for name in rows.parts}
    for name, id_column in (
        ("condition_occurrence", "condition_occurrence_id"),
        ("measurement", "measurement_id"),
        ("procedure_occurrence", "procedure_occurrence_id"),
        ("drug_exposure", "drug_exposure_id"),
        ("episode", "episode_id"),
    ):
        frame = tables[name]
        frame.insert(0, id_column, np.arange(1, len(frame) + 1, dtype=np.int64))
    tables["concept"], tables["concept_ancestor"] = _vocabulary()
    return tables


def write_omop(sim: SimulatedRegistry, directory: str | Path, seed: int | None = None) -> Path:
    """Write the OMOP tables of ``sim`` as ``directory/<table>.parquet`` (dates as DATE)."""
    import duckdb

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(":memory:")
    try:
        for name, frame in omop_tables(sim, seed).items():
            con.register("frame", frame)
            cols = ", ".join(
                f'CAST("{c}" AS DATE) AS "{c}"' if c.endswith("_date") else f'"{c}"'
                for c in frame.columns
            )
            target = str(directory / f"{name}.parquet").replace("'", "''")
            con.execute(f"COPY (SELECT {cols} FROM frame) TO '{target}' (FORMAT PARQUET)")
            con.unregister("frame")
    finally:
        con.close()
    return directory


__all__ = ["omop_tables", "write_omop"]
