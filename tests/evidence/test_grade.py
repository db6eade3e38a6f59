"""GRADE imprecision against the stated thresholds (HR 0.80 benefit, 1.25 harm)."""

from __future__ import annotations

import pytest

from locoreg.evidence.grade import IMPORTANT_BENEFIT_HR, IMPORTANT_HARM_HR, rate_imprecision


@pytest.mark.parametrize(
    ("ci", "pi", "levels", "needle"),
    [
        ((0.60, 0.70), None, 0, "no threshold crossed"),  # clear benefit, narrow
        ((0.90, 1.10), (0.85, 1.15), 0, "no threshold crossed"),  # no important effect
        ((0.75, 1.15), None, 1, "important benefit"),  # benefit or nothing
        ((0.95, 1.40), None, 1, "important harm"),  # harm or nothing
        ((0.70, 1.40), None, 2, "both important benefit"),  # either way
        ((0.85, 1.15), (0.60, 1.60), 1, "prediction interval 0.60–1.60"),  # PI alone
        ((0.75, 1.15), (0.48, 1.80), 1, "prediction interval 0.48–1.80"),  # the trials
    ],
)
def test_rate_imprecision(
    ci: tuple[float, float], pi: tuple[float, float] | None, levels: int, needle: str
) -> None:
    rated = rate_imprecision(ci, pi)
    assert rated.levels == levels and needle in rated.reason
    assert rated.to_dict()["judgement"] == ("not serious", "serious", "very serious")[levels]


def test_thresholds_are_symmetric_on_the_log_scale() -> None:
    assert pytest.approx(1.0) == IMPORTANT_BENEFIT_HR * IMPORTANT_HARM_HR
