"""CDS Hooks 2.0 wire shapes of the ``patient-view`` service: request, feedback, problems.

Pydantic models of the parts of the spec this service relies on
(https://cds-hooks.hl7.org/2.0/#http-request-1, #feedback). Keys a client may add
beyond them are ignored. :func:`hook_request_problems` and :func:`feedback_problems` turn
a body into the :class:`~locoreg.errors.FieldError` list of a 400 answer, each naming
its field (``context.patientId``, ``feedback.0.outcome``); the same models give the
OpenAPI document its request schemas (:func:`inline_schema`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from locoreg.errors import FieldError, field_errors

# the one error body of the service, re-exported for the CDS routes
from locoreg.web.problems import Problem as Problem
from locoreg.web.problems import Problems as Problems

HOOK = "patient-view"

NonEmpty = Annotated[StrictStr, Field(min_length=1)]


def _http_base(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be the http(s) base URL of the FHIR server")
    return value


def _resource_or_null(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and not isinstance(value.get("resourceType"), str):
        raise ValueError("must be a FHIR resource or null")
    return value


def _coding(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and not (
        isinstance(value.get("code"), str) and isinstance(value.get("system"), str)
    ):
        raise ValueError("must be a Coding (system, code)")
    return value


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class HookContext(_Wire):
    """``context`` of ``patient-view``."""

    userId: NonEmpty = Field(description="FHIR reference of the user, e.g. Practitioner/123")
    patientId: NonEmpty = Field(description="FHIR id of the patient whose chart is open")
    encounterId: StrictStr | None = None


class FhirAuthorization(_Wire):
    """The OAuth 2.0 access token the service may use to read ``fhirServer``."""

    access_token: StrictStr
    token_type: Literal["Bearer"]
    expires_in: StrictInt
    scope: StrictStr
    subject: StrictStr
    patient: StrictStr | None = None


class HookRequest(_Wire):
    """A ``patient-view`` call. ``prefetch`` is keyed by the discovery's templates; a key
    the client could not fill is ``null`` or absent, and the service reads it from
    ``fhirServer`` (only a server it may send the token to: docs/ehr-integration.md)."""

    hook: Literal["patient-view"]
    hookInstance: NonEmpty = Field(description="UUID of this hook call")
    context: HookContext
    fhirServer: Annotated[StrictStr, AfterValidator(_http_base)] | None = None
    fhirAuthorization: FhirAuthorization | None = None
    prefetch: (
        dict[str, Annotated[dict[str, Any] | None, AfterValidator(_resource_or_null)]] | None
    ) = None


class OverrideReason(_Wire):
    reason: Annotated[dict[str, Any] | None, AfterValidator(_coding)] = Field(
        default=None, description="a Coding from the card's overrideReasons"
    )
    userComment: StrictStr | None = None


class FeedbackItem(_Wire):
    """One card's outcome (CDS Hooks 2.0 feedback)."""

    card: NonEmpty = Field(description="uuid of the card")
    outcome: Literal["accepted", "overridden"]
    outcomeTimestamp: StrictStr = Field(description="ISO 8601 instant")
    overrideReason: OverrideReason | None = None
    acceptedSuggestions: list[Any] | None = None

    @field_validator("overrideReason")
    @classmethod
    def _only_when_overridden(
        cls, value: OverrideReason | None, info: ValidationInfo
    ) -> OverrideReason | None:
        if value is not None and info.data.get("outcome", "overridden") != "overridden":
            raise ValueError("only allowed when outcome is overridden")
        return value


class Feedback(_Wire):
    feedback: list[FeedbackItem]


def hook_request_problems(body: Any) -> list[FieldError]:
    """Why ``body`` is not a usable ``patient-view`` request (empty: it is)."""
    problems = _problems(HookRequest, body)
    # Cross-field: checked on the raw body so that it is reported together with any
    # problem inside fhirAuthorization itself.
    if (
        isinstance(body, Mapping)
        and body.get("fhirAuthorization") is not None
        and not body.get("fhirServer")
    ):
        problems.append(FieldError("fhirServer", "required when fhirAuthorization is given"))
    return problems


def feedback_problems(body: Any) -> list[FieldError]:
    """Why ``body`` is not a usable feedback call (empty: it is)."""
    return _problems(Feedback, body)


def _problems(model: type[_Wire], body: Any) -> list[FieldError]:
    if not isinstance(body, Mapping):
        return [FieldError("", "the request body must be a JSON object")]
    try:
        model.model_validate(body)
    except ValidationError as exc:
        return field_errors(exc)
    return []


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with its ``$defs`` written in place, for an OpenAPI
    ``requestBody`` (a ``#/$defs/...`` reference would not resolve inside the document)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
