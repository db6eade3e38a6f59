"""Trial signals against local therapy, found in the evidence base by one rule.

CONTRACTS.md §2: a signal is listed where the source states its direction and its
confidence interval excludes 1. Here that is every randomised-trial outcome of a kind
where an event is harm (death, distant or any progression, toxicity), recorded as a ratio
(HR, RR, OR) of local therapy vs none for the whole trial population, whose interval lies
wholly on the side of 1 that disfavours local therapy (above 1, or below 1 when the record
says ``favourable_side: higher``), and whose direction was not inferred (a ``converted``
record, whose direction the curator had to infer, is not enough). A new record with such a result is
listed without new code.

A proportion compared between the arms (no ratio, no interval) counts the same way when
the source states a p-value below 0.05 and the proportion is worse with local therapy:
fewer patients free of the harmful event (a metric named ``free_of_…``), or more with it —
JCOG1017's proportion free of progression at metastatic sites, 67.3% vs 81.5%, p = 0.0014.
The finding quotes what the record could not confirm (e.g. the time point).

A second, weaker kind is listed with its caveats spelled out (a decision recorded in
docs/clinical-logic.md): a trial whose median overall survival was *shorter* with local
therapy by at least a quarter although its interval includes 1 — ABCSG-28, 34.6 vs 54.8
months. A tumour board would want to see it, labelled as not statistically significant
and with the record's own caveat on the direction of its hazard ratio.
"""

from __future__ import annotations

import re
from functools import cache

from locoreg.decision.figures import base
from locoreg.decision.model import Harm
from locoreg.evidence.model import Design, Measure, Outcome, OutcomeKind, Study, p_value_number
from locoreg.i18n import current_language, num
from locoreg.i18n import gettext as _

HARM_OUTCOMES = frozenset(
    {
        OutcomeKind.overall_survival,
        OutcomeKind.distant_progression,
        OutcomeKind.progression_free_survival,
        OutcomeKind.breast_cancer_specific_survival,
        OutcomeKind.toxicity,
    }
)
#: a proportion compared between arms is a signal below this printed p-value
ALPHA = 0.05
#: arm medians at most this fraction of the comparator's are listed as a weaker signal
MEDIAN_RATIO = 0.75


def _trial(s: Study) -> str:
    name = s.setting.split(",")[0] if s.setting else s.id
    year = s.citation.year
    return f"{name} ({s.citation.first_author or s.id} {year})" if year else name


def _cited_with(o: Outcome, b_ids: dict[str, str]) -> list[str]:
    """Records whose own URL the outcome was read from (e.g. a Cochrane table)."""
    url = o.source_url or ""
    return [sid for key, sid in b_ids.items() if key and key in url]


def _against_local_therapy(o: Outcome) -> bool:
    """The whole interval lies on the side of 1 that disfavours local therapy.

    A ratio of an event (HR, RR, OR of death or progression) disfavours local therapy above
    1; a ratio whose record says ``favourable_side: higher`` (e.g. an odds ratio of
    surviving) disfavours it below 1.
    """
    assert o.ci_low is not None and o.ci_high is not None
    return o.ci_high < 1 if o.favourable_side == "higher" else o.ci_low > 1


def _significant(s: Study, o: Outcome, also: list[str]) -> Harm | None:
    if (
        o.outcome not in HARM_OUTCOMES
        or not o.measure.is_ratio
        or o.subgroup != "overall"
        or o.estimate is None
        or o.ci_low is None
        or o.ci_high is None
        or o.converted
        or not _against_local_therapy(o)
    ):
        return None
    level = (
        ""
        if o.ci_level in (None, 0.95)
        else _("%(level)s%% CI ") % {"level": num(100 * (o.ci_level or 0.95))}
    )
    # Read from another record (e.g. a Cochrane table), not the trial's own report: say so.
    secondary = _(", as summarised by %(records)s") % {"records": ", ".join(also)} if also else ""
    return Harm(
        finding=_(
            "%(trial)s: %(outcome)s, %(measure)s %(estimate)s (%(level)s%(low)s–%(high)s) with "
            "local therapy — worse than without it%(secondary)s"
        )
        % {
            "trial": _trial(s),
            "outcome": o.label,
            "measure": o.measure.value,
            "estimate": _g(o.estimate),
            "level": level,
            "low": _g(o.ci_low),
            "high": _g(o.ci_high),
            "secondary": secondary,
        },
        evidence=list(dict.fromkeys([s.id, *also])),
    )


def _worse_proportion(s: Study, o: Outcome) -> Harm | None:
    if (
        o.outcome not in HARM_OUTCOMES
        or o.measure is not Measure.proportion
        or o.subgroup != "overall"
        or o.p_value is None
    ):
        return None
    p = p_value_number(o.p_value)
    if p is None or p >= ALPHA:
        return None
    for metric in dict.fromkeys(a.metric for a in o.arms):
        values = {a.arm: a.value for a in o.arms if a.metric == metric}
        local, other = values.get("local_therapy"), values.get("no_local_therapy")
        if local is None or other is None:
            continue
        free_of_event = metric.startswith("free_of")
        if (local < other) if free_of_event else (local > other):
            percent = metric.endswith("percent")
            # what the record could not confirm, first clause only (e.g. the time point),
            # quoted as the record words it
            caveat = (
                _("; %(record_note)s") % {"record_note": o.not_found.split(";")[0].split(" (")[0]}
                if o.not_found
                else ""
            )
            return Harm(
                finding=_(
                    "%(trial)s: %(outcome)s, %(local)s with local therapy vs %(other)s without "
                    "(p = %(p)s) — worse with local therapy%(caveat)s"
                )
                % {
                    "trial": _trial(s),
                    "outcome": o.label,
                    "local": _percent(local) if percent else _g(local),
                    "other": _percent(other) if percent else _g(other),
                    "p": _p(o.p_value),
                    "caveat": caveat,
                },
                evidence=[s.id],
            )
    return None


def _shorter_median(s: Study, o: Outcome) -> Harm | None:
    if o.outcome is not OutcomeKind.overall_survival or o.subgroup != "overall":
        return None
    medians = {a.arm: a.value for a in o.arms if a.metric == "median_os_months"}
    local, other = medians.get("local_therapy"), medians.get("no_local_therapy")
    if local is None or other is None or local > MEDIAN_RATIO * other:
        return None
    if o.ci_low is not None and o.ci_low > 1 and not o.converted:
        return None  # already listed as a significant signal
    caveat = _("not statistically significant")
    if o.estimate is not None and o.ci_low is not None and o.ci_high is not None:
        caveat += " " + _("(HR %(hr)s, %(low)s–%(high)s)") % {
            "hr": _g(o.estimate),
            "low": _g(o.ci_low),
            "high": _g(o.ci_high),
        }
    if o.converted:
        caveat += _("; the source does not state the direction of its hazard ratio")
    return Harm(
        finding=_(
            "%(trial)s: median overall survival %(local)s months with local therapy vs "
            "%(other)s months without — %(caveat)s"
        )
        % {"trial": _trial(s), "local": _g(local), "other": _g(other), "caveat": caveat},
        evidence=[s.id],
    )


def _g(value: float) -> str:
    """A figure as the record gives it (up to 4 decimals), in the current language."""
    return num(value, 4)


def _percent(value: float) -> str:
    return _("%(value)s%%") % {"value": _g(value)}


def _p(p_value: str) -> str:
    """A printed p-value ("0.0014", "< 0.001"), its numbers in the current language's notation
    with the decimals the source printed."""
    return re.sub(
        r"\d+\.(\d+)",
        lambda m: num(float(m.group()), len(m.group(1)), exact=True),
        p_value.strip(),
    )


@cache
def _harms(snapshot: str, lang: str) -> tuple[Harm, ...]:
    """The signals of ``snapshot`` with their findings in ``lang`` (the current language
    when called: the cache is keyed on it so that one language's text never serves
    another)."""
    b = base()
    by_url = {(s.citation.url or ""): s.id for s in b.studies if s.citation.url}
    out: list[Harm] = []
    for s, o in b.outcomes(design=Design.rct):
        also = [x for x in _cited_with(o, by_url) if x != s.id]
        found = _significant(s, o, also) or _worse_proportion(s, o) or _shorter_median(s, o)
        if found is not None:
            out.append(found)
    return tuple(out)


def trial_harms() -> list[Harm]:
    """Every harm signal of the current evidence snapshot (see the module docstring)."""
    return list(_harms(base().snapshot, current_language()))
