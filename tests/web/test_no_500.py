"""No input produces a 500: schemathesis against /openapi.json, hypothesis against the pages.

Bounded and deterministic: a fixed number of examples per operation, derandomised,
no deadline (the first meta-analysis call imports scipy). Every answer must be a
documented kind of refusal or success, never a server error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from locoreg.patient import LocalSymptom, MetastaticSite
from web.support import form_token, make_app, patch_hypothesis_jsonschema

EXAMPLES_PER_OPERATION = 20
patch_hypothesis_jsonschema()


@pytest.fixture
def fuzz_app(tmp_path: Path) -> Iterator[FastAPI]:
    app, store = make_app(tmp_path)
    yield app
    store.close()


@pytest.fixture
def web_schema(fuzz_app: FastAPI) -> Any:
    # FastAPI writes OpenAPI 3.1; schemathesis 3 reads it with its 3.0 machinery (the
    # document uses no 3.1-only keyword that would change the generated requests).
    return schemathesis.from_asgi("/openapi.json", fuzz_app, force_schema_version="30")


schema = schemathesis.from_pytest_fixture("web_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_never_answers_500(case: Any) -> None:
    response = case.call()
    case.validate_response(response, checks=(not_a_server_error,))
    assert response.status_code < 500, (case.method, case.path, response.text[:300])


# The HTML form is not in the OpenAPI document: fuzz it with plausible and wild values.
_FORM_NAMES = [
    "age",
    "sex",
    "ecog",
    "histology_confirmed",
    "er",
    "pr",
    "her2",
    "t",
    "n",
    "m",
    "surgical_risk",
    "resectable",
    "patient_preference",
    "systemic_therapy-started",
    "systemic_therapy-months",
    "systemic_therapy-response",
    "local_symptoms_controlled",
    "metastases-0-site",
    "metastases-0-lesions",
    "metastases-7-site",
    "metastases-99-lesions",
    "unexpected",
]
_VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "52",
            "-1",
            "1e309",
            "nan",
            "female",
            "M1",
            "M0",
            "true",
            "yes",
            "positive",
            "unknown",
            "T4d",
            "N3c",
            "partial_response",
            *(s.value for s in MetastaticSite),
        ]
    ),
    st.text(max_size=12),
)


@pytest.fixture
def form_client(fuzz_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(fuzz_app, raise_server_exceptions=False) as c:
        yield c


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(
    fields=st.dictionaries(st.sampled_from(_FORM_NAMES), _VALUES, max_size=len(_FORM_NAMES)),
    symptoms=st.lists(st.sampled_from([*(s.value for s in LocalSymptom), "itch"]), max_size=3),
)
def test_form_never_answers_500(
    form_client: TestClient, fields: dict[str, str], symptoms: list[str]
) -> None:
    token = form_token(form_client)  # a real user's form carries it; CSRF has its own tests
    r = form_client.post(
        "/assess", data={**fields, **token, "local_symptoms": symptoms}, follow_redirects=False
    )
    assert r.status_code in (303, 422), r.text[:500]


@pytest.mark.parametrize(
    "url",
    [
        "/?example=../../etc/passwd",
        "/?example=%00",
        "/history?page=-5",
        "/history?page=999999999999999999999",
        "/history?page=abc",
        "/evidence?design=%FF&outcome=",
        "/evidence/..%2F..%2Fsecrets",
        "/meta?outcome=nothing&method=&test=&by=",
        "/assessments/%27%20OR%201=1--",
        "/assessments/x/edit",
    ],
)
def test_pages_never_answer_500(form_client: TestClient, url: str) -> None:
    r = form_client.get(url)
    assert r.status_code < 500, (url, r.text[:300])
