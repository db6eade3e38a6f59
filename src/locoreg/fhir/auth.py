"""CDS Hooks 2.0 request authentication: the EHR's signed JWT (PyJWT).

Every call to a CDS service carries ``Authorization: Bearer <JWT>`` signed by the
CDS client (the EHR). A token is accepted only if all of these hold:

* header ``alg`` is ES384 or RS384 (the algorithms the spec allows; ``none`` and
  HMAC are refused before any key is looked at), ``kid`` names a key (the spec
  requires it) and ``typ``, when present, is ``JWT``;
* ``iss`` is a configured issuer; its key comes from that issuer's JWKS — inline
  in the configuration, or fetched from its ``jwks_url`` (cached). A ``jku``
  header is honoured only when the URL is in that issuer's allow-list;
* the signature verifies with that key;
* ``aud`` equals the service endpoint's URL as configured (``LOCOREG_PUBLIC_URL``, else the
  address the server was started on; never derived from the request's headers);
* ``sub`` (the client id) is in the issuer's ``sub`` allow-list, when one is set;
* ``exp`` is present and not passed, ``iat`` is present (a small leeway for
  clock skew), and the token lives at most 5 minutes (``exp − iat`` ≤ 300 s, as
  CDS Hooks advises); ``jti`` is present, at most 256 characters, and not seen before from
  this issuer while the token is valid.

The last check goes through a :class:`ReplayGuard`, which records the ``(iss, jti)``
pair atomically and says whether it was new. The service uses the store's guard
(:class:`locoreg.store.SeenJti`, table ``seen_jti``), so every worker process and every
host on one database shares it and a restart forgets nothing (docs/ehr-integration.md).

Configuration: ``LOCOREG_CDS_ISSUERS`` is a JSON object mapping ``iss`` to either a
JWKS URL string, or an object ``{"jwks_url": ..., "jwks": {...}, "jku": [...],
"sub": [...]}``.
``LOCOREG_CDS_JWT=off`` turns the check off (local testing only).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import jwt

ALGORITHMS: tuple[str, ...] = ("ES384", "RS384")
LEEWAY_SECONDS = 30
JWKS_TTL_SECONDS = 300.0
# A token naming an unknown kid makes the verifier refetch the issuer's JWKS (key
# rotation); at most once per this many seconds per URL, so that a stream of tokens
# with made-up kids cannot turn the service into a JWKS-fetching loop.
JWKS_REFETCH_SECONDS = 60.0
# Longest jti accepted: the width of the replay guard's column (locoreg.store.tables).
JTI_MAX_LENGTH = 256
# Longest token lifetime accepted, exp − iat: CDS Hooks advises that a client's token
# expire within 5 minutes; a long-lived token that leaks stays usable (issue 11).
MAX_LIFETIME_SECONDS = 300
_OFF = {"off", "0", "false", "no", "disabled"}


class AuthError(Exception):
    """The request is not authenticated; ``reason`` is safe to show to the caller."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def cds_jwt_enabled(env: Mapping[str, str] | None = None) -> bool:
    """False only when ``LOCOREG_CDS_JWT`` is explicitly off (the app logs a warning)."""
    import os

    source = os.environ if env is None else env
    return source.get("LOCOREG_CDS_JWT", "on").strip().lower() not in _OFF


@dataclass(frozen=True)
class Issuer:
    """One trusted CDS client: where its keys are, and which ``jku`` URLs it may name."""

    iss: str
    jwks: Mapping[str, Any] | None = None
    jwks_url: str | None = None
    jku_allowed: frozenset[str] = frozenset()
    # Allowed ``sub`` (client id) values; empty = any ``sub`` from this issuer.
    sub_allowed: frozenset[str] = frozenset()


def parse_issuers(raw: str | Mapping[str, Any] | None) -> dict[str, Issuer]:
    """Read ``LOCOREG_CDS_ISSUERS`` (JSON text or an already-parsed mapping)."""
    if raw is None or raw == "":
        return {}
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise ValueError(f"LOCOREG_CDS_ISSUERS is not valid JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise ValueError("LOCOREG_CDS_ISSUERS must be a JSON object mapping iss to its keys")
    out: dict[str, Issuer] = {}
    for iss, spec in data.items():
        if isinstance(spec, str):
            out[iss] = Issuer(iss, jwks_url=spec)
        elif isinstance(spec, Mapping):
            jwks = spec.get("jwks")
            if jwks is None and "keys" in spec:
                jwks = spec  # a bare inline JWKS
            url = spec.get("jwks_url")
            if jwks is None and url is None:
                raise ValueError(f"LOCOREG_CDS_ISSUERS[{iss!r}] needs 'jwks_url' or 'jwks'")
            out[iss] = Issuer(
                iss,
                jwks=jwks,
                jwks_url=url,
                jku_allowed=_strings(spec.get("jku", []), f"{iss}.jku"),
                sub_allowed=_strings(spec.get("sub", []), f"{iss}.sub"),
            )
        else:
            raise ValueError(f"LOCOREG_CDS_ISSUERS[{iss!r}] must be a URL or an object")
    return out


def _strings(value: Any, where: str) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"LOCOREG_CDS_ISSUERS[{where}] must be a list of strings")
    return frozenset(value)


class ReplayGuard(Protocol):
    """Remembers each ``(iss, jti)`` until its token expires (``locoreg.store.SeenJti``)."""

    def first_use(self, issuer: str, jti: str, expires_at: float, now: float) -> bool:
        """Record the pair atomically: True if new (or its earlier token has expired),
        False if a token with this pair is still valid (a replay)."""
        ...


class JwtVerifier:
    """Verify CDS Hooks bearer tokens against the configured issuers."""

    def __init__(
        self,
        issuers: Mapping[str, Issuer],
        *,
        replay: ReplayGuard,
        http: httpx.Client | None = None,
        leeway: int = LEEWAY_SECONDS,
        jwks_ttl: float = JWKS_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        self.issuers = dict(issuers)
        self.http = http
        self.leeway = leeway
        self.jwks_ttl = jwks_ttl
        self.clock = clock
        self.replay = replay
        self._jwks: dict[str, tuple[float, Mapping[str, Any]]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, replay: ReplayGuard, **kwargs: Any) -> JwtVerifier:
        return cls(parse_issuers(env.get("LOCOREG_CDS_ISSUERS")), replay=replay, **kwargs)

    def verify_header(self, authorization: str | None, audience: str | list[str]) -> dict[str, Any]:
        """Check an ``Authorization`` header value; returns the verified claims."""
        if not authorization:
            raise AuthError("missing Authorization header (expected 'Bearer <JWT>')")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("Authorization header must be 'Bearer <JWT>'")
        return self.verify(token.strip(), audience)

    def verify(self, token: str, audience: str | list[str]) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise AuthError(f"malformed JWT: {exc}") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise AuthError(f"JWT alg {alg!r} is not allowed (allowed: {', '.join(ALGORITHMS)})")
        if not isinstance(header.get("kid"), str) or not header["kid"]:
            raise AuthError("JWT header has no 'kid' (the key id is required)")
        if header.get("typ") is not None and str(header["typ"]).upper() != "JWT":
            raise AuthError(f"JWT typ {header['typ']!r} is not allowed (expected 'JWT')")
        iss = unverified.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise AuthError(f"JWT issuer {iss!r} is not trusted")
        key = self._key(issuer, header)
        # Taken before PyJWT checks exp: a pair that the replay guard finds expired at this
        # instant belongs to a token that the exp check below refuses.
        now = self.clock()
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=audience,
                issuer=issuer.iss,
                leeway=self.leeway,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("JWT has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError("JWT aud does not match this service's URL") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"JWT is missing the required claim {exc.claim!r}") from None
        except jwt.InvalidSignatureError:
            raise AuthError("JWT signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"JWT rejected: {exc}") from None
        lifetime = float(claims["exp"]) - float(claims["iat"])
        if lifetime > MAX_LIFETIME_SECONDS:
            raise AuthError(
                f"JWT lifetime exp - iat is {lifetime:g} s; at most {MAX_LIFETIME_SECONDS} s "
                "is accepted"
            )
        if issuer.sub_allowed and claims.get("sub") not in issuer.sub_allowed:
            raise AuthError(f"JWT sub {claims.get('sub')!r} is not allowed for this issuer")
        jti = str(claims["jti"])
        if len(jti) > JTI_MAX_LENGTH:
            raise AuthError(f"JWT jti is longer than {JTI_MAX_LENGTH} characters")
        # Last, so that a token refused for any other reason does not use up its jti.
        # From exp + leeway on, the token is refused as expired by every verifier, so its
        # pair need not be remembered beyond that.
        expires_at = float(claims["exp"]) + self.leeway
        if not self.replay.first_use(issuer.iss, jti, expires_at, now):
            raise AuthError("JWT jti has been used before (replay)")
        return claims

    # Keys

    def _key(self, issuer: Issuer, header: Mapping[str, Any]) -> Any:
        jku = header.get("jku")
        if jku is not None:
            allowed = issuer.jku_allowed | ({issuer.jwks_url} if issuer.jwks_url else set())
            if jku not in allowed:
                raise AuthError(f"JWT jku {jku!r} is not allowed for issuer {issuer.iss!r}")
            jwks = self._fetch(str(jku))
        elif issuer.jwks is not None:
            jwks = issuer.jwks
        elif issuer.jwks_url is not None:
            jwks = self._fetch(issuer.jwks_url)
        else:  # pragma: no cover - parse_issuers guarantees one of them
            raise AuthError(f"no keys configured for issuer {issuer.iss!r}")
        kid = header.get("kid")
        found = _find_key(jwks, kid, header.get("alg"))
        if found is None and jku is None and issuer.jwks is None and issuer.jwks_url:
            # Key rotation: the cached set may be stale; refetch once.
            found = _find_key(self._fetch(issuer.jwks_url, force=True), kid, header.get("alg"))
        if found is None:
            raise AuthError(f"no key with kid {kid!r} in the JWKS of issuer {issuer.iss!r}")
        try:
            return jwt.PyJWK(dict(found), algorithm=header.get("alg")).key
        except jwt.PyJWTError as exc:
            raise AuthError(f"JWKS key {kid!r} is unusable: {exc}") from None

    def _fetch(self, url: str, *, force: bool = False) -> Mapping[str, Any]:
        now = self.clock()
        with self._lock:
            cached = self._jwks.get(url)
            if cached is not None:
                age = now - cached[0]
                if age < (JWKS_REFETCH_SECONDS if force else self.jwks_ttl):
                    return cached[1]
        client = self.http or httpx.Client(timeout=5.0)
        try:
            response = client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            jwks = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise AuthError(f"cannot fetch the JWKS at {url}: {type(exc).__name__}") from None
        finally:
            if self.http is None:
                client.close()
        if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
            raise AuthError(f"the document at {url} is not a JWKS")
        with self._lock:
            self._jwks[url] = (now, jwks)
        return jwks


def _find_key(jwks: Mapping[str, Any], kid: Any, alg: Any) -> Mapping[str, Any] | None:
    keys = [k for k in jwks.get("keys") or [] if isinstance(k, Mapping)]
    if kid is not None:
        keys = [k for k in keys if k.get("kid") == kid]
    elif len(keys) != 1:
        return None  # without kid, only an unambiguous single-key set is usable
    keys = [k for k in keys if k.get("alg") in (None, alg)]
    return keys[0] if keys else None
