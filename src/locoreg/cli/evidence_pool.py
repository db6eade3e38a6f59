"""`locoreg evidence pool`: randomised vs observational evidence, pooled side by side.

    locoreg evidence pool --outcome overall_survival|locoregional_progression --by design
        [--method FE|DL|REML|ML|PM|HE|SJ|EB|HS] [--test z|knha] [--level 0.95]
        [--format text|json] [--plot OUT.svg|.png|.pdf]

The numbers come from :func:`locoreg.evidence.pool.pool_by_design`; this module only
checks the options (exit 2 naming the option and its allowed values), prints and plots.
The text puts a third column next to the two groups: the observational studies re-pooled
with one study per data source (shared registry patients counted once), with the studies
kept and dropped under the table.
Only typer and the standard library load at import time.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from locoreg.cli._common import DataFormat, choose, evidence_base, fail

if TYPE_CHECKING:
    from locoreg.evidence.pool import GroupPool, PoolResult, SourceSensitivity

_PLOT_SUFFIXES = (".svg", ".png", ".pdf")


def _options(
    outcome: str,
    by: str,
    method: str,
    test: str,
    level: float,
    plot: Path | None,
    cumulative: Path | None = None,
) -> tuple[str, str, str, str]:
    """Normalised option values, or exit 2 with one line per bad option."""
    from locoreg.errors import FieldError
    from locoreg.evidence.pool import BY_VALUES, METHODS, OUTCOMES, TESTS

    errors: list[FieldError] = []
    out = choose("--outcome", outcome, OUTCOMES, errors)
    b = choose("--by", by, BY_VALUES, errors)
    m = choose("--method", method, METHODS, errors, upper=True)
    t = choose("--test", test, TESTS, errors)
    if not (math.isfinite(level) and 0.0 < level < 1.0):
        errors.append(
            FieldError("--level", f"{level:g} is out of range", "a number in (0, 1), e.g. 0.95")
        )
    for option, path in (("--plot", plot), ("--cumulative", cumulative)):
        if path is None:
            continue
        if path.suffix.lower() not in _PLOT_SUFFIXES:
            errors.append(
                FieldError(option, f"{path.name!r} has no known suffix", ", ".join(_PLOT_SUFFIXES))
            )
        if not path.parent.is_dir():
            errors.append(FieldError(option, f"directory {path.parent} does not exist"))
    if errors:
        fail(errors)
    return out, b, m, t


def register(evidence_app: typer.Typer) -> None:
    """Add the `pool` command to the `evidence` sub-app."""

    @evidence_app.command("pool")
    def pool(
        outcome: str = typer.Option(
            "overall_survival", "--outcome", help="overall_survival or locoregional_progression."
        ),
        by: str = typer.Option(
            "design", "--by", help="Grouping: design (trials vs observational)."
        ),
        method: str = typer.Option("REML", "--method", help="tau^2 estimator: FE, DL, REML, ..."),
        test: str = typer.Option("z", "--test", help="z, or knha (Knapp-Hartung t)."),
        level: float = typer.Option(0.95, "--level", help="Level of the pooled intervals."),
        format: DataFormat = typer.Option(DataFormat.text, "--format", "-f"),
        plot: Path | None = typer.Option(
            None, "--plot", help="Write the forest plot of both groups (.svg, .png or .pdf)."
        ),
        cumulative: Path | None = typer.Option(
            None, "--cumulative", help="Write the chronological cumulative forest plot."
        ),
    ) -> None:
        """Pool randomised trials and observational studies separately, and show why they differ."""
        chosen = _options(outcome, by, method, test, level, plot, cumulative)
        from locoreg.errors import FieldError, InputError
        from locoreg.evidence.pool import pool_by_design
        from locoreg.meta.options import TAU2_METHODS
        from locoreg.meta.rma import ConvergenceError

        try:
            result = pool_by_design(
                evidence_base(), outcome=chosen[0], by=chosen[1], method=chosen[2], test=chosen[3],
                level=level,
            )  # fmt: skip
        except InputError as exc:
            fail(exc)
        except ConvergenceError as exc:
            fail([FieldError("--method", f"{exc}; try another estimator", ", ".join(TAU2_METHODS))])
        if format is DataFormat.json:
            typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, allow_nan=False))
        else:
            typer.echo(render_text(result))
        if plot is not None:
            from locoreg.plots.pool_forest import pool_forest_plot

            pool_forest_plot(result, path=plot)
            if format is DataFormat.text:
                typer.echo(f"Forest plot written to {plot}")
        if cumulative is not None:
            from locoreg.plots.pool_forest import pool_cumulative_plot

            pool_cumulative_plot(result, path=cumulative)
            if format is DataFormat.text:
                typer.echo(f"Cumulative forest plot written to {cumulative}")


def _hr(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _pool_cells(g: GroupPool | SourceSensitivity, level: float) -> list[str]:
    """One table column: a design group, or the one-study-per-data-source pool."""
    pct = f"{round(100 * level)}%"
    f = g.fit
    if f is None or g.hr is None:
        return ["0", "no poolable hazard ratio", "–", "–", "–", "–"]
    lo, hi = g.hr_ci
    pi_lo, pi_hi = g.hr_pi
    return [
        str(g.k),
        f"{_hr(g.hr)} ({pct} CI {_hr(lo)}–{_hr(hi)})",
        "–" if pi_lo is None else f"{_hr(pi_lo)}–{_hr(pi_hi)}",
        f"{f.tau2:.4f}",
        f"{f.i2:.0f}%" if g.k > 1 else "–",
        f"Q = {f.q:.2f}, df {f.q_df}, p {_p(f.q_p)}" if g.k > 1 else "–",
    ]


def _sensitivity_lines(sens: SourceSensitivity) -> list[str]:
    """Which observational studies the one-per-source pool keeps and drops, and why."""
    from locoreg.evidence.pool import source_label

    lines = [
        "Sensitivity, one study per data source (registry analyses of one database may share "
        "patients):",
        f"  rule: {sens.rule}",
    ]
    shared = sens.shared()
    if not shared:
        lines.append("  no two observational studies share a data source: same as the main pool")
        return lines
    n_of = {s.id: s.n_patients for s in sens.kept} | {d.id: d.n_patients for d in sens.dropped}

    def who(study_id: str) -> str:
        n = n_of.get(study_id)
        return f"{study_id} ({'n not recorded' if n is None else f'{n:,} patients'})"

    for source, (kept, dropped) in shared.items():
        lines.append(
            f"  {source_label(source)}: kept {who(kept)}; dropped {', '.join(map(who, dropped))}"
        )
    lines.append(f"  pooled (k = {sens.k}): {', '.join(s.id for s in sens.kept)}")
    return lines


def render_text(r: PoolResult) -> str:
    """The plain-text report: both pooled estimates side by side, then the reasons."""
    from locoreg.evidence.pool import GROUPS, source_label

    title = r.outcome.replace("_", " ")
    test = "z" if r.test == "z" else "Knapp-Hartung t"
    lines = [
        f"{title.capitalize()}: local therapy of the primary vs none (hazard ratio < 1 favours "
        "local therapy)",
        f"Random-effects model per group ({r.method}, {test} test); evidence snapshot {r.snapshot}",
        "",
    ]
    groups = [r.groups[key] for key in GROUPS]
    header = ["", *(g.label for g in groups)]
    names = ["studies (k)", "pooled HR", "prediction interval", "tau^2", "I^2", "heterogeneity"]
    cells = [_pool_cells(g, r.level) for g in groups]
    sens = r.source_sensitivity
    if sens is not None:  # next to the main observational estimate
        header.append("Observational, 1 per data source")
        cells.append(_pool_cells(sens, r.level))
    table = [header] + [[n, *(c[i] for c in cells)] for i, n in enumerate(names)]
    widths = [max(len(row[j]) for row in table) for j in range(len(header))]
    for i, row in enumerate(table):
        lines.append("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    if r.q_between is not None:
        lines.append(
            f"Test for subgroup differences: Q = {r.q_between:.2f}, df {r.q_between_df}, "
            f"p {_p(r.q_between_p)}"
            + (f"; ratio of pooled HRs {r.ratio_of_hrs:.2f}" if r.ratio_of_hrs else "")
        )
    else:
        lines.append("Test for subgroup differences: not possible (fewer than two groups).")
    if sens is not None:
        lines += ["", *_sensitivity_lines(sens)]
    both = all(g.studies for g in groups)
    lines += ["", "Why they differ" if both else "What can and cannot be compared"]
    lines += [f"  - {text}" for text in r.explanation]
    for g in groups:
        lines += ["", f"{g.label} (risk of bias: {g.bias_summary})"]
        for s in g.studies:
            level = "" if abs(s.ci_level - 0.95) < 1e-9 else f", {round(100 * s.ci_level)}% CI"
            source = f"  data {source_label(s.data_source)}" if s.data_source else ""
            lines.append(
                f"  {s.id:<16} {s.citation:<40} HR {s.hr:g} ({s.hr_ci_low:g}–{s.hr_ci_high:g}"
                f"{level})  weight {s.weight:.1f}%  RoB {(s.rob_overall or '-').replace('_', ' ')}"
                f"{source}"
            )
            if s.bias_domains or s.rob_overall not in (None, "low"):
                lines.append(f"      {s.rob_reason}")
        for grade in g.grade:
            why = "; ".join(grade.downgrades) or "no downgrade"
            lines.append(
                f"  GRADE ({grade.rated_by}): {grade.certainty.value.replace('_', ' ')} — {why}"
            )
    if r.published:
        lines += ["", "Published meta-analyses (for comparison; not re-pooled)"]
        for p in r.published:
            ci = "" if p.ci_low is None else f" ({p.ci_low:g}–{p.ci_high:g})"
            sub = "" if p.subgroup == "overall" else f", {p.subgroup}"
            if p.favourable_side == "higher":
                sub += ", above 1 favours local therapy"
            lines.append(f"  {p.id:<16} {p.measure} {p.estimate:g}{ci}{sub} — {p.population}")
    if r.not_pooled:
        lines += ["", "Listed, not pooled"]
        lines += [f"  {n.id:<16} {n.reason}" for n in r.not_pooled]
    if r.caveats:
        lines += ["", "Caveats"]
        lines += [f"  - {c}" for c in r.caveats]
    return "\n".join(lines)
