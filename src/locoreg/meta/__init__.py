"""Meta-analysis engine: numpy/scipy only, arrays in, frozen dataclasses out.

Names are resolved lazily (see ``locoreg._lazy``), except ``rma`` and ``MetaResult`` (below).
To export a new public name, add it to ``_EXPORTS``.
"""

from __future__ import annotations

from typing import Any

from locoreg._lazy import lazy_attribute

_EXPORTS: dict[str, str] = {
    # name -> submodule
    "rma": "rma",
    "MetaResult": "rma",
    "log_hr_from_ci": "effects",
    "escalc": "escalc",
    "log_risk_ratio": "escalc",
    "log_odds_ratio": "escalc",
    "risk_difference": "escalc",
    "log_hr_from_logrank": "escalc",
    "subgroup_analysis": "subgroup",
    "SubgroupResult": "subgroup",
    "leave_one_out": "sensitivity",
    "cumulative": "sensitivity",
    "influence": "sensitivity",
    "egger_test": "bias",
    "rank_test": "bias",
    "trim_fill": "bias",
}

__all__ = sorted(_EXPORTS)

# `rma` names both a submodule and the function it defines: whichever is imported
# first, `locoreg.meta.rma` must be the function (for callers and for mypy), so it is
# bound here eagerly. This loads numpy/scipy with the package; the CLI imports
# `locoreg.meta` only inside its commands, so `locoreg --help` stays light.
from locoreg.meta.rma import MetaResult as MetaResult  # noqa: E402
from locoreg.meta.rma import rma as rma  # noqa: E402


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _EXPORTS, name)
