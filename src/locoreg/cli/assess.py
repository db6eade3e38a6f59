"""`locoreg assess FILE`: assess one patient from a JSON or YAML file."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from locoreg.cli._common import OutputFormat, fail


def _print_text(assessment: object) -> None:
    """The assessment on the terminal, labels in the current language."""
    from rich.console import Console
    from rich.panel import Panel

    from locoreg.decision.model import Assessment, Direction, factor_label, recommendation_label
    from locoreg.i18n import gettext as _
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
            title=f"{recommendation_label(a.recommendation)}  ({a.recommendation.value})"
            f"  ·  {stage_text(a)}",
            title_align="left",
        )
    )
    groups = (
        (_("For local therapy"), Direction.favours_local_therapy),
        (_("Against local therapy"), Direction.against_local_therapy),
        (_("Neutral"), Direction.neutral),
    )
    for title, direction in groups:
        chosen = [f for f in a.factors if f.direction is direction]
        if not chosen:
            continue
        console.print(f"[bold {style[direction]}]{title}[/]")
        for f in chosen:
            console.print(
                f"  • [bold]{factor_label(f.factor)}[/bold]: {f.finding}. {f.explanation} "
                f"[dim]\\[{', '.join(f.evidence)}][/dim]"
            )
    for title, items in (
        (_("Local therapy options"), option_lines(a)),
        (_("Harms (trial signals against local therapy)"), harm_lines(a)),
    ):
        if items:
            console.print(f"[bold]{title}[/bold]")
            for item in items:
                console.print(f"  • {item}", markup=False)
    console.print(
        "[bold]"
        + _("Prognosis")
        + "[/bold]  "
        + _("median overall survival %(months)s") % {"months": months_text(a)}
    )
    console.print(f"  {a.prognosis.basis}", markup=False)
    for line in reference_lines(a):
        console.print(f"  • {line}", markup=False)
    console.print("[bold]" + _("Local control") + f"[/bold]  {a.local_control.summary}")
    if a.local_control.applies and a.local_control.overall_survival:
        console.print(f"  {a.local_control.overall_survival}")
    for title, items in (
        (_("Goals of care"), a.goals_of_care),
        (_("What would change the recommendation"), a.would_change),
        (_("Missing data"), a.missing),
        (_("Warnings"), a.warnings),
    ):
        if items:
            console.print(f"[bold]{title}[/bold]")
            for item in items:
                console.print(f"  • {item}")
    console.print("[bold]" + _("Evidence") + f"[/bold]  {', '.join(a.evidence)}")
    versions = ", ".join(f"{k} {v}" for k, v in a.versions.items())
    console.print(
        f"[dim]{a.disclaimer} " + _("Versions: %(versions)s.") % {"versions": versions} + "[/dim]"
    )


def _model_text(pred: dict[str, object]) -> str:
    """One paragraph for `--model` in text output (current language)."""
    from locoreg.i18n import gettext as _
    from locoreg.i18n import num

    surv = pred["survival"]
    interval = pred["survival_interval"]
    assert isinstance(surv, dict) and isinstance(interval, dict)
    parts = ", ".join(
        _("%(h)s months %(p)s%% (%(low)s–%(high)s%%)")
        % {
            "h": h,
            "p": num(100 * p),
            "low": num(100 * interval[h][0]),
            "high": num(100 * interval[h][1]),
        }
        for h, p in surv.items()
    )
    median = pred["median_os_months"]
    med = (
        _("; median %(months)s months") % {"months": num(median, 2)}
        if isinstance(median, float)
        else ""
    )
    return (
        _("Prognosis from your registry's model: survival %(survival)s%(median)s.")
        % {
            "survival": parts,
            "median": med,
        }
        + f" {pred['source']}."
    )


def _write_whole(out: Path, data: bytes) -> None:
    """``data`` to ``out``, whole or not at all (a temporary file beside it, then renamed)."""
    import os
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        fail(f"-o: cannot write {out}: {exc.strerror or exc}")


def _write(text: str, output: Path | None) -> None:
    """``text`` to standard output, or whole to ``output``."""
    if output is None:
        typer.echo(text)
    else:
        _write_whole(output, text.encode("utf-8"))


def _write_pdf(patient: object, assessment: object, out: Path, lang: str) -> None:
    """The tumour-board PDF (see :mod:`locoreg.report.pdf`)."""
    from locoreg.decision.model import Assessment
    from locoreg.patient import Patient
    from locoreg.report.pdf import PdfUnavailable, content_record_id, render_assessment_pdf

    assert isinstance(patient, Patient) and isinstance(assessment, Assessment)
    entered = patient.model_dump(mode="json")
    try:
        pdf = render_assessment_pdf(
            assessment,
            record_id=content_record_id(entered, assessment),
            patient_input=entered,
            lang=lang,
        )
    except PdfUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _write_whole(out, pdf)


def register(app: typer.Typer) -> None:
    @app.command()
    def assess(
        file: Path = typer.Argument(..., help="Patient as JSON or YAML (CONTRACTS.md §1)."),
        format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
        model: Path | None = typer.Option(
            None, "--model", help="Prognosis model from `locoreg model fit` (adds prognosis.model)."
        ),
        lang: str = typer.Option(
            "en",
            "--lang",
            help="Language of the texts (engine sentences, labels, patient aid): en, es. "
            "Codes and JSON keys stay English.",
        ),
        output: Path | None = typer.Option(
            None, "--output", "-o", help="Write to this file (--format pdf, patient-html)."
        ),
    ) -> None:
        """Assess one patient: recommendation, factors, prognosis, local control, evidence."""
        from locoreg.decision import assess as run
        from locoreg.errors import InputError
        from locoreg.i18n import check_language, language
        from locoreg.patient import load_patient

        if format is OutputFormat.pdf and output is None:
            fail("-o: --format pdf writes to a file: give -o OUT.pdf")
        if output is not None and format not in (OutputFormat.pdf, OutputFormat.patient_html):
            fail("-o: only --format pdf and --format patient-html write a file")
        if output is not None and not output.parent.is_dir():
            fail(f"-o: cannot write {output}: directory {output.parent} does not exist")
        try:
            check_language(lang, "--lang")
            patient = load_patient(file)
        except InputError as exc:
            fail(exc)
        assessment = run(patient, lang=lang)
        with language(lang):
            _deliver(format, patient, assessment, model, lang, output)


def _deliver(
    format: OutputFormat,
    patient: object,
    assessment: object,
    model: Path | None,
    lang: str,
    output: Path | None,
) -> None:
    """Write ``assessment`` in ``format`` (inside ``language(lang)``: labels follow it)."""
    from locoreg.decision.model import Assessment
    from locoreg.patient import Patient

    assert isinstance(patient, Patient) and isinstance(assessment, Assessment)
    if format is OutputFormat.pdf:
        assert output is not None  # checked above
        _write_pdf(patient, assessment, output, lang)
    elif format is OutputFormat.patient_html:
        from locoreg.report.patient_aid import render_patient_aid

        _write(render_patient_aid(assessment, lang=lang), output)
    elif model is not None:
        from locoreg.cli.model import model_prognosis

        data = assessment.model_dump(mode="json")
        data["prognosis"]["model"] = model_prognosis(model, patient)
        if format is OutputFormat.json:
            typer.echo(json.dumps(data, indent=2))
        else:
            _print_text(assessment)
            typer.echo(_model_text(data["prognosis"]["model"]))
    elif format is OutputFormat.json:
        typer.echo(assessment.model_dump_json(indent=2))
    elif format is OutputFormat.markdown:
        from locoreg.report.markdown import assessment_markdown

        typer.echo(assessment_markdown(assessment))
    else:
        _print_text(assessment)
