"""Local therapy options: surgery, radiotherapy and supportive local care (CONTRACTS.md §2).

Each modality is a list of conditions checked in order; the first that fails gives the
reason the modality is not suitable, and a modality whose conditions all hold is
suitable with its positive reason. Two contexts (the contract's "in palliation" and
otherwise) differ only in their condition lists.

*Surgery*: ``resectable`` true (null: suitable pending the surgeon's assessment, reported
as missing), ECOG recorded and 0–2, surgical risk not high, the patient declines neither
surgery nor local therapy; in palliation also systemic therapy started, work-up complete,
no visceral crisis and no progression with a brain or liver site. Outside palliation it is
suitable only where a discussion is the recommendation (response after ≥ 4 months, no
heavy burden): elsewhere the reason says what comes first.
*Radiotherapy*: the patient does not decline local therapy; in palliation ECOG 0–3 or not
recorded, otherwise ECOG recorded and 0–2 (and, as for surgery, only where a discussion is
the recommendation).
*Supportive local care*: listed for bleeding, ulceration, fungation and infection; always
suitable.
"""

from __future__ import annotations

from collections.abc import Callable

from locoreg.decision.facts import FIT_ECOG_MAX, PALLIATIVE_RT_ECOG_MAX, Facts
from locoreg.decision.model import LocalTherapyOption, Modality
from locoreg.decision.words import SYMPTOM_WORDS
from locoreg.i18n import N_
from locoreg.i18n import gettext as _

Check = tuple[Callable[[Facts], bool], Callable[[Facts], str]]

#: English msgid; shown translated (``_(REASSESS)``).
REASSESS = N_("reconsider after initial systemic therapy; radiotherapy and supportive care first")

SURGERY_EVIDENCE = ("khan2022", "shien2023", "nccn_palliation_summary")
RADIOTHERAPY_EVIDENCE = ("khan2022", "nccn_palliation_summary")
SUPPORTIVE_EVIDENCE = ("uptodate_local_therapies", "palliative_indications_review")


def _fixed(text: str) -> Callable[[Facts], str]:
    """A reason that does not depend on the patient (``text`` marked with ``N_``)."""
    return lambda _f: _(text)


def _ecog(f: Facts) -> str:
    return _("ECOG not recorded") if f.ecog_unknown else f"ECOG {f.patient.ecog}"


def _deferred(why: str) -> Callable[[Facts], str]:
    """Palliative surgery deferred for ``why`` (marked with ``N_``): reconsider later."""
    return lambda _f: _("%(why)s: %(reassess)s") % {"why": _(why), "reassess": _(REASSESS)}


_PATIENT_SURGERY: tuple[Check, ...] = (
    (lambda f: f.declines_local_therapy, _fixed(N_("the patient declines local therapy"))),
    (lambda f: f.declines_surgery, _fixed(N_("the patient declines surgery"))),
    (lambda f: f.ecog_unknown, _fixed(N_("ECOG not recorded: record performance status first"))),
    (
        lambda f: f.poor_performance,
        lambda f: _("%(ecog)s: not fit for an operation") % {"ecog": _ecog(f)},
    ),
    (lambda f: f.high_surgical_risk, _fixed(N_("high anaesthetic/surgical risk"))),
    (lambda f: f.resectable_false, _fixed(N_("negative margins not achievable with surgery"))),
)
_PALLIATIVE_SURGERY: tuple[Check, ...] = (
    *_PATIENT_SURGERY,
    (lambda f: not f.therapy_started, _deferred(N_("systemic therapy not started"))),
    (lambda f: f.workup_incomplete, _deferred(N_("work-up incomplete"))),
    (lambda f: f.visceral_crisis, _deferred(N_("visceral crisis"))),
    (
        lambda f: f.unsafe_progression,
        _deferred(N_("progression with brain or liver metastases")),
    ),
)


def _timing(f: Facts) -> str | None:
    """What comes before any elective local therapy, outside palliation (None: nothing)."""
    if f.workup_incomplete:
        return _("not before histology and ER, PR and HER2 are known")
    if f.progression:
        return _("progression on systemic therapy: change systemic therapy first")
    if f.restage_now:
        return _("response not evaluated: restage first")
    if f.too_early_to_judge:
        return _("not yet: assess the response after about 4 months of systemic therapy")
    if f.heavy_burden:
        return _("heavy distant burden")
    if not f.discussion_unfavourable and f.non_bone_counts_unknown:
        return _("lesion count unknown outside bone: restage first (burden not assessable)")
    return None


_ELECTIVE_TIMING: tuple[Check, ...] = (
    (lambda f: _timing(f) is not None, lambda f: _timing(f) or ""),
)
_ELECTIVE_SURGERY: tuple[Check, ...] = (*_PATIENT_SURGERY, *_ELECTIVE_TIMING)
_PALLIATIVE_RADIOTHERAPY: tuple[Check, ...] = (
    (lambda f: f.declines_local_therapy, _fixed(N_("the patient declines local therapy"))),
    (
        lambda f: f.patient.ecog is not None and f.patient.ecog > PALLIATIVE_RT_ECOG_MAX,
        lambda f: _("%(ecog)s: too frail even for palliative radiotherapy") % {"ecog": _ecog(f)},
    ),
)
_ELECTIVE_RADIOTHERAPY: tuple[Check, ...] = (
    (lambda f: f.declines_local_therapy, _fixed(N_("the patient declines local therapy"))),
    (lambda f: f.ecog_unknown, _fixed(N_("ECOG not recorded: record performance status first"))),
    (
        lambda f: f.patient.ecog is not None and f.patient.ecog > FIT_ECOG_MAX,
        lambda f: (
            _("%(ecog)s: local therapy for local control needs ECOG 0–2") % {"ecog": _ecog(f)}
        ),
    ),
    *_ELECTIVE_TIMING,
)


def _first_failure(checks: tuple[Check, ...], f: Facts) -> str | None:
    for fails, why in checks:
        if fails(f):
            return why(f)
    return None


def surgery_details(f: Facts, palliative: bool = False) -> str:
    """What the operation involves, as a surgeon expects it stated."""
    if palliative and not f.inflammatory:
        return _(
            "Palliative resection of the primary (wide excision or mastectomy) only when "
            "complete local clearance is achievable and the other sites are not immediately "
            "life-threatening, after initial systemic therapy (NCCN, as summarised by "
            "nccn_palliation_summary). Agree with the medical oncologist which drugs to hold "
            "around the operation; bevacizumab is withheld at least 28 days before and after "
            "(label, as summarised by bevacizumab_label_summary)."
        )
    if f.inflammatory:
        return _(
            "Inflammatory (T4d) cancer: only after a durable response to systemic therapy; "
            "modified radical mastectomy with level I–II axillary dissection and "
            "post-mastectomy radiotherapy to the chest wall and regional nodes; no breast "
            "conservation or skin-sparing mastectomy, no sentinel node biopsy, no immediate "
            "reconstruction (ibc_surgery_reviews)."
        )
    text = _(
        "Surgery as in curative practice: excision of the primary to negative margins "
        "(breast conservation or mastectomy), axillary management by nodal status, then "
        "breast/chest-wall and nodal radiotherapy as for non-metastatic disease (E2108). "
        "Timing: after 4–8 months of response to systemic therapy (E2108 randomised after "
        "4–8 months without progression). Agree with the medical oncologist which drugs to "
        "hold around the operation; bevacizumab is withheld at least 28 days before and "
        "after (label, as summarised by bevacizumab_label_summary)."
    )
    if f.resectable_unknown:
        text += " " + _("Resectability with negative margins is to be assessed by the surgeon.")
    return text


def radiotherapy_details(f: Facts, palliative: bool) -> str:
    if palliative:
        return _(
            "Palliative radiotherapy of the breast/chest wall and involved nodes for bleeding, "
            "pain, impending ulceration or nodal complications; the alternative to surgery "
            "for these problems (NCCN, as summarised by nccn_palliation_summary)."
        )
    return _(
        "Locoregional radiotherapy of the breast/chest wall and regional nodes, as for "
        "non-metastatic disease (part of local therapy in E2108); for local control only — "
        "no randomised trial tested radiotherapy alone."
    )


SUPPORTIVE_DETAILS = N_(
    "Dressings, haemostatic measures and wound care (odour and infection control), "
    "with wound-care nursing."
)


def local_therapy_options(f: Facts, *, palliative: bool) -> list[LocalTherapyOption]:
    """Surgery, radiotherapy and (for wounds and bleeding) supportive local care."""
    if not f.in_scope:
        return []
    surgery_why = _first_failure(_PALLIATIVE_SURGERY if palliative else _ELECTIVE_SURGERY, f)
    rt_why = _first_failure(_PALLIATIVE_RADIOTHERAPY if palliative else _ELECTIVE_RADIOTHERAPY, f)
    options = [
        LocalTherapyOption(
            modality=Modality.surgery,
            suitable=surgery_why is None,
            reason=surgery_why
            or (
                _("resectable pending the surgeon's assessment, fit (ECOG 0–2, risk not high)")
                if f.resectable_unknown
                else _("resectable with negative margins, fit (ECOG 0–2, risk not high)")
            ),
            details=surgery_details(f, palliative),
            evidence=[
                *SURGERY_EVIDENCE,
                "bevacizumab_label_summary",
                *(["ibc_surgery_reviews"] if f.inflammatory else []),
            ],
        ),
        LocalTherapyOption(
            modality=Modality.radiotherapy,
            suitable=rt_why is None,
            reason=rt_why
            or (
                _("palliation: suitable at ECOG 0–3 or not recorded")
                if palliative
                else _("disease controlled on systemic therapy, ECOG 0–2")
            ),
            details=radiotherapy_details(f, palliative),
            evidence=list(RADIOTHERAPY_EVIDENCE),
        ),
    ]
    if f.wound_problems:
        # a comma list, as the reason has always been written
        problems = ", ".join(_(SYMPTOM_WORDS[s]) for s in sorted(f.wound_problems))
        options.append(
            LocalTherapyOption(
                modality=Modality.supportive_local_care,
                suitable=True,
                reason=_("always suitable for %(problems)s") % {"problems": problems},
                details=_(SUPPORTIVE_DETAILS),
                evidence=list(SUPPORTIVE_EVIDENCE),
            )
        )
    return options
