"""Survival engine: numpy/scipy (and numba kernels, loaded on first use), arrays in, frozen
dataclasses out. Design, validation and differences from R: docs/survival.md.

Names are resolved lazily so that ``import locoreg.survival`` costs nothing until
a function is used. To export a new public name, add it to ``_EXPORTS``.
"""

from __future__ import annotations

from typing import Any

from locoreg._lazy import lazy_attribute

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
    "KaplanMeierGroups": "km",
    "rmst": "rmst",
    "RMST": "rmst",
    "Contrast": "rmst",
    "survreg": "parametric",
    "SurvregResult": "parametric",
    "model_frame": "formula",
    "ModelFrame": "formula",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _EXPORTS, name)
