"""`locoreg assess FILE`: assess one patient from a JSON or YAML file."""

from __future__ import annotations

from pathlib import Path

import typer

from locoreg.cli._common import OutputFormat, fail


def _print_text(assessment: object) -> None:
    from rich.console import Console
    from rich.panel import Panel

    from locoreg.decision.model import FACTOR_LABELS, RECOMMENDATION_LABELS, Assessment, Direction
    from locoreg.report.markdown import (
        harm_lines,
        months_text,
        option_lines,
        reference_lines,
        stage_text,
    )

    assert isinstance(assessment, Assessment)
    a = assessment
    console = Console()
    style = {
        Direction.favours_local_therapy: "green",
        Direction.against_local_therapy: "red",
        Direction.neutral: "blue",
    }
    console.print(
        Panel(
            f"[bold]{a.headline}[/bold]",
            title=f"{RECOMMENDATION_LABELS[a.recommendation]}  ({a.recommendation.value})"
            f"  ·  {stage_text(a)}",
            title_align="left",
        )
    )
    groups = (
        ("For local therapy", Direction.favours_local_therapy),
        ("Against local therapy", Direction.against_local_therapy),
        ("Neutral", Direction.neutral),
    )
    for title, direction in groups:
        chosen = [f for f in a.factors if f.direction is direction]
        if not chosen:
            continue
        console.print(f"[bold {style[direction]}]{title}[/]")
        for f in chosen:
            name = FACTOR_LABELS[f.factor]
            console.print(
                f"  • [bold]{name}[/bold]: {f.finding}. {f.explanation} "
                f"[dim]\\[{', '.join(f.evidence)}][/dim]"
            )
    for title, items in (
        ("Local therapy options", option_lines(a)),
        ("Harms (trial signals against local therapy)", harm_lines(a)),
    ):
        if items:
            console.print(f"[bold]{title}[/bold]")
            for item in items:
                console.print(f"  • {item}", markup=False)
    console.print(f"[bold]Prognosis[/bold]  median overall survival {months_text(a)}")
    console.print(f"  {a.prognosis.basis}", markup=False)
    for line in reference_lines(a):
        console.print(f"  • {line}", markup=False)
    console.print(f"[bold]Local control[/bold]  {a.local_control.summary}")
    if a.local_control.applies and a.local_control.overall_survival:
        console.print(f"  {a.local_control.overall_survival}")
    for title, items in (
        ("Goals of care", a.goals_of_care),
        ("What would change the recommendation", a.would_change),
        ("Missing data", a.missing),
        ("Warnings", a.warnings),
    ):
        if items:
            console.print(f"[bold]{title}[/bold]")
            for item in items:
                console.print(f"  • {item}")
    console.print(f"[bold]Evidence[/bold]  {', '.join(a.evidence)}")
    versions = ", ".join(f"{k} {v}" for k, v in a.versions.items())
    console.print(f"[dim]{a.disclaimer} Versions: {versions}.[/dim]")


def _write_pdf(patient: object, assessment: object, out: Path) -> None:
    """The tumour-board PDF, written whole or not at all (temporary file, then rename)."""
    import os
    import tempfile

    from locoreg.decision.model import Assessment
    from locoreg.patient import Patient
    from locoreg.report.pdf import PdfUnavailable, content_record_id, render_assessment_pdf

    assert isinstance(patient, Patient) and isinstance(assessment, Assessment)
    entered = patient.model_dump(mode="json")
    try:
        pdf = render_assessment_pdf(
            assessment, record_id=content_record_id(entered, assessment), patient_input=entered
        )
    except PdfUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    try:
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(pdf)
        os.replace(tmp, out)
    except OSError as exc:
        fail(f"-o: cannot write {out}: {exc.strerror or exc}")


def register(app: typer.Typer) -> None:
    @app.command()
    def assess(
        file: Path = typer.Argument(..., help="Patient as JSON or YAML (CONTRACTS.md §1)."),
        format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
        output: Path | None = typer.Option(None, "--output", "-o", help="File for --format pdf."),
    ) -> None:
        """Assess one patient: recommendation, factors, prognosis, local control, evidence."""
        from locoreg.decision import assess as run
        from locoreg.errors import InputError
        from locoreg.patient import load_patient

        if (format is OutputFormat.pdf) != (output is not None):
            fail("-o: --format pdf writes to a file: give both --format pdf and -o OUT.pdf")
        if output is not None and not output.parent.is_dir():
            fail(f"-o: cannot write {output}: directory {output.parent} does not exist")
        try:
            patient = load_patient(file)
        except InputError as exc:
            fail(exc)
        assessment = run(patient)
        if output is not None:
            _write_pdf(patient, assessment, output)
        elif format is OutputFormat.json:
            typer.echo(assessment.model_dump_json(indent=2))
        elif format is OutputFormat.markdown:
            from locoreg.report.markdown import assessment_markdown

            typer.echo(assessment_markdown(assessment))
        else:
            _print_text(assessment)
