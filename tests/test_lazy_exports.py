"""The lazy packages give mypy real types: the TYPE_CHECKING imports equal ``_EXPORTS``."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "locoreg"
PACKAGES = sorted(
    p.parent.name for p in SRC.glob("*/__init__.py") if "lazy_attribute" in p.read_text()
)


def _typing_imports(tree: ast.Module) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.level == 1
                for alias in imp.names:
                    assert alias.asname == alias.name  # explicit re-export
                    found[alias.name] = str(imp.module)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_type_checking_imports_equal_the_lazy_exports(package: str) -> None:
    assert package in {"cohort", "evidence", "fhir", "meta", "survival"}
    module = importlib.import_module(f"locoreg.{package}")
    tree = ast.parse((SRC / package / "__init__.py").read_text())
    assert _typing_imports(tree) == module._EXPORTS
    for name in module._EXPORTS:  # and every name resolves at run time
        assert getattr(module, name) is not None
