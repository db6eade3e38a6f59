"""``POST /api/meta`` never answers 500: bounded input, numeric failures as 422.

The examples are the ones a hospital integration test found answering 500 (variance
ratios near 1e15 or 1e-200, ``ci_level`` 1e-9, ML on extreme ``yi``) and the in-range
failures the generator of ``web.generators`` finds (a division by a vanishing sum of
weights, a singular matrix, an iterative τ² estimator that does not converge). Then a
bounded generated run: two hundred requests, every answer below 500 and every 422 in
the documented shape.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings

from web.generators import encode, meta_bodies

JSON = {"content-type": "application/json"}


def _problems(client: TestClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = client.post("/api/meta", content=encode(body), headers=JSON)
    assert r.status_code == 422, (body, r.status_code, r.text[:300])
    problems: list[dict[str, Any]] = r.json()["detail"]
    for p in problems:
        assert {"field", "message"} <= set(p) <= {"field", "message", "allowed"}
        assert p["message"]
    return problems


@pytest.mark.parametrize(
    ("body", "field", "allowed"),
    [
        ({"yi": [0.1, 0.2, 0.3], "vi": [1e-200, 1.0, 1.0]}, "vi.0", "1e-12 to 1e+12"),
        ({"yi": [0.1, 0.2, 0.3], "vi": [1e15, 1.0, 1.0]}, "vi.0", "1e-12 to 1e+12"),
        (
            {"hr": [0.5, 0.8], "ci_low": [0.3, 0.6], "ci_high": [0.9, 1.1], "ci_level": 1e-9},
            "ci_level",
            "0.5 to 0.9999",
        ),
        ({"yi": [1e150, -1e150, 0.0], "vi": [1, 1, 1], "method": "ML"}, "yi.0", "-1e+06 to 1e+06"),
        ({"yi": [0.1], "vi": [1.0], "level": 1.0}, "level", "0.5 to 0.9999"),
        ({"yi": [float("nan")], "vi": [1.0]}, "yi.0", "-1e+06 to 1e+06"),
        ({"hr": [float("inf")], "ci_low": [1.0], "ci_high": [2.0]}, "hr.0", "1e-06 to 1e+06"),
    ],
)
def test_values_outside_the_accepted_range_name_field_and_range(
    client: TestClient, body: dict[str, Any], field: str, allowed: str
) -> None:
    problem = _problems(client, body)[0]
    assert (problem["field"], problem["allowed"]) == (field, allowed)


@pytest.mark.parametrize(
    "body",
    [
        {"yi": [1e6, 1.0], "vi": [1e12, 1.0]},  # ZeroDivisionError in REML
        {"yi": [-1.095785339121229, 1.0, 0.0], "vi": [1e-12, 1e12, 1.0]},  # sqrt of < 0
        {"yi": [0.0, 0.0], "vi": [1.0, 1e-12], "method": "HE", "test": "knha"},  # singular
    ],
)
def test_fits_that_fail_in_floating_point_say_what_to_check(
    client: TestClient, body: dict[str, Any]
) -> None:
    (problem,) = _problems(client, body)
    assert problem["field"] == "vi"
    assert "orders of magnitude" in problem["message"] and "check yi and vi" in problem["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"yi": [1e6, -1e6], "vi": [1e12, 1.0]},
        {"yi": [0.0, -1e6, -3.16, 0.0], "vi": [1e-12] * 4, "method": "ML"},
        {
            "yi": [-2.618296910748836e-05, -0.06255725017736598, -1e-12, 1e6],
            "vi": [1e-12] * 4,
            "method": "EB",
        },
    ],
)
def test_a_tau2_estimator_that_does_not_converge_suggests_a_closed_form_one(
    client: TestClient, body: dict[str, Any]
) -> None:
    (problem,) = _problems(client, body)
    assert problem["field"] == "method"
    assert "did not converge" in problem["message"]
    assert problem["allowed"] == "DL, HE, SJ, HS, FE"
    # ... and the suggestion works.
    r = client.post("/api/meta", json={**body, "method": "DL"})
    assert r.status_code == 200, r.text


def test_subgroups_need_two_levels(client: TestClient) -> None:
    (problem,) = _problems(client, {"yi": [0.1, 0.2], "vi": [0.1, 0.1], "by": ["a", "a"]})
    assert problem["field"] == "by"


@settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=meta_bodies())
def test_generated_requests_never_answer_500(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post("/api/meta", content=encode(body), headers=JSON)
    assert r.status_code in (200, 422), (body, r.status_code, r.text[:300])
    if r.status_code == 422:
        assert all(p["field"] is not None and p["message"] for p in r.json()["detail"])


def test_openapi_describes_the_error_body(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    problem = doc["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) == {"field", "message", "allowed"}
    with_422 = [
        (path, method, op["responses"]["422"])
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if "422" in op["responses"]
    ]
    assert ("/api/meta", "post") in {(p, m) for p, m, _ in with_422}
    for path, method, answer in with_422:
        schema = answer["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Problems"}, (path, method)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    meta = doc["components"]["schemas"]["MetaRequest"]["properties"]
    assert meta["vi"]["anyOf"][0]["items"] == {
        "type": "number",
        "minimum": 1e-12,
        "maximum": 1e12,
    }
