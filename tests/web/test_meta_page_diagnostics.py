"""The meta page's small-study and sensitivity section: the same numbers as the
metafor-validated functions of locoreg.meta on the page's pools."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

from locoreg.meta import egger_test, log_hr_from_ci, rank_test, trim_fill
from locoreg.web.meta_page import pooled_evidence


def test_each_pool_of_three_or_more_is_diagnosed() -> None:
    page = pooled_evidence("overall_survival", "REML", "z", "design")
    groups = {g["group"]: g for g in page["diagnostics"]["groups"]}
    for body, g in groups.items():
        rows = [r for r in page["rows"] if r["body"] == body]
        assert g["k"] == len(rows) >= 3
        yi, vi = log_hr_from_ci(
            [r["hr"] for r in rows], [r["ci_low"] for r in rows],
            [r["ci_high"] for r in rows], [r["ci_level"] for r in rows],
        )  # fmt: skip
        assert g["egger_p"] == pytest.approx(egger_test(yi, vi).p_value, rel=1e-12)
        assert g["begg_p"] == pytest.approx(rank_test(yi, vi).p_value, rel=1e-12)
        tf = trim_fill(yi, vi)
        assert g["trim_fill"]["k0"] == tf.k0
        assert g["trim_fill"]["hr"] == pytest.approx(math.exp(tf.fit.estimate), rel=1e-12)
        assert g["leave_one_out"]["min_hr"] <= g["leave_one_out"]["max_hr"]
        assert set(g["influential"]) <= {r["id"] for r in rows}
    assert page["diagnostics"]["funnel_svg"].lstrip().startswith("<svg")


def test_meta_page_shows_the_section(client: TestClient) -> None:
    r = client.get("/meta", params={"by": "none"})
    assert r.status_code == 200
    html = r.text
    assert "Small-study effects and sensitivity" in html
    assert "Egger p" in html and "Trim and fill" in html and 'class="funnel"' in html
