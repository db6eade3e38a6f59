"""``print(MetaResult)`` reads as metafor's ``print(rma)``: the same text, character for
character, as metafor 3.8 (tests/fixtures/metafor/make_metafor_print.R)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from locoreg.meta import rma

FIXTURE = Path(__file__).parents[1] / "fixtures" / "metafor" / "metafor_print.json"
CASES: list[dict[str, Any]] = json.loads(FIXTURE.read_text())["cases"]


def _fit(case: dict[str, Any]) -> Any:
    mods = None if "mods" not in case else np.asarray(case["mods"], dtype=float)
    names = case.get("mod_names")
    if isinstance(names, str):  # R's jsonlite writes a length-1 vector as a scalar
        names = [names]
    return rma(
        case["yi"], case["vi"], method=case["method"], test=case["test"], mods=mods,
        mod_names=names,
    )  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_print_matches_metafor(case: dict[str, Any]) -> None:
    res = _fit(case)
    assert str(res) == case["print"].strip("\n")


@pytest.mark.parametrize("case", [c for c in CASES if "predict_exp" in c], ids=lambda c: c["name"])
def test_ratio_view_matches_predict_transf_exp(case: dict[str, Any]) -> None:
    text = _fit(case).summary(ratio=True)
    assert text == case["print"].strip("\n") + "\n\n\n" + case["predict_exp"].strip("\n")
