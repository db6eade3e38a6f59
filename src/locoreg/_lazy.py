"""Lazy re-exports for the subpackages, so that ``locoreg --help`` imports no numeric stack.

Each subpackage lists its public names in ``_EXPORTS`` (name -> submodule) and defines::

    def __getattr__(name: str) -> Any:
        return lazy_attribute(__name__, _EXPORTS, name)

(PEP 562). The first access imports the submodule and binds every exported name of it in the
package namespace: importing submodule ``cox`` binds the package attribute ``cox`` to the
submodule, which would otherwise shadow the function of the same name.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from importlib import import_module
from typing import Any


def lazy_attribute(package: str, exports: Mapping[str, str], name: str) -> Any:
    module = exports.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    sub = import_module(f"{package}.{module}")
    namespace = vars(sys.modules[package])
    namespace.update({k: getattr(sub, k) for k, m in exports.items() if m == module})
    return namespace[name]
