"""The server-rendered pages: form, result, summary, history, evidence, study, meta-analysis.

Each example patient goes through the page flow a browser follows: load the example
into the form, submit what the form holds, follow the redirect to the result page.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from locoreg import DISCLAIMER, __version__
from locoreg.decision.model import RECOMMENDATION_LABELS, Recommendation
from locoreg.patient import LocalSymptom, Patient, parse_patient
from locoreg.store import AuditStore
from web.support import (
    EXAMPLE_FILES,
    expected_recommendation,
    form_token,
    load_example,
    read_form,
)

from helpers.patients import DISCUSS

#: Form inputs for each field of the Patient contract.
FORM_NAMES: dict[str, tuple[str, ...]] = {
    "metastases": ("metastases-0-site", "metastases-0-lesions"),
    "systemic_therapy": (
        "systemic_therapy-started",
        "systemic_therapy-months",
        "systemic_therapy-response",
    ),
}


def text_of(page: str) -> str:
    """Visible text, whitespace collapsed (tags and scripts dropped)."""
    page = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def submit_example(client: TestClient, stem: str) -> tuple[str, str]:
    """Load an example into the form, post what the form holds; (record id, result HTML)."""
    form = client.get("/", params={"example": stem})
    assert form.status_code == 200
    data: dict[str, list[str]] = {}
    for name, value in read_form(form.text).fields:
        data.setdefault(name, []).append(value)
    posted = client.post("/assess", data=data, follow_redirects=False)
    assert posted.status_code == 303, text_of(posted.text)[:2000]
    location = posted.headers["location"]
    assert location.startswith("/assessments/")
    result = client.get(location)
    assert result.status_code == 200
    return location.rsplit("/", 1)[1], result.text


# -- the form --------------------------------------------------------------------------


def test_form_has_a_labelled_control_for_every_patient_field(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    form = read_form(page.text)
    names = {name for name, _ in form.fields} | {"local_symptoms", "local_symptoms_controlled"}
    for field in Patient.model_fields:
        for name in FORM_NAMES.get(field, (field,)):
            assert name in names, f"no form input for {field} ({name})"
    # Every control with an id has a <label for=…> with text.
    assert form.controls
    for control_id in form.controls:
        assert form.labels.get(control_id), f"control {control_id} has no label"
    # Checkboxes are labelled by the <label> that wraps them, inside a fieldset/legend.
    checkboxes = len(LocalSymptom) + 1  # one per symptom, and "symptoms controlled"
    assert page.text.count('<label class="check"><input type="checkbox"') == checkboxes
    assert page.text.count("<fieldset") >= 6 and page.text.count("<legend") >= 6


def test_form_lists_the_examples_and_loads_one(client: TestClient) -> None:
    page = client.get("/").text
    for path in EXAMPLE_FILES:
        assert f'href="/?example={path.stem}"' in page
    loaded = read_form(client.get("/", params={"example": "palliative_bleeding"}).text)
    values = dict(loaded.fields)
    example = load_example(next(p for p in EXAMPLE_FILES if p.stem == "palliative_bleeding"))
    assert values["age"] == str(example["age"])
    assert ("local_symptoms", "bleeding") in loaded.fields
    missing = client.get("/", params={"example": "nobody"})
    assert missing.status_code == 200 and "no example named" in missing.text


def test_examples_load_in_canonical_spelling(client: TestClient) -> None:
    # discuss_stable_disease.yaml is written "Female", "Positive", "cT2": the selects
    # must still show the values, or submitting the form would lose them.
    values = dict(read_form(client.get("/?example=discuss_stable_disease").text).fields)
    assert (values["sex"], values["er"], values["t"], values["n"]) == (
        "female",
        "positive",
        "T2",
        "N1",
    )


def test_inline_errors_are_tied_to_their_inputs(client: TestClient) -> None:
    data = {"age": "12", "m": "M1", "metastases-0-lesions": "0", **form_token(client)}
    r = client.post("/assess", data=data)
    assert r.status_code == 422
    page = r.text
    for name in ("age", "sex", "er", "pr", "her2", "histology_confirmed", "metastases-0-lesions"):
        control = re.search(rf'<(?:input|select) id="{name}"[^>]*>', page)
        assert control, name
        assert 'aria-invalid="true"' in control.group(0), name
        described = re.search(r'aria-describedby="([^"]+)"', control.group(0))
        assert described, name
        for ref in described.group(1).split():
            assert f'id="{ref}"' in page, f"{name}: aria-describedby points at missing {ref}"
    assert 'role="alert"' in page and "Please correct" in page
    # What the user typed is kept.
    assert dict(read_form(page).fields)["age"] == "12"


# -- the result page ------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_each_example_gives_a_complete_result_page(
    client: TestClient, store: AuditStore, path: Path
) -> None:
    record_id, page = submit_example(client, path.stem)
    recommendation = Recommendation(expected_recommendation(path.stem))
    label = RECOMMENDATION_LABELS[recommendation]
    text = text_of(page)

    # The recommendation comes first: its heading is the page's h1, before every section.
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert h1 and html.unescape(h1.group(1)).strip() == label
    order = [
        text.index(label),
        text.index("Factors for and against local therapy"),
        text.index("Prognosis"),
        text.index("Harms of breast surgery"),
        text.index("Local control with and without local therapy"),
        text.index("The evidence behind it"),
        text.index("Versions"),
    ]
    assert order == sorted(order)

    record = store.get_assessment(record_id)
    assert record is not None and record.source == "web"
    a = record.assessment
    assert a["recommendation"] == recommendation.value
    assert record.patient_input == parse_patient(load_example(path)).model_dump(mode="json")
    assert html.unescape(a["headline"]) in text

    # Factors for and against, each finding shown.
    assert "For local therapy" in text and "Against local therapy" in text
    for factor in a["factors"]:
        assert factor["finding"] in text
    # Prognosis with its interval and source.
    prognosis = a["prognosis"]
    if prognosis["median_os_months"] is not None:
        assert f"{prognosis['median_os_months']:g}" in text
        if prognosis["interval_months"] is not None:  # contract v2: null for a single figure
            low, high = prognosis["interval_months"]
            assert f"{low:g}–{high:g} months" in text
    for study in prognosis["evidence"]:
        assert f'href="/evidence/{study}"' in page
    # Local control as icon array and as text.
    lc = a["local_control"]
    if lc["with_local_therapy_pct"] is not None:
        arrays = re.findall(r'<svg[^>]*class="icon-array"', page)
        assert len(arrays) == 2
        for pct in (lc["with_local_therapy_pct"], lc["without_local_therapy_pct"]):
            assert f"{round(pct)} out of 100 patients" in page  # the SVG's accessible name
            assert f"About {round(pct)} out of 100" in text
    assert lc["summary"] in text
    # Harms with their sources, evidence with links, versions, the disclaimer.
    assert "RR 0.99" in text and page.count('rel="noopener">source</a>') >= 3
    for study in a["evidence"]:
        assert f'href="/evidence/{study}"' in page
    if a.get("would_change"):
        assert "What would change the recommendation" in text
    assert a["versions"]["engine"] == __version__ and a["versions"]["evidence"] in text
    assert "Decision support for the tumour board" in text and DISCLAIMER in text
    # The printable tumour-board summary of the same record.
    summary = client.get(f"/assessments/{record_id}/summary")
    assert summary.status_code == 200
    summary_text = text_of(summary.text)
    assert label in summary_text and a["headline"] in summary_text
    assert "@media print" in summary.text


def test_result_page_shows_the_trials_vs_observational_forest_plot(client: TestClient) -> None:
    _, page = submit_example(client, "discuss_bone_oligometastatic")
    figure = re.search(r'<figure class="forest">(.*?)</figure>', page, re.S)
    assert figure and "<svg" in figure.group(1) and 'role="img"' in figure.group(1)
    assert 'href="/meta?outcome=overall_survival&amp;by=design"' in page


def test_history_lists_and_reopens(client: TestClient) -> None:
    first, _ = submit_example(client, "out_of_scope_m0")
    second, _ = submit_example(client, "palliative_bleeding")
    page = client.get("/history").text
    assert page.index(f'href="/assessments/{second}"') < page.index(f'href="/assessments/{first}"')
    assert "2 assessments" in text_of(page)
    reopened = client.get(f"/assessments/{first}")
    assert reopened.status_code == 200
    assert RECOMMENDATION_LABELS[Recommendation.out_of_scope] in text_of(reopened.text)
    # "Edit as new" pre-fills the form from the stored input and records a new assessment.
    edit = client.get(f"/assessments/{second}/edit")
    assert ("local_symptoms", "bleeding") in read_form(edit.text).fields
    assert client.get("/assessments/not-a-record").status_code == 404
    assert client.get("/assessments/not-a-record/summary").status_code == 404


def test_empty_history(client: TestClient) -> None:
    assert "No assessments yet" in client.get("/history").text


def test_pages_load_no_external_assets(client: TestClient) -> None:
    submit_example(client, "discuss_bone_oligometastatic")
    record_id = client.get("/api/assessments").json()["items"][0]["id"]
    for url in (
        "/",
        "/history",
        "/evidence",
        "/evidence/khan2022",
        "/meta",
        f"/assessments/{record_id}",
    ):
        page = client.get(url).text
        for tag in re.findall(r"<(?:script|link|img)\b[^>]*>", page):
            assert not re.search(r'(?:src|href)="(?:https?:)?//', tag), (url, tag)
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
            assert client.get(asset).status_code == 200, asset
    css = client.get("/static/css/locoreg.css").text
    assert "@media print" in css


# -- evidence --------------------------------------------------------------------------


def test_evidence_browser_filters_by_design_and_outcome(client: TestClient) -> None:
    everything = client.get("/evidence").text
    assert (
        'href="/evidence/badwe2015"' in everything and 'href="/evidence/harris2013"' in everything
    )
    rcts = client.get("/evidence", params={"design": "rct"}).text
    assert 'href="/evidence/badwe2015"' in rcts and 'href="/evidence/harris2013"' not in rcts
    api_rcts = client.get("/api/evidence", params={"design": "rct"}).json()["studies"]
    assert f"{len(api_rcts)} studies shown" in text_of(rcts)
    local = client.get(
        "/evidence", params={"design": "rct", "outcome": "locoregional_progression"}
    ).text
    assert 'href="/evidence/khan2022"' in local
    assert '<option value="locoregional_progression" selected>' in local
    bad = client.get("/evidence", params={"design": "anecdote"})
    assert bad.status_code == 422 and "anecdote" in html.unescape(bad.text)


def test_study_page_has_numbers_sources_and_risk_of_bias(client: TestClient) -> None:
    page = client.get("/evidence/badwe2015")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "HR 1.04" in text and "0.81–1.34 (95%)" in text
    assert "Risk of bias" in text and "RoB 2" in text
    assert re.search(r'href="https?://[^"]+"[^>]*>source</a>', page.text)
    assert client.get("/evidence/nobody2099").status_code == 404


# -- meta-analysis page --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "test", "by"),
    [("REML", "z", "design"), ("DL", "knha", "none"), ("PM", "z", "none"), ("FE", "z", "design")],
)
def test_meta_page_pools_with_the_chosen_options(
    client: TestClient, method: str, test: str, by: str
) -> None:
    r = client.get(
        "/meta", params={"outcome": "overall_survival", "method": method, "test": test, "by": by}
    )
    assert r.status_code == 200
    page = r.text
    figure = re.search(r'<figure class="forest">(.*?)</figure>', page, re.S)
    assert figure and "<svg" in figure.group(1)
    assert f'<option value="{method}" selected>' in page
    # The pooled numbers on the page are those of POST /api/meta for the rows shown.
    rows = re.findall(
        r'<tr><td><a href="/evidence/([a-z0-9_]+)">[^<]*</a></td><td>(\w+)</td>', page
    )
    assert len(rows) >= 4
    bodies = {study: body for study, body in rows}
    assert {"randomised", "observational"} == set(bodies.values())
    text = text_of(page)
    if by == "design":
        assert "Pooled: randomised" in text and "Pooled: observational" in text
        assert "test of difference between designs" in text
    else:
        assert "Pooled: all" in text
    assert f"{method} estimator" in text
    assert ("Knapp–Hartung test" if test == "knha" else "z test") in text


def test_meta_page_shows_one_study_per_data_source(client: TestClient) -> None:
    """By design, the observational pool is also shown with one study per data source."""
    from locoreg.evidence.pool import pool_by_design

    page = client.get("/meta", params={"outcome": "overall_survival", "by": "design"}).text
    text = text_of(page)
    sens = pool_by_design(outcome="overall_survival").source_sensitivity
    assert sens is not None
    lo, hi = sens.hr_ci
    row = f"Observational, one study per data source (k = 3) sensitivity {sens.hr:.2f} "
    assert row + f"{lo:.2f}–{hi:.2f}" in text
    assert "drops gnerlich2007 (SEER; warschkow2016 kept)" in text
    assert "Registry analyses of one database may share patients" in text
    figure = re.search(r'<figure class="forest">(.*?)</figure>', page, re.S)
    assert figure and "One study per data source (k = 3)" in figure.group(1)
    # pooling everything together has no design groups, so no such row
    together = text_of(client.get("/meta", params={"by": "none"}).text)
    assert "one study per data source" not in together


def test_study_page_names_the_data_source(client: TestClient) -> None:
    assert "Data source SEER" in text_of(client.get("/evidence/tan2016").text)
    assert "Data source" not in text_of(client.get("/evidence/badwe2015").text)


def test_meta_page_refuses_unknown_options(client: TestClient) -> None:
    r = client.get("/meta", params={"method": "MAGIC"})
    assert r.status_code == 422 and "MAGIC" in html.unescape(r.text)
    assert "REML" in html.unescape(r.text)


def test_form_posts_are_recorded_as_web(client: TestClient, store: AuditStore) -> None:
    data = {
        "age": "52",
        "sex": "female",
        "ecog": "1",
        "histology_confirmed": "true",
        "er": "positive",
        "pr": "positive",
        "her2": "negative",
        "t": "T2",
        "n": "N1",
        "m": "M1",
        "metastases-0-site": "bone",
        "metastases-0-lesions": "2",
        "systemic_therapy-started": "yes",
        "systemic_therapy-months": "6",
        "systemic_therapy-response": "partial_response",
        "resectable": "true",
        "surgical_risk": "standard",
        "patient_preference": "undecided",
        **form_token(client),
    }
    r = client.post("/assess", data=data, follow_redirects=False)
    assert r.status_code == 303
    (summary,) = store.list_assessments()
    record = store.get_assessment(summary.id)
    assert record is not None and record.source == "web"
    assert record.patient_input == parse_patient(DISCUSS).model_dump(mode="json")


def test_unknown_page_is_an_html_404_for_browsers_and_json_for_the_api(
    client: TestClient,
) -> None:
    page = client.get("/no-such-page", headers={"accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "No such page" in page.text and 'href="/history"' in page.text
    api = client.get("/api/no-such-thing", headers={"accept": "text/html"})
    assert api.status_code == 404 and api.json()["detail"][0]["field"] == ""


@pytest.mark.parametrize(
    ("metric", "value", "unit", "text"),
    [
        ("os_3y_percent", 68.4, "percent", "OS 3y 68.4%"),
        ("median_os_months", 54.9, "months", "median OS 54.9 months"),
        ("toxicity_per_1000", 15, "per_1000", "toxicity 15 per 1000"),
        ("deaths", 3, "count", "deaths 3"),
    ],
)
def test_arm_values_read_without_doubled_units(
    metric: str, value: float, unit: str, text: str
) -> None:
    from locoreg.web.templating import metric as _metric

    assert _metric(metric, value, unit) == text


def test_study_page_shows_arm_values_readably(client: TestClient) -> None:
    text = text_of(client.get("/evidence/khan2022").text)
    assert "local therapy: locoregional progression 3y 16.3%" in text
    assert "no local therapy: median OS 53.1 months" in text


def test_evidence_page_shows_the_snapshot_and_its_change_log(client: TestClient) -> None:
    from locoreg.evidence.base import DATA_DIR, load_evidence_base
    from locoreg.evidence.changelog import read_changelog

    base = load_evidence_base()
    log = read_changelog(DATA_DIR, base.snapshot)
    page = client.get("/evidence").text
    assert f"<code>{base.snapshot}</code>" in page and "Change log" in page
    assert log.entries and all(f"<code>{e.snapshot}</code>" in page for e in log.entries)
    # the newest entry's first change is shown as written
    assert log.entries[0].changes[0].split(";")[0] in text_of(page)


def test_result_history_and_titles_carry_the_patient_as_entered(client: TestClient) -> None:
    patient = {**DISCUSS, "label": "JD board 2026-12-01"}
    record = client.post("/api/assessments", json=patient).json()["id"]
    unlabelled = client.post("/api/assessments", json=DISCUSS).json()["id"]
    page = client.get(f"/assessments/{record}").text
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title and title.group(1).startswith("JD board 2026-12-01 · ")
    text = text_of(page)
    assert "Patient as entered" in text
    assert f"Age {DISCUSS['age']}" in text and "Metastases" in text
    other = text_of(client.get(f"/assessments/{unlabelled}").text)
    assert "Patient as entered" in other and "JD board" not in other
    history = client.get("/history").text
    rows = re.findall(r"<tr>(.*?)</tr>", history.split("<tbody>")[1], re.S)
    assert "JD board" not in rows[0] and "—" in rows[0]  # newest first: no label
    assert "JD board 2026-12-01" in rows[1] and f"/assessments/{record}" in rows[1]
    edit = client.get(f"/assessments/{record}/edit").text
    assert "<title>New assessment · JD board 2026-12-01 · locoreg</title>" in edit
