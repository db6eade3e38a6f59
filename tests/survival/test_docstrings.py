"""Every public survival and meta-analysis function has a numpydoc docstring with
formulas and references."""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

import locoreg.meta as meta
import locoreg.meta.regression as regression
import locoreg.survival as survival


def _functions(module: ModuleType, names: list[str]) -> list[tuple[str, str]]:
    return [
        (module.__name__, name)
        for name in sorted(names)
        if inspect.isfunction(inspect.unwrap(getattr(module, name)))
    ]


FUNCTIONS = (
    _functions(survival, survival.__all__)
    + _functions(meta, meta.__all__)
    + _functions(regression, regression.__all__)
)
MODULES = {m.__name__: m for m in (survival, meta, regression)}


def test_the_check_covers_both_cores() -> None:
    names = {name for _, name in FUNCTIONS}
    assert {"cox", "cox_zph", "rma", "trim_fill", "escalc", "log_risk_ratio"} <= names
    assert {"meta_regression", "predict", "kaplan_meier"} <= names


@pytest.mark.parametrize(("module", "name"), FUNCTIONS)
def test_numpydoc_sections(module: str, name: str) -> None:
    doc = inspect.getdoc(getattr(MODULES[module], name)) or ""
    for section in ("Parameters", "Returns", "Notes", "References"):
        assert f"\n{section}\n{'-' * len(section)}\n" in doc, f"{name}: no {section} section"
