"""OMOP CDM v5.4 concept sets of the de novo stage IV breast cancer cohort.

Each set is a list of ancestor concepts; the cohort uses every descendant
through ``concept_ancestor`` (which holds each concept as its own descendant at
level 0, so a set also matches its ancestors themselves). ``checked`` says
whether the concept id and name were confirmed against public OMOP material
while this was written (docs/registry.md §OMOP gives the source of each). The cohort SQL
finds a concept that has a ``code`` by its (vocabulary, code) in the site's ``concept``
table, so these ids are references; only concepts without a code are matched by id.

Concept ids of 2,000,000,000 and above are *local* concepts (the range the
OMOP CDM leaves to sites): the synthetic database uses them for descendants
that exercise the hierarchy (``concept_ancestor``) without inventing standard
ids; no real vocabulary holds them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Concept:
    concept_id: int
    name: str
    domain: str
    vocabulary: str
    code: str
    checked: bool


# Malignant tumour of the breast (index diagnosis).
BREAST_CANCER = (
    Concept(4112853, "Malignant tumor of breast", "Condition", "SNOMED", "254837009", True),
)
# Any distant metastasis (secondary malignant neoplasm), and the sites the registry contract names;
# a metastasis in none of the four named sets counts as "other".
METASTASIS = (
    Concept(
        432851, "Secondary malignant neoplastic disease", "Condition", "SNOMED", "128462008", True
    ),
)
METASTASIS_SITES: dict[str, tuple[Concept, ...]] = {
    "bone": (
        Concept(
            78097, "Secondary malignant neoplasm of bone", "Condition", "SNOMED", "94222008", False
        ),
    ),
    "lung": (
        Concept(
            254591, "Secondary malignant neoplasm of lung", "Condition", "SNOMED", "94391008", True
        ),
    ),
    "liver": (
        Concept(
            198700,
            "Secondary malignant neoplasm of liver",
            "Condition",
            "SNOMED",
            "94381002",
            True,
        ),
    ),
    "brain": (
        Concept(
            4300544,
            "Secondary malignant neoplasm of brain",
            "Condition",
            "SNOMED",
            "94225005",
            True,
        ),
    ),
}
# Receptor status: LOINC interpretation measurements, value_as_concept_id Positive / Negative.
RECEPTORS: dict[str, tuple[Concept, ...]] = {
    "er": (
        Concept(
            3004390,
            "Estrogen receptor [Interpretation] in Tissue",
            "Measurement",
            "LOINC",
            "16112-5",
            True,
        ),
    ),
    "pr": (
        Concept(
            3003289,
            "Progesterone receptor [Interpretation] in Tissue",
            "Measurement",
            "LOINC",
            "16113-3",
            True,
        ),
    ),
    "her2": (
        Concept(
            3048223, "HER2 [Interpretation] in Tissue", "Measurement", "LOINC", "48676-1", True
        ),
    ),
}
POSITIVE = Concept(9191, "Positive", "Meas Value", "SNOMED", "10828004", True)
NEGATIVE = Concept(9189, "Negative", "Meas Value", "SNOMED", "260385009", True)
# Clinical T and N (AJCC category text in value_source_value, e.g. "cT4b", "N1"),
# ECOG (value_as_number). The T and N ids were 3004287 / 3005961 (written from memory, wrong):
# the OMOP vocabulary shipped with OHDSI's Eunomia Synthea data gives LOINC 21905-5 and 21906-3
# the ids 3008841 and 3007727.
STAGING: dict[str, tuple[Concept, ...]] = {
    "t": (
        Concept(
            3008841,
            "Primary tumor.clinical [Class] Cancer",
            "Measurement",
            "LOINC",
            "21905-5",
            True,
        ),
    ),
    "n": (
        Concept(
            3007727,
            "Regional lymph nodes.clinical [Class] Cancer",
            "Measurement",
            "LOINC",
            "21906-3",
            True,
        ),
    ),
    "ecog": (
        Concept(36305384, "ECOG Performance Status score", "Measurement", "LOINC", "89247-1", True),
    ),
}
# Surgery of the primary tumour (mastectomy or breast-conserving excision). 4286804 is SNOMED
# "Excision of breast tissue" (69031006, whose synonym is "Mastectomy"); 4216180 is "Wire guided
# local excision of breast lump" (it was written as "Partial mastectomy" from memory; public OHDSI
# material names it otherwise, and its SNOMED code was not found). The site checks which of its
# own procedure concepts descend from them (an excisional biopsy must not count as surgery).
SURGERY = (
    Concept(4286804, "Excision of breast tissue", "Procedure", "SNOMED", "69031006", True),
    Concept(4216180, "Wire guided local excision of breast lump", "Procedure", "SNOMED", "", True),
)
# Systemic therapy (ingredients; RxNorm), read into the contract's optional columns.
THERAPY: dict[str, tuple[Concept, ...]] = {
    "endocrine_therapy": (
        Concept(1436678, "tamoxifen", "Drug", "RxNorm", "10324", True),
        Concept(1315946, "letrozole", "Drug", "RxNorm", "72965", True),
    ),
    "chemotherapy": (
        Concept(1378382, "paclitaxel", "Drug", "RxNorm", "56946", True),
        Concept(1338512, "doxorubicin", "Drug", "RxNorm", "3639", True),
    ),
}
# Oncology extension: an episode "Disease First Occurrence" whose object is a breast cancer
# concept dates the diagnosis when the site fills the episode table. Its concept_code was not
# found in public material (the one first written here was a guess), so it is left empty.
DISEASE_FIRST_OCCURRENCE = Concept(
    32528, "Disease First Occurrence", "Episode", "Episode", "", True
)
FEMALE = Concept(8532, "FEMALE", "Gender", "Gender", "F", True)

# Diagnosis window: a metastasis (and the receptor, staging and ECOG values) recorded from
# DAYS_BEFORE days before to DAYS_AFTER days after the diagnosis belongs to the diagnosis.
DAYS_BEFORE = 30
DAYS_AFTER = 90
DAYS_PER_MONTH = 30.4375  # 365.25 / 12


def ids(concepts: tuple[Concept, ...]) -> str:
    """Comma-separated concept ids for an SQL ``IN`` list."""
    return ", ".join(str(c.concept_id) for c in concepts)


def all_sets() -> dict[str, tuple[Concept, ...]]:
    """Every concept set by name (for the docs and the synthetic vocabulary)."""
    out: dict[str, tuple[Concept, ...]] = {
        "breast_cancer": BREAST_CANCER,
        "metastasis": METASTASIS,
        **{f"metastasis_{k}": v for k, v in METASTASIS_SITES.items()},
        **RECEPTORS,
        **STAGING,
        "surgery": SURGERY,
        **THERAPY,
        "values": (POSITIVE, NEGATIVE),
        "episode": (DISEASE_FIRST_OCCURRENCE,),
        "gender": (FEMALE,),
    }
    return out
