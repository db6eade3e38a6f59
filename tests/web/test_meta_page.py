"""The meta-analysis page's numbers against R metafor (tests/fixtures/web/make_meta_page.R).

The page pools the evidence base's overall-survival hazard ratios, converting each
interval at its own level (two trials report 90% intervals), all together or by
design with a separate τ² per design. Agreement 1e-6 relative.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from locoreg.evidence.model import OutcomeKind
from locoreg.web.meta_page import pooled_evidence, study_rows
from web.support import ROOT

REFERENCE = json.loads((ROOT / "tests" / "fixtures" / "web" / "meta_page.json").read_text())
KEYS = ("estimate", "se", "ci_low", "ci_high", "p_value", "tau2", "i2", "q")
CASES = [key.split("_") for key in REFERENCE if key != "rows"]


def _close(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["k"] == want["k"]
    for key in KEYS:
        assert got[key] == pytest.approx(want[key], rel=1e-6, abs=1e-9), key


@pytest.fixture
def reference_rows(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Pool the fixture's rows, so the evidence base can grow without breaking the numbers."""
    from locoreg.web import meta_page

    rows = [{**r, "label": r["id"]} for r in REFERENCE["rows"]]
    monkeypatch.setattr(meta_page, "study_rows", lambda _outcome: rows)
    meta_page.clear_caches()
    yield
    meta_page.clear_caches()


def test_base_rows_follow_the_selection_rules() -> None:
    # ``study_rows`` here is the module's own function (imported before any patching).
    from locoreg.evidence.base import load_evidence_base

    rows = study_rows(OutcomeKind.overall_survival)
    base = load_evidence_base()
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert {r["body"] for r in rows} == {"randomised", "observational"}
    for r in rows:
        study = base.get(r["id"])
        assert study.design.value not in ("meta_analysis", "guideline_or_review", "epidemiology")
        assert not set(study.related) & set(ids)  # one report per trial
        assert r["ci_low"] <= r["hr"] <= r["ci_high"]
    # Trials that report 90% intervals keep their level (converted at 90%, not 95%).
    levels = {r["id"]: r["ci_level"] for r in rows}
    assert levels.get("khan2022") == 0.9 and levels.get("shien2023") == 0.9


@pytest.mark.parametrize(("method", "test"), CASES, ids=["_".join(c) for c in CASES])
@pytest.mark.usefixtures("reference_rows")
def test_pooled_all_together(method: str, test: str) -> None:
    result = pooled_evidence("overall_survival", method, test, "none")["result"]
    _close(result, REFERENCE[f"{method}_{test}"]["all"])


@pytest.mark.parametrize(("method", "test"), CASES, ids=["_".join(c) for c in CASES])
@pytest.mark.usefixtures("reference_rows")
def test_pooled_by_design(method: str, test: str) -> None:
    page = pooled_evidence("overall_survival", method, test, "design")
    assert page["grouped"]
    want = REFERENCE[f"{method}_{test}"]
    for body in ("observational", "randomised"):
        _close(page["result"]["subgroups"][body], want[body])
    assert page["result"]["q_between"] == pytest.approx(want["q_between"], rel=1e-6)
    assert page["result"]["q_between_p"] == pytest.approx(want["q_between_p"], rel=1e-6)


def test_one_per_source_pool_is_rma_on_the_kept_rows() -> None:
    """The page's sensitivity row: rows of the SEER analyses reduce to warschkow2016."""
    from locoreg.meta import log_hr_from_ci, rma
    from locoreg.web.meta_page import one_per_source_pool

    rows = study_rows(OutcomeKind.overall_survival)
    sens = one_per_source_pool(rows, "REML", "z")
    assert sens is not None
    assert sens["kept"] == ["ruiterkamp2009", "neuman2010", "warschkow2016"]
    assert [(d["id"], d["source"], d["kept_instead"]) for d in sens["dropped"]] == [
        ("gnerlich2007", "SEER", "warschkow2016"),
    ]
    kept = [r for r in rows if r["id"] in sens["kept"]]
    yi, vi = log_hr_from_ci(
        [r["hr"] for r in kept],
        [r["ci_low"] for r in kept],
        [r["ci_high"] for r in kept],
        [r["ci_level"] for r in kept],
    )
    ref = rma(yi, vi, method="REML", test="z")
    got = sens["result"]
    assert got["k"] == 3
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q"):
        assert got[key] == pytest.approx(getattr(ref, key), rel=1e-9, abs=1e-12), key


@pytest.mark.usefixtures("reference_rows")
def test_rows_without_a_data_source_add_no_sensitivity_row() -> None:
    assert pooled_evidence("overall_survival", "REML", "z", "design")["sensitivity"] is None


def test_page_names_the_estimates_the_default_rule_leaves_out() -> None:
    from locoreg.web.meta_page import pooled_evidence

    page = pooled_evidence("overall_survival", "REML", "z", "design")
    assert [x["id"] for x in page["left_out"]] == ["khan2002", "tan2016"]
    assert {r["id"] for r in page["rows"]}.isdisjoint({"khan2002", "tan2016"})
    assert "defined after surgery" in page["left_out"][0]["reason"]
