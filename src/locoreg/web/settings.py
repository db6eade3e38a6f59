"""Web-app settings, read once from the environment (and the ``serve`` options).

- ``LOCOREG_DATABASE_URL``: audit store URL (default: a SQLite file in the user data
  directory; PostgreSQL for shared use).
- ``LOCOREG_CDS_JWT``: ``off`` disables the CDS Hooks JWT check (local testing only).
- ``LOCOREG_EXAMPLES_DIR``: the "load example" patients (default: packaged or the
  repository's ``examples/patients``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

_OFF = {"off", "0", "false", "no", "disabled"}


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
            env=env,
        )
