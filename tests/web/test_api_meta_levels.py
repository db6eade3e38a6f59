"""`POST /api/meta` with hazard ratios reported at mixed confidence levels (one per study),
as `locoreg meta --ci-level COLUMN` reads them; reference: metafor's REML fit of dat.bcg."""

from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import NormalDist
from typing import Any

import pytest
from fastapi.testclient import TestClient

FIXTURE = Path(__file__).parents[1] / "fixtures" / "metafor" / "metafor_rma.json"
DATA: dict[str, Any] = json.loads(FIXTURE.read_text())


def _bcg_at_levels(levels: list[float]) -> tuple[dict[str, Any], dict[str, Any]]:
    case = next(c for c in DATA["fits"] if (c["dataset"], c["method"]) == ("bcg", "REML"))
    hr, lo, hi, lv = [], [], [], []
    for i, (y, v) in enumerate(zip(case["yi"], case["vi"], strict=True)):
        level = levels[i % len(levels)]
        half = NormalDist().inv_cdf((1 + level) / 2) * math.sqrt(v)
        hr.append(math.exp(y))
        lo.append(math.exp(y - half))
        hi.append(math.exp(y + half))
        lv.append(level)
    return {"hr": hr, "ci_low": lo, "ci_high": hi, "ci_level": lv}, case["result"]


def test_per_study_levels_recover_metafor(client: TestClient) -> None:
    body, ref = _bcg_at_levels([0.90, 0.95, 0.99])
    r = client.post("/api/meta", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q", "pi_low", "pi_high"):
        assert out[key] == pytest.approx(ref[key], rel=1e-6, abs=1e-10), key
    # read as if every interval were a 95% one, the answer is different (and wrong)
    wrong = client.post("/api/meta", json={**body, "ci_level": 0.95}).json()
    assert wrong["se"] != pytest.approx(ref["se"], rel=1e-6)


@pytest.mark.parametrize(
    ("ci_level", "field"),
    [([0.95, 0.9], "ci_level"), ([0.95] * 12 + [1.5], "ci_level.12"), (95, "ci_level")],
)
def test_bad_levels_are_422_naming_the_entry(client: TestClient, ci_level: Any, field: str) -> None:
    body, _ = _bcg_at_levels([0.95])
    r = client.post("/api/meta", json={**body, "ci_level": ci_level})
    assert r.status_code == 422, r.text
    assert [d["field"] for d in r.json()["detail"]] == [field]
