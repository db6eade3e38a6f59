"""`locoreg cohort`: synthetic registries, registry checks and the analysis ladder."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from locoreg.cli._common import DataFormat, fail, with_options


class OnErrorChoice(StrEnum):
    stop = "stop"
    exclude = "exclude"


class SqlDialect(StrEnum):
    duckdb = "duckdb"
    postgres = "postgres"
    spark = "spark"


class CovariateSet(StrEnum):
    minimal = "minimal"
    standard = "standard"
    full = "full"


cohort_app = typer.Typer(
    name="cohort",
    help="Registry re-analysis: simulate a registry, check it, run the bias ladder.",
    no_args_is_help=True,
)


@dataclass(frozen=True)
class RegistryOptions:
    """How a registry file is read (``analyze``, ``multiverse``)."""

    on_error: OnErrorChoice = typer.Option(
        OnErrorChoice.stop,
        "--on-error",
        help="Rows that break the registry contract: stop (exit 2, list them) or exclude them.",
    )
    max_errors: int = typer.Option(
        20, "--max-errors", min=1, help="Problems listed before stopping."
    )


@dataclass(frozen=True)
class SelectionOptions:
    """Which patients are analysed (``analyze``, ``sql``)."""

    age_min: int | None = typer.Option(None, "--age-min", help="Keep patients at least this old.")
    age_max: int | None = typer.Option(None, "--age-max", help="Keep patients at most this old.")
    year_min: int | None = typer.Option(None, "--year-min", help="First year of diagnosis kept.")
    year_max: int | None = typer.Option(None, "--year-max", help="Last year of diagnosis kept.")
    exclude_unknown_receptors: bool = typer.Option(
        False, "--exclude-unknown-receptors", help="Drop patients with ER, PR or HER2 unknown."
    )
    exclude_brain: bool = typer.Option(
        False, "--exclude-brain", help="Drop patients with brain metastases."
    )
    keep_without_metastasis: bool = typer.Option(
        False,
        "--keep-without-metastasis",
        help="Keep rows with no metastatic site (by default they are not de novo stage IV "
        "and are left out).",
    )

    def arguments(self) -> dict[str, Any]:
        """Keyword arguments of :class:`locoreg.cohort.select.Selection`."""
        return {
            "de_novo_stage_iv": not self.keep_without_metastasis,
            "age_min": self.age_min,
            "age_max": self.age_max,
            "year_min": self.year_min,
            "year_max": self.year_max,
            "exclude_unknown_receptors": self.exclude_unknown_receptors,
            "exclude_brain_metastases": self.exclude_brain,
        }


#: every patient of de novo stage IV (``multiverse`` varies the exclusions itself)
ALL_PATIENTS: dict[str, Any] = {"de_novo_stage_iv": True}


@dataclass(frozen=True)
class LadderOptions:
    """The ladder's settings (``analyze``; :class:`locoreg.cohort.ladder.LadderSettings`)."""

    landmark: float = typer.Option(12.0, "--landmark", min=0.0, help="Landmark (months).")
    grace: float = typer.Option(
        6.0, "--grace", min=0.5, help="Emulated trial: grace period for surgery (months)."
    )
    covariates: CovariateSet = typer.Option(
        CovariateSet.full, "--covariates", help="Adjustment set."
    )
    trim: float = typer.Option(
        0.01,
        "--trim",
        min=0.0,
        max=0.2,
        help="IPTW: truncate weights at their t and 1-t quantiles.",
    )
    caliper: float = typer.Option(
        0.2, "--caliper", min=0.0, help="Matching caliper (SD of the logit propensity score)."
    )
    bootstrap: int = typer.Option(
        0, "--bootstrap", min=0, help="Emulated trial: bootstrap replicates (0 = robust SE)."
    )
    seed: int = typer.Option(20240601, "--seed", help="Seed of the bootstrap.")


def _load(
    file: Path, options: RegistryOptions, selection_args: dict[str, Any]
) -> tuple[Any, Any, dict[str, Any]]:
    """Load, check and extract; bad input exits 2 with one line per problem.

    ``file`` is a registry or an analytic table made by ``cohort extract``
    (then it is analysed as extracted: selection options do not apply).
    """
    from locoreg.cli.cohort_sites import load_analytic_or_none
    from locoreg.cohort.load import load_registry
    from locoreg.cohort.select import Selection, extract
    from locoreg.errors import InputError

    analytic = load_analytic_or_none(file, selection_args)
    if analytic is not None:
        return None, analytic[0], analytic[1]
    try:
        registry = load_registry(
            file, on_error=options.on_error.value, max_errors=options.max_errors
        )
        selection = Selection(**selection_args)
        table = extract(registry, selection)
    except InputError as exc:
        fail(exc)
    if registry.n_excluded:
        rules = ", ".join(f"{k} {v}" for k, v in registry.excluded_by_rule.items())
        print(
            f"excluded {registry.n_excluded} of {registry.n_rows} rows with problems ({rules})",
            file=sys.stderr,
        )
    cohort = {
        "file": file.name,
        "source": "registry file",
        "extraction": "portable SQL, DuckDB embedded",
        "rows_in_file": registry.n_rows,
        "rows_excluded": registry.n_excluded,
        "excluded_by_rule": registry.excluded_by_rule,
        "selection": selection.describe(),
        "selected": table.n,
        "not_selected": registry.n_kept - table.n,
    }
    return registry, table, cohort


def _check_output(path: Path | None, option: str) -> None:
    """Fail early (exit 2) when an output file cannot be written, before any long analysis."""
    if path is None:
        return
    parent = path.resolve().parent
    if not parent.is_dir():
        fail(f"{option}: directory {parent} does not exist")
    if path.is_dir():
        fail(f"{option}: {path} is a directory, not a file")


def _write(path: Path, option: str, write: Any) -> None:
    """Run ``write()``; an OSError (disk full, permission) becomes a one-line exit 2."""
    try:
        write()
    except OSError as exc:
        fail(f"{option}: cannot write {path}: {exc.strerror or exc}")


@cohort_app.command("simulate")
def simulate(
    n: int = typer.Option(..., "--n", min=1, help="Number of patients."),
    out: Path = typer.Option(..., "-o", "--output", help="Output file, .csv or .parquet."),
    true_hr: float = typer.Option(
        1.0, "--true-hr", help="True hazard ratio of surgery, acting from surgery onwards."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (reproducible output)."),
    unmeasured: float = typer.Option(
        0.0,
        "--unmeasured-confounding",
        help="Strength γ of a confounder missing from the registry (0 = none).",
    ),
    output_format: str = typer.Option(
        "registry",
        "--format",
        help="registry (one .csv/.parquet file) or omop (a directory of OMOP CDM v5.4 "
        "Parquet tables).",
    ),
) -> None:
    """Write a synthetic de novo stage IV registry with a known surgery effect."""
    if output_format not in ("registry", "omop"):
        fail(f"--format: got {output_format!r} (allowed: registry, omop)")
    if output_format == "omop":
        from locoreg.cli.cohort_sites import simulate_omop

        simulate_omop(n, out, true_hr, seed, unmeasured)
        return
    if out.suffix.lower() not in (".csv", ".parquet"):
        fail(f"output: file must end in .csv or .parquet, got {out.name!r}")
    if true_hr <= 0:
        fail(f"--true-hr: must be > 0, got {true_hr:g}")
    if unmeasured < 0:
        fail(f"--unmeasured-confounding: must be >= 0, got {unmeasured:g}")
    from locoreg.cohort.simulate import simulate_registry, write_registry

    sim = simulate_registry(n, true_hr=true_hr, seed=seed, unmeasured=unmeasured)
    try:
        write_registry(sim, out)
    except OSError as exc:
        fail(f"output: cannot write {out}: {exc.strerror}")
    print(
        f"wrote {sim.n_patients} patients to {out} "
        f"({int(sim.surgery.sum())} operated, {int(sim.dead.sum())} deaths, true HR {true_hr:g})",
        file=sys.stderr,
    )


@cohort_app.command("check")
def check(
    file: Path = typer.Argument(..., help="Registry file (.csv or .parquet)."),
    max_errors: int = RegistryOptions.max_errors,
) -> None:
    """Check a registry file against the contract; exit 2 listing the problems."""
    from locoreg.cohort.load import load_registry
    from locoreg.errors import InputError

    try:
        registry = load_registry(file, on_error="stop", max_errors=max_errors)
    except InputError as exc:
        fail(exc)
    print(f"{file.name}: {registry.n_rows} rows, no problems")


@cohort_app.command("sql")
@with_options(selection=SelectionOptions)
def sql(
    selection: SelectionOptions,
    ecog: bool = typer.Option(False, "--ecog", help="The registry has an ecog column."),
    dialect: SqlDialect = typer.Option(
        SqlDialect.duckdb, "--dialect", help="SQL dialect of your engine."
    ),
    omop: bool = typer.Option(
        False, "--omop", help="Also print the view `registry` built from OMOP CDM v5.4 tables."
    ),
) -> None:
    """Print the extraction SQL; it runs as printed on a contract table named `registry`."""
    from locoreg.cohort.select import Selection, extraction_sql

    if omop:
        from locoreg.cohort.omop import omop_sql

        print(f"CREATE VIEW registry AS\n{omop_sql(dialect.value, with_episode=True)};\n")
    print(
        extraction_sql(
            Selection(**selection.arguments()), has_ecog=ecog or omop, dialect=dialect.value
        )
    )


@cohort_app.command("analyze")
@with_options(registry=RegistryOptions, selection=SelectionOptions, ladder=LadderOptions)
def analyze(
    registry: RegistryOptions,
    selection: SelectionOptions,
    ladder: LadderOptions,
    file: Path = typer.Argument(
        ..., help="Registry file or extracted analytic table (.csv or .parquet)."
    ),
    fmt: DataFormat = typer.Option(DataFormat.text, "--format", help="Output format."),
    report: Path | None = typer.Option(None, "--report", help="Write an HTML report here."),
    with_multiverse: bool = typer.Option(
        False,
        "--multiverse",
        help="With --report: also run the multiverse (34 specifications, no exclusions) "
        "and add the specification curve.",
    ),
    workers: int = typer.Option(2, "--workers", min=1, help="Worker processes (--multiverse)."),
) -> None:
    """Run the analysis ladder, naive → emulated target trial, on a registry or extracted table."""
    _check_output(report, "--report")
    if with_multiverse and report is None:
        fail(
            "--multiverse: only with --report OUT.html (the curve goes into the report); "
            "`locoreg cohort multiverse FILE` prints the specifications"
        )
    from concurrent.futures import ThreadPoolExecutor
    from contextvars import copy_context

    # DuckDB reads and checks the registry in C++ without holding the GIL, on one core for
    # a file of one row group (50,000 patients): meanwhile this thread imports the analysis
    # and pools the evidence base, which then cost no wall time (benchmarks/README.md).
    with ThreadPoolExecutor(1, thread_name_prefix="locoreg-load") as pool:
        loading = pool.submit(copy_context().run, _load, file, registry, selection.arguments())
        from locoreg.cohort.ladder import LadderSettings, run_ladder
        from locoreg.cohort.summary import as_json
        from locoreg.report.cohort import randomised_trials, rct_reference

        _import_engines(report is not None)
        evidence = randomised_trials()
        _, table, cohort = loading.result()
    settings = LadderSettings(**{**asdict(ladder), "covariates": ladder.covariates.value})
    import warnings

    try:
        # Numerical warnings of a failing fit are noise to a user; the error below says it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = run_ladder(table, settings)
    except ValueError as exc:
        fail(
            f"analysis: {exc} ({table.n} patients with the {settings.covariates!r} adjustment "
            "set; a smaller cohort may need --covariates minimal)"
        )
    rct = rct_reference(evidence)
    if report is not None:
        from locoreg.report.cohort import write_cohort_report

        mv = None
        if with_multiverse:
            from locoreg.cohort.multiverse import default_specs

            mv = _run_multiverse(table, default_specs(["none"]), workers, quiet=False)
        _write(
            report,
            "--report",
            lambda: write_cohort_report(report, result, table, cohort, mv, evidence=evidence),
        )
    if fmt is DataFormat.json:
        print(json.dumps(as_json(result, cohort, rct), indent=2, allow_nan=False, default=float))
    else:
        _print_text(result, cohort, rct)


def _import_engines(with_report: bool) -> None:
    """Import the third-party engines ``analyze`` is going to need (while the registry loads).

    numba compiles the survival engine's kernels (imported by the first Cox fit otherwise);
    matplotlib's figure and SVG writer and jinja2 draw and render the report.
    """
    import numba  # noqa: F401

    if with_report:
        import jinja2  # noqa: F401
        import matplotlib.backends.backend_svg
        import matplotlib.figure  # noqa: F401


def _run_multiverse(table: Any, specs: list[Any], workers: int, *, quiet: bool) -> Any:
    """Run the specifications with a progress bar on stderr (hidden when ``quiet``)."""
    from rich.console import Console
    from rich.progress import Progress

    from locoreg.cohort.multiverse import run_multiverse

    with Progress(transient=True, disable=quiet, console=Console(stderr=True)) as progress:
        task = progress.add_task("specifications", total=len(specs))
        return run_multiverse(
            table, specs, workers=workers, progress=lambda _: progress.advance(task)
        )


@cohort_app.command("multiverse")
@with_options(registry=RegistryOptions)
def multiverse(
    registry: RegistryOptions,
    file: Path = typer.Argument(
        ..., help="Registry file or extracted analytic table (.csv or .parquet)."
    ),
    workers: int = typer.Option(2, "--workers", min=1, help="Worker processes."),
    fmt: DataFormat = typer.Option(DataFormat.text, "--format", help="Output format."),
    plot: Path | None = typer.Option(
        None, "--plot", help="Write the specification curve (.svg, .png or .pdf)."
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Also run the ladder and write the HTML report with the curve."
    ),
    exclusions: str = typer.Option(
        "none,known_receptors,no_brain,age_80_or_less",
        "--exclusions",
        help="Comma-separated exclusions to vary: none, known_receptors, no_brain, age_80_or_less.",
    ),
) -> None:
    """Estimate the surgery HR under every defensible specification (specification curve)."""
    from locoreg.cohort.multiverse import EXCLUSIONS, default_specs, start_workers

    _check_output(plot, "--plot")
    if plot is not None and plot.suffix.lower() not in (".svg", ".png", ".pdf"):
        fail(f"--plot: {plot.name} must end in .svg, .png or .pdf")
    _check_output(report, "--report")
    wanted = [e.strip() for e in exclusions.split(",") if e.strip()]
    unknown = [e for e in wanted if e not in EXCLUSIONS]
    if unknown or not wanted:
        fail(
            f"--exclusions: unknown {', '.join(unknown) or '(none given)'} "
            f"(allowed: {', '.join(EXCLUSIONS)})"
        )
    if workers > 1:
        start_workers()  # the workers' imports overlap with reading the registry
    _, table, cohort = _load(file, registry, ALL_PATIENTS)
    specs = default_specs(wanted)
    # The bar goes to stderr, so it never mixes with the JSON or the table on stdout.
    result = _run_multiverse(table, specs, workers, quiet=False)
    evidence = None
    if plot is not None or report is not None:
        from locoreg.report.cohort import randomised_trials, speccurve_svg

        evidence = randomised_trials()
        pooled = evidence.pooled
        if plot is not None:
            _write(
                plot, "--plot", lambda: speccurve_svg(result, pooled.hr if pooled else None, plot)
            )
    if report is not None:
        from locoreg.cohort.ladder import run_ladder
        from locoreg.report.cohort import write_cohort_report

        try:
            ladder = run_ladder(table)
        except ValueError as exc:
            fail(f"analysis: {exc}")
        _write(
            report,
            "--report",
            lambda: write_cohort_report(report, ladder, table, cohort, result, evidence=evidence),
        )
    if fmt is DataFormat.json:
        out = {
            "summary": result.summary(),
            "specifications": [r.as_dict() for r in result.results],
            "cohort": cohort,
        }
        print(json.dumps(out, indent=2, default=float))
        return
    _print_multiverse(result, cohort)


def _print_multiverse(result: Any, cohort: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    summary = result.summary()
    table = Table(
        title=f"Multiverse — {cohort['file']}: {summary['specifications']} specifications",
        title_justify="left",
    )
    for name in ("method", "covariates", "exclusion", "HR", "95% CI", "n"):
        table.add_column(name, justify="right" if name in ("HR", "95% CI", "n") else "left")
    for r in sorted(result.results, key=lambda r: (r.error != "", r.hr)):
        par = "" if r.spec.parameter is None else f" {r.spec.parameter:g} mo"
        ci = r.error or f"{r.ci_low:.2f}–{r.ci_high:.2f}"
        hr = "–" if r.error else f"{r.hr:.2f}"
        table.add_row(r.spec.method + par, r.spec.covariates, r.spec.exclusion, hr, ci, str(r.n))
    console.print(table)
    for key, words in (
        ("immortal_time_not_handled", "Methods that ignore the timing of surgery"),
        ("immortal_time_handled", "Methods that respect it"),
    ):
        if key in summary:
            s = summary[key]
            console.print(
                f"{words}: median HR {s['median_hr']:.2f} "
                f"(range {s['min_hr']:.2f}–{s['max_hr']:.2f}, {s['k']} specifications)"
            )
    if summary["failed"]:
        console.print(f"{summary['failed']} specifications failed (see the table).")


def _print_text(result: Any, cohort: dict[str, Any], rct: dict[str, Any] | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from locoreg.cohort.summary import DISCLAIMER, rung_rows, summarise

    console = Console()
    table = Table(
        title=(
            f"Surgery of the primary vs none — {cohort['file']}: {result.n} patients, "
            f"{result.n_surgery} operated, {result.n_events} deaths"
        ),
        title_justify="left",
    )
    for name, justify in (
        ("method", "left"),
        ("HR", "right"),
        ("95% CI", "right"),
        ("n", "right"),
        ("still biased by", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rung_rows(result):
        e = row["estimate"]
        table.add_row(
            row["label"],
            f"{e.hr:.2f}",
            f"{e.ci_low:.2f}–{e.ci_high:.2f}",
            str(e.n),
            row["bias"],
        )
    console.print(table)
    sens = ", ".join(
        f"{at:g} mo {e.hr:.2f} ({e.ci_low:.2f}–{e.ci_high:.2f})"
        for at, e in result.landmark_sensitivity.items()
    )
    console.print(f"Landmark sensitivity: {sens}")
    console.print(
        f"E-value (adjusted): {result.e_value.point:.2f}, CI bound {result.e_value.ci:.2f}"
    )
    if result.balance:
        worst = {
            what: max(abs(getattr(b, attr)) for b in result.balance)
            for what, attr in (
                ("before", "smd_before"),
                ("matched", "smd_matched"),
                ("IPTW", "smd_weighted"),
            )
        }
        console.print(
            "Largest |standardised mean difference|: "
            + ", ".join(f"{k} {v:.2f}" for k, v in worst.items())
            + " (0.1 = acceptable; full table in --format json and the report)"
        )
    console.print()
    for paragraph in summarise(result, rct):
        console.print(paragraph)
        console.print()
    console.print(f"[dim]{DISCLAIMER}[/dim]")


def register(app: typer.Typer) -> None:
    """Add the `cohort` command group to the root app."""
    from locoreg.cli.cohort_sites import register_sites

    register_sites(cohort_app)
    app.add_typer(cohort_app, name="cohort")
