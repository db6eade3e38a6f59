"""Survival engine: numpy/scipy only, arrays in, frozen dataclasses out.

Names are resolved lazily so that ``import locoreg.survival`` costs nothing until
a function is used. To export a new public name, add it to ``_EXPORTS``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS: dict[str, str] = {
    # name -> submodule
    "kaplan_meier": "km",
    "KaplanMeier": "km",
    "nelson_aalen": "km",
    "logrank": "logrank",
    "LogRankResult": "logrank",
    "pairwise_logrank": "logrank",
    "PairwiseLogRank": "logrank",
    "p_adjust": "logrank",
    "NelsonAalen": "km",
    "kaplan_meier_by_group": "km",
    "cox": "cox",
    "CoxResult": "cox",
    "cox_zph": "cox",
    "aalen_johansen": "competing",
    "fine_gray": "competing",
    "gray_test": "competing",
    "finegray_expand": "competing",
    "CumulativeIncidence": "competing",
    "GrayTest": "competing",
    "FineGrayData": "competing",
    "propensity_score": "causal",
    "iptw_weights": "causal",
    "match_nearest": "causal",
    "standardized_mean_difference": "causal",
    "e_value": "causal",
    "PropensityModel": "causal",
    "MatchResult": "causal",
    "EValue": "causal",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'locoreg.survival' has no attribute {name!r}")
    sub = import_module(f"locoreg.survival.{module}")
    # Cache every name of that submodule: importing submodule ``logrank`` (or ``cox``)
    # binds the package attribute of that name to the submodule, which would shadow the
    # function of the same name even when another name triggered the import.
    globals().update({k: getattr(sub, k) for k, m in _EXPORTS.items() if m == module})
    return globals()[name]
