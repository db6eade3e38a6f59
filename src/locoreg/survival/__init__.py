"""Survival engine: numpy/scipy (and numba kernels, loaded on first use), arrays in, frozen
dataclasses out; every fit also takes R's formula and a DataFrame
(``cox("Surv(time, status) ~ age + strata(inst)", data=df)``, ``survival/formula.py``).
Design, validation and differences from R: docs/survival.md.

Names are resolved lazily so that ``import locoreg.survival`` costs nothing until
a function is used. To export a new public name, add it to ``_EXPORTS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from locoreg._lazy import lazy_attribute

if TYPE_CHECKING:  # what mypy sees; tests/test_lazy_exports.py keeps it equal to _EXPORTS
    from .causal import (
        EValue as EValue,
    )
    from .causal import (
        MatchResult as MatchResult,
    )
    from .causal import (
        PropensityModel as PropensityModel,
    )
    from .causal import (
        e_value as e_value,
    )
    from .causal import (
        iptw_weights as iptw_weights,
    )
    from .causal import (
        match_nearest as match_nearest,
    )
    from .causal import (
        propensity_score as propensity_score,
    )
    from .causal import (
        standardized_mean_difference as standardized_mean_difference,
    )
    from .competing import (
        CumulativeIncidence as CumulativeIncidence,
    )
    from .competing import (
        FineGrayData as FineGrayData,
    )
    from .competing import (
        GrayTest as GrayTest,
    )
    from .competing import (
        aalen_johansen as aalen_johansen,
    )
    from .competing import (
        fine_gray as fine_gray,
    )
    from .competing import (
        finegray_expand as finegray_expand,
    )
    from .competing import (
        gray_test as gray_test,
    )
    from .cox import (
        CoxResult as CoxResult,
    )
    from .cox import (
        cox as cox,
    )
    from .cox import (
        cox_zph as cox_zph,
    )
    from .formula import (
        ModelFrame as ModelFrame,
    )
    from .formula import (
        model_frame as model_frame,
    )
    from .km import (
        KaplanMeier as KaplanMeier,
    )
    from .km import (
        KaplanMeierGroups as KaplanMeierGroups,
    )
    from .km import (
        NelsonAalen as NelsonAalen,
    )
    from .km import (
        kaplan_meier as kaplan_meier,
    )
    from .km import (
        kaplan_meier_by_group as kaplan_meier_by_group,
    )
    from .km import (
        nelson_aalen as nelson_aalen,
    )
    from .logrank import (
        LogRankResult as LogRankResult,
    )
    from .logrank import (
        PairwiseLogRank as PairwiseLogRank,
    )
    from .logrank import (
        logrank as logrank,
    )
    from .logrank import (
        p_adjust as p_adjust,
    )
    from .logrank import (
        pairwise_logrank as pairwise_logrank,
    )
    from .parametric import (
        SurvregResult as SurvregResult,
    )
    from .parametric import (
        survreg as survreg,
    )
    from .rmst import (
        RMST as RMST,
    )
    from .rmst import (
        Contrast as Contrast,
    )
    from .rmst import (
        rmst as rmst,
    )

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
