"""The meta-analysis vocabulary, written once: τ² estimators and tests of the pooled effect.

Every layer that offers or checks these choices reads them here: the engine
(:func:`locoreg.meta.rma`), the evidence pool, the CLI options and the web forms. No
numpy here; but ``import locoreg.meta`` loads the engine (``rma`` is bound eagerly, see
``locoreg.meta.__init__``), so CLI modules import this one inside their commands.
"""

from __future__ import annotations

from typing import Literal, get_args

#: τ² estimators (metafor's ``method=``): FE is the fixed-effect model (no τ²); the
#: others estimate τ² as described in :mod:`locoreg.meta._heterogeneity`.
Tau2Method = Literal["FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS"]
TAU2_METHODS: tuple[str, ...] = get_args(Tau2Method)
DEFAULT_METHOD: Tau2Method = "REML"
#: estimators with a closed form (no iteration): they cannot fail to converge
CLOSED_FORM_METHODS: tuple[Tau2Method, ...] = ("DL", "HE", "SJ", "HS", "FE")

#: test of the pooled effect: normal (z) or Knapp–Hartung t (knha)
Test = Literal["z", "knha"]
TESTS: tuple[str, ...] = get_args(Test)
DEFAULT_TEST: Test = "z"
