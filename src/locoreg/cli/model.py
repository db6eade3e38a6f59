"""`locoreg model fit`: a prognosis model fitted on the user's registry, with its validation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from locoreg.cli._common import fail, with_options
from locoreg.cli.cohort import RegistryOptions

model_app = typer.Typer(
    name="model",
    help="Prognosis models from your own registry (used by `locoreg assess --model`).",
    no_args_is_help=True,
)


@model_app.command("fit")
@with_options(reading=RegistryOptions)
def fit(
    reading: RegistryOptions,
    registry: Path = typer.Argument(..., help="Registry file or extracted analytic table."),
    out: Path = typer.Option(..., "-o", "--output", help="Model file to write (.json)."),
    bootstrap: int = typer.Option(
        50, "--bootstrap", min=0, help="Bootstrap replicates for the optimism of the C-index."
    ),
    seed: int = typer.Option(20240601, "--seed", help="Seed of the bootstrap."),
) -> None:
    """Fit a Cox model of overall survival on the baseline variables, with its validation."""
    from locoreg.cli.cohort import ALL_PATIENTS, _load
    from locoreg.cohort.prognosis_model import fit_model, sha256
    from locoreg.errors import InputError

    if out.suffix.lower() != ".json":
        fail(f"--output: the model is written as .json, got {out.name!r}")
    if not out.resolve().parent.is_dir():
        fail(f"--output: directory {out.resolve().parent} does not exist")
    _, table, cohort = _load(registry, reading, ALL_PATIENTS)
    source = {
        "file": registry.name,
        "sha256": sha256(registry),
        "source": cohort.get("source", "registry file"),
        "selection": cohort.get("selection", ""),
    }
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            model = fit_model(table, source, bootstrap=bootstrap, seed=seed)
    except InputError as exc:
        fail(exc)
    except ValueError as exc:
        fail(f"model: {exc}")
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(json.dumps(model, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        fail(f"--output: cannot write {out}: {exc.strerror or exc}")
    v = model["validation"]
    print(
        f"wrote {out}: Cox model on {table.n} patients ({model['data']['deaths']} deaths), "
        f"C-index {v['c_index']:.3f} (apparent {v['c_index_apparent']:.3f}, "
        f"{v['bootstrap_replicates']} bootstrap replicates), Brier at 24 months "
        f"{v['brier'].get('24', float('nan')):.3f}",
        file=sys.stderr,
    )


def load_model(path: Path) -> dict[str, object]:
    """Read and check a model file; exit 2 with a one-line message when it is not one."""
    from locoreg.cohort.prognosis_model import check_model
    from locoreg.errors import InputError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return check_model(data, "--model")
    except OSError as exc:
        fail(f"--model: cannot read {path}: {exc.strerror or exc}")
    except ValueError as exc:
        if isinstance(exc, InputError):
            fail(exc)
        fail(f"--model: {path} is not JSON ({exc})")


def model_prognosis(path: Path, patient: object) -> dict[str, object]:
    """``prognosis.model`` of ``patient``; exit 2 when the patient is outside the model's data."""
    from locoreg.cohort.prognosis_model import predict
    from locoreg.errors import InputError

    model = load_model(path)
    try:
        return predict(model, patient)
    except InputError as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    """Add the `model` command group to the root app."""
    app.add_typer(model_app, name="model")
