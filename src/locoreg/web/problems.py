"""HTTP error answers: every problem as ``{"field", "message", "allowed"?}``.

The API answers 422 with ``{"detail": [...]}`` listing every problem at once, with
the same field paths and words as the CLI (``locoreg.errors.FieldError``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from locoreg.errors import FieldError, InputError, pydantic_errors

log = logging.getLogger("locoreg.web")


def validation_errors(errors: Iterable[dict[str, Any]]) -> list[FieldError]:
    """FastAPI/pydantic error dicts → :class:`FieldError` (the CLI's translator and words)."""
    return pydantic_errors(errors)


def problem_response(errors: Iterable[FieldError], status_code: int = 422) -> JSONResponse:
    return JSONResponse({"detail": [e.as_dict() for e in errors]}, status_code=status_code)


async def on_request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(validation_errors(exc.errors()))


async def on_input_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputError)
    return problem_response(exc.errors)


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
        from locoreg.web.pages import templates

        return templates.TemplateResponse(
            request, "not_found.html", {"what": "page"}, status_code=404
        )
    detail = exc.detail if isinstance(exc.detail, str) else "request refused"
    response = problem_response([FieldError("", detail)], status_code=exc.status_code)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Last resort: log the exception type and the route, never the body (patient data)."""
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return problem_response(
        [FieldError("", "internal error; the request was not processed")], status_code=500
    )
