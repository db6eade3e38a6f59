"""Plain-words reading of the ladder: which rungs are biased, and why.

Shared by the text output of ``locoreg cohort analyze``, its JSON (``summary``)
and the HTML report, so that every output tells the same story.
"""

from __future__ import annotations

from typing import Any

from locoreg.cohort._fit import Estimate
from locoreg.cohort.ladder import LADDER, RUNG, LadderResult

# Randomised evidence quoted for comparison: Reinhorn 2021 meta-analysis of 4 RCTs,
# OS HR 0.97 (0.72–1.29). Source:
# https://pmc.ncbi.nlm.nih.gov/articles/PMC8481908/?term=%22Breast%22%5Bjour%5D
RCT_POOLED = {"study": "reinhorn2021", "hr": 0.97, "ci_low": 0.72, "ci_high": 1.29}

DISCLAIMER = (
    "Decision support, not a substitute for clinical judgement: a re-analysis of "
    "observational data cannot replace randomised evidence."
)


def hr_text(e: Estimate | dict[str, Any]) -> str:
    if isinstance(e, Estimate):
        hr, lo, hi = e.hr, e.ci_low, e.ci_high
    else:
        hr, lo, hi = e["hr"], e["ci_low"], e["ci_high"]
    return f"HR {hr:.2f}, 95% CI {lo:.2f}–{hi:.2f}"


def _verdict(e: Estimate) -> str:
    if e.ci_low <= 1.0 <= e.ci_high:
        return "compatible with no effect of surgery"
    return "favours surgery" if e.hr < 1 else "favours no surgery"


def summarise(result: LadderResult, rct: dict[str, Any] | None = None) -> list[str]:
    """Short paragraphs, most important first.

    ``rct`` (keys ``label``, ``hr``, ``ci_low``, ``ci_high``) is the pooled
    randomised evidence drawn next to the ladder in the report; the published
    meta-analysis of RCTs (reinhorn2021) is always quoted too.
    """
    est = result.estimates
    naive, adj, td, emu = (
        est["naive"],
        est["adjusted"],
        est["time_dependent"],
        est["emulated_trial"],
    )
    lm = est["landmark"]
    out = [
        f"The naive comparison ({hr_text(naive)}) {_naive_reading(naive)}. It is "
        "biased twice: operated patients had to survive until their surgery (immortal "
        "time), and surgery is usually offered to younger, fitter patients with less "
        "extensive disease (confounding by indication); both favour surgery.",
        f"Adjusting for baseline characteristics ({hr_text(adj)}), weighting "
        f"({hr_text(est['iptw'])}) or matching on the propensity score "
        f"({hr_text(est['matched'])}) deals with measured confounding only: all three still "
        "treat surgery as known at diagnosis, so the time before surgery still counts in "
        "favour of the operated group.",
        f"The methods that respect the timing of surgery give: landmark at "
        f"{result.settings.landmark:g} months {hr_text(lm)}; time-dependent surgery "
        f"{hr_text(td)} ({_verdict(td)}); emulated target trial with a "
        f"{result.settings.grace:g}-month grace period {hr_text(emu)} ({_verdict(emu)}). "
        "The gap between the adjusted and the time-dependent estimate is the immortal-time "
        "bias in this registry. These estimates can still carry confounding by what the "
        f"registry does not record ({_unrecorded(result)}).",
    ]
    ev = result.e_value
    out.append(
        f"E-value of the adjusted estimate: {ev.point:.2f} (CI bound {ev.ci:.2f}): an "
        "unmeasured confounder associated with both surgery and death by a risk ratio of "
        "that size each could explain the adjusted association away (death is common, so "
        "the hazard ratio was converted to a risk ratio first)."
    )
    published = f"the published meta-analysis of RCTs reinhorn2021 gives {hr_text(RCT_POOLED)}"
    if rct is not None:
        out.append(
            "For comparison, randomised trials found no clear overall-survival benefit: "
            f"{rct['label']}, {hr_text(rct)}; {published}."
        )
    else:
        out.append(
            f"For comparison, randomised trials found no overall-survival benefit: {published}."
        )
    return out


def _naive_reading(e: Estimate) -> str:
    if e.ci_high < 1.0:
        return "makes surgery look protective"
    if e.ci_low > 1.0:
        return "makes surgery look harmful, despite biases that favour it"
    return "shows no clear difference, despite biases that favour surgery"


def _unrecorded(result: LadderResult) -> str:
    things = ["comorbidity", "response to systemic therapy", "patient preference"]
    if "ecog" not in result.covariates:
        things.insert(0, "performance status")
    return ", ".join(things)


def rung_rows(result: LadderResult) -> list[dict[str, Any]]:
    """One row per rung for tables: label, estimate, n, remaining bias."""
    return [
        {
            "key": rung.name,
            "label": rung.label,
            "estimate": result.estimates[rung.name],
            "bias": rung.bias,
        }
        for rung in LADDER
    ]


def as_json(
    result: LadderResult, cohort: dict[str, Any], rct: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON of ``locoreg cohort analyze`` (CONTRACTS.md §5 keys, plus extras).

    ``rct``: the pooled randomised evidence (see :func:`summarise`), under
    ``rct_evidence_pooled``; ``rct_pooled`` is the published reinhorn2021 estimate.
    """
    from dataclasses import asdict

    from locoreg import __version__

    out: dict[str, Any] = {rung.name: rung.as_dict(result.estimates[rung.name]) for rung in LADDER}
    out["e_value"] = {
        "estimate": "adjusted",
        "point": result.e_value.point,
        "ci": result.e_value.ci,
        "hr_as_risk_ratio": result.e_value.hr_as_rr,
        "outcome": "common (HR converted to RR before the E-value)",
    }
    out["landmark_sensitivity"] = {
        f"{at:g}": RUNG["landmark"].as_dict(e) for at, e in result.landmark_sensitivity.items()
    }
    out["balance"] = [asdict(row) for row in result.balance]
    out["covariates"] = list(result.covariates)
    out["cohort"] = {
        **cohort,
        "n": result.n,
        "n_surgery": result.n_surgery,
        "n_deaths": result.n_events,
    }
    out["settings"] = asdict(result.settings)
    out["summary"] = summarise(result, rct)
    out["rct_pooled"] = RCT_POOLED
    if rct is not None:
        out["rct_evidence_pooled"] = rct
    out["disclaimer"] = DISCLAIMER
    out["versions"] = {"engine": __version__}
    return out
