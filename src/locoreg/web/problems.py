"""HTTP error answers: every problem as ``{"field", "message", "allowed"?}``.

The API answers 422 with ``{"detail": [...]}`` listing every problem at once, with
the same field paths and words as the CLI (``locoreg.errors.FieldError``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from locoreg.errors import FieldError, InputError, pydantic_errors
from locoreg.web.templating import templates


def validation_errors(errors: Iterable[dict[str, Any]]) -> list[FieldError]:
    """FastAPI/pydantic error dicts → :class:`FieldError` (the CLI's translator and words)."""
    return pydantic_errors(errors)


class Problem(BaseModel):
    """One problem with the request (``locoreg.errors.FieldError``)."""

    field: str = Field(
        description="path of the field, e.g. ``metastases.0.site`` or ``hr.3``; empty when "
        "the problem is the request as a whole"
    )
    message: str = Field(description="what is wrong, in the CLI's words")
    allowed: str | None = Field(None, description="what would be accepted, when it can be said")


class Problems(BaseModel):
    """The body of every error answer (4xx, 5xx): all problems found at once."""

    detail: list[Problem]


#: OpenAPI ``responses`` entries: 422 for routes with parameters or a body, 413/415 with a body.
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": Problems, "description": "Invalid input: every problem with its field path"},
}
BODY_REFUSED: dict[int | str, dict[str, Any]] = {
    413: {"model": Problems, "description": "Request body above the configured limit"},
    415: {"model": Problems, "description": "Request body not sent as JSON"},
}


def problem_response(errors: Iterable[FieldError], status_code: int = 422) -> JSONResponse:
    return JSONResponse({"detail": [e.as_dict() for e in errors]}, status_code=status_code)


async def on_request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(validation_errors(exc.errors()))


async def on_input_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputError)
    return problem_response(exc.errors)


async def on_pdf_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """A PDF asked of a server without WeasyPrint/Pango: 503 saying what to install."""
    return problem_response([FieldError("", str(exc))], 503)


_API_PREFIXES = ("/api/", "/cds-services", "/healthz", "/openapi.json", "/static/")


def _wants_page(request: Request) -> bool:
    """A browser asking for a page (not the API) gets the HTML "not found" page."""
    path = request.url.path
    accept = request.headers.get("accept", "")
    return request.method == "GET" and "text/html" in accept and not path.startswith(_API_PREFIXES)


async def on_http_error(request: Request, exc: Exception) -> Response:
    """404/405/… from routing in the same shape as every other error (``Allow`` kept).

    A browser's GET of an unknown page gets the site's HTML "not found" page instead.
    """
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and _wants_page(request):
        return templates.TemplateResponse(
            request, "not_found.html", {"what": "page"}, status_code=404
        )
    detail = exc.detail if isinstance(exc.detail, str) else "request refused"
    response = problem_response([FieldError("", detail)], status_code=exc.status_code)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response
