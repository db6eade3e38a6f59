"""The OpenAPI document describes the CDS Hooks endpoints: request schemas and the
400/401/412 answers (issue 11, point 3), from the pydantic models the service validates with."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from locoreg.store import AuditStore
from locoreg.web.app import create_app
from locoreg.web.settings import Settings

SERVICE = "/cds-services/locoreg-primary-tumour"
FEEDBACK = f"{SERVICE}/feedback"


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    path: Path = tmp_path_factory.mktemp("openapi") / "audit.sqlite"
    store = AuditStore(f"sqlite:///{path}")
    # module-scoped: the autouse Host fixture of tests/conftest.py is not active yet
    settings = Settings.from_env(
        {"LOCOREG_ALLOWED_HOSTS": "testserver"}, database_url=f"sqlite:///{path}"
    )
    with TestClient(create_app(settings, store)) as client:
        document: dict[str, Any] = client.get("/openapi.json").json()
    store.close()
    yield document


def request_schema(openapi: dict[str, Any], path: str) -> Draft202012Validator:
    body = openapi["paths"][path]["post"]["requestBody"]
    assert body["required"] is True
    return Draft202012Validator(body["content"]["application/json"]["schema"])


def test_cds_endpoints_document_their_problem_answers(openapi: dict[str, Any]) -> None:
    problems = openapi["components"]["schemas"]["Problems"]
    assert problems["required"] == ["detail"]
    problem = openapi["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) == {"field", "message", "allowed"}
    for path, statuses in ((SERVICE, {"400", "401", "412"}), (FEEDBACK, {"400", "401"})):
        responses = openapi["paths"][path]["post"]["responses"]
        assert statuses <= set(responses), path
        for status in statuses:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problems"}
            assert responses[status]["description"]


def test_the_documented_request_schema_is_the_one_enforced(
    openapi: dict[str, Any],
    make_hook_request: Callable[..., dict[str, Any]],
    load_example: Callable[[str], dict[str, Any]],
) -> None:
    schema = request_schema(openapi, SERVICE)
    valid = make_hook_request(load_example("discuss_local_therapy"))
    assert list(schema.iter_errors(valid)) == []
    assert schema.schema["required"] == ["hook", "hookInstance", "context"]
    context = schema.schema["properties"]["context"]
    assert context["required"] == ["userId", "patientId"]
    for broken in (
        {**valid, "hook": "order-sign"},
        {**valid, "context": {"userId": "Practitioner/1"}},
        {k: v for k, v in valid.items() if k != "hookInstance"},
    ):
        assert list(schema.iter_errors(broken)), broken


def test_the_documented_feedback_schema(openapi: dict[str, Any]) -> None:
    schema = request_schema(openapi, FEEDBACK)
    item = {"card": "c-1", "outcome": "accepted", "outcomeTimestamp": "2026-11-04T10:15:00Z"}
    assert list(schema.iter_errors({"feedback": [item]})) == []
    assert list(schema.iter_errors({"feedback": [{**item, "outcome": "ignored"}]}))
