"""FHIR R4 Bundle with mCODE profiles → the Patient contract.

The mapping reads plain dicts (what an EHR actually sends), after a structural check
of each resource with ``fhir.resources`` (R4B models, wire-compatible with R4 for the
resources used here). Every problem — a missing required item, a contradiction
between resources, a value that cannot be read — becomes a :class:`FieldError` whose
field names the FHIR resource and path (``Observation(ER, LOINC 85337-4): missing``),
and all of them are raised together as one :class:`InputError`.

docs/ehr-integration.md gives the code tables and the rules in prose.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from locoreg.errors import FieldError, InputError, pydantic_errors
from locoreg.fhir import codes as c
from locoreg.patient import Patient, parse_patient

Resource = Mapping[str, Any]
V = TypeVar("V", bound=Hashable)

# The resource types the mapping reads besides Patient; each must be about the Patient.
PATIENT_RECORD_TYPES = frozenset(
    {"Condition", "Observation", "MedicationStatement", "MedicationRequest"}
)

# Where each Patient field comes from, to name the FHIR source in contract errors.
FIELD_SOURCES: dict[str, str] = {
    "age": "Patient.birthDate",
    "sex": "Patient.gender",
    "ecog": f"Observation(ECOG, LOINC {c.ECOG})",
    "histology_confirmed": "Condition(PrimaryCancerCondition).verificationStatus",
    "er": f"Observation(ER, LOINC {c.ER_CODES[0]})",
    "pr": f"Observation(PR, LOINC {c.PR_CODES[0]})",
    "her2": f"Observation(HER2, LOINC {c.HER2_CODES[0]})",
    "t": f"Observation(TNM primary tumour, LOINC {c.TNM_T_CLINICAL})",
    "n": f"Observation(TNM regional nodes, LOINC {c.TNM_N_CLINICAL})",
    "m": f"Observation(TNM distant metastases, LOINC {c.TNM_M_CLINICAL})",
    "metastases": "Condition(SecondaryCancerCondition)",
    "systemic_therapy": "MedicationStatement/MedicationRequest(CancerRelated)",
    "local_symptoms": "Condition/Observation(local symptom of the primary)",
    "local_symptoms_controlled": f"Condition/Observation.extension({c.EXT_SYMPTOM_CONTROLLED})",
    "surgical_risk": f"Observation({c.LOCOREG_CS}#{c.SURGICAL_RISK})",
    "resectable": f"Observation({c.LOCOREG_CS}#{c.RESECTABLE})",
    "patient_preference": f"Observation({c.LOCOREG_CS}#{c.PREFERENCE})",
    "visceral_crisis": f"Observation({c.LOCOREG_CS}#{c.VISCERAL_CRISIS})",
}

_DAYS_PER_MONTH = 365.25 / 12
_CATEGORY = re.compile(r"(?<![A-Za-z])(?:y?[cp])?([TNM](?:is|X|\d[a-d]?(?:mi)?))(?![A-Za-z0-9])")
_STAGE = re.compile(r"\b(?:stage\s*)?(0|I{1,3}V?|IV)[ABC]?\b", re.IGNORECASE)


def ref(resource: Resource) -> str:
    """``Observation/er-1`` — how a resource is named in error messages."""
    kind = str(resource.get("resourceType", "Resource"))
    rid = resource.get("id")
    return f"{kind}/{rid}" if rid else kind


# --- small readers over plain dicts ---------------------------------------------------


def _codings(concept: Any) -> list[Mapping[str, Any]]:
    if not isinstance(concept, Mapping):
        return []
    return [x for x in concept.get("coding") or [] if isinstance(x, Mapping)]


def has_code(concept: Any, system: str, codes: Iterable[str]) -> bool:
    wanted = set(codes)
    return any(x.get("system") == system and x.get("code") in wanted for x in _codings(concept))


def _first_code(concept: Any, system: str) -> str | None:
    for x in _codings(concept):
        if x.get("system") == system and isinstance(x.get("code"), str):
            return str(x["code"])
    return None


def _texts(concept: Any) -> list[str]:
    out = [str(x["display"]) for x in _codings(concept) if x.get("display")]
    out += [str(x["code"]) for x in _codings(concept) if x.get("code")]
    if isinstance(concept, Mapping) and concept.get("text"):
        out.append(str(concept["text"]))
    return out


def profiles_of(resource: Resource) -> set[str]:
    meta = resource.get("meta") or {}
    # Profiles may carry a version suffix (``...|4.0.0``).
    return {str(p).split("|")[0] for p in meta.get("profile") or []}


def _extensions(resource: Resource, url: str) -> list[Mapping[str, Any]]:
    return [e for e in resource.get("extension") or [] if e.get("url") == url]


def _date(value: Any) -> date | None:
    """FHIR date/dateTime → date (partial dates take the first day)."""
    if not isinstance(value, str) or not value:
        return None
    text = value[:10]
    parts = text.split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 1
        day = int(parts[2]) if len(parts) > 2 else 1
        return date(year, month, day)
    except (ValueError, IndexError):
        return None


def _effective(resource: Resource) -> str:
    """Sort key: the observation time (ISO strings sort chronologically)."""
    period = resource.get("effectivePeriod") or {}
    return str(
        resource.get("effectiveDateTime") or period.get("start") or resource.get("issued") or ""
    )


def _usable(resource: Resource) -> bool:
    return resource.get("status") not in {"entered-in-error", "cancelled"}


def _day(resource: Resource) -> str:
    """The calendar date of the observation as written (``""`` when undated).

    Records are compared by date, not by time: two values recorded on one day are
    a contradiction whatever their times (docs/ehr-integration.md).
    """
    return _effective(resource)[:10]


# --- the bundle, indexed ---------------------------------------------------------------


def resources_of(bundle: Any) -> list[Resource]:
    """The resources of a Bundle; nested Bundles (prefetched searchsets) are flattened.

    A resource that arrives twice (same type and id: overlapping prefetch items or
    search pages) is kept once, so that nothing is counted twice. Two copies whose
    content differs (``meta`` aside) are a contradiction: which one is current cannot
    be told from the Bundle, so neither is chosen.
    """
    seen: dict[tuple[str, str], Resource] = {}
    conflicts: dict[tuple[str, str], FieldError] = {}
    out: list[Resource] = []
    for resource in _flatten(bundle):
        rid = resource.get("id")
        if isinstance(rid, str) and rid:
            key = (str(resource.get("resourceType")), rid)
            first = seen.get(key)
            if first is None:
                seen[key] = resource
            elif key not in conflicts and (differ := _differing_elements(first, resource)):
                conflicts[key] = FieldError(
                    ref(resource),
                    f"present twice with different content ({', '.join(differ)}); "
                    "send one version of the resource",
                )
            if first is not None:
                continue
        out.append(resource)
    if conflicts:
        raise InputError(list(conflicts.values()))
    return out


def _differing_elements(a: Resource, b: Resource) -> list[str]:
    """Top-level elements (``meta`` aside) whose values differ between two copies."""
    keys = (set(a) | set(b)) - {"meta"}
    return sorted(k for k in keys if a.get(k) != b.get(k))


def _flatten(bundle: Any) -> list[Resource]:
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise InputError.single("Bundle", "expected a FHIR Bundle (resourceType 'Bundle')")
    entries = bundle.get("entry")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise InputError.single(f"{ref(bundle)}.entry", "must be an array of entries")
    out: list[Resource] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise InputError.single(f"{ref(bundle)}.entry.{i}", "must be an object")
        resource = entry.get("resource")
        if resource is None:
            continue  # an entry may carry only a request/response; nothing to read
        if not isinstance(resource, Mapping):
            raise InputError.single(f"{ref(bundle)}.entry.{i}.resource", "must be a resource")
        if resource.get("resourceType") == "Bundle":
            out.extend(_flatten(resource))
        elif resource.get("resourceType") != "OperationOutcome":
            out.append(resource)
    return out


def validate_resources(resources: Sequence[Resource]) -> list[FieldError]:
    """Structural check of each resource against the FHIR models (fhir.resources R4B)."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    errors: list[FieldError] = []
    for resource in resources:
        kind = resource.get("resourceType")
        if not isinstance(kind, str):
            errors.append(FieldError("Bundle.entry.resource", "resourceType is missing"))
            continue
        try:
            model = get_fhir_model_class(kind)
        except (KeyError, ValueError):  # fhir.resources raises ValueError for unknown names
            errors.append(FieldError(ref(resource), f"unknown FHIR resource type {kind!r}"))
            continue
        try:
            model.model_validate(dict(resource))
        except ValidationError as exc:
            details = [
                {**err, "loc": tuple(p for p in err.get("loc", ()) if p != "__root__")}
                for err in exc.errors(include_url=False)
            ]
            for problem in pydantic_errors(details):  # the one translator, as every input
                where = f"{ref(resource)}.{problem.field}" if problem.field else ref(resource)
                errors.append(FieldError(where, f"not valid FHIR: {problem.message}"))
        except (TypeError, ValueError) as exc:
            # fhir.resources raises these (not a ValidationError) for some shapes, e.g. a
            # JSON value where an object with named elements is expected.
            errors.append(FieldError(ref(resource), f"not valid FHIR: {exc}"))
    return errors


@dataclass
class ResourceIndex:
    patients: list[Resource] = field(default_factory=list)
    conditions: list[Resource] = field(default_factory=list)
    observations: list[Resource] = field(default_factory=list)
    medications: list[Resource] = field(default_factory=list)

    @classmethod
    def of(cls, resources: Iterable[Resource]) -> ResourceIndex:
        idx = cls()
        for r in resources:
            if not _usable(r):
                continue
            kind = r.get("resourceType")
            if kind == "Patient":
                idx.patients.append(r)
            elif kind == "Condition":
                verification = _first_code(r.get("verificationStatus"), c.CONDITION_VERIFICATION)
                if verification in {"refuted", "entered-in-error"}:
                    continue
                idx.conditions.append(r)
            elif kind == "Observation":
                idx.observations.append(r)
            elif kind in {"MedicationStatement", "MedicationRequest"}:
                idx.medications.append(r)
        return idx

    def observations_with(self, system: str, codes: Iterable[str]) -> list[Resource]:
        wanted = tuple(codes)
        return [o for o in self.observations if has_code(o.get("code"), system, wanted)]


# --- the mapping -----------------------------------------------------------------------


def is_secondary(cond: Resource) -> bool:
    code = cond.get("code")
    return (
        c.PROFILE_SECONDARY in profiles_of(cond)
        or has_code(code, c.SNOMED, [c.SECONDARY_SNOMED])
        or any(
            x.get("system") == c.ICD10CM
            and str(x.get("code", "")).startswith(("C77", "C78", "C79"))
            for x in _codings(code)
        )
    )


def is_primary_breast(cond: Resource) -> bool:
    if is_secondary(cond):
        return False
    if c.PROFILE_PRIMARY in profiles_of(cond):
        return True
    code = cond.get("code")
    if has_code(code, c.SNOMED, c.BREAST_CANCER_SNOMED):
        return True
    if any(
        x.get("system") == c.ICD10CM and str(x.get("code", "")).startswith("C50")
        for x in _codings(code)
    ):
        return True
    on_breast = any(
        has_code(s, c.SNOMED, c.BREAST_SITES_SNOMED) for s in cond.get("bodySite") or []
    )
    return on_breast and has_code(code, c.SNOMED, [c.MALIGNANT_NEOPLASM_SNOMED])


def _diagnosis_date(cond: Resource) -> date | None:
    period = cond.get("onsetPeriod") or {}
    for value in (cond.get("onsetDateTime"), period.get("start"), cond.get("recordedDate")):
        if (d := _date(value)) is not None:
            return d
    for ext in _extensions(cond, c.EXT_ASSERTED_DATE):
        if (d := _date(ext.get("valueDateTime"))) is not None:
            return d
    return None


def _histology_confirmed(cond: Resource) -> bool:
    """Rule (docs/ehr-integration.md): confirmed verification OR a coded histology counts
    as histological confirmation; provisional/unconfirmed/differential without a
    histology code does not."""
    verification = _first_code(cond.get("verificationStatus"), c.CONDITION_VERIFICATION)
    return verification == "confirmed" or bool(_extensions(cond, c.EXT_HISTOLOGY))


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ", ".join(_shown(v) for v in value)
    return str(value)


def _age(birth: date, at: date) -> int:
    return at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))


def _subject_problems(resources: Sequence[Resource], own: set[str]) -> list[FieldError]:
    """Every record whose ``subject`` is not the Patient (``Patient/<id>``, an absolute URL
    ending in ``/Patient/<id>`` with or without ``/_history/<v>``, or the Patient entry's
    ``fullUrl``). A record without ``subject`` is read as the Bundle's own (a search by
    ``patient=`` returns such records); one naming only an identifier or a display cannot
    be resolved and is refused too.
    """
    shown = min(own, key=lambda x: (not x.startswith("Patient/"), x))
    problems: list[FieldError] = []
    for r in resources:
        if r.get("resourceType") not in PATIENT_RECORD_TYPES or "subject" not in r:
            continue
        subject = r.get("subject")
        reference = subject.get("reference") if isinstance(subject, Mapping) else None
        if isinstance(reference, str) and _same_patient(reference, own):
            continue
        named = repr(reference) if isinstance(reference, str) else "no resolvable reference"
        problems.append(
            FieldError(
                f"{ref(r)}.subject",
                f"refers to another subject ({named}), not {shown}; "
                "send only this patient's record",
            )
        )
    return problems


def _same_patient(reference: str, own: set[str]) -> bool:
    head = reference.split("/_history/")[0].rstrip("/")
    if head in own:
        return True
    parts = head.rsplit("/", 2)
    return len(parts) == 3 and f"{parts[1]}/{parts[2]}" in own and "://" in parts[0]


def local_symptom(resource: Resource) -> str | None:
    """The local symptom a Condition or Observation records, if any.

    ``bodySite`` is a list on Condition and a single concept on Observation.
    """
    code = resource.get("code")
    if (local := _first_code(code, c.LOCOREG_CS)) in c.SYMPTOM_LOCOREG:
        return local
    snomed = _first_code(code, c.SNOMED) or ""
    if snomed in c.SYMPTOM_SNOMED_BREAST:
        return c.SYMPTOM_SNOMED_BREAST[snomed]
    sites = resource.get("bodySite")
    sites = sites if isinstance(sites, list) else [sites]
    on_breast = any(has_code(s, c.SNOMED, c.BREAST_SITES_SNOMED) for s in sites)
    if on_breast and snomed in c.SYMPTOM_SNOMED_NEEDS_BREAST_SITE:
        return c.SYMPTOM_SNOMED_NEEDS_BREAST_SITE[snomed]
    return None


class _Mapper:
    def __init__(self, resources: Sequence[Resource], as_of: date):
        self.idx = ResourceIndex.of(resources)
        self.as_of = as_of
        self.errors: list[FieldError] = []
        self.out: dict[str, Any] = {}

    def fail(self, where: str, message: str, allowed: str | None = None) -> None:
        self.errors.append(FieldError(where, message, allowed))

    def current(
        self, observations: Sequence[Resource], read: Callable[[Resource], V | None], label: str
    ) -> V | None:
        """The value recorded at the latest date, read by ``read`` (None: says nothing).

        Two different values at that date are a contradiction, named with both
        resources, and give no value: EHR search results come in any order, so entry
        order must never decide (docs/ehr-integration.md).
        """
        if not observations:
            return None
        day = max(_day(o) for o in observations)
        values = {ref(o): read(o) for o in observations if _day(o) == day}
        known = {v for v in values.values() if v is not None}
        if len(known) > 1:
            detail = ", ".join(f"{k} = {_shown(v)}" for k, v in values.items() if v is not None)
            when = f"on {day}" if day else "without a date"
            self.fail(label, f"contradictory values {when} ({detail}); correct or retract one")
            return None
        return known.pop() if known else None

    def run(self) -> dict[str, Any]:
        primary = self._primary()
        self._demographics(primary)
        self._receptors()
        secondaries = self._metastases()
        self._tnm(secondaries)
        self._ecog()
        self._symptoms()
        self._systemic_therapy()
        self._locoreg_observations()
        if self.errors:
            raise InputError(self.errors)
        return self.out

    # Patient and primary tumour

    def _primary(self) -> Resource | None:
        primaries = [x for x in self.idx.conditions if is_primary_breast(x)]
        if not primaries:
            self.fail(
                "Condition(PrimaryCancerCondition)",
                "missing: no primary breast cancer Condition (mCODE PrimaryCancerCondition, "
                "SNOMED 254837009/372137005 or ICD-10-CM C50)",
            )
            return None
        facts = {ref(x): (_histology_confirmed(x), _diagnosis_date(x)) for x in primaries}
        if len(set(facts.values())) > 1:
            detail = ", ".join(
                f"{k}: histology {'confirmed' if h else 'not confirmed'}, diagnosed {d or '?'}"
                for k, (h, d) in facts.items()
            )
            self.fail(
                "Condition(PrimaryCancerCondition)",
                f"contradictory primary breast cancer Conditions ({detail}); "
                "correct or retract one",
            )
            return None
        self.out["histology_confirmed"] = facts[ref(primaries[0])][0]
        return primaries[0]

    def _demographics(self, primary: Resource | None) -> None:
        if not self.idx.patients:
            self.fail("Patient", "missing: the Bundle has no Patient resource")
            return
        if len({ref(p) for p in self.idx.patients}) > 1:
            self.fail(
                "Patient", "the Bundle holds more than one Patient; send one patient's record"
            )
            return
        patient = self.idx.patients[0]
        gender = patient.get("gender")
        if gender in {"female", "male"}:
            self.out["sex"] = gender
        else:
            self.fail(
                f"{ref(patient)}.gender",
                "missing" if gender is None else f"{gender!r} cannot be mapped",
                "female, male",
            )
        birth = _date(patient.get("birthDate"))
        if birth is None:
            self.fail(f"{ref(patient)}.birthDate", "missing (needed for age at diagnosis)")
            return
        if primary is None:
            return
        diagnosed = _diagnosis_date(primary)
        if diagnosed is None:
            self.fail(
                f"{ref(primary)}.onsetDateTime",
                "missing: no onset, recordedDate or assertedDate (needed for age at diagnosis)",
            )
            return
        self.out["age"] = _age(birth, diagnosed)

    # Tumour markers

    def _receptors(self) -> None:
        for name, key, loinc in (
            ("ER", "er", c.ER_CODES),
            ("PR", "pr", c.PR_CODES),
            ("HER2", "her2", c.HER2_CODES),
        ):
            observations = self.idx.observations_with(c.LOINC, loinc)
            label = f"Observation({name}, LOINC {' / '.join(loinc)})"
            if not observations:
                self.fail(label, "missing")
                continue
            results = {ref(o): self._marker_value(o) for o in observations}
            definite = {v for v in results.values() if v in {c.POSITIVE, c.NEGATIVE}}
            if len(definite) > 1:
                detail = ", ".join(f"{k} = {v}" for k, v in results.items())
                self.fail(label, f"contradictory results ({detail}); correct or retract one")
                continue
            self.out[key] = definite.pop() if definite else c.UNKNOWN

    @staticmethod
    def _marker_value(obs: Resource) -> str:
        if obs.get("status") in {"registered", "preliminary"} or obs.get("dataAbsentReason"):
            return c.UNKNOWN
        concepts = [obs.get("valueCodeableConcept"), *(obs.get("interpretation") or [])]
        for concept in concepts:
            for coding in _codings(concept):
                key = (str(coding.get("system")), str(coding.get("code")))
                if key in c.MARKER_VALUES:
                    return c.MARKER_VALUES[key]
        text = " ".join(t.lower() for concept in concepts for t in _texts(concept))
        if "negative" in text:
            return c.NEGATIVE
        if "positive" in text:
            return c.POSITIVE
        return c.UNKNOWN

    # Metastases and TNM

    def _metastases(self) -> list[Resource]:
        secondaries = [x for x in self.idx.conditions if is_secondary(x)]
        by_site: dict[str, int | None] = {}
        for cond in secondaries:
            site = self._site(cond)
            lesions: int | None = None
            for ext in _extensions(cond, c.EXT_LESION_COUNT):
                value = ext.get("valueInteger", ext.get("valuePositiveInt"))
                if isinstance(value, int) and value >= 1:
                    lesions = value
                else:
                    self.fail(f"{ref(cond)}.extension(lesion-count)", "must be an integer >= 1")
            if site in by_site:
                # Two Conditions at one site: add the counts, unknown if either is unknown.
                known = by_site[site]
                by_site[site] = None if known is None or lesions is None else known + lesions
            else:
                by_site[site] = lesions
        self.out["metastases"] = [{"site": s, "lesions": n} for s, n in by_site.items()]
        return secondaries

    @staticmethod
    def _site(cond: Resource) -> str:
        for body_site in cond.get("bodySite") or []:
            for coding in _codings(body_site):
                if coding.get("system") == c.SNOMED and coding.get("code") in c.SITE_SNOMED:
                    return c.SITE_SNOMED[str(coding["code"])]
        for coding in _codings(cond.get("code")):
            if coding.get("system") == c.ICD10CM:
                code = str(coding.get("code", ""))
                for prefix, site in c.SITE_ICD10:
                    if code.startswith(prefix):
                        return site
        return "other"

    def _category(self, obs: Resource, letter: str) -> str | None:
        concept = obs.get("valueCodeableConcept")
        for coding in _codings(concept):
            if coding.get("system") == c.SNOMED and coding.get("code") in c.SNOMED_TNM:
                value = c.SNOMED_TNM[str(coding["code"])]
                if value.startswith(letter):
                    return value
        for text in _texts(concept):
            for match in _CATEGORY.finditer(text):
                if match.group(1).startswith(letter):
                    return match.group(1)
        self.fail(
            f"{ref(obs)}.valueCodeableConcept",
            f"cannot read a {letter} category (AJCC code such as c{letter}1, or SNOMED CT)",
        )
        return None

    def _tnm_value(self, letter: str, clinical: str, pathological: str, label: str) -> str | None:
        """Clinical category if recorded, else pathological; disagreeing values are an error."""
        for loinc in (clinical, pathological):
            observations = self.idx.observations_with(c.LOINC, [loinc])
            values = {ref(o): self._category(o, letter) for o in observations}
            found = {v for v in values.values() if v is not None}
            if len(found) > 1:
                detail = ", ".join(f"{k} = {v}" for k, v in values.items())
                self.fail(
                    f"Observation({label}, LOINC {loinc})", f"contradictory values ({detail})"
                )
                return None
            if found:
                return found.pop()
        return None

    def _stage_group(self) -> str | None:
        for loinc in (c.STAGE_GROUP_CLINICAL, c.STAGE_GROUP_PATHOLOGICAL):
            stage = self.current(
                self.idx.observations_with(c.LOINC, [loinc]),
                self._stage_of,
                f"Observation(stage group, LOINC {loinc})",
            )
            if stage is not None:
                return stage
        return None

    @staticmethod
    def _stage_of(obs: Resource) -> str | None:
        for text in _texts(obs.get("valueCodeableConcept")):
            if match := _STAGE.search(text):
                return match.group(1).upper()
        return None

    def _tnm(self, secondaries: list[Resource]) -> None:
        t = self._tnm_value("T", c.TNM_T_CLINICAL, c.TNM_T_PATHOLOGICAL, "TNM primary tumour")
        n = self._tnm_value("N", c.TNM_N_CLINICAL, c.TNM_N_PATHOLOGICAL, "TNM regional nodes")
        m = self._tnm_value("M", c.TNM_M_CLINICAL, c.TNM_M_PATHOLOGICAL, "TNM distant metastases")
        if t is not None:
            self.out["t"] = t
        if n is not None:
            self.out["n"] = n
        stage = self._stage_group()
        m_codes = f"{c.TNM_M_CLINICAL} / {c.TNM_M_PATHOLOGICAL}"
        m_label = f"Observation(TNM distant metastases, LOINC {m_codes})"
        if m is not None and m.startswith("M1"):
            m = "M1"
        # MX (not assessed) says nothing: a stage group or a SecondaryCancerCondition
        # may still decide M below; only when nothing does is MX the error.
        not_assessed = m == "MX"
        if not_assessed:
            m = None
        if m == "M0" and secondaries:
            sites = ", ".join(ref(x) for x in secondaries)
            self.fail(m_label, f"M0 contradicts the SecondaryCancerCondition(s) {sites}")
            return
        if m == "M1" and not secondaries:
            self.fail(
                "Condition(SecondaryCancerCondition)",
                "missing: M1 is recorded but no SecondaryCancerCondition names a metastatic site",
            )
        if stage is not None and m is not None and (stage == "IV") != (m == "M1"):
            self.fail(
                f"Observation(stage group, LOINC {c.STAGE_GROUP_CLINICAL})",
                f"stage {stage} contradicts {m}",
            )
            return
        if m is None:
            if stage == "IV" or secondaries:
                m = "M1"  # stage IV or a documented metastasis implies M1
            elif stage is not None:
                m = "M0"
            elif not_assessed:
                self.fail(m_label, "MX: distant metastases not assessed", "M0, M1")
                return
            else:
                self.fail(
                    m_label, "missing (no M category, stage group or SecondaryCancerCondition)"
                )
                return
        self.out["m"] = m

    # Performance status, symptoms, therapy

    def _ecog(self) -> None:
        value = self.current(
            self.idx.observations_with(c.LOINC, [c.ECOG]),
            self._ecog_of,
            FIELD_SOURCES["ecog"],
        )
        if value is not None:
            self.out["ecog"] = value

    def _ecog_of(self, obs: Resource) -> int | None:
        value = obs.get("valueInteger")
        if not isinstance(value, int):
            answer = _first_code(obs.get("valueCodeableConcept"), c.LOINC)
            answer = answer or next(
                (_first_code(i, c.LOINC) for i in obs.get("interpretation") or []), None
            )
            value = c.ECOG_ANSWERS.get(answer or "")
        if value is None:
            self.fail(
                f"{ref(obs)}.valueInteger", "missing or unreadable ECOG grade", "0, 1, 2, 3, 4"
            )
        return value

    @staticmethod
    def _controlled(resource: Resource) -> bool:
        flags = [e.get("valueBoolean") for e in _extensions(resource, c.EXT_SYMPTOM_CONTROLLED)]
        return bool(flags) and all(f is True for f in flags)

    @staticmethod
    def _observed_present(obs: Resource) -> bool:
        """An observed symptom is present unless the value says absent."""
        if obs.get("valueBoolean") is False:
            return False
        return not has_code(obs.get("valueCodeableConcept"), c.SNOMED, [c.ABSENT_SNOMED])

    def _symptoms(self) -> None:
        """Active symptom Conditions, plus symptom Observations whose latest says present.

        A symptom counts as controlled only when every record of it carries the
        ``symptom-controlled`` extension set to true.
        """
        found: dict[str, list[bool]] = {}
        for cond in self.idx.conditions:
            symptom = local_symptom(cond)
            if symptom is None:
                continue
            status = _first_code(
                cond.get("clinicalStatus"),
                "http://terminology.hl7.org/CodeSystem/condition-clinical",
            )
            if status is not None and status not in c.ACTIVE_CLINICAL_STATUS:
                continue  # resolved / inactive / remission: no longer a symptom
            found.setdefault(symptom, []).append(self._controlled(cond))
        observed: dict[str, list[Resource]] = {}
        for obs in self.idx.observations:
            if (symptom := local_symptom(obs)) is not None:
                observed.setdefault(symptom, []).append(obs)
        for symptom, records in observed.items():
            # The latest observation decides: a later "absent" means it has resolved.
            latest = self.current(
                records,
                lambda o: (self._observed_present(o), self._controlled(o)),
                f"Observation(local symptom {symptom})",
            )
            if latest is not None and latest[0]:
                found.setdefault(symptom, []).append(latest[1])
        if found:
            self.out["local_symptoms"] = list(found)
            self.out["local_symptoms_controlled"] = all(all(v) for v in found.values())

    def _start(self, med: Resource) -> date | None:
        period = med.get("effectivePeriod") or {}
        validity = (med.get("dispenseRequest") or {}).get("validityPeriod") or {}
        for value in (
            period.get("start"),
            med.get("effectiveDateTime"),
            validity.get("start"),
            med.get("authoredOn"),
        ):
            if (d := _date(value)) is not None:
                return d
        return None

    def _systemic_therapy(self) -> None:
        related = [
            m
            for m in self.idx.medications
            if profiles_of(m) & {c.PROFILE_MEDICATION_STATEMENT, c.PROFILE_MEDICATION_REQUEST}
            and m.get("status") not in {"not-taken", "draft"}
        ]
        if not related:
            return
        starts = [(d, m) for m in related if (d := self._start(m)) is not None]
        if not starts:
            self.fail(
                f"{ref(related[0])}.effectivePeriod.start", "missing (needed for months on therapy)"
            )
            return
        first = min(d for d, _ in starts)
        months = round(max((self.as_of - first).days, 0) / _DAYS_PER_MONTH, 1)
        response = self.current(
            self.idx.observations_with(c.LOINC, [c.DISEASE_STATUS]),
            self._response_of,
            f"Observation(disease status, LOINC {c.DISEASE_STATUS})",
        )
        self.out["systemic_therapy"] = {"months": months, "response": response or "not_evaluated"}

    def _response_of(self, status: Resource) -> str | None:
        code = _first_code(status.get("valueCodeableConcept"), c.SNOMED)
        if code in c.DISEASE_STATUS_VALUES:
            return c.DISEASE_STATUS_VALUES[code]
        self.fail(
            f"{ref(status)}.valueCodeableConcept",
            f"unknown disease status code {code!r}",
            ", ".join(f"SNOMED {k}" for k in c.DISEASE_STATUS_VALUES),
        )
        return None

    # locoreg-specific observations

    def _locoreg_observations(self) -> None:
        risk = self.current(
            self.idx.observations_with(c.LOCOREG_CS, [c.SURGICAL_RISK]),
            self._locoreg_code_of,
            FIELD_SOURCES["surgical_risk"],
        )
        if risk is None:
            risk = self.current(
                self.idx.observations_with(c.LOCOREG_CS, [c.ASA_CLASS]),
                self._risk_from_asa,
                f"Observation({c.LOCOREG_CS}#{c.ASA_CLASS})",
            )
        if risk is not None:
            self.out["surgical_risk"] = risk
        for key, code in (("resectable", c.RESECTABLE), ("visceral_crisis", c.VISCERAL_CRISIS)):
            value = self.current(
                self.idx.observations_with(c.LOCOREG_CS, [code]),
                self._boolean_of,
                FIELD_SOURCES[key],
            )
            if value is not None:
                self.out[key] = value
        preference = self.current(
            self.idx.observations_with(c.LOCOREG_CS, [c.PREFERENCE]),
            self._locoreg_code_of,
            FIELD_SOURCES["patient_preference"],
        )
        if preference is not None:
            self.out["patient_preference"] = preference

    def _locoreg_code_of(self, obs: Resource) -> str | None:
        code = _first_code(obs.get("valueCodeableConcept"), c.LOCOREG_CS)
        if code is None:
            self.fail(f"{ref(obs)}.valueCodeableConcept", f"missing: a {c.LOCOREG_CS} code")
        return code

    def _risk_from_asa(self, asa: Resource) -> str | None:
        grade = asa.get("valueInteger")
        if isinstance(grade, int) and not isinstance(grade, bool) and 1 <= grade <= 6:
            # ASA I → low, II–III → standard, IV and above → high (docs/ehr-integration.md).
            return "low" if grade == 1 else "standard" if grade <= 3 else "high"
        self.fail(f"{ref(asa)}.valueInteger", "ASA class must be an integer", "1, 2, 3, 4, 5, 6")
        return None

    def _boolean_of(self, obs: Resource) -> bool | None:
        value = obs.get("valueBoolean")
        if isinstance(value, bool):
            return value
        self.fail(f"{ref(obs)}.valueBoolean", "missing", "true, false")
        return None


def _as_of(bundle: Mapping[str, Any]) -> date:
    stamp = _date(bundle.get("timestamp"))
    return stamp if stamp is not None else datetime.now(UTC).date()


def _patient_aliases(bundle: Any) -> set[str]:
    """The ``fullUrl`` of each Patient entry: a subject may reference the Patient by it."""
    out: set[str] = set()
    for entry in bundle.get("entry") or [] if isinstance(bundle, Mapping) else []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("resource"), Mapping):
            continue
        resource = entry["resource"]
        if resource.get("resourceType") == "Bundle":
            out |= _patient_aliases(resource)
        elif resource.get("resourceType") == "Patient" and isinstance(entry.get("fullUrl"), str):
            out.add(entry["fullUrl"])
    return out


def _own_references(bundle: Any, resources: Sequence[Resource], patient_id: str | None) -> set[str]:
    """How the records may reference the patient they must be about (empty: no one patient).

    ``patient_id`` (CDS Hooks ``context.patientId``) is the patient the EHR has open: a
    Patient resource with another id is refused. Without it, the Bundle's one Patient, by
    id and by the ``fullUrl`` of its entry (a Patient sent without an id in a collection
    Bundle is referenced only by that). With none or several, the mapping names the problem.
    """
    patients = [r for r in resources if r.get("resourceType") == "Patient" and _usable(r)]
    if patient_id is not None:
        others = [ref(p) for p in patients if p.get("id") != patient_id]
        if others:
            raise InputError.single(
                others[0], f"the Patient does not match context.patientId {patient_id!r}"
            )
        return {f"Patient/{patient_id}"} | _patient_aliases(bundle)
    if len(patients) != 1:
        return set()
    rid = patients[0].get("id")
    return ({f"Patient/{rid}"} if isinstance(rid, str) and rid else set()) | _patient_aliases(
        bundle
    )


def bundle_to_patient_input(
    bundle: Any,
    *,
    as_of: date | None = None,
    validate: bool = True,
    patient_id: str | None = None,
) -> dict[str, Any]:
    """Map a FHIR Bundle to the Patient contract's input dict (not yet validated by it).

    ``as_of`` is the date "months on systemic therapy" is counted to; default the
    Bundle's ``timestamp``, else today (UTC). ``patient_id`` is the patient the record
    must be about (CDS Hooks ``context.patientId``); default the Bundle's Patient.
    Records about another subject are refused, never merged.
    """
    resources = resources_of(bundle)
    if validate and (problems := validate_resources(resources)):
        raise InputError(problems)
    try:
        own = _own_references(bundle, resources, patient_id)
        if own and (foreign := _subject_problems(resources, own)):
            raise InputError(foreign)
        return _Mapper(resources, as_of or _as_of(bundle)).run()
    except (TypeError, AttributeError, KeyError):
        # Only reachable with ``validate=False`` (structurally invalid FHIR): an element
        # of the wrong JSON type. Answer with a field error, never a traceback.
        raise InputError.single(
            "Bundle", "a resource is not valid FHIR (validate it against FHIR R4)"
        ) from None


def bundle_to_patient(
    bundle: Any,
    *,
    as_of: date | None = None,
    validate: bool = True,
    patient_id: str | None = None,
) -> Patient:
    """Map a FHIR Bundle (mCODE profiles) to a validated :class:`Patient`.

    Contract errors from :func:`parse_patient` are re-labelled with the FHIR source of
    the field (``Patient.birthDate: age ...``) so the sender knows what to fix.
    """
    data = bundle_to_patient_input(bundle, as_of=as_of, validate=validate, patient_id=patient_id)
    try:
        return parse_patient(data)
    except InputError as exc:
        raise InputError([relabel(e) for e in exc.errors]) from None


def relabel(error: FieldError) -> FieldError:
    """Name the FHIR source of a Patient-contract field in its error."""
    head = error.field.split(".")[0]
    source = FIELD_SOURCES.get(head)
    if source is None:
        return error
    return FieldError(f"{source} ({error.field})", error.message, error.allowed)
