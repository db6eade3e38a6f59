"""Registry re-analysis: contract, DuckDB loading, selection, simulator, ladder, multiverse.

Names are resolved lazily so that ``import locoreg.cohort`` stays cheap (DuckDB
and the survival engine load on first use).

    from locoreg.cohort import simulate_registry, write_registry, load_registry, extract, run_ladder
    write_registry(simulate_registry(5000, true_hr=1.0, seed=1), "reg.parquet")
    result = run_ladder(extract(load_registry("reg.parquet")))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from locoreg._lazy import lazy_attribute

if TYPE_CHECKING:  # what mypy sees; tests/test_lazy_exports.py keeps it equal to _EXPORTS
    from ._fit import (
        Estimate as Estimate,
    )
    from .emulation import (
        emulated_trial as emulated_trial,
    )
    from .ladder import (
        LadderResult as LadderResult,
    )
    from .ladder import (
        LadderSettings as LadderSettings,
    )
    from .ladder import (
        run_ladder as run_ladder,
    )
    from .load import (
        OnError as OnError,
    )
    from .load import (
        Problem as Problem,
    )
    from .load import (
        Registry as Registry,
    )
    from .load import (
        load_registry as load_registry,
    )
    from .multiverse import (
        Spec as Spec,
    )
    from .multiverse import (
        default_specs as default_specs,
    )
    from .multiverse import (
        run_multiverse as run_multiverse,
    )
    from .select import (
        COVARIATE_SETS as COVARIATE_SETS,
    )
    from .select import (
        AnalyticTable as AnalyticTable,
    )
    from .select import (
        Selection as Selection,
    )
    from .select import (
        extract as extract,
    )
    from .select import (
        extraction_sql as extraction_sql,
    )
    from .simulate import (
        SimulatedRegistry as SimulatedRegistry,
    )
    from .simulate import (
        simulate_registry as simulate_registry,
    )
    from .simulate import (
        write_registry as write_registry,
    )
    from .summary import (
        summarise as summarise,
    )

_EXPORTS: dict[str, str] = {
    "simulate_registry": "simulate",
    "write_registry": "simulate",
    "SimulatedRegistry": "simulate",
    "load_registry": "load",
    "Registry": "load",
    "OnError": "load",
    "Problem": "load",
    "Selection": "select",
    "extract": "select",
    "extraction_sql": "select",
    "AnalyticTable": "select",
    "COVARIATE_SETS": "select",
    "run_ladder": "ladder",
    "LadderSettings": "ladder",
    "LadderResult": "ladder",
    "Estimate": "_fit",
    "emulated_trial": "emulation",
    "run_multiverse": "multiverse",
    "default_specs": "multiverse",
    "Spec": "multiverse",
    "summarise": "summary",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _EXPORTS, name)
