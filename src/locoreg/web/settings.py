"""Web-app settings, read once from the environment (and the ``serve`` options).

- ``LOCOREG_DATABASE_URL``: audit store URL (default: a SQLite file in the user data
  directory; PostgreSQL for shared use).
- ``LOCOREG_CDS_JWT``: ``off`` disables the CDS Hooks JWT check (local testing only).
- ``LOCOREG_EXAMPLES_DIR``: the "load example" patients (default: packaged or the
  repository's ``examples/patients``).
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


def _allowed_hosts(env: Mapping[str, str]) -> tuple[str, ...]:
    """Loopback names, the public URL's host and ``LOCOREG_ALLOWED_HOSTS`` (lower case)."""
    from urllib.parse import urlsplit

    hosts = list(LOOPBACK_HOSTS)
    public = urlsplit(env.get("LOCOREG_PUBLIC_URL", "").strip()).hostname
    if public:
        hosts.append(public)
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


@dataclass(frozen=True)
class Settings:
    database_url: str
    cds_jwt_enabled: bool = True
    examples_dir: Path | None = None
    # -- hardening (locoreg.web.hardening) --
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS  # "*" among them: any host
    secret_key: bytes = field(default_factory=lambda: os.urandom(32), repr=False)
    # Raw environment for components that read their own variables (CDS Hooks JWT issuers).
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, database_url: str | None = None
    ) -> Settings:
        """Settings from ``env`` (default ``os.environ``); ``database_url`` overrides the env."""
        from locoreg.store import default_database_url

        env = dict(os.environ if env is None else env)
        examples = env.get("LOCOREG_EXAMPLES_DIR")
        return cls(
            database_url=database_url or env.get("LOCOREG_DATABASE_URL") or default_database_url(),
            cds_jwt_enabled=env.get("LOCOREG_CDS_JWT", "on").strip().lower() not in _OFF,
            examples_dir=Path(examples) if examples else _examples_dir(),
            max_body_bytes=_max_body_bytes(env),
            allowed_hosts=_allowed_hosts(env),
            secret_key=(env.get("LOCOREG_SECRET_KEY") or "").encode() or os.urandom(32),
            env=env,
        )
