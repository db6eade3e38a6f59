"""`locoreg evidence diff OLD_DIR NEW_DIR`: what a new or changed record changes.

    locoreg evidence diff OLD_DIR NEW_DIR [--format text|json] [--patients DIR] [--changelog]

Records added, removed and changed, every pooled estimate before and after, the GRADE
ratings that change (:func:`locoreg.evidence.diff.diff_bases`), and the assessments of the
example patients (``examples/patients`` of the source tree, or ``--patients``) re-run
against each base (:func:`locoreg.evidence.base.using_evidence_base`): recommendations,
headlines and quoted figures that differ. Exit 0 with or without differences; 2 for a
bad directory; 1 (problems listed) when a base does not validate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from locoreg.cli._common import DataFormat, fail

if TYPE_CHECKING:
    from locoreg.evidence.base import EvidenceBase
    from locoreg.evidence.diff import EvidenceDiff

EXIT_PROBLEMS = 1
#: the example patients of a source checkout (absent from an installed wheel)
EXAMPLE_PATIENTS = Path(__file__).resolve().parents[3] / "examples" / "patients"
_PATIENT_SUFFIXES = (".json", ".yaml", ".yml")


def _load(option: str, directory: Path) -> EvidenceBase:
    from locoreg.errors import FieldError
    from locoreg.evidence.base import EvidenceError, load_evidence_base

    if not directory.is_dir():
        fail([FieldError(option, f"{directory} is not a directory of evidence records")])
    try:
        return load_evidence_base(directory)
    except EvidenceError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {option}: {problem}", err=True)
        raise typer.Exit(EXIT_PROBLEMS) from None


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"factors.0.finding": "...", ...}``: every leaf of an assessment's JSON."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}.{i}"))
        return out
    return {prefix: value}


def assessment_changes(
    old: EvidenceBase, new: EvidenceBase, patients: Path
) -> list[dict[str, Any]]:
    """Per example patient whose assessment differs: the recommendation before and after
    and every differing field (the evidence snapshot in ``versions`` aside)."""
    from locoreg.decision.assessment import assess
    from locoreg.evidence.base import using_evidence_base
    from locoreg.patient import load_patient

    out: list[dict[str, Any]] = []
    for file in sorted(p for p in patients.iterdir() if p.suffix in _PATIENT_SUFFIXES):
        patient = load_patient(file)
        runs = []
        for base in (old, new):
            with using_evidence_base(base):
                data = assess(patient).model_dump(mode="json")
            data["versions"].pop("evidence", None)
            runs.append(_flatten(data))
        before, after = runs
        fields = sorted(
            (k for k in before.keys() | after.keys() if before.get(k) != after.get(k)),
            key=lambda k: (k.split(".")[0], k),
        )
        if fields:
            out.append(
                {
                    "patient": file.name,
                    "recommendation": {
                        "old": before["recommendation"],
                        "new": after["recommendation"],
                    },
                    "differences": [
                        {"field": k, "old": before.get(k), "new": after.get(k)} for k in fields
                    ],
                }
            )
    return out


def render_text(d: EvidenceDiff, assessments: list[dict[str, Any]] | None) -> str:
    """The plain-text report of :func:`locoreg.evidence.diff.diff_bases` and the patients."""
    lines = [f"Evidence snapshot {d.old_snapshot} → {d.new_snapshot}", ""]
    for name, ids in (("added", d.added), ("removed", d.removed), ("changed", d.changed)):
        lines.append(f"Records {name}: {', '.join(ids) if ids else 'none'}")
    lines += ["", "Pooled estimates (outcome, design group: before → after)"]
    for p in d.pooled:
        mark = "*" if p.changed else " "
        lines.append(
            f"{mark} {p.outcome.replace('_', ' ')}, {p.group}: {p.old.text()} → {p.new.text()}"
        )
        if p.imprecision_changed:
            lines.append(
                f"    GRADE imprecision from the pool: −{p.old.imprecision} → "
                f"−{p.new.imprecision} (re-rate the curated rating in _grade.yaml)"
            )
    lines += ["", "GRADE ratings (_grade.yaml)"]
    lines += [f"  {g.text()}" for g in d.grade] or ["  unchanged"]
    lines += ["", "Assessments of the example patients"]
    if assessments is None:
        lines.append("  not re-run: no example patients found (give --patients DIR)")
    elif not assessments:
        lines.append("  unchanged")
    for a in assessments or []:
        rec = a["recommendation"]
        moved = (
            f"recommendation {rec['old']} → {rec['new']}"
            if rec["old"] != rec["new"]
            else f"recommendation unchanged ({rec['new']})"
        )
        lines.append(f"  {a['patient']}: {moved}")
        for diff in a["differences"]:
            lines.append(f"    {diff['field']}: {diff['old']!r} → {diff['new']!r}")
    return "\n".join(lines)


def register(evidence_app: typer.Typer) -> None:
    """Add the `diff` command to the `evidence` sub-app."""

    @evidence_app.command("diff")
    def diff(
        old_dir: Path = typer.Argument(..., help="The evidence records before the change."),
        new_dir: Path = typer.Argument(..., help="The evidence records after the change."),
        format: DataFormat = typer.Option(DataFormat.text, "--format", "-f"),
        patients: Path | None = typer.Option(
            None, "--patients", help="Patients to re-assess (default: examples/patients)."
        ),
        changelog: bool = typer.Option(
            False, "--changelog", help="Print a draft data/CHANGELOG.md entry instead."
        ),
    ) -> None:
        """What a new or changed record changes: records, pooled estimates, GRADE, assessments."""
        from locoreg.errors import FieldError
        from locoreg.evidence.diff import diff_bases

        if patients is not None and not patients.is_dir():
            fail([FieldError("--patients", f"{patients} is not a directory")])
        old, new = _load("OLD_DIR", old_dir), _load("NEW_DIR", new_dir)
        result = diff_bases(old, new)
        if changelog:
            from datetime import UTC, datetime

            typer.echo(result.changelog_entry(datetime.now(UTC).date().isoformat()))
            return
        folder = patients or (EXAMPLE_PATIENTS if EXAMPLE_PATIENTS.is_dir() else None)
        assessments = None if folder is None else assessment_changes(old, new, folder)
        if format is DataFormat.json:
            data = result.to_dict() | {"assessments": assessments}
            typer.echo(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False))
        else:
            typer.echo(render_text(result, assessments))
