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

from locoreg.cli._common import DataFormat, fail, with_options
from locoreg.cli.cohort import LadderOptions, RegistryOptions, SelectionOptions


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


def simulate_omop(n: int, out: Path, true_hr: float, seed: int | None, unmeasured: float) -> None:
    """`cohort simulate --format omop`: the simulated registry as OMOP CDM v5.4 tables."""
    if true_hr <= 0:
        fail(f"--true-hr: must be > 0, got {true_hr:g}")
    if unmeasured < 0:
        fail(f"--unmeasured-confounding: must be >= 0, got {unmeasured:g}")
    if out.exists() and not out.is_dir():
        fail(f"output: {out} is a file; --format omop writes a directory of tables")
    if not out.resolve().parent.is_dir():
        fail(f"output: directory {out.resolve().parent} does not exist")
    from locoreg.cohort.omop_simulate import write_omop
    from locoreg.cohort.simulate import simulate_registry

    sim = simulate_registry(n, true_hr=true_hr, seed=seed, unmeasured=unmeasured)
    try:
        write_omop(sim, out, seed=seed)
    except OSError as exc:
        fail(f"output: cannot write {out}: {exc.strerror or exc}")
    print(
        f"wrote OMOP CDM v5.4 tables for {sim.n_patients} patients in the cohort (and "
        f"{3 * max(n // 10, 1)} people outside it) to {out}/ "
        f"({int(sim.surgery.sum())} operated, {int(sim.dead.sum())} deaths, true HR {true_hr:g})",
        file=sys.stderr,
    )


@with_options(reading=RegistryOptions, selection=SelectionOptions)
def extract(
    reading: RegistryOptions,
    selection: SelectionOptions,
    registry: Path | None = typer.Argument(
        None, help="Registry file (.csv or .parquet) following the contract."
    ),
    out: Path = typer.Option(..., "-o", "--output", help="Analytic table to write (.parquet)."),
    omop: str | None = typer.Option(
        None,
        "--omop",
        metavar="DIR_OR_URL",
        help="OMOP CDM v5.4 tables: a directory (<table>.parquet or <table>/) or a database "
        "URL (postgresql+psycopg://user@host/db, duckdb:///omop.duckdb); see docs/registry.md.",
    ),
    omop_schema: str | None = typer.Option(
        None,
        "--omop-schema",
        help="Schema of the CDM tables in a database URL (default: public in PostgreSQL, "
        "main in DuckDB).",
    ),
    engine: Engine = typer.Option(
        Engine.duckdb,
        "--engine",
        help="Where the extraction runs (spark: with --omop DIR).",
    ),
) -> None:
    """Extract the analytic table from a registry or OMOP CDM tables to a Parquet file."""
    from locoreg.cohort.analytic import extract_registry
    from locoreg.cohort.load import load_registry
    from locoreg.cohort.select import Selection
    from locoreg.errors import InputError

    if out.suffix.lower() != ".parquet":
        fail(f"--output: the analytic table is written as .parquet, got {out.name!r}")
    _check_dir(out)
    if (registry is None) == (omop is None):
        fail("registry: give either a registry file or --omop DIR_OR_URL (not both)")
    if engine is Engine.spark and omop is None:
        fail(
            "--engine: spark runs the OMOP extraction (--omop DIR); a registry file runs in DuckDB"
        )
    try:
        chosen = Selection(**selection.arguments())
        if omop is not None:
            from locoreg.cohort.omop import extract_omop

            prov = extract_omop(omop, out, chosen, engine=engine.value, schema=omop_schema)
        else:
            assert registry is not None
            reg = load_registry(
                registry, on_error=reading.on_error.value, max_errors=reading.max_errors
            )
            prov = extract_registry(reg, chosen, out)
    except InputError as exc:
        fail(exc)
    except OSError as exc:
        fail(f"--output: cannot write {out}: {exc.strerror or exc}")
    print(
        f"wrote {prov['selected']} patients to {out} ({prov['selection']}; "
        f"{prov['not_selected']} not selected, {prov['rows_excluded']} rows excluded)",
        file=sys.stderr,
    )


@with_options(reading=RegistryOptions, ladder=LadderOptions)
def site_summary(
    reading: RegistryOptions,
    ladder: LadderOptions,
    file: Path = typer.Argument(..., help="Registry or extracted analytic table of this site."),
    out: Path = typer.Option(..., "-o", "--output", help="Site summary to write (.json)."),
    site: str = typer.Option("site", "--site", help="Name of the site shown after pooling."),
    min_cell: int = typer.Option(
        10, "--min-cell", min=1, help="Counts below this are suppressed (small-cell rule)."
    ),
) -> None:
    """Write this site's aggregates (per rung log HR and SE, counts, balance); no rows, no ids."""
    import warnings
    from dataclasses import asdict

    from locoreg.cli.cohort import ALL_PATIENTS, _load
    from locoreg.cohort.federate import site_summary as summarise_site
    from locoreg.cohort.ladder import LadderSettings

    if out.suffix.lower() != ".json":
        fail(f"--output: the site summary is written as .json, got {out.name!r}")
    _check_dir(out)
    if len(site) > 40 or not site.isprintable():
        fail("--site: at most 40 printable characters")
    _, table, _ = _load(file, reading, ALL_PATIENTS)
    settings = LadderSettings(**{**asdict(ladder), "covariates": ladder.covariates.value})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            summary = summarise_site(table, settings, site=site, min_cell=min_cell)
    except ValueError as exc:
        fail(f"analysis: {exc}")
    text = json.dumps(summary, indent=2, allow_nan=False)
    try:
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        fail(f"--output: cannot write {out}: {exc.strerror or exc}")
    shown = table.n if table.n >= min_cell else f"fewer than {min_cell}"
    print(
        f"wrote the aggregates of {shown} patients to {out} "
        f"({len(summary['suppressed'])} counts suppressed below {min_cell})",
        file=sys.stderr,
    )


def federate(
    sites: list[Path] = typer.Argument(
        ..., help="Site summaries written by `cohort site-summary`."
    ),
    fmt: DataFormat = typer.Option(DataFormat.text, "--format", help="Output format."),
) -> None:
    """Pool site summaries rung by rung (fixed and random effects, heterogeneity across sites)."""
    from locoreg.cohort.federate import SiteError, check_site
    from locoreg.cohort.federate import federate as pool

    summaries = []
    for path in sites:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            fail(f"{path}: cannot read: {exc.strerror or exc}")
        except ValueError as exc:
            fail(f"{path}: not JSON ({exc})")
        try:
            summaries.append(check_site(data, str(path)))
        except SiteError as exc:
            fail(str(exc))
    try:
        result = pool(summaries)
    except SiteError as exc:
        fail(str(exc))
    if not result["settings_agree"]:
        print(
            "warning: the sites did not run the ladder with the same settings "
            "(covariates, landmark, grace, trim, caliper); their estimates may not be comparable",
            file=sys.stderr,
        )
    if fmt is DataFormat.json:
        print(json.dumps(result, indent=2, allow_nan=False))
        return
    _print_federated(result)


def _print_federated(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from locoreg.cohort.ladder import RUNGS
    from locoreg.cohort.summary import DISCLAIMER

    console = Console()
    table = Table(
        title=f"Surgery of the primary vs none — {result['sites']} sites pooled "
        f"({', '.join(result['site_names'])})",
        title_justify="left",
    )
    for name in ("method", "HR (fixed)", "95% CI", "HR (random)", "I²", "n"):
        table.add_column(name, justify="left" if name == "method" else "right")
    for rung in RUNGS:
        e = result[rung]
        table.add_row(
            e["method"],
            f"{e['hr']:.2f}",
            f"{e['ci_low']:.2f}–{e['ci_high']:.2f}",
            f"{e['random']['hr']:.2f}",
            f"{e['heterogeneity']['i2']:.0f}%",
            "–" if e["n"] is None else str(e["n"]),
        )
    console.print(table)
    console.print(
        "Each site ran the ladder on its own patients and shared only aggregates; the "
        "inverse-variance (fixed-effect) pool is shown first, the random-effects (REML) "
        "pool beside it, I² = share of the variation due to differences between sites."
    )
    console.print(f"[dim]{DISCLAIMER}[/dim]")


def _check_dir(path: Path) -> None:
    parent = path.resolve().parent
    if not parent.is_dir():
        fail(f"--output: directory {parent} does not exist")
    if path.is_dir():
        fail(f"--output: {path} is a directory, not a file")


def register_sites(app: typer.Typer) -> None:
    """Add extract, site-summary and federate to the `cohort` app."""
    app.command("extract")(extract)
    app.command("site-summary")(site_summary)
    app.command("federate")(federate)


__all__ = ["load_analytic_or_none", "register_sites"]
