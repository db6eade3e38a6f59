"""CSRF protection of the HTML form: a signed double-submit token.

The form page sets a cookie ``locoreg_csrf`` (HttpOnly, SameSite=Lax, Secure over
HTTPS) holding ``nonce.signature`` with ``signature = HMAC-SHA256(secret, nonce)``,
and puts the same value in a hidden field. ``POST /assess`` is accepted only when the
field equals the cookie and the signature is the server's. A page on another site can
make the browser post the form, but can neither read the cookie nor forge a signed
value (OWASP Cross-Site Request Forgery Prevention Cheat Sheet, "signed double-submit
cookie"). The secret is ``Settings.secret_key`` (``LOCOREG_SECRET_KEY``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

COOKIE = "locoreg_csrf"
FIELD = "csrf_token"


def _signature(secret: bytes, nonce: str) -> str:
    return hmac.new(secret, nonce.encode(), hashlib.sha256).hexdigest()


def _is_signed(secret: bytes, token: str) -> bool:
    nonce, _, signature = token.partition(".")
    return bool(nonce) and hmac.compare_digest(signature, _signature(secret, nonce))


def token(request: Request, secret: bytes) -> str:
    """The browser's current token if this server signed it, else a new one."""
    current = request.cookies.get(COOKIE, "")
    if _is_signed(secret, current):
        return current
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_signature(secret, nonce)}"


def set_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def verified(request: Request, secret: bytes, submitted: str) -> bool:
    cookie = request.cookies.get(COOKIE, "")
    return (
        bool(submitted)
        and hmac.compare_digest(cookie.encode(), submitted.encode())
        and _is_signed(secret, cookie)
    )
