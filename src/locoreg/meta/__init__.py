"""Meta-analysis engine: numpy/scipy only, arrays in, frozen dataclasses out.

Names are resolved lazily (see ``locoreg._lazy``), except ``rma`` and ``MetaResult`` (below).
To export a new public name, add it to ``_EXPORTS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from locoreg._lazy import lazy_attribute

if TYPE_CHECKING:  # what mypy sees; tests/test_lazy_exports.py keeps it equal to _EXPORTS
    from .bias import (
        egger_test as egger_test,
    )
    from .bias import (
        rank_test as rank_test,
    )
    from .bias import (
        trim_fill as trim_fill,
    )
    from .effects import (
        log_hr_from_ci as log_hr_from_ci,
    )
    from .escalc import (
        escalc as escalc,
    )
    from .escalc import (
        log_hr_from_logrank as log_hr_from_logrank,
    )
    from .escalc import (
        log_odds_ratio as log_odds_ratio,
    )
    from .escalc import (
        log_risk_ratio as log_risk_ratio,
    )
    from .escalc import (
        risk_difference as risk_difference,
    )
    from .result import (
        MetaResult as MetaResult,
    )
    from .rma import (
        rma as rma,
    )
    from .sensitivity import (
        cumulative as cumulative,
    )
    from .sensitivity import (
        influence as influence,
    )
    from .sensitivity import (
        leave_one_out as leave_one_out,
    )
    from .subgroup import (
        SubgroupResult as SubgroupResult,
    )
    from .subgroup import (
        subgroup_analysis as subgroup_analysis,
    )

_EXPORTS: dict[str, str] = {
    # name -> submodule
    "rma": "rma",
    "MetaResult": "result",
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

# `rma` and `escalc` name both a submodule and the function it defines: whichever is
# imported first, `locoreg.meta.rma` and `locoreg.meta.escalc` must be the functions (for
# callers and for mypy), so they are bound here eagerly (importing the submodule later
# sets the package attribute only on its first load, which is this one). This loads
# numpy/scipy with the package; the CLI imports `locoreg.meta` only inside its
# commands, so `locoreg --help` stays light.
from locoreg.meta.escalc import escalc as escalc  # noqa: E402
from locoreg.meta.rma import MetaResult as MetaResult  # noqa: E402
from locoreg.meta.rma import rma as rma  # noqa: E402


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _EXPORTS, name)
