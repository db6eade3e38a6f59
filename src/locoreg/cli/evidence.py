"""`locoreg evidence list|show|validate`: browse and check the cited evidence base.

Only typer and the standard library are imported at module level; pydantic, rich
and the evidence base load inside the commands (fast ``locoreg --help``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from locoreg.cli._common import EXIT_PROBLEMS, DataFormat, evidence_base, fail

if TYPE_CHECKING:
    from locoreg.evidence.model import GradeRating, Outcome, Study


evidence_app = typer.Typer(
    name="evidence",
    help="The cited evidence base: studies, their numbers and sources, risk of bias, GRADE.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _choice(field: str, value: str | None, allowed: list[str]) -> str | None:
    if value is None:
        return None
    normalised = value.strip().lower()
    if normalised not in allowed:
        from locoreg.errors import FieldError

        fail([FieldError(field, f"unknown value {value!r}", ", ".join(allowed))])
    return normalised


def _level(o: Outcome) -> str:
    return f"{round((o.ci_level or 0.95) * 100):g}% CI"


def effect_text(o: Outcome) -> str:
    """``HR 0.66 (95% CI 0.49–0.88)``, ``median 25 months``, or what was not found."""
    if o.estimate is None:
        return "not found" if o.not_found else "—"
    if o.measure.is_ratio:
        text = f"{o.measure.value} {o.estimate:g}"
    elif o.measure.value == "median":
        text = f"median {o.estimate:g} {o.unit or ''}".rstrip()
    else:
        text = f"{o.estimate:g}{'%' if o.unit == 'percent' else ' ' + (o.unit or '')}".rstrip()
    if o.ci_low is not None and o.ci_high is not None:
        text += f" ({_level(o)} {o.ci_low:g}–{o.ci_high:g})"
    if o.converted:
        text += " [converted]"
    return text


def arms_text(o: Outcome) -> str:
    """``median_os_months: 19.2 vs 20.5`` (local therapy vs none), one metric per line."""
    by_metric: dict[str, dict[str, str]] = {}
    for a in o.arms:
        value = f"{a.value:g}"
        if a.ci_low is not None or a.ci_high is not None:
            low = "" if a.ci_low is None else f"{a.ci_low:g}"
            high = "NE" if a.ci_high is None else f"{a.ci_high:g}"
            value += f" ({low}–{high})"
        by_metric.setdefault(a.metric, {})[a.arm] = value
    lines = [
        f"{metric.replace('_', ' ')}: "
        f"{arms.get('local_therapy', '—')} vs {arms.get('no_local_therapy', '—')}"
        for metric, arms in by_metric.items()
    ]
    lines += [
        f"{c.category}: {c.value:g}{'%' if c.unit == 'percent' else ''}" for c in o.categories
    ]
    return "\n".join(lines)


def _study_summary(s: Study, outcomes: list[Outcome]) -> dict[str, Any]:
    from locoreg.evidence.model import dump

    return {
        "id": s.id,
        "citation": s.cite(),
        "url": s.url(),
        "design": s.design.value,
        "n_total": s.n_total,
        "timing_of_surgery": s.timing_of_surgery.value,
        "no_extractable_estimate": s.no_extractable_estimate,
        "outcomes": [dump(o) for o in outcomes],
    }


def _print_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@evidence_app.command("list")
def list_studies(
    design: str | None = typer.Option(None, "--design", help="Only this study design."),
    outcome: str | None = typer.Option(
        None, "--outcome", help="Only studies reporting this outcome (shown with its numbers)."
    ),
    format: DataFormat = typer.Option(DataFormat.text, "--format", "-f"),
) -> None:
    """List the studies, optionally by design and outcome."""
    from locoreg.evidence.model import Design, OutcomeKind

    chosen_design = _choice("design", design, [d.value for d in Design])
    chosen_outcome = _choice("outcome", outcome, [k.value for k in OutcomeKind])
    base = evidence_base()
    rows: list[tuple[Study, list[Outcome]]] = []
    for s in base.studies:
        if chosen_design and s.design.value != chosen_design:
            continue
        matched = [o for o in s.outcomes if chosen_outcome in (None, o.outcome.value)]
        if chosen_outcome and not matched:
            continue
        rows.append((s, matched))
    if format is DataFormat.json:
        _print_json(
            {
                "snapshot": base.snapshot,
                "count": len(rows),
                "studies": [_study_summary(s, matched) for s, matched in rows],
            }
        )
        return

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Evidence base {base.snapshot}", header_style="bold", expand=True)
    table.add_column("id", no_wrap=True)
    table.add_column("citation")
    table.add_column("design")
    table.add_column("n", justify="right")
    if chosen_outcome:
        table.add_column("subgroup")
        table.add_column(f"{chosen_outcome.replace('_', ' ')} (local therapy vs none)")
    for s, matched in rows:
        n = "" if s.n_total is None else f"{s.n_total:,}"
        if not chosen_outcome:
            table.add_row(s.id, s.cite(), s.design.value.replace("_", " "), n)
            continue
        for i, o in enumerate(matched):
            first = i == 0
            table.add_row(
                s.id if first else "",
                s.cite() if first else "",
                s.design.value.replace("_", " ") if first else "",
                n if first else "",
                o.subgroup,
                (effect_text(o) if o.estimate is not None else arms_text(o) or "not found")
                + (" (secondary report)" if o.secondary_report else ""),
            )
    console = Console()
    console.print(table)
    console.print(f"{len(rows)} of {len(base)} studies.")


@evidence_app.command("show")
def show_study(
    study_id: str = typer.Argument(..., metavar="ID", help="Study id, e.g. badwe2015."),
    format: DataFormat = typer.Option(DataFormat.text, "--format", "-f"),
) -> None:
    """Everything recorded for one study: citation, numbers with sources, risk of bias."""
    from locoreg.errors import FieldError
    from locoreg.evidence.model import dump

    base = evidence_base()
    if study_id not in base:
        close = base.close_matches(study_id)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        fail([FieldError("id", f"no study {study_id!r} in the evidence base{hint}", "see `list`")])
    s = base.get(study_id)
    grade = [g for g in base.grade if s.id in g.studies or g.rated_by == s.id]
    if format is DataFormat.json:
        extra = {"cite": s.cite(), "url": s.url(), "grade": [dump(g) for g in grade]}
        _print_json({**dump(s), **extra, "snapshot": base.snapshot})
        return
    _print_study(s, base.snapshot, grade)


def _print_study(s: Study, snapshot: str, grade: list[GradeRating]) -> None:
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table

    from locoreg.evidence.model import Rob2

    console = Console()
    c = s.citation
    head = [f"[bold]{s.cite()}[/bold]  ({s.design.value})", c.authors]
    if c.title:
        head.append(f"[italic]{c.title}[/italic]")
    ref = ", ".join(
        x
        for x in (
            c.volume and f"vol {c.volume}",
            c.issue and f"issue {c.issue}",
            c.pages and f"p {c.pages}",
            c.doi and f"doi {c.doi}",
            c.pmid and f"PMID {c.pmid}",
            c.pmcid,
        )
        if x
    )
    if ref:
        head.append(ref)
    if s.url():
        head.append(str(s.url()))
    console.print(Panel("\n".join(head), title=s.id, title_align="left"))
    facts = [
        ("population", s.population),
        ("setting", s.setting),
        ("data source", s.data_source and f"{s.data_source.label} ({s.data_source.value})"),
        ("country", s.country),
        ("n", _n_text(s)),
        ("follow-up", s.follow_up),
        ("n and follow-up read at", s.source_url),
        ("timing of surgery", s.timing_of_surgery.value.replace("_", " ")),
    ]
    for label, value in facts:
        if value:
            console.print(f"[bold]{label}[/bold]: {value}")
    console.print(f"\n{s.summary}\n")
    for point in s.key_points:
        console.print(f"  • {point}")
    if s.outcomes:
        table = Table(title="Outcomes (local therapy vs none)", header_style="bold", expand=True)
        for col in ("outcome", "subgroup", "estimate", "p", "per arm (local therapy vs none)"):
            table.add_column(col, overflow="fold")
        table.add_column("src", justify="right")
        sources: list[str] = []
        for o in s.outcomes:
            label = o.label + (f"\n[dim]{o.secondary_report}[/dim]" if o.secondary_report else "")
            missing = f"[dim]not found: {o.not_found}[/dim]" if o.not_found else ""
            effect = effect_text(o) if o.estimate is not None else missing or "—"
            if o.estimate is not None and missing:
                effect += "\n" + missing
            if o.source_url and o.source_url not in sources:
                sources.append(o.source_url)
            table.add_row(
                label,
                o.subgroup,
                effect,
                o.p_value or "",
                arms_text(o),
                f"[{sources.index(o.source_url) + 1}]" if o.source_url else "",
            )
        console.print(table)
        for i, source in enumerate(sources, 1):
            console.print(f"[{i}] {source}", soft_wrap=True, markup=False)
        for o in s.outcomes:
            if o.converted and o.reported:
                r = o.reported
                console.print(
                    f"[bold]converted[/bold] {o.label}: reported {r.estimate:g}"
                    f" ({r.ci_low:g}–{r.ci_high:g}), {r.comparison}. {o.conversion}"
                )
    if s.no_extractable_estimate:
        console.print(f"[bold]No extractable estimate[/bold]: {s.no_extractable_estimate_reason}")
    rob = s.risk_of_bias
    if rob is not None:
        tool = "RoB 2" if isinstance(rob, Rob2) else "ROBINS-I"
        table = Table(title=f"Risk of bias ({tool}, {rob.assessed_by})", header_style="bold")
        table.add_column("domain")
        table.add_column("judgement")
        table.add_column("reason")
        for name, d in [*rob.domains().items(), ("overall", rob.overall)]:
            table.add_row(name.replace("_", " "), d.judgement.value.replace("_", " "), d.reason)
        console.print(table)
    elif s.risk_of_bias_not_assessed:
        console.print(f"[bold]Risk of bias[/bold]: not assessed ({s.risk_of_bias_not_assessed})")
    for g in grade:
        reasons = "; ".join(g.downgrades) or "no downgrade"
        console.print(
            f"[bold]GRADE[/bold] {g.outcome.value.replace('_', ' ')}, {g.body} evidence: "
            f"{g.certainty.value.replace('_', ' ')} (rated by {g.rated_by}; {reasons})"
        )
    if s.notes:
        console.print(f"[bold]Notes[/bold]: {s.notes}")
    console.print(f"[dim]Evidence snapshot {snapshot}.[/dim]")


def _n_text(s: Study) -> str | None:
    if s.n_total is None and s.n_note is None:
        return None
    parts = []
    if s.n_total is not None:
        parts.append(f"{s.n_total:,}")
    if s.n_local_therapy is not None or s.n_no_local_therapy is not None:
        lt = "?" if s.n_local_therapy is None else f"{s.n_local_therapy:,}"
        no = "?" if s.n_no_local_therapy is None else f"{s.n_no_local_therapy:,}"
        parts.append(f"({lt} local therapy, {no} none)")
    if s.n_note:
        parts.append(f"— {s.n_note}")
    return " ".join(parts)


@evidence_app.command("validate")
def validate(
    path: Path | None = typer.Argument(
        None, help="Directory of study YAML files (default: the packaged evidence base)."
    ),
    format: DataFormat = typer.Option(DataFormat.text, "--format", "-f"),
) -> None:
    """Check every record: exit 0 when clean, 1 when problems are found, 2 for a bad path."""
    from locoreg.evidence.base import DATA_DIR, GRADE_FILE, snapshot_id, validate_evidence

    directory = path if path is not None else DATA_DIR
    try:
        problems = validate_evidence(directory)
    except (FileNotFoundError, NotADirectoryError) as exc:
        fail(f"path: {exc}")
    n_files = sum(1 for f in directory.glob("*.yaml") if f.name != GRADE_FILE)
    snapshot = snapshot_id(directory)
    if format is DataFormat.json:
        _print_json(
            {
                "path": str(directory),
                "ok": not problems,
                "files": n_files,
                "snapshot": snapshot,
                "problems": [
                    {"file": p.file, "field": p.field, "message": p.message} for p in problems
                ],
            }
        )
    else:
        for p in problems:
            typer.echo(str(p))
        if problems:
            typer.echo(f"{len(problems)} problem(s) in {directory}", err=True)
        else:
            typer.echo(f"OK: {n_files} study files, snapshot {snapshot}")
    if problems:
        raise typer.Exit(EXIT_PROBLEMS)


def register(app: typer.Typer) -> None:
    """Add ``locoreg evidence`` (list, show, validate, and pool from evidence_pool)."""
    app.add_typer(evidence_app, name="evidence")
    from locoreg.cli import evidence_pool

    evidence_pool.register(evidence_app)
