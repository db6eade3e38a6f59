"""Transport hardening as plain ASGI middleware: headers, trusted hosts, body limit, 500s.

Outermost first (``install``):

1. :class:`SecurityHeaders` — every answer carries a Content-Security-Policy (scripts
   and styles from this origin only, no framing: ``frame-ancestors 'none'``),
   ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and
   ``X-Frame-Options: DENY``; every answer outside ``/static/`` is ``Cache-Control:
   no-store`` (pages, records and API answers may carry patient data).
2. :class:`ServerErrors` — an exception escaping a route becomes a JSON 500 in the
   API's error shape, logged with its type and route only (never the body: patient
   data). It is answered here instead of by Starlette's last-resort handler, which
   re-raises after answering, so that uvicorn does not close the keep-alive connection
   and the client's next request still works.
3. :class:`TrustedHosts` — a ``Host`` outside ``Settings.allowed_hosts`` is refused
   (400) before any route runs: a DNS-rebinding page cannot reach a service on
   127.0.0.1 under its own name.
4. :class:`BodyLimit` — a body above ``Settings.max_body_bytes`` is refused with 413,
   from ``Content-Length`` before it is read, or while it is read (chunked uploads).
5. :class:`JsonBodies` — a POST to the API or CDS Hooks must say it is JSON
   (``application/json`` or ``application/*+json``), else 415. FastAPI would parse a body
   without ``Content-Type`` as JSON, and a page on another site can send one (a ``Blob``
   body in a no-CORS ``fetch``) without a preflight: this is the API's CSRF defence.
   The HTML form has its own token (:mod:`locoreg.web.csrf`).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from locoreg.errors import FieldError
from locoreg.web.problems import problem_response
from locoreg.web.settings import Settings

log = logging.getLogger("locoreg.web")

#: Vendored assets only. ``'unsafe-inline'`` for styles because the inline SVG figures
#: (matplotlib's forest plot) style their elements with ``style`` attributes; scripts,
#: the risky kind, come only from ``/static/``.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
_NO_STORE = (b"cache-control", b"no-store")


def install(app: Any, settings: Settings) -> None:
    """Add the middlewares to a Starlette/FastAPI app (the last added is outermost)."""
    app.add_middleware(JsonBodies)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(TrustedHosts, allowed=settings.allowed_hosts)
    app.add_middleware(ServerErrors)
    app.add_middleware(SecurityHeaders)


class _HttpMiddleware:
    """Pass anything but HTTP (lifespan, websockets) through; subclasses handle HTTP."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class SecurityHeaders(_HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        cacheable = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [*_HEADERS] if cacheable else [*_HEADERS, _NO_STORE]
                headers += [(name, value) for name, value in extra if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ServerErrors(_HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            # Type and route only: the message and the traceback may quote patient data.
            log.error("unexpected %s on %s %s", type(exc).__name__, scope["method"], scope["path"])
            if started:  # half an answer is out: only closing the connection is honest
                raise
            response = problem_response(
                [FieldError("", "internal error; the request was not processed")], 500
            )
            await response(scope, receive, send)


def _host_name(host_header: str) -> str:
    """``"Example.org:8000"`` → ``"example.org"``; ``"[::1]:8000"`` → ``"::1"``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class TrustedHosts(_HttpMiddleware):
    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        super().__init__(app)
        self.allowed = frozenset(allowed)
        self.any = "*" in self.allowed

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.any:
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")
        if _host_name(host) in self.allowed:
            await self.app(scope, receive, send)
            return
        response = problem_response(
            [
                FieldError(
                    "Host",
                    "this server does not answer to this host name",
                    "the host of LOCOREG_PUBLIC_URL, a name in LOCOREG_ALLOWED_HOSTS, "
                    "or 127.0.0.1 / localhost",
                )
            ],
            400,
        )
        await response(scope, receive, send)


class BodyLimit(_HttpMiddleware):
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # Raised inside the route's body read: FastAPI passes an
                    # HTTPException through, and the app's handler answers 413.
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, counted, send)

    def _message(self) -> str:
        return f"the request body is larger than {self.max_bytes} bytes"

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            [FieldError("", self._message(), f"at most {self.max_bytes} bytes")], 413
        )
        response.headers["connection"] = "close"  # the unread body must not be parsed as a request
        await response(scope, receive, send)


_JSON_PREFIXES = ("/api/", "/cds-services")


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


class JsonBodies(_HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["method"] not in ("POST", "PUT", "PATCH")
            or not scope["path"].startswith(_JSON_PREFIXES)
            or _is_json(_header(scope, b"content-type"))
        ):
            await self.app(scope, receive, send)
            return
        response = problem_response(
            [
                FieldError(
                    "Content-Type",
                    "the request body must be sent as JSON",
                    "application/json, application/fhir+json",
                )
            ],
            415,
        )
        await response(scope, receive, send)


def _header(scope: MutableMapping[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""
