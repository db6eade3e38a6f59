"""`pool_by_design` and `locoreg evidence pool`: selection, conversion, pooling, CLI.

Numbers are checked two ways: on a synthetic evidence base written to ``tmp_path``
against metafor (tests/fixtures/pool/make_pool_fixture.R), and on the packaged base
against ``rma`` run in the test on inputs derived here from the records themselves.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from locoreg.cli import app
from locoreg.errors import InputError
from locoreg.evidence.base import load_evidence_base
from locoreg.evidence.pool import pool_by_design
from locoreg.meta import rma

FIXTURE = Path(__file__).parents[1] / "fixtures" / "pool" / "pool_reference.json"
REF = json.loads(FIXTURE.read_text())
RTOL = 1e-6
runner = CliRunner()

# ---------------------------------------------------------------- synthetic base


def _rob2(overall: str = "some_concerns") -> dict[str, Any]:
    d = {"judgement": "low", "reason": "synthetic"}
    return {
        "tool": "rob2",
        "randomisation": d,
        "deviations": d,
        "missing_data": d,
        "measurement": d,
        "selection_of_reported_result": {"judgement": overall, "reason": "synthetic"},
        "overall": {"judgement": overall, "reason": f"synthetic trial, {overall}"},
    }


def _robins(immortal: bool) -> dict[str, Any]:
    mod = {"judgement": "moderate", "reason": "synthetic"}
    selection = "Immortal time bias: operated patients had to survive" if immortal else "ok"
    return {
        "tool": "robins_i",
        "immortal_time_bias": immortal,
        "confounding": {"judgement": "serious", "reason": "confounding by indication"},
        "selection_of_participants": {
            "judgement": "serious" if immortal else "moderate",
            "reason": selection,
        },
        "classification_of_interventions": mod,
        "deviations": mod,
        "missing_data": mod,
        "measurement": mod,
        "selection_of_reported_result": mod,
        "overall": {"judgement": "serious", "reason": "serious confounding"},
    }


def _hr(hr: float, lo: float | None, hi: float | None, level: float | None, **kw: Any) -> dict:
    out: dict[str, Any] = {
        "outcome": "overall_survival",
        "label": "overall survival",
        "measure": "HR",
        "estimate": hr,
        "source_url": "https://example.org/source",
    }
    if lo is not None:
        out.update(ci_low=lo, ci_high=hi, ci_level=level)
    out.update(kw)
    return out


def _study(sid: str, design: str, year: int, outcomes: list[dict], **kw: Any) -> dict:
    rob = _rob2() if design == "rct" else None
    study: dict[str, Any] = {
        "id": sid,
        "citation": {"authors": "Test A", "first_author": sid.title(), "year": year},
        "design": design,
        "summary": "Synthetic record for the tests.",
        "timing_of_surgery": "not_reported",
        "outcomes": outcomes,
    }
    if rob is not None:
        study["risk_of_bias"] = rob
    elif design == "meta_analysis":
        study["risk_of_bias_not_assessed"] = "a review"
    study.update(kw)
    return study


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture's seven studies plus records that must be listed, not pooled."""
    d = tmp_path_factory.mktemp("evidence")
    records = []
    for s in REF["studies"]:
        kw: dict[str, Any] = {}
        if s["design"] != "rct":
            kw["risk_of_bias"] = _robins(immortal=s["id"] != "registry_c")
            kw["setting"] = "SEER, 2000-2005" if s["id"].startswith("registry") else "clinic"
            if s["id"].startswith("registry"):  # the two registries share their patients
                kw["data_source"] = "seer"
        outcomes = [_hr(s["hr"], s["ci_low"], s["ci_high"], s["ci_level"])]
        if s["id"] == "trial_d":  # the same analysis printed again in an abstract
            outcomes.append(_hr(0.76, 0.61, 0.95, 0.95, secondary_report="same analysis, abstract"))
        records.append(_study(s["id"], s["design"], s["year"], outcomes, **kw))
    records += [
        # an earlier report of trial_d: superseded, never pooled
        _study("trial_d_early", "rct", 2012, [_hr(0.5, 0.3, 0.8, 0.95)], superseded_by="trial_d"),
        _study(
            "clinic_rr",
            "single_institution",
            2006,
            [{**_hr(0.5, 0.21, 1.19, 0.95), "measure": "RR"}],
            risk_of_bias=_robins(True),
        ),
        _study(
            "clinic_noci",
            "single_institution",
            2008,
            [_hr(0.8, None, None, None)],
            risk_of_bias=_robins(True),
        ),
        _study("review_x", "meta_analysis", 2018, [_hr(0.65, 0.6, 0.7, 0.95)]),
    ]
    for r in records:
        (d / f"{r['id']}.yaml").write_text(yaml.safe_dump(r, sort_keys=False))
    return d


def _close(a: float | None, b: float | None) -> None:
    assert a is not None and b is not None
    assert math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-12), (a, b)


@pytest.mark.parametrize("case", REF["cases"], ids=lambda c: f"{c['method']}-{c['test']}")
def test_synthetic_base_matches_metafor(synthetic: Path, case: dict[str, Any]) -> None:
    base = load_evidence_base(synthetic)
    res = pool_by_design(base, method=case["method"], test=case["test"])
    for key in ("randomised", "observational"):
        fit, ref = res.groups[key].fit, case[key]
        assert fit is not None and fit.k == ref["k"]
        for name in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q", "q_p"):
            _close(getattr(fit, name), ref[name])
        _close(fit.pi_low, ref["pi_low"])
        _close(fit.pi_high, ref["pi_high"])
        # t-based prediction interval (k - 2 df), computed in R from metafor's fit
        t_lo, t_hi = res.groups[key].hr_pi_t
        _close(t_lo, math.exp(ref["pi_t_low"]))
        _close(t_hi, math.exp(ref["pi_t_high"]))
        np.testing.assert_allclose(
            [s.weight for s in res.groups[key].studies], ref["weights"], rtol=RTOL
        )
    _close(res.q_between, case["q_between"])
    _close(res.q_between_p, case["q_between_p"])
    assert res.q_between_df == 1


def test_selection_rule_one_report_per_trial(synthetic: Path) -> None:
    res = pool_by_design(load_evidence_base(synthetic))
    pooled = [s.id for s in res.studies]
    # fixture order within each group is chronological, as the pool sorts it
    assert pooled == [s["id"] for s in REF["studies"]]
    reasons = {n.id: n.reason for n in res.not_pooled}
    assert reasons["trial_d_early"].startswith("superseded by trial_d")
    assert (
        "RR" in reasons["clinic_rr"] and "without a confidence interval" in (reasons["clinic_noci"])
    )
    assert "review_x" not in pooled and [p.id for p in res.published] == ["review_x"]
    # the secondary report of trial_d is neither pooled nor listed twice
    assert pooled.count("trial_d") == 1


def test_ninety_percent_interval_is_converted_at_its_own_level(synthetic: Path) -> None:
    res = pool_by_design(load_evidence_base(synthetic))
    trial_c = next(s for s in res.studies if s.id == "trial_c")
    assert trial_c.ci_level == 0.90
    z90 = 1.6448536269514722  # qnorm(0.95)
    expected_se = (math.log(1.03) - math.log(0.62)) / (2 * z90)
    _close(trial_c.se, expected_se)
    ref = next(s for s in REF["studies"] if s["id"] == "trial_c")
    _close(trial_c.vi, ref["vi"])
    # read as a 95% interval it would be about 16% narrower: the level matters
    assert trial_c.se > (math.log(1.03) - math.log(0.62)) / (2 * 1.959963984540054) * 1.15
    assert any("trial_c (90%)" in c for c in res.caveats)


def test_risk_of_bias_reasons_name_immortal_time_and_selection(synthetic: Path) -> None:
    res = pool_by_design(load_evidence_base(synthetic))
    obs = res.groups["observational"]
    assert [s.immortal_time_bias for s in obs.studies] == [True, True, False]
    assert "immortal time bias in 2 (registry_a, clinic_b)" in obs.bias_summary
    assert "serious or critical confounding by indication in 3" in obs.bias_summary
    text = " ".join(res.explanation)
    assert "Immortal time bias: in 2 of 3" in text and "Confounding by indication" in text
    assert any("registry_a, registry_c all analyse SEER data" in c for c in res.caveats)


# ---------------------------------------------------------------- shared data sources


def _fit_on(rows: list[dict[str, Any]], method: str = "REML", test: str = "z"):
    """rma on the fixture's own yi/vi of ``rows`` (metafor's conversion, not the pool's)."""
    return rma([r["yi"] for r in rows], [r["vi"] for r in rows], method=method, test=test)


@pytest.mark.parametrize("case", REF["cases"], ids=lambda c: f"{c['method']}-{c['test']}")
def test_synthetic_one_per_source_is_rma_on_the_kept_studies(
    synthetic: Path, case: dict[str, Any]
) -> None:
    """registry_a and registry_c share SEER and give no N: the more recent (2009) is kept."""
    res = pool_by_design(load_evidence_base(synthetic), method=case["method"], test=case["test"])
    sens = res.source_sensitivity
    assert sens is not None and sens.group == "observational"
    assert [s.id for s in sens.kept] == ["clinic_b", "registry_c"]
    assert [(d.id, d.data_source, d.kept_instead) for d in sens.dropped] == [
        ("registry_a", "seer", "registry_c")
    ]
    ref = _fit_on([r for r in REF["studies"] if r["id"] in ("clinic_b", "registry_c")],
                  case["method"], case["test"])  # fmt: skip
    for name in ("estimate", "se", "ci_low", "ci_high", "tau2", "q"):
        _close(getattr(sens.fit, name), getattr(ref, name))
    _close(sens.hr, math.exp(ref.estimate))
    # the main observational pool is untouched: still all three studies, as metafor
    _close(res.groups["observational"].fit.estimate, case["observational"]["estimate"])
    caveat = next(c for c in res.caveats if "may share patients" in c)
    assert "keeps registry_c" in caveat and "drops registry_a" in caveat
    assert f"Observational HR {sens.hr:.2f}" in caveat and "k = 2" in caveat


def test_one_per_source_rule() -> None:
    from locoreg.evidence.pool import SourceCandidate as C
    from locoreg.evidence.pool import one_per_source

    candidates = [
        C("small_new", "seer", 100, 2020),
        C("big_old", "seer", 900, 2001),
        C("tie_old", "ncdb", 500, 2002),
        C("tie_new", "ncdb", 500, 2010),
        C("unknown_n", "geneva_cancer_registry", None, 2020),
        C("known_n", "geneva_cancer_registry", 10, 1999),
        C("same_b", "md_anderson", 200, 2006),
        C("same_a", "md_anderson", 200, 2006),
        C("no_source_1", None, None, None),
        C("no_source_2", None, 5, 2000),
    ]
    chosen = one_per_source(candidates)
    assert chosen == {
        "small_new": "big_old", "big_old": "big_old",  # most patients, however old
        "tie_old": "tie_new", "tie_new": "tie_new",  # equal N: the most recent
        "unknown_n": "known_n", "known_n": "known_n",  # an unknown N ranks last
        "same_b": "same_a", "same_a": "same_a",  # full tie: the smaller id, reproducibly
        "no_source_1": "no_source_1", "no_source_2": "no_source_2",  # each its own source
    }  # fmt: skip
    assert list(chosen) == [c.id for c in candidates]  # input order kept


def test_studies_without_data_source_are_each_their_own_source(
    synthetic: Path, tmp_path: Path
) -> None:
    """The shared-patients caveat comes from data_source, never from the setting's text."""
    import shutil

    copy = tmp_path / "evidence"
    shutil.copytree(synthetic, copy)
    for name in ("registry_a", "registry_c"):
        record = yaml.safe_load((copy / f"{name}.yaml").read_text())
        del record["data_source"]  # the setting still starts with "SEER"
        (copy / f"{name}.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
    res = pool_by_design(load_evidence_base(copy))
    sens = res.source_sensitivity
    assert sens is not None and sens.dropped == () and sens.k == 3
    _close(sens.fit.estimate, res.groups["observational"].fit.estimate)
    assert not any("may share patients" in c for c in res.caveats)


# ---------------------------------------------------------------- packaged base


@pytest.fixture(scope="module")
def packaged():
    return pool_by_design(outcome="overall_survival")


def test_packaged_trial_pool_equals_rma_on_the_records(packaged) -> None:
    """Independent recomputation: the RCT HRs of the base, converted here, pooled by rma."""
    from scipy import stats

    base = load_evidence_base()
    rows = [
        (s, o)
        for s, o in base.outcomes("overall_survival", design="rct")
        if o.measure.value == "HR" and o.ci_low is not None
    ]
    assert {s.id for s, _ in rows} == {
        "badwe2015",
        "fitzal2019",
        "khan2022",
        "shien2023",
        "soran2021",
    }  # fmt: skip  (MF07-01 once, from its 10-year report)
    yi = [math.log(o.estimate) for _, o in rows]
    vi = [
        ((math.log(o.ci_high) - math.log(o.ci_low)) / (2 * stats.norm.ppf(0.5 + o.ci_level / 2)))
        ** 2
        for _, o in rows
    ]
    ref = rma(yi, vi, method="REML", test="z")
    fit = packaged.groups["randomised"].fit
    for name in ("estimate", "se", "tau2", "ci_low", "ci_high", "i2", "q"):
        _close(getattr(fit, name), getattr(ref, name))
    _close(packaged.groups["randomised"].hr, math.exp(ref.estimate))


def test_packaged_story_trials_vs_registries(packaged) -> None:
    rnd, obs = packaged.groups["randomised"], packaged.groups["observational"]
    lo, hi = rnd.hr_ci
    assert lo is not None and hi is not None and lo < 1 < hi  # trials: no clear effect
    assert obs.hr_ci[1] is not None and obs.hr_ci[1] < 1  # registries: strong association
    assert packaged.q_between_p is not None and packaged.q_between_p < 0.01
    assert all(
        s.rob_overall in ("serious", "critical") and s.immortal_time_bias for s in obs.studies
    )
    # registries without performance status or metastatic burden: critical confounding
    assert {s.id for s in obs.studies if s.rob_overall == "critical"} == {
        "gnerlich2007",
        "warschkow2016",
    }
    assert {n.id for n in packaged.not_pooled} >= {"babiera2006", "hazard2008", "soran2018"}


def _se_from_ci(o: Any) -> float:
    from scipy import stats

    z = stats.norm.ppf(0.5 + o.ci_level / 2)
    return (math.log(o.ci_high) - math.log(o.ci_low)) / (2 * z)


def test_packaged_seer_analyses_reduce_to_one(packaged) -> None:
    base = load_evidence_base()
    obs = packaged.groups["observational"]
    seer = [s.id for s in obs.studies if base.get(s.id).data_source == "seer"]
    assert sorted(seer) == ["gnerlich2007", "warschkow2016"]  # tan2016: sensitivity only
    sens = packaged.source_sensitivity
    assert sens is not None
    kept = [s.id for s in sens.kept]
    # warschkow2016 has the most patients of the SEER analyses (16,247)
    assert kept == ["ruiterkamp2009", "neuman2010", "warschkow2016"]
    assert {d.id: d.kept_instead for d in sens.dropped} == {"gnerlich2007": "warschkow2016"}
    sources = [base.get(i).data_source for i in kept]
    named = [s for s in sources if s is not None]  # neuman2010 names no database
    assert len(named) == len(set(named)) == 2
    assert base.get("warschkow2016").n_total == max(base.get(i).n_total for i in seer)


def test_packaged_one_per_source_equals_rma_on_the_kept_records(packaged) -> None:
    """Independent recomputation from the YAML records of exactly the kept studies."""
    base = load_evidence_base()
    kept = ("ruiterkamp2009", "neuman2010", "warschkow2016")
    rows = [
        next(o for o in base.get(i).outcomes if o.outcome.value == "overall_survival") for i in kept
    ]
    yi = [math.log(o.estimate) for o in rows]
    vi = [_se_from_ci(o) ** 2 for o in rows]
    ref = rma(yi, vi, method="REML", test="z")
    sens = packaged.source_sensitivity
    assert sens is not None and sens.k == 3
    for name in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q"):
        _close(getattr(sens.fit, name), getattr(ref, name))
    _close(sens.hr, math.exp(ref.estimate))
    np.testing.assert_allclose(sens.weights, ref.weights, rtol=RTOL)
    # fewer, non-overlapping studies: a wider interval than the main observational pool
    lo, hi = sens.hr_ci
    main_lo, main_hi = packaged.groups["observational"].hr_ci
    assert lo is not None and hi is not None and main_lo is not None and main_hi is not None
    assert hi - lo > main_hi - main_lo
    caveat = next(c for c in packaged.caveats if "may share patients" in c)
    assert caveat.startswith("gnerlich2007, warschkow2016 all analyse SEER data")
    assert "keeps warschkow2016 (16,247 patients, 2016)" in caveat
    assert "drops gnerlich2007 (9,734, 2007)" in caveat
    assert f"Observational HR {sens.hr:.2f} (95% CI {lo:.2f}–{hi:.2f}), k = 3" in caveat


def test_packaged_default_pool_is_any_local_therapy_vs_none(packaged) -> None:
    """khan2002 (free margins, defined after surgery) and tan2016 (primary-only resection,
    off-centre interval) enter the sensitivity analysis only, with the reason."""
    obs = packaged.groups["observational"]
    assert [s.id for s in obs.studies] == [
        "gnerlich2007",
        "ruiterkamp2009",
        "neuman2010",
        "warschkow2016",
    ]
    assert all(s.comparison is None for s in packaged.studies)
    (sens,) = packaged.inclusion_sensitivity
    assert sens.group == "observational" and sens.k == 6
    added = {a.study.id: a for a in sens.added}
    assert set(added) == {"khan2002", "tan2016"}
    assert added["khan2002"].tags == ("narrower comparison",)
    assert "defined after surgery" in added["khan2002"].reason
    assert added["tan2016"].tags == ("narrower comparison", "interval not centred")
    # independent recomputation: every observational HR record, pooled by rma
    base = load_evidence_base()
    rows = [
        next(o for o in base.get(s.id).outcomes if o.outcome.value == "overall_survival")
        for s in sens.studies
    ]
    ref = rma(
        [math.log(o.estimate) for o in rows], [_se_from_ci(o) ** 2 for o in rows], "REML", "z"
    )
    _close(sens.fit.estimate, ref.estimate)
    _close(sens.fit.se, ref.se)
    reasons = {n.id: n.reason for n in packaged.not_pooled}
    assert reasons["khan2002"].startswith("sensitivity analysis only: compares resection")
    data = packaged.to_dict()
    assert data["inclusion_rule"].startswith("pooled by default")
    assert [a["id"] for a in data["inclusion_sensitivity"][0]["added"]] == ["khan2002", "tan2016"]
    assert any(c.startswith("Observational studies: left out") for c in packaged.caveats)


def test_locoregional_progression_lists_what_cannot_be_pooled() -> None:
    res = pool_by_design(outcome="locoregional_progression")
    assert res.groups["observational"].fit is None and res.q_between is None
    assert res.source_sensitivity is None and res.to_dict()["source_sensitivity"] is None
    assert [s.id for s in res.groups["randomised"].studies] == ["shien2023"]
    khan = next(n for n in res.not_pooled if n.id == "khan2022")
    assert "16.3 vs 39.8" in khan.reason  # the 3-year rates it does report
    assert any("fewer than two groups" in c for c in res.caveats)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"outcome": "death"}, "outcome"),
        ({"by": "year"}, "by"),
        ({"method": "XYZ"}, "method"),
        ({"test": "t"}, "test"),
        ({"level": 1.5}, "level"),
    ],
)
def test_bad_options_raise_input_error_naming_the_field(kwargs, field) -> None:
    with pytest.raises(InputError) as err:
        pool_by_design(**kwargs)
    assert err.value.errors[0].field == field and err.value.errors[0].allowed


# ---------------------------------------------------------------- CLI


def _run(*args: str):
    return runner.invoke(app, ["evidence", "pool", *args], env={"COLUMNS": "200"})


def test_cli_json_keys() -> None:
    result = _run("--outcome", "overall_survival", "--by", "design", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"outcome", "by", "method", "test", "snapshot", "subgroups", "q_between",
            "q_between_df", "q_between_p", "explanation", "not_pooled", "caveats",
            "published_meta_analyses"} <= set(data)  # fmt: skip
    assert set(data["subgroups"]) == {"randomised", "observational"}
    rnd = data["subgroups"]["randomised"]
    contract = {"k", "estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q", "q_p", "pi_low",
                "pi_high", "hr", "hr_ci_low", "hr_ci_high", "studies", "grade"}  # fmt: skip
    assert contract <= set(rnd)
    study = rnd["studies"][0]
    assert {"id", "hr", "hr_ci_low", "hr_ci_high", "ci_level", "weight", "risk_of_bias"} <= set(
        study
    )
    assert {"tool", "overall", "reason", "immortal_time_bias"} <= set(study["risk_of_bias"])
    assert data["snapshot"] == load_evidence_base().snapshot


def test_cli_text_shows_both_groups_and_reasons(tmp_path: Path) -> None:
    out, cum = tmp_path / "forest.svg", tmp_path / "cumulative.png"
    result = _run("--method", "dl", "--test", "knha", "--plot", str(out), "--cumulative", str(cum))
    assert result.exit_code == 0, result.output
    text = result.stdout
    for needle in ("Randomised trials", "Observational studies", "pooled HR",
                   "Test for subgroup differences", "Immortal time bias", "Why they differ",
                   "(DL, Knapp-Hartung t test)", "Listed, not pooled"):  # fmt: skip
        assert needle in text, needle
    assert out.read_text().lstrip().startswith("<?xml")
    assert cum.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--outcome", "survival"], "--outcome: unknown value 'survival'"),
        (["--by", "year"], "--by: unknown value 'year' (allowed: design)"),
        (["--method", "XX"], "allowed: FE, DL, REML"),
        (["--test", "t"], "--test: unknown value 't' (allowed: z, knha)"),
        (["--plot", "out.txt"], "--plot: 'out.txt'"),
        (["--cumulative", "no/such/dir/c.svg"], "--cumulative: directory no/such/dir"),
        (["--level", "1.5"], "--level: 1.5 is out of range"),
    ],
)
def test_cli_bad_options_exit_2(args: list[str], needle: str) -> None:
    result = _run(*args)
    assert result.exit_code == 2
    assert needle in result.output and "Traceback" not in result.output


def test_packaged_trial_prediction_interval_t_based(packaged) -> None:
    """Issue 12: the five trials' t-based prediction interval is 0.48–1.80 (3 df)."""
    rnd = packaged.groups["randomised"]
    lo, hi = rnd.hr_pi_t
    assert lo is not None and hi is not None
    assert (round(lo, 2), round(hi, 2)) == (0.48, 1.80)
    normal_lo, normal_hi = rnd.hr_pi
    assert normal_lo is not None and normal_hi is not None
    assert lo < normal_lo and hi > normal_hi  # wider than the normal one with few trials
    data = packaged.to_dict()["subgroups"]["randomised"]
    assert data["pi_t_df"] == 3 and math.isclose(data["hr_pi_t_low"], lo)


def test_packaged_grade_imprecision_matches_the_curated_ratings(packaged) -> None:
    """Every rating with imprecision_from_pool lists as many 'imprecision:' downgrades as
    the pool's computed imprecision levels (a new trial that changes them fails here)."""
    checked = 0
    for g in packaged.groups.values():
        for rating in g.grade:
            if not rating.imprecision_from_pool:
                continue
            imprecision = g.imprecision
            assert imprecision is not None
            listed = [d for d in rating.downgrades if d.startswith("imprecision:")]
            assert len(listed) == imprecision.levels, (g.key, imprecision.reason)
            checked += 1
    assert checked == 2
    rnd = packaged.groups["randomised"].imprecision
    assert rnd is not None and rnd.levels == 1 and "0.48–1.80" in rnd.reason
    assert packaged.to_dict()["subgroups"]["randomised"]["imprecision"]["judgement"] == "serious"
