"""`locoreg evidence pool` (to be implemented)."""

from __future__ import annotations

import typer


def register(evidence_app: typer.Typer) -> None:
    """Add the `pool` command to the `evidence` sub-app."""
