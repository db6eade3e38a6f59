"""`locoreg cohort extract | site-summary | federate`: registries where they live.

Registered on the `cohort` Typer app by :func:`register_sites`. Heavy imports
stay inside the command bodies (fast ``--help``).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from locoreg.cli._common import DataFormat, fail


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


def load_analytic_or_none(
    file: Path, selection_args: dict[str, Any]
) -> tuple[Any, dict[str, Any]] | None:
    """The analytic table and its cohort description when ``file`` is one, else ``None``."""
    from locoreg.cohort.analytic import is_analytic, read_analytic
    from locoreg.errors import InputError

    if not file.is_file() or not is_analytic(file):
        return None
    default = {"de_novo_stage_iv": True}
    changed = [k for k, v in selection_args.items() if v not in (None, False, default.get(k))]
    if changed:
        fail(
            f"selection: {file.name} is an extracted analytic table; select when extracting "
            f"(`locoreg cohort extract ... --age-min ...`), not here ({', '.join(changed)})"
        )
    try:
        table, provenance = read_analytic(file)
    except InputError as exc:
        fail(exc)
    origin = provenance.get("source")
    cohort: dict[str, Any] = {
        **provenance,
        "file": file.name,
        "source": "analytic table"
        + (f" extracted from {origin} {provenance.get('file', '')}".rstrip() if origin else ""),
        "extraction": provenance.get("extraction", "made outside locoreg (no provenance)"),
        "selected": table.n,
    }
    cohort.setdefault("rows_in_file", table.n)
    cohort.setdefault("rows_excluded", 0)
    cohort.setdefault("excluded_by_rule", {})
    cohort.setdefault("selection", "as extracted")
    cohort.setdefault("not_selected", 0)
    return table, cohort


def extract(
    registry: Path | None = typer.Argument(
        None, help="Registry file (.csv or .parquet) following the contract."
    ),
    out: Path = typer.Option(..., "-o", "--output", help="Analytic table to write (.parquet)."),
    on_error: str = typer.Option(
        "stop", "--on-error", help="Rows that break the contract: stop or exclude."
    ),
    max_errors: int = typer.Option(20, "--max-errors", min=1, help="Problems listed."),
    age_min: int | None = typer.Option(None, "--age-min", help="Keep patients at least this old."),
    age_max: int | None = typer.Option(None, "--age-max", help="Keep patients at most this old."),
    year_min: int | None = typer.Option(None, "--year-min", help="First year of diagnosis kept."),
    year_max: int | None = typer.Option(None, "--year-max", help="Last year of diagnosis kept."),
    exclude_unknown_receptors: bool = typer.Option(
        False, "--exclude-unknown-receptors", help="Drop patients with ER, PR or HER2 unknown."
    ),
    exclude_brain: bool = typer.Option(
        False, "--exclude-brain", help="Drop patients with brain metastases."
    ),
) -> None:
    """Extract the analytic table (portable SQL, DuckDB embedded) to a Parquet file."""
    from locoreg.cohort.analytic import extract_registry
    from locoreg.cohort.load import load_registry
    from locoreg.cohort.select import Selection
    from locoreg.errors import InputError

    if out.suffix.lower() != ".parquet":
        fail(f"--output: the analytic table is written as .parquet, got {out.name!r}")
    _check_dir(out)
    if on_error not in ("stop", "exclude"):
        fail(f"--on-error: got {on_error!r} (allowed: stop, exclude)")
    if registry is None:
        fail("registry: give a registry file")
    try:
        reg = load_registry(registry, on_error=on_error, max_errors=max_errors)
        selection = Selection(
            age_min=age_min,
            age_max=age_max,
            year_min=year_min,
            year_max=year_max,
            exclude_unknown_receptors=exclude_unknown_receptors,
            exclude_brain_metastases=exclude_brain,
        )
        prov = extract_registry(reg, selection, out)
    except InputError as exc:
        fail(exc)
    except OSError as exc:
        fail(f"--output: cannot write {out}: {exc.strerror or exc}")
    print(
        f"wrote {prov['selected']} patients to {out} ({prov['selection']}; "
        f"{prov['not_selected']} not selected, {prov['rows_excluded']} rows excluded)",
        file=sys.stderr,
    )


def _check_dir(path: Path) -> None:
    parent = path.resolve().parent
    if not parent.is_dir():
        fail(f"--output: directory {parent} does not exist")
    if path.is_dir():
        fail(f"--output: {path} is a directory, not a file")


def register_sites(app: typer.Typer) -> None:
    """Add extract, site-summary and federate to the `cohort` app."""
    app.command("extract")(extract)


__all__ = ["DataFormat", "Engine", "json", "register_sites"]
