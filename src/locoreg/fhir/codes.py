"""Code systems, codes and profile URLs the mCODE mapping reads.

docs/ehr-integration.md has the mapping table and the sources.

Only codes are here, no logic: the tables say which FHIR coding means which
Patient field value, so a reviewer can check them against the source in one place.
"""

from __future__ import annotations

from typing import Final

# Code systems.
LOINC: Final = "http://loinc.org"
SNOMED: Final = "http://snomed.info/sct"
AJCC: Final = "http://cancerstaging.org"
ICD10CM: Final = "http://hl7.org/fhir/sid/icd-10-cm"
V3_INTERPRETATION: Final = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CONDITION_VERIFICATION: Final = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

# locoreg's own code system and extensions, for what mCODE has no concept for.
# ``.example.org`` is deliberate: these are identifiers, not addresses to resolve.
LOCOREG_BASE: Final = "http://locoreg.example.org/fhir"
LOCOREG_CS: Final = f"{LOCOREG_BASE}/CodeSystem/locoreg"
EXT_LESION_COUNT: Final = f"{LOCOREG_BASE}/StructureDefinition/lesion-count"
EXT_SYMPTOM_CONTROLLED: Final = f"{LOCOREG_BASE}/StructureDefinition/symptom-controlled"

# mCODE profiles (canonical URLs) and extensions.
MCODE: Final = "http://hl7.org/fhir/us/mcode/StructureDefinition"
PROFILE_PRIMARY: Final = f"{MCODE}/mcode-primary-cancer-condition"
PROFILE_SECONDARY: Final = f"{MCODE}/mcode-secondary-cancer-condition"
PROFILE_MEDICATION_STATEMENT: Final = f"{MCODE}/mcode-cancer-related-medication-statement"
PROFILE_MEDICATION_REQUEST: Final = f"{MCODE}/mcode-cancer-related-medication-request"
EXT_HISTOLOGY: Final = f"{MCODE}/mcode-histology-morphology-behavior"
EXT_ASSERTED_DATE: Final = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate"

# --- TNM (mCODE TNM*Category profiles; LOINC observation codes) ---------------------
TNM_T_CLINICAL: Final = "21905-5"
TNM_N_CLINICAL: Final = "21906-3"
TNM_M_CLINICAL: Final = "21907-1"
TNM_T_PATHOLOGICAL: Final = "21899-0"
TNM_N_PATHOLOGICAL: Final = "21900-6"
TNM_M_PATHOLOGICAL: Final = "21901-4"
STAGE_GROUP_CLINICAL: Final = "21908-9"
STAGE_GROUP_PATHOLOGICAL: Final = "21902-2"

# Legacy SNOMED CT "<category> category (finding)" concepts. Newer AJCC-aligned SNOMED
# concepts are read from their display text ("American Joint Committee on Cancer cT2").
SNOMED_TNM: Final[dict[str, str]] = {
    "43189003": "TX",
    "58790005": "T0",
    "44401000": "Tis",
    "23351008": "T1",
    "67673008": "T2",
    "14410001": "T3",
    "65565005": "T4",
    "79420006": "NX",
    "62455006": "N0",
    "53623008": "N1",
    "46059003": "N2",
    "5856006": "N3",
    "30893008": "M0",
    "55440008": "M1",
}

# --- Tumour markers (mCODE TumorMarkerTest) -------------------------------------------
ER_CODES: Final = ("85337-4", "16112-5")
PR_CODES: Final = ("85339-0", "16113-3")
HER2_CODES: Final = ("85319-2", "48676-1", "85318-4")

POSITIVE: Final = "positive"
NEGATIVE: Final = "negative"
UNKNOWN: Final = "unknown"
# (system, code) → receptor status. Equivocal/indeterminate results are "unknown":
# the work-up is not finished until a definite result exists.
MARKER_VALUES: Final[dict[tuple[str, str], str]] = {
    (SNOMED, "10828004"): POSITIVE,
    (SNOMED, "260385009"): NEGATIVE,
    (SNOMED, "42425007"): UNKNOWN,  # Equivocal (qualifier value)
    (SNOMED, "82334004"): UNKNOWN,  # Indeterminate (qualifier value)
    (LOINC, "LA6576-8"): POSITIVE,
    (LOINC, "LA6577-6"): NEGATIVE,
    (LOINC, "LA11884-6"): UNKNOWN,  # Indeterminate
    (V3_INTERPRETATION, "POS"): POSITIVE,
    (V3_INTERPRETATION, "NEG"): NEGATIVE,
    (V3_INTERPRETATION, "IND"): UNKNOWN,
}

# --- ECOG performance status (mCODE ECOGPerformanceStatus) ------------------------
ECOG: Final = "89247-1"
ECOG_ANSWERS: Final[dict[str, int]] = {
    "LA9622-7": 0,
    "LA9623-5": 1,
    "LA9624-3": 2,
    "LA9625-0": 3,
    "LA9626-8": 4,
    "LA9627-6": 5,
}

# --- Disease status (mCODE CancerDiseaseStatus, ConditionStatusTrendVS) ----------------
DISEASE_STATUS: Final = "97509-4"
DISEASE_STATUS_VALUES: Final[dict[str, str]] = {
    "268910001": "partial_response",  # Patient's condition improved
    "359746009": "stable_disease",  # Patient's condition stable
    "271299001": "progressive_disease",  # Patient's condition worsened
    "277022003": "complete_response",  # Remission phase
    "709137006": "not_evaluated",  # Patient condition undetermined
    # Earlier mCODE releases: STU1 "Not detected (qualifier)", STU2 "No abnormality
    # detected (finding)" — no detectable disease, read as a complete response.
    "260415000": "complete_response",
    "281900007": "complete_response",
}

# --- Primary breast cancer --------------------------------------------------------------
BREAST_CANCER_SNOMED: Final = frozenset({"254837009", "372137005"})
MALIGNANT_NEOPLASM_SNOMED: Final = "363346000"
BREAST_SITES_SNOMED: Final = frozenset({"76752008", "80248007", "73056007"})
SECONDARY_SNOMED: Final = "128462008"  # Metastatic neoplasm (disease), the mCODE VS root

# --- Metastatic sites: SecondaryCancerCondition.bodySite (SNOMED CT body structures) ---
SITE_SNOMED: Final[dict[str, str]] = {
    "272673000": "bone",  # Bone structure
    "39607008": "lung",  # Lung structure
    "10200004": "liver",  # Liver structure
    "12738006": "brain",  # Brain structure
    "59441001": "distant_lymph_nodes",  # Structure of lymph node
    "3120008": "pleura",  # Pleural membrane structure
    "39937001": "skin_soft_tissue",  # Skin structure
    "87784001": "skin_soft_tissue",  # Soft tissues
}
# ... or, failing a body site, the ICD-10-CM secondary-neoplasm code (prefix match).
SITE_ICD10: Final[tuple[tuple[str, str], ...]] = (
    ("C79.5", "bone"),
    ("C78.0", "lung"),
    ("C78.7", "liver"),
    ("C79.3", "brain"),
    ("C77", "distant_lymph_nodes"),
    ("C78.2", "pleura"),
    ("C79.2", "skin_soft_tissue"),
)

# --- Local symptoms of the primary ------------------------------------------------------
# SNOMED CT findings that count only with a breast body site (they are not breast-specific),
# and breast-specific findings that count on their own.
SYMPTOM_SNOMED_NEEDS_BREAST_SITE: Final[dict[str, str]] = {
    "131148009": "bleeding",  # Bleeding (finding)
    "429040005": "ulceration",  # Ulcer (disorder)
    "40733004": "infection",  # Infectious disease (disorder)
    "22253000": "pain",  # Pain (finding)
}
SYMPTOM_SNOMED_BREAST: Final[dict[str, str]] = {
    "53430007": "pain",  # Mastodynia (breast pain)
}
# locoreg codes: the contract's symptom values (breast or regional nodes implied). No
# SNOMED CT concept means "impending ulceration" (tumour fixed to skin or chest wall about
# to break down) or the contract's "nodal complication" (axillary/supraclavicular disease
# causing brachial plexopathy, lymphoedema or venous obstruction) as one finding.
SYMPTOM_LOCOREG: Final = frozenset(
    {
        "bleeding",
        "ulceration",
        "infection",
        "fungation",
        "pain",
        "impending_ulceration",
        "nodal_complication",
    }
)
ACTIVE_CLINICAL_STATUS: Final = frozenset({"active", "recurrence", "relapse"})
# A symptom Observation whose value is this qualifier records the symptom as absent.
ABSENT_SNOMED: Final = "2667000"  # Absent (qualifier value)

# --- locoreg observations (no mCODE concept) --------------------------------------------
SURGICAL_RISK: Final = "surgical-risk"  # valueCodeableConcept locoreg#low|standard|high
ASA_CLASS: Final = "asa-class"  # valueInteger 1..6 (ASA physical status)
RESECTABLE: Final = "resectable"  # valueBoolean
PREFERENCE: Final = "patient-preference"  # valueCodeableConcept locoreg#<preference>
# valueBoolean: severe organ dysfunction from metastases needing rapid systemic control
# (ABC definition); SNOMED CT has no concept for it.
VISCERAL_CRISIS: Final = "visceral-crisis"


#: LOINC codes of every Observation the mapping reads (the CDS Hooks prefetch asks for
#: these; the audit record keeps the Observations that carry them).
MAPPED_LOINC_CODES: tuple[str, ...] = (
    TNM_T_CLINICAL,
    TNM_N_CLINICAL,
    TNM_M_CLINICAL,
    TNM_T_PATHOLOGICAL,
    TNM_N_PATHOLOGICAL,
    TNM_M_PATHOLOGICAL,
    STAGE_GROUP_CLINICAL,
    STAGE_GROUP_PATHOLOGICAL,
    *ER_CODES,
    *PR_CODES,
    *HER2_CODES,
    ECOG,
    DISEASE_STATUS,
)
