"""`locoreg meta FILE.csv`: pool study estimates from a CSV file (CONTRACTS.md §3).

Input is either effect sizes and variances (``--yi/--vi``, any scale) or hazard ratios
with confidence limits (``--hr/--ci-low/--ci-high``, pooled on the log scale and
reported back as ratios). Bad files, columns or values exit with code 2 and one line
per problem naming the column and the data row (1 = first row after the header).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from locoreg.cli._common import DataFormat, choose, fail, with_options
from locoreg.cli.meta_diagnostics import Extras
from locoreg.cli.meta_diagnostics import fmt as _fmt
from locoreg.cli.meta_diagnostics import p_text as _p
from locoreg.errors import FieldError, InputError, core_error

#: image formats the forest plot can be written in (plots._style.save)
PLOT_SUFFIXES: tuple[str, ...] = (".svg", ".png", ".pdf")


@dataclass(frozen=True)
class _Table:
    """The CSV as read: header and rows of strings; row 1 is the first data row."""

    path: Path
    columns: list[str]
    rows: list[dict[str, str]]


@dataclass(frozen=True)
class _Studies:
    yi: list[float]
    vi: list[float]
    labels: list[str]
    groups: list[str] | None
    from_hr: bool


def _read_csv(path: Path) -> _Table:
    import csv

    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = [
                {k: (v or "").strip() for k, v in row.items() if k is not None}
                for row in reader
                if any((v or "").strip() for v in row.values() if isinstance(v, str))
            ]
            columns = list(reader.fieldnames or [])
    except FileNotFoundError:
        raise InputError.single("FILE", f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError.single("FILE", f"cannot read {path} as UTF-8 CSV: {exc}") from None
    if not columns:
        raise InputError.single("FILE", f"{path} has no header row")
    if not rows:
        raise InputError.single("FILE", f"{path} has no data rows")
    return _Table(path, columns, rows)


def _numbers(table: _Table, column: str, errors: list[FieldError]) -> list[float]:
    out: list[float] = []
    for r, row in enumerate(table.rows, start=1):
        text = row.get(column, "")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            what = "missing value" if text == "" else f"{text!r} is not a number"
            errors.append(FieldError(column, f"row {r}: {what}"))
        out.append(value)
    return out


def _studies(
    table: _Table,
    yi: str | None,
    vi: str | None,
    hr: str | None,
    ci_low: str | None,
    ci_high: str | None,
    ci_level: str,
    by: str | None,
    label: str | None,
) -> tuple[_Studies, dict[str, str]]:
    """Parse the columns the options name; returns the studies and, for error messages,
    which column each numeric-core argument came from."""
    from_hr = hr is not None or ci_low is not None or ci_high is not None
    if from_hr and (yi is not None or vi is not None):
        raise InputError.single("--yi/--hr", "give either --yi and --vi, or --hr with limits")
    needed = {"--hr": hr, "--ci-low": ci_low, "--ci-high": ci_high} if from_hr else {
        "--yi": yi, "--vi": vi}  # fmt: skip
    absent = [FieldError(opt, "option is required") for opt, col in needed.items() if not col]
    if absent:
        raise InputError(absent)
    level_column = None
    try:
        level_value = float(ci_level)
    except ValueError:
        level_column = ci_level
        level_value = math.nan

    wanted = [c for c in (*needed.values(), by, label, level_column) if c]
    missing = [c for c in dict.fromkeys(wanted) if c not in table.columns]
    if missing:
        allowed = ", ".join(table.columns)
        raise InputError(
            [FieldError(c, f"column not found in {table.path.name}", allowed) for c in missing]
        )

    errors: list[FieldError] = []
    values = {opt: _numbers(table, col, errors) for opt, col in needed.items() if col}
    levels: list[float] | float = level_value
    if level_column:
        levels = _numbers(table, level_column, errors)
    groups = None
    if by:
        groups = [row.get(by, "") for row in table.rows]
        errors += [
            FieldError(by, f"row {r}: missing subgroup label")
            for r, g in enumerate(groups, start=1)
            if not g
        ]
    if errors:
        raise InputError(errors)

    labels = (
        [row.get(label, "") or f"study {r}" for r, row in enumerate(table.rows, start=1)]
        if label
        else [f"study {r}" for r in range(1, len(table.rows) + 1)]
    )
    given = {"yi": yi, "vi": vi, "hr": hr, "ci_low": ci_low, "ci_high": ci_high}
    source = {arg: col for arg, col in given.items() if col}
    source["ci_level"] = level_column or "--ci-level"
    if from_hr:
        from locoreg.meta import log_hr_from_ci

        try:
            y, v = log_hr_from_ci(values["--hr"], values["--ci-low"], values["--ci-high"], levels)
        except ValueError as exc:
            raise InputError([core_error(exc, columns=source, rows=True)]) from None
        return _Studies(list(y), list(v), labels, groups, True), source
    return _Studies(values["--yi"], values["--vi"], labels, groups, False), source


def _with_ratios(d: dict[str, Any]) -> dict[str, Any]:
    """Add the hazard-ratio scale (exp of the log-scale estimate and limits)."""
    out = dict(d)
    for key, src in (("hr", "estimate"), ("hr_ci_low", "ci_low"), ("hr_ci_high", "ci_high"),
                     ("hr_pi_low", "pi_low"), ("hr_pi_high", "pi_high")):  # fmt: skip
        value = d.get(src)
        out[key] = math.exp(value) if value is not None else None
    return out


def _summary_lines(d: dict[str, Any], from_hr: bool, indent: str = "") -> list[str]:
    pct = round(100 * d["level"])
    if from_hr:
        effect = f"HR {_fmt(d['hr'])} ({pct}% CI {_fmt(d['hr_ci_low'])} to {_fmt(d['hr_ci_high'])})"
        pi = (d["hr_pi_low"], d["hr_pi_high"])
    else:
        effect = (
            f"estimate {_fmt(d['estimate'], 4)} "
            f"({pct}% CI {_fmt(d['ci_low'], 4)} to {_fmt(d['ci_high'], 4)})"
        )
        pi = (d["pi_low"], d["pi_high"])
    stat = "z" if d["test"] == "z" else f"t({d['df']})"
    lines = [f"{indent}Pooled {effect}, {stat} = {_fmt(d['statistic'])}, p {_p(d['p_value'])}"]
    if pi[0] is not None:
        digits = 2 if from_hr else 4
        lines.append(f"{indent}Prediction interval {_fmt(pi[0], digits)} to {_fmt(pi[1], digits)}")
    tau = f"tau^2 = {_fmt(d['tau2'], 4)}"
    if d["tau2_ci_low"] is not None:
        tau += f" ({pct}% CI {_fmt(d['tau2_ci_low'], 4)} to {_fmt(d['tau2_ci_high'], 4)})"
    lines.append(
        f"{indent}Heterogeneity: {tau}, I^2 = {_fmt(d['i2'], 1)}%, H^2 = {_fmt(d['h2'])}, "
        f"Q = {_fmt(d['q'])} on {d['q_df']} df, p {_p(d['q_p'])}"
    )
    return lines


def _print_text(out: dict[str, Any], studies: _Studies, res: Any) -> None:
    model = "Fixed-effect" if out["method"] == "FE" else f"Random-effects ({out['method']})"
    test = "z test" if out["test"] == "z" else "Knapp-Hartung t test"
    scale = "hazard ratios (pooled on the log scale)" if studies.from_hr else "effects as given"
    typer.echo(f"{model} meta-analysis, {test}, k = {out['k']}; {scale}")
    width = max(len(s["label"]) for s in out["studies"])
    for s in out["studies"]:
        est = (
            f"HR {_fmt(s['hr'])} ({_fmt(s['hr_ci_low'])} to {_fmt(s['hr_ci_high'])})"
            if studies.from_hr
            else f"{_fmt(s['yi'], 4)} ({_fmt(s['ci_low'], 4)} to {_fmt(s['ci_high'], 4)})"
        )
        typer.echo(f"  {s['label']:<{width}}  {est}  weight {_fmt(s['weight'], 1)}%")
    if "moderators" in out:
        # a meta-regression has no pooled effect: metafor's layout of the model
        typer.echo(res.summary())
        return
    for line in _summary_lines(out, studies.from_hr):
        typer.echo(line)
    if "subgroups" in out:
        typer.echo(f"Subgroups by {out['by']} (separate tau^2 per subgroup):")
        for level, sub in out["subgroups"].items():
            typer.echo(f"  {level} (k = {sub['k']})")
            for line in _summary_lines(sub, studies.from_hr, indent="    "):
                typer.echo(line)
        typer.echo(
            f"Test for subgroup differences: Q = {_fmt(out['q_between'])} on "
            f"{out['q_between_df'][0]} df, p {_p(out['q_between_p'])}"
        )
    from locoreg.cli.meta_diagnostics import text_lines

    for line in text_lines(out, studies.from_hr):
        typer.echo(line)


def _run(
    file: Path,
    yi: str | None,
    vi: str | None,
    hr: str | None,
    ci_low: str | None,
    ci_high: str | None,
    ci_level: str,
    method: str,
    test: str,
    by: str | None,
    label: str | None,
    level: float,
    extras: Extras,
) -> tuple[dict[str, Any], _Studies, Any]:
    from statistics import NormalDist

    from locoreg.cli.meta_diagnostics import moderator_frame, run_extras
    from locoreg.meta import rma, subgroup_analysis
    from locoreg.meta.options import TAU2_METHODS, TESTS
    from locoreg.meta.rma import ConvergenceError

    choices: list[FieldError] = []
    method = choose("--method", method, TAU2_METHODS, choices, upper=True)
    test = choose("--test", test, TESTS, choices)
    if choices:
        raise InputError(choices)
    if not 0 < level < 1:
        raise InputError.single("--level", f"{level} must be between 0 and 1", "e.g. 0.95")
    try:
        fixed_level = float(ci_level)
    except ValueError:
        fixed_level = 0.5  # a column name: its values are checked row by row
    if not 0 < fixed_level < 1:
        raise InputError.single(
            "--ci-level", f"{ci_level} must be between 0 and 1", "e.g. 0.95, 0.90 or a column"
        )
    table = _read_csv(file)
    studies, source = _studies(table, yi, vi, hr, ci_low, ci_high, ci_level, by, label)
    moderators = None
    if extras.mods is not None:
        if by is not None or extras.per_study:
            raise InputError.single(
                "--mods", "a meta-regression goes without --by and the per-study diagnostics"
            )
        moderators = moderator_frame(extras.mods, table.columns, table.rows)
    try:
        # --mods is rma's formula form on the file's columns (formulaic, R's contrasts)
        res = rma(studies.yi, studies.vi, method, test, level, data=moderators, mods=extras.mods)
        sub = (
            subgroup_analysis(studies.yi, studies.vi, studies.groups, method, test, level)
            if studies.groups is not None
            else None
        )
        diagnostics, filled = run_extras(
            extras, studies.yi, studies.vi, studies.labels, method, test, level, studies.from_hr
        )
    except ConvergenceError as exc:
        raise InputError.single("--method", str(exc), "another --method") from None
    except ValueError as exc:
        columns = {**source, "mods": "--mods"}
        raise InputError([core_error(exc, columns=columns, rows=True)]) from None

    convert = _with_ratios if studies.from_hr else dict
    out = convert(res.to_dict())
    out["scale"] = "log hazard ratio" if studies.from_hr else "as given"
    # per-study intervals at the pooled --level, from yi and vi (so 90% inputs are shown
    # on the same footing as the others)
    z = NormalDist().inv_cdf((1 + level) / 2)
    rows = []
    for name, y, v, w in zip(studies.labels, studies.yi, studies.vi, res.weights, strict=True):
        half = z * math.sqrt(v)
        row: dict[str, Any] = {"label": name, "yi": y, "vi": v, "weight": float(w),
                               "ci_low": y - half, "ci_high": y + half}  # fmt: skip
        if studies.from_hr:
            row.update(hr=math.exp(y), hr_ci_low=math.exp(y - half), hr_ci_high=math.exp(y + half))
        rows.append(row)
    out["studies"] = rows
    if sub is not None:
        out["by"] = by
        out["subgroups"] = {g: convert(r.to_dict()) for g, r in sub.levels.items()}
        out["q_between"] = sub.q_between
        out["q_between_df"] = list(sub.q_between_df)
        out["q_between_p"] = sub.q_between_p
    if moderators is not None:
        data = res.to_dict()
        out["moderators"] = {
            "formula": extras.mods,
            "coefficients": data["coefficients"],
            "qm": data["qm"],
            "qm_df": data["qm_df"],
            "qm_p": data["qm_p"],
            "statistic_name": "QM" if res.df is None else "F",
            "r2": res.r2,
        }
    out.update(diagnostics)
    return out, studies, (res, sub, filled)


def register(app: typer.Typer) -> None:
    """Add the `meta` command to the root app."""

    @app.command("meta")
    @with_options(extras=Extras)
    def meta(
        extras: Extras,
        file: Path = typer.Argument(..., help="CSV file, one study per row, with a header."),
        yi: str | None = typer.Option(None, "--yi", help="Column of effect sizes."),
        vi: str | None = typer.Option(None, "--vi", help="Column of sampling variances."),
        hr: str | None = typer.Option(None, "--hr", help="Column of hazard ratios."),
        ci_low: str | None = typer.Option(None, "--ci-low", help="Column of lower limits."),
        ci_high: str | None = typer.Option(None, "--ci-high", help="Column of upper limits."),
        ci_level: str = typer.Option(
            "0.95", "--ci-level", help="Level of the reported intervals: a number or a column."
        ),
        method: str = typer.Option("REML", "--method", help="tau^2 estimator (FE: none)."),
        test: str = typer.Option("z", "--test", help="z, or knha (Knapp-Hartung t)."),
        by: str | None = typer.Option(None, "--by", help="Column of subgroup labels."),
        label: str | None = typer.Option(None, "--label", help="Column of study labels."),
        level: float = typer.Option(0.95, "--level", help="Level of the pooled intervals."),
        format: DataFormat = typer.Option(DataFormat.text, "--format", "-f"),
        plot: Path | None = typer.Option(None, "--plot", help="Write a forest plot (.svg/.png)."),
    ) -> None:
        """Pool study estimates (metafor-validated random-effects meta-analysis)."""
        import json

        try:
            for option, path in (("--plot", plot), ("--funnel", extras.funnel)):
                if path is not None and path.suffix.lower() not in PLOT_SUFFIXES:
                    raise InputError.single(
                        option, f"{path.name!r} has no known image suffix", ", ".join(PLOT_SUFFIXES)
                    )
            out, studies, fits = _run(
                file, yi, vi, hr, ci_low, ci_high, ci_level, method, test, by,
                label, level, extras,
            )  # fmt: skip
        except InputError as exc:
            fail(exc)
        if format is DataFormat.json:
            typer.echo(json.dumps(out, indent=2, allow_nan=False))
        else:
            _print_text(out, studies, fits[0])
        for option, path, draw in (("--plot", plot, _plot), ("--funnel", extras.funnel, _funnel)):
            if path is None:
                continue
            try:
                draw(path, out, studies, *fits)
            except OSError as exc:  # unwritable path: a user error, not a crash
                fail(InputError.single(option, f"cannot write {path}: {exc.strerror or exc}"))


def _funnel(
    path: Path, out: dict[str, Any], studies: _Studies, res: Any, sub: Any, filled: Any
) -> None:
    """Contour-enhanced funnel plot of the studies (with the filled ones after trim and fill)."""
    from locoreg.plots.funnel import funnel_plot

    funnel_plot(
        studies.yi, studies.vi, estimate=res.estimate, fill=filled,
        measure="HR" if studies.from_hr else None, labels=studies.labels, path=path,
    )  # fmt: skip


def _plot(
    path: Path, out: dict[str, Any], studies: _Studies, res: Any, sub: Any, filled: Any
) -> None:
    """Forest plot of the studies (by subgroup with --by), subgroup and overall diamonds."""
    from locoreg.plots.forest import ForestRow, ForestSummary, forest_plot

    scale = ("hr", "hr_ci_low", "hr_ci_high") if studies.from_hr else ("yi", "ci_low", "ci_high")
    groups: list[str | None] = [None] * len(studies.labels)
    if studies.groups is not None:
        groups = list(studies.groups)
    rows = [
        ForestRow(s["label"], s[scale[0]], s[scale[1]], s[scale[2]], s["weight"], g)
        for s, g in zip(out["studies"], groups, strict=True)
    ]
    summaries = []
    if sub is not None:
        summaries = [
            ForestSummary.from_meta(
                fit, f"{level} (k = {fit.k})", group=level, ratio=studies.from_hr
            )
            for level, fit in sub.levels.items()
        ]
    summaries.append(ForestSummary.from_meta(res, ratio=studies.from_hr))
    test = "z test" if res.test == "z" else "Knapp-Hartung t test"
    footer = [f"τ² estimator {res.method}, {test}."]
    if sub is not None:
        footer.append(
            f"Test for subgroup differences: Q = {sub.q_between:.2f} on "
            f"{sub.q_between_df[0]} df, p {_p(sub.q_between_p)}."
        )
    pct = round(100 * res.level)
    forest_plot(
        rows,
        summaries,
        measure="HR" if studies.from_hr else None,
        favours=None,
        footer=footer,
        ci_label=f"HR ({pct}% CI)" if studies.from_hr else f"Estimate ({pct}% CI)",
        path=path,
    )
