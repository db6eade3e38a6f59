"""AJCC 8th edition anatomic stage groups: every T × N × M combination of the contract."""

from __future__ import annotations

import itertools

import pytest

from locoreg.patient import N_CATEGORIES, T_CATEGORIES
from locoreg.staging import StageGroup, stage_group, stage_group_reason

# The AJCC 8th edition anatomic stage table as printed (breast chapter), row by row.
AJCC_ROWS = [
    ("0", "Tis", "N0"),
    ("IA", "T1", "N0"),
    ("IB", "T0", "N1mi"), ("IB", "T1", "N1mi"),
    ("IIA", "T0", "N1"), ("IIA", "T1", "N1"), ("IIA", "T2", "N0"),
    ("IIB", "T2", "N1"), ("IIB", "T3", "N0"),
    ("IIIA", "T0", "N2"), ("IIIA", "T1", "N2"), ("IIIA", "T2", "N2"), ("IIIA", "T3", "N1"),
    ("IIIA", "T3", "N2"),
    ("IIIB", "T4", "N0"), ("IIIB", "T4", "N1"), ("IIIB", "T4", "N2"),
]  # fmt: skip


def family(category: str) -> str:
    """The printed row a (sub)category belongs to: T1mi/T1a-c -> T1, T4a-d -> T4, N2a -> N2."""
    if category.startswith("T1") or category.startswith("T4"):
        return category[:2]
    if category[:2] in ("N2", "N3"):
        return category[:2]
    return category


def expected(t: str, n: str, m: str) -> str | None:
    if m == "M1":
        return "IV"
    if family(n) == "N3":
        return "IIIC"
    # Footnote: N1mi with T2-T4 stages as N1.
    n_row = "N1" if n == "N1mi" and family(t) in ("T2", "T3", "T4") else family(n)
    for group, t_row, n_cat in AJCC_ROWS:
        if t_row == family(t) and n_cat == n_row:
            return group
    return None


@pytest.mark.parametrize("m", ["M0", "M1"])
def test_every_combination_matches_the_ajcc_table(m: str) -> None:
    for t, n in itertools.product(T_CATEGORIES, N_CATEGORIES):
        got = stage_group(t, n, m)
        assert (got.value if got else None) == expected(t, n, m), (t, n, m)


def test_known_points() -> None:
    assert stage_group("T1mi", "N0", "M0") is StageGroup.IA
    assert stage_group("T2", "N1mi", "M0") is StageGroup.IIB
    assert stage_group("TX", "N3b", "M0") is StageGroup.IIIC
    assert stage_group("T4d", "N0", "M0") is StageGroup.IIIB
    assert stage_group(None, None, "M1") is StageGroup.IV
    assert stage_group("TX", "N0", "M0") is None
    assert stage_group("Tis", "N1", "M0") is None


def test_reasons_and_bad_input() -> None:
    assert stage_group_reason("T2", "N0", "M0") == "AJCC 8th edition anatomic stage IIA"
    assert "TX/NX" in stage_group_reason("TX", "N0", "M0")
    assert "T0 N0" in stage_group_reason("T0", "N0", "M0")
    with pytest.raises(ValueError, match="allowed"):
        stage_group("T9", "N0", "M0")
    with pytest.raises(ValueError, match="M0, M1"):
        stage_group("T1", "N0", "M2")
