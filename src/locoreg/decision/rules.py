"""The rule table: all of locoreg's clinical logic in one declarative place.

Each :class:`Rule` has an id, a condition on :class:`~locoreg.decision.facts.Facts`,
its effect — a recommendation, a factor, or both — an explanation, and the
evidence (study IDs of the evidence base) it rests on.

* ``RECOMMENDATION_RULES`` are ordered by precedence (CONTRACTS.md §2): the
  first rule whose condition holds gives the recommendation.
* ``FACTOR_RULES`` all fire when their condition holds; each adds one factor.

Numbers quoted in explanations come from the evidence base records named in
``evidence`` (see ``src/locoreg/evidence/data/<id>.yaml`` for the source URL).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from locoreg.decision.facts import MIN_MONTHS_ON_THERAPY, Facts
from locoreg.decision.model import Direction, FactorName, Recommendation

Finding = Callable[[Facts], str]


def _fixed(text: str) -> Finding:
    return lambda _f: text


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table."""

    id: str
    when: Callable[[Facts], bool]
    explanation: str
    evidence: tuple[str, ...]
    recommendation: Recommendation | None = None
    factor: FactorName | None = None
    direction: Direction | None = None
    finding: Finding | None = None

    def __post_init__(self) -> None:
        if self.recommendation is None and self.factor is None:
            raise ValueError(f"rule {self.id}: a rule needs a recommendation or a factor")
        if self.factor is not None and (self.direction is None or self.finding is None):
            raise ValueError(f"rule {self.id}: a factor rule needs a direction and a finding")
        if not self.evidence:
            raise ValueError(f"rule {self.id}: every rule names the evidence it rests on")


# Evidence groups reused by several rules.
TRIALS_OS = ("badwe2015", "soran2018", "khan2022", "fitzal2019", "shien2023", "reinhorn2021")
LOCAL_CONTROL = ("khan2022", "shien2023", "tosello2018")
TOPIC = ("uptodate_sabel2017",)
PALLIATION = ("uptodate_local_therapies", "palliative_indications_review", "uptodate_sabel2017")

F = FactorName
D = Direction
R = Recommendation


def _therapy_text(f: Facts) -> str:
    if not f.therapy_started:
        return "systemic therapy not started"
    assert f.response is not None and f.months_on_therapy is not None
    months = f"{f.months_on_therapy:g} month" + ("" if f.months_on_therapy == 1 else "s")
    return f"{f.response.value.replace('_', ' ')} after {months} of systemic therapy"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _burden_text(f: Facts) -> str:
    sites = ", ".join(sorted(s.value.replace("_", " ") for s in f.patient.sites)) or "none"
    lesions = _plural(f.total_lesions, "lesion")
    if f.lesions_unknown:
        lesions += " counted, some counts unknown"
    return f"{_plural(f.n_sites, 'site')}: {sites}; {lesions}"


def _heavy_reasons(f: Facts) -> str:
    reasons = []
    if f.brain:
        reasons.append("brain metastasis")
    if f.n_sites >= 3:
        reasons.append(f"{f.n_sites} organ sites")
    if f.total_lesions > 5:
        reasons.append(f"{f.total_lesions} lesions")
    return "heavy distant burden: " + ", ".join(reasons)


RECOMMENDATION_RULES: tuple[Rule, ...] = (
    Rule(
        id="R1-out-of-scope",
        when=lambda f: not f.stage_iv,
        recommendation=R.out_of_scope,
        explanation=(
            "No distant metastasis (M0). locoreg addresses de novo stage IV disease only; "
            "non-metastatic disease follows curative-intent pathways."
        ),
        evidence=TOPIC,
    ),
    Rule(
        id="R2-complete-workup",
        when=lambda f: f.workup_incomplete,
        recommendation=R.complete_workup,
        explanation=(
            "Histological confirmation by core biopsy and ER, PR and HER2 status come before "
            "any decision about the primary: they determine the systemic therapy that comes first."
        ),
        evidence=TOPIC,
    ),
    Rule(
        id="R3-palliative",
        when=lambda f: f.palliative_symptoms_uncontrolled,
        recommendation=R.palliative_local_therapy,
        explanation=(
            "Bleeding, ulceration, infection or fungation of the primary not controlled by "
            "systemic therapy or wound care is an indication for local treatment for palliation: "
            "surgery when resectable and fit, otherwise radiotherapy or wound care."
        ),
        evidence=PALLIATION,
    ),
    Rule(
        id="R4-progression",
        when=lambda f: f.progression,
        recommendation=R.no_routine_local_therapy,
        explanation=(
            "Disease progressing on systemic therapy: the priority is a change of systemic "
            "therapy. The trials that selected by response randomised only patients without "
            "progression."
        ),
        evidence=("khan2022", "shien2023"),
    ),
    Rule(
        id="R5-systemic-first",
        when=lambda f: f.too_early_to_judge,
        recommendation=R.systemic_therapy_first,
        explanation=(
            f"Start or continue systemic therapy and reassess the response after about "
            f"{MIN_MONTHS_ON_THERAPY:g} months. Response selects the patients for whom local "
            "therapy can be discussed (E2108 randomised after 4–8 months, JCOG1017 after 3 months "
            "without progression)."
        ),
        evidence=("khan2022", "shien2023", *TOPIC),
    ),
    Rule(
        id="R6-discuss",
        when=lambda f: (
            f.responding
            and f.fit
            and not f.resectable_false
            and not f.declines
            and not f.heavy_burden
        ),
        recommendation=R.discuss_local_therapy,
        explanation=(
            "Controlled disease in a fit patient: local therapy can be discussed case by case. "
            "In randomised trials it did not prolong overall survival (pooled HR 0.97, 0.72–1.29) "
            "but improved locoregional control."
        ),
        evidence=(*TRIALS_OS, "tosello2018"),
    ),
    Rule(
        id="R7-no-routine",
        when=lambda f: True,
        recommendation=R.no_routine_local_therapy,
        explanation=(
            "Continue systemic therapy; surgery of the primary is not routinely offered. "
            "Randomised trials found no overall-survival benefit, and a condition for a "
            "case-by-case discussion is not met."
        ),
        evidence=(*TRIALS_OS, "tosello2018"),
    ),
)


FACTOR_RULES: tuple[Rule, ...] = (
    # --- local symptoms -------------------------------------------------------------
    Rule(
        id="F-symptoms-uncontrolled",
        when=lambda f: f.palliative_symptoms_uncontrolled,
        factor=F.local_symptoms,
        direction=D.favours_local_therapy,
        finding=lambda f: (
            "uncontrolled " + ", ".join(sorted(s.value for s in f.palliative_symptoms))
        ),
        explanation="Uncontrolled local complications are the clearest indication for local "
        "treatment of the primary, for palliation and quality of life.",
        evidence=PALLIATION,
    ),
    Rule(
        id="F-symptoms-controlled",
        when=lambda f: bool(f.palliative_symptoms) and not f.palliative_symptoms_uncontrolled,
        factor=F.local_symptoms,
        direction=D.neutral,
        finding=lambda f: (
            ", ".join(sorted(s.value for s in f.palliative_symptoms))
            + " controlled by systemic therapy or wound care"
        ),
        explanation="Controlled symptoms do not by themselves call for local treatment; "
        "recurrence would.",
        evidence=PALLIATION,
    ),
    Rule(
        id="F-symptoms-pain-only",
        when=lambda f: f.pain_only,
        factor=F.local_symptoms,
        direction=D.neutral,
        finding=_fixed("pain from the primary, no bleeding, ulceration, infection or fungation"),
        explanation="Pain is a symptom to treat (analgesia, systemic therapy, radiotherapy); "
        "alone it is not an indication for palliative local therapy.",
        evidence=PALLIATION,
    ),
    Rule(
        id="F-symptoms-none",
        when=lambda f: f.stage_iv and not f.patient.local_symptoms,
        factor=F.local_symptoms,
        direction=D.neutral,
        finding=_fixed("no symptoms from the primary"),
        explanation="Without local complications, local therapy would aim at locoregional "
        "control, not palliation.",
        evidence=("khan2022", "shien2023"),
    ),
    # --- surgical risk and resectability (potential for local complications) ----------
    Rule(
        id="F-surgical-risk-high",
        when=lambda f: f.high_surgical_risk,
        factor=F.surgical_risk,
        direction=D.against_local_therapy,
        finding=_fixed("high anaesthetic/surgical risk"),
        explanation="The potential for complications of surgery weighs against an operation "
        "whose survival benefit is unproven; radiotherapy or wound care are alternatives "
        "for palliation.",
        evidence=(*TOPIC, "tosello2018"),
    ),
    Rule(
        id="F-surgical-risk-acceptable",
        when=lambda f: f.stage_iv and not f.high_surgical_risk,
        factor=F.surgical_risk,
        direction=D.neutral,
        finding=lambda f: f"{f.patient.surgical_risk.value} surgical risk",
        explanation="In the trials breast surgery was safe: no treatment-related deaths in "
        "JCOG1017, toxicity similar between arms in MF07-01 (RR 0.99).",
        evidence=("shien2023", "tosello2018", "badwe2015"),
    ),
    Rule(
        id="F-not-resectable",
        when=lambda f: f.resectable_false,
        factor=F.resectability,
        direction=D.against_local_therapy,
        finding=_fixed("negative margins not achievable with standard surgery"),
        explanation="Registry benefit was confined to resection with free margins; an "
        "incomplete resection adds morbidity without local control.",
        evidence=("khan2002", "pmid30146252"),
    ),
    Rule(
        id="F-resectable",
        when=lambda f: f.patient.resectable is True,
        factor=F.resectability,
        direction=D.neutral,
        finding=_fixed("resectable with negative margins"),
        explanation="Resectability with clear margins is a precondition for surgery of the "
        "primary, not a reason for it.",
        evidence=("khan2002", *TOPIC),
    ),
    Rule(
        id="F-resectability-unknown",
        when=lambda f: f.stage_iv and f.resectable_unknown and not f.workup_incomplete,
        factor=F.resectability,
        direction=D.neutral,
        finding=_fixed("resectability not yet assessed"),
        explanation="A surgical assessment of whether negative margins are achievable is needed "
        "before local therapy is discussed.",
        evidence=("khan2002", *TOPIC),
    ),
    Rule(
        id="F-t4-inflammatory",
        when=lambda f: f.inflammatory,
        factor=F.resectability,
        direction=D.against_local_therapy,
        finding=_fixed("inflammatory carcinoma (T4d)"),
        explanation="Inflammatory disease carries a high potential for local complications "
        "after surgery; surgery is considered only after response to systemic therapy.",
        evidence=TOPIC,
    ),
    Rule(
        id="F-t4-locally-advanced",
        when=lambda f: f.t4 and not f.inflammatory,
        factor=F.resectability,
        direction=D.neutral,
        finding=lambda f: f"{f.patient.t}: chest wall or skin involvement",
        explanation="Chest-wall or skin involvement needs more extensive surgery, with more "
        "potential for wound complications; it is also where local control matters most.",
        evidence=(*TOPIC, "khan2022"),
    ),
    # --- patient preference ---------------------------------------------------------
    Rule(
        id="F-preference-wants",
        when=lambda f: f.wants,
        factor=F.patient_preference,
        direction=D.favours_local_therapy,
        finding=_fixed("wishes local therapy"),
        explanation="The patient's wish counts; she should know that trials showed better local "
        "control but no longer survival, and similar quality of life.",
        evidence=(*TOPIC, "khan2022"),
    ),
    Rule(
        id="F-preference-declines",
        when=lambda f: f.declines,
        factor=F.patient_preference,
        direction=D.against_local_therapy,
        finding=_fixed("declines local therapy"),
        explanation="Without a proven survival benefit, a patient's decision to decline local "
        "therapy is decisive.",
        evidence=(*TOPIC, "reinhorn2021"),
    ),
    Rule(
        id="F-preference-undecided",
        when=lambda f: f.stage_iv and not f.wants and not f.declines,
        factor=F.patient_preference,
        direction=D.neutral,
        finding=_fixed("undecided or not yet discussed"),
        explanation="Shared decision-making: benefits (local control) and harms (surgery, "
        "recovery) to be discussed with the patient.",
        evidence=(*TOPIC, "khan2022"),
    ),
    # --- distant disease burden -----------------------------------------------------
    Rule(
        id="F-burden-heavy",
        when=lambda f: f.stage_iv and f.heavy_burden,
        factor=F.distant_disease_burden,
        direction=D.against_local_therapy,
        finding=lambda f: _heavy_reasons(f) + f" ({_burden_text(f)})",
        explanation="Survival is driven by distant disease: 5-year overall survival was 31% "
        "with one metastatic site and 9% with four or more.",
        evidence=("taskindoust2021", "wang2019", "reinhorn2021"),
    ),
    Rule(
        id="F-burden-bone-only-oligo",
        when=lambda f: f.bone_only and f.oligometastatic,
        factor=F.distant_disease_burden,
        direction=D.favours_local_therapy,
        finding=lambda f: f"bone-only, oligometastatic ({_burden_text(f)})",
        explanation="The most favourable pattern. The trial signal is an unplanned MF07-01 "
        "subgroup (solitary bone, HR 0.47, 0.23–0.98); pooled trials showed no difference in "
        "bone-only disease (HR 0.97, 0.58–1.62).",
        evidence=("soran2018", "reinhorn2021", "pmid30146252"),
    ),
    Rule(
        id="F-burden-bone-only",
        when=lambda f: f.bone_only and not f.oligometastatic and not f.heavy_burden,
        factor=F.distant_disease_burden,
        direction=D.neutral,
        finding=lambda f: f"bone-only ({_burden_text(f)})",
        explanation="Bone-only disease has the best prognosis; pooled trials showed no "
        "overall-survival difference with local therapy (HR 0.97, 0.58–1.62).",
        evidence=("reinhorn2021", "wang2019"),
    ),
    Rule(
        id="F-burden-limited-visceral",
        when=lambda f: f.stage_iv and not f.bone_only and not f.heavy_burden,
        factor=F.distant_disease_burden,
        direction=D.neutral,
        finding=lambda f: (
            ("limited visceral disease" if f.visceral else "limited disease")
            + f" ({_burden_text(f)})"
        ),
        explanation="No heavy distant burden. Pooled trials showed no overall-survival "
        "difference with visceral metastases (HR 1.02, 0.77–1.35).",
        evidence=("reinhorn2021",),
    ),
    # --- response to systemic therapy -------------------------------------------------
    Rule(
        id="F-response-not-started",
        when=lambda f: f.stage_iv and not f.therapy_started,
        factor=F.response_to_systemic_therapy,
        direction=D.neutral,
        finding=_therapy_text,
        explanation="Response to first-line systemic therapy is the main selector for a "
        "discussion of local therapy; it is not known yet.",
        evidence=("khan2022", "shien2023"),
    ),
    Rule(
        id="F-response-too-early",
        when=lambda f: f.therapy_started and f.too_early_to_judge and not f.progression,
        factor=F.response_to_systemic_therapy,
        direction=D.neutral,
        finding=_therapy_text,
        explanation=f"Too early to judge: response is assessed after about "
        f"{MIN_MONTHS_ON_THERAPY:g} months of systemic therapy.",
        evidence=("khan2022", "shien2023"),
    ),
    Rule(
        id="F-response-controlled",
        when=lambda f: f.responding,
        factor=F.response_to_systemic_therapy,
        direction=D.favours_local_therapy,
        finding=_therapy_text,
        explanation="Disease controlled on systemic therapy, as in the patients E2108 and "
        "JCOG1017 randomised; in them local therapy improved local control (E2108 3-year "
        "locoregional progression 16.3% vs 39.8%) without longer survival (E2108 HR 1.11, "
        "JCOG1017 HR 0.86; 90% CIs 0.82–1.52 and 0.69–1.07).",
        evidence=("khan2022", "shien2023"),
    ),
    Rule(
        id="F-response-progression",
        when=lambda f: f.progression,
        factor=F.response_to_systemic_therapy,
        direction=D.against_local_therapy,
        finding=_therapy_text,
        explanation="Progression on systemic therapy calls for a change of systemic therapy; "
        "local therapy does not address the distant disease.",
        evidence=("khan2022", "shien2023", "badwe2015"),
    ),
    # --- HER2-positive disease with a brisk response -----------------------------------
    Rule(
        id="F-her2-brisk-response",
        when=lambda f: (
            f.her2_positive
            and f.objective_response
            and (f.months_on_therapy or 0) >= MIN_MONTHS_ON_THERAPY
        ),
        factor=F.her2_status_and_response,
        direction=D.favours_local_therapy,
        finding=lambda f: (
            f"HER2-positive with {f.response.value.replace('_', ' ')}"
            if f.response
            else "HER2-positive"
        ),
        explanation="HER2-positive disease with a brisk, dramatic response may have a long "
        "disease-free interval in which locoregional treatment gives durable local control; "
        "pooled trials showed no overall-survival difference in HER2-positive disease "
        "(HR 0.93, 0.68–1.28).",
        evidence=(*TOPIC, "reinhorn2021"),
    ),
    Rule(
        id="F-her2-positive-other",
        when=lambda f: (
            f.her2_positive
            and not (f.objective_response and (f.months_on_therapy or 0) >= MIN_MONTHS_ON_THERAPY)
        ),
        factor=F.her2_status_and_response,
        direction=D.neutral,
        finding=_fixed("HER2-positive, no objective response documented yet"),
        explanation="The HER2-positive case for local therapy rests on a brisk response to "
        "HER2-directed therapy; reassess once the response is known.",
        evidence=(*TOPIC, "reinhorn2021"),
    ),
    # --- performance status ----------------------------------------------------------
    Rule(
        id="F-ecog-poor",
        when=lambda f: f.poor_performance,
        factor=F.performance_status,
        direction=D.against_local_therapy,
        finding=lambda f: f"ECOG {f.patient.ecog}",
        explanation="Poor performance status: the trials enrolled fit patients, and the burden "
        "of surgery is not justified by an unproven survival benefit.",
        evidence=(*TOPIC, "khan2022"),
    ),
    Rule(
        id="F-ecog-fit",
        when=lambda f: f.patient.ecog is not None and not f.poor_performance,
        factor=F.performance_status,
        direction=D.neutral,
        finding=lambda f: f"ECOG {f.patient.ecog}",
        explanation="Fit for surgery as far as performance status goes.",
        evidence=("khan2022",),
    ),
    Rule(
        id="F-ecog-unknown",
        when=lambda f: f.stage_iv and f.ecog_unknown,
        factor=F.performance_status,
        direction=D.neutral,
        finding=_fixed("ECOG not recorded (counted as fit)"),
        explanation="Performance status is needed to judge fitness for surgery.",
        evidence=TOPIC,
    ),
    # --- tumour subtype --------------------------------------------------------------
    Rule(
        id="F-subtype-triple-negative",
        when=lambda f: f.triple_negative,
        factor=F.tumour_subtype,
        direction=D.against_local_therapy,
        finding=_fixed("triple-negative"),
        explanation="Shortest survival of the subtypes (registry median 11 months); no trial "
        "signal of benefit (pooled HR 1.40, 0.50–3.91).",
        evidence=("seer_subtype2021", "reinhorn2021"),
    ),
    Rule(
        id="F-subtype-hr-positive",
        when=lambda f: f.hr_positive and f.patient.receptors_known,
        factor=F.tumour_subtype,
        direction=D.neutral,
        finding=lambda f: f.subtype,
        explanation="Hormone-receptor-positive: an unplanned MF07-01 subgroup suggested "
        "benefit (HR 0.64, 0.46–0.91) that pooled trials did not confirm (HR 0.96, 0.65–1.43).",
        evidence=("soran2018", "reinhorn2021"),
    ),
    Rule(
        id="F-subtype-hr-negative-her2-positive",
        when=lambda f: f.patient.receptors_known and not f.hr_positive and f.her2_positive,
        factor=F.tumour_subtype,
        direction=D.neutral,
        finding=_fixed("HR-/HER2+"),
        explanation="HER2-directed therapy drives the outcome; see the HER2 factor.",
        evidence=("reinhorn2021",),
    ),
    Rule(
        id="F-subtype-unknown",
        when=lambda f: not f.patient.receptors_known,
        factor=F.tumour_subtype,
        direction=D.neutral,
        finding=lambda f: (
            "receptor status incomplete: "
            + ", ".join(
                name
                for name, value in (
                    ("ER", f.patient.er),
                    ("PR", f.patient.pr),
                    ("HER2", f.patient.her2),
                )
                if value.value == "unknown"
            )
            + " unknown"
        ),
        explanation="Receptor status determines systemic therapy and prognosis.",
        evidence=TOPIC,
    ),
)


def first_recommendation(facts: Facts) -> Rule:
    """The first recommendation rule (in precedence order) whose condition holds."""
    for rule in RECOMMENDATION_RULES:
        if rule.when(facts):
            return rule
    raise AssertionError("the last recommendation rule always applies")  # pragma: no cover


def factor_rules(facts: Facts) -> list[Rule]:
    """Every factor rule whose condition holds, in table order."""
    return [rule for rule in FACTOR_RULES if rule.when(facts)]


def all_rules() -> tuple[Rule, ...]:
    return RECOMMENDATION_RULES + FACTOR_RULES


def cited_evidence() -> frozenset[str]:
    """Every study ID the rule table rests on."""
    return frozenset(e for rule in all_rules() for e in rule.evidence)


def rule_table_markdown() -> str:
    """The rule table as Markdown (the generated part of docs/clinical-logic.md)."""
    rows = ["| id | effect | explanation | evidence |", "|---|---|---|---|"]
    for r in all_rules():
        if r.recommendation is not None:
            effect = f"recommendation `{r.recommendation.value}`"
        else:
            assert r.factor is not None and r.direction is not None
            effect = f"factor `{r.factor.value}` ({r.direction.value})"
        rows.append(f"| {r.id} | {effect} | {r.explanation} | {', '.join(r.evidence)} |")
    return "\n".join(rows)
