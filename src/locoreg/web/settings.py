"""Web-app settings, read once from the environment (and the ``serve`` options).

- ``LOCOREG_DATABASE_URL``: audit store URL (default: a SQLite file in the user data
  directory; PostgreSQL for shared use).
- ``LOCOREG_CDS_JWT``: ``off`` disables the CDS Hooks JWT check (local testing only).
- ``LOCOREG_EXAMPLES_DIR``: the "load example" patients (default: packaged or the
  repository's ``examples/patients``).
- CDS Hooks and FHIR reads: see :class:`CdsSettings` (``LOCOREG_PUBLIC_URL``,
  ``LOCOREG_CDS_ISSUERS``, ``LOCOREG_CDS_FHIR_SERVERS``, ``LOCOREG_CDS_FHIR_DEADLINE``,
  ``LOCOREG_SMART_LAUNCH_URL``).
- Hardening (``locoreg.web.hardening``; docs/web.md, deployment checklist):
  ``LOCOREG_MAX_BODY_BYTES`` (request body limit, default 2 MiB; above it 413),
  ``LOCOREG_ALLOWED_HOSTS`` (comma-separated ``Host`` names besides the loopback names
  and the host of ``LOCOREG_PUBLIC_URL``; ``*`` switches the check off),
  ``LOCOREG_SECRET_KEY`` (signs the form's CSRF token; default a random key per
  process, so set it when several processes serve one site).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

_OFF = {"off", "0", "false", "no", "disabled"}

# -- hardening (body limit, trusted hosts, CSRF secret) -----------------------------
#: Names a browser uses for this machine; an attacker's page cannot make a browser send
#: them for its own site (DNS rebinding sends the attacker's name as ``Host``).
LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024


def _max_body_bytes(env: Mapping[str, str]) -> int:
    from locoreg.errors import InputError

    raw = env.get("LOCOREG_MAX_BODY_BYTES", "").strip()
    if not raw:
        return DEFAULT_MAX_BODY_BYTES
    if not raw.isdigit() or int(raw) < 1024:
        raise InputError.single(
            "LOCOREG_MAX_BODY_BYTES",
            f"{raw!r} is not a whole number of bytes ≥ 1024",
            "e.g. 2097152",
        )
    return int(raw)


def _allowed_hosts(env: Mapping[str, str], own_url: str | None) -> tuple[str, ...]:
    """Loopback names, the host of the service's own URL (``LOCOREG_PUBLIC_URL``, else the
    address ``serve`` was started on) and ``LOCOREG_ALLOWED_HOSTS`` (lower case)."""
    from urllib.parse import urlsplit

    hosts = list(LOOPBACK_HOSTS)
    for url in (env.get("LOCOREG_PUBLIC_URL", "").strip(), own_url or ""):
        if host := urlsplit(url).hostname:
            hosts.append(host)
    hosts += [h.strip() for h in env.get("LOCOREG_ALLOWED_HOSTS", "").split(",") if h.strip()]
    return tuple(dict.fromkeys(h.lower().strip("[]") for h in hosts))


def _examples_dir() -> Path | None:
    here = Path(__file__).resolve()
    for candidate in (
        here.parents[1] / "examples" / "patients",  # packaged with the wheel
        here.parents[3] / "examples" / "patients",  # editable install from the repository
    ):
        if candidate.is_dir():
            return candidate
    return None


# --- CDS Hooks and FHIR reads (docs/ehr-integration.md, "Deployment checklist") ---------

# Every FHIR read of one hook call shares one deadline (an EHR waits for the card while
# the chart opens); configuration may lower it, never raise it.
MAX_FHIR_DEADLINE_SECONDS = 8.0
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


def bound_url(host: str, port: int) -> str | None:
    """The service's base URL from the address ``locoreg serve`` binds, or None when it
    binds every interface (0.0.0.0, ::): then no one address is the service's own."""
    if host in _WILDCARD_HOSTS:
        return None
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def _http_url(value: str, name: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{name} must be an http(s) URL, got {value!r}")
    return value.strip().rstrip("/")


class CdsSettings(BaseModel):
    """Typed configuration of the CDS Hooks service, built once from the environment.

    * ``public_url`` — the service's own base URL: ``LOCOREG_PUBLIC_URL``, else the
      address ``locoreg serve`` was started on. The JWT ``aud`` is checked against it and
      never against the request's Host / X-Forwarded headers; None (bound to every
      interface, or an app built without ``serve``) refuses every token.
    * ``issuers`` — ``LOCOREG_CDS_ISSUERS`` (JSON, read by :mod:`locoreg.fhir.auth`).
    * ``fhir_servers`` — ``LOCOREG_CDS_FHIR_SERVERS`` (comma-separated base URLs): the
      only FHIR servers that receive the EHR's access token. Empty: only the hook's own
      ``fhirServer`` origin, and never a loopback, link-local or this service's origin.
    * ``fhir_deadline_seconds`` — ``LOCOREG_CDS_FHIR_DEADLINE``: one deadline for all
      FHIR reads of one hook call (default and maximum 8 s).
    * ``smart_launch_url`` — ``LOCOREG_SMART_LAUNCH_URL``: the SMART app link on cards.
    """

    model_config = ConfigDict(frozen=True)

    public_url: str | None = None
    issuers: str | None = None
    fhir_servers: tuple[str, ...] = ()
    fhir_deadline_seconds: float = MAX_FHIR_DEADLINE_SECONDS
    smart_launch_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, listen_url: str | None = None) -> CdsSettings:
        """Raises ``ValueError`` naming the variable when a value cannot be used."""
        public = env.get("LOCOREG_PUBLIC_URL", "").strip()
        raw_deadline = env.get("LOCOREG_CDS_FHIR_DEADLINE", "").strip()
        try:
            deadline = float(raw_deadline) if raw_deadline else MAX_FHIR_DEADLINE_SECONDS
        except ValueError:
            deadline = -1.0
        if not 0 < deadline <= MAX_FHIR_DEADLINE_SECONDS:
            raise ValueError(
                f"LOCOREG_CDS_FHIR_DEADLINE must be seconds in (0, {MAX_FHIR_DEADLINE_SECONDS:g}],"
                f" got {raw_deadline!r}"
            )
        servers = env.get("LOCOREG_CDS_FHIR_SERVERS", "")
        return cls(
            public_url=_http_url(public, "LOCOREG_PUBLIC_URL") if public else listen_url,
            issuers=env.get("LOCOREG_CDS_ISSUERS") or None,
            fhir_servers=tuple(
                _http_url(p, "LOCOREG_CDS_FHIR_SERVERS") for p in servers.split(",") if p.strip()
            ),
            fhir_deadline_seconds=deadline,
            smart_launch_url=env.get("LOCOREG_SMART_LAUNCH_URL") or None,
        )


# --- the app -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    database_url: str
    cds_jwt_enabled: bool = True
    examples_dir: Path | None = None
    cds: CdsSettings = field(default_factory=CdsSettings)
    # -- hardening (locoreg.web.hardening) --
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS  # "*" among them: any host
    secret_key: bytes = field(default_factory=lambda: os.urandom(32), repr=False)
    # Raw environment for components that read their own variables (CDS Hooks JWT issuers).
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        database_url: str | None = None,
        listen_url: str | None = None,
    ) -> Settings:
        """Settings from ``env`` (default ``os.environ``); ``database_url`` overrides the env.

        ``listen_url`` is the address ``locoreg serve`` binds (:func:`bound_url`), the
        service's own URL when ``LOCOREG_PUBLIC_URL`` is unset. ``serve`` also exports it
        as ``LOCOREG_LISTEN_URL``, so that worker processes building their own settings
        from the environment know it too.
        """
        from locoreg.store import default_database_url

        env = dict(os.environ if env is None else env)
        examples = env.get("LOCOREG_EXAMPLES_DIR")
        cds = CdsSettings.from_env(
            env, listen_url=listen_url or env.get("LOCOREG_LISTEN_URL") or None
        )
        return cls(
            database_url=database_url or env.get("LOCOREG_DATABASE_URL") or default_database_url(),
            cds_jwt_enabled=env.get("LOCOREG_CDS_JWT", "on").strip().lower() not in _OFF,
            examples_dir=Path(examples) if examples else _examples_dir(),
            cds=cds,
            max_body_bytes=_max_body_bytes(env),
            allowed_hosts=_allowed_hosts(env, cds.public_url),
            secret_key=(env.get("LOCOREG_SECRET_KEY") or "").encode() or os.urandom(32),
            env=env,
        )
