"""Registry re-analysis: contract, DuckDB loading, selection, simulator, ladder, multiverse.

Names are resolved lazily so that ``import locoreg.cohort`` stays cheap (DuckDB
and the survival engine load on first use).

    from locoreg.cohort import simulate_registry, write_registry, load_registry, extract, run_ladder
    write_registry(simulate_registry(5000, true_hr=1.0, seed=1), "reg.parquet")
    result = run_ladder(extract(load_registry("reg.parquet")))
"""

from __future__ import annotations

from typing import Any

from locoreg._lazy import lazy_attribute

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
