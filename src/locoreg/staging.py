"""AJCC 8th edition *anatomic* stage group for breast cancer from T, N and M.

The anatomic table (AJCC Cancer Staging Manual, 8th ed., 2017, breast chapter,
"Anatomic Stage Groups") in one declarative mapping:

    0     Tis N0 M0
    IA    T1 N0 M0
    IB    T0 N1mi M0; T1 N1mi M0
    IIA   T0 N1 M0; T1 N1 M0; T2 N0 M0
    IIB   T2 N1 M0; T3 N0 M0
    IIIA  T0 N2 M0; T1 N2 M0; T2 N2 M0; T3 N1 M0; T3 N2 M0
    IIIB  T4 N0 M0; T4 N1 M0; T4 N2 M0
    IIIC  any T N3 M0
    IV    any T any N M1

Conventions of the table: T1 includes T1mi; the T4 and N2/N3 subcategories
stage as their parent; N1mi stages as N1 except with T0/T1 (IB). A combination
the table does not contain (TX or NX with M0 and no N3, T0 N0, Tis with nodes)
has no anatomic stage group: ``stage_group`` returns ``None`` and
``stage_group_reason`` says why.
"""

from __future__ import annotations

from enum import StrEnum

from locoreg.i18n import gettext as _
from locoreg.patient import N_CATEGORIES, T_CATEGORIES


class StageGroup(StrEnum):
    stage_0 = "0"
    IA = "IA"
    IB = "IB"
    IIA = "IIA"
    IIB = "IIB"
    IIIA = "IIIA"
    IIIB = "IIIB"
    IIIC = "IIIC"
    IV = "IV"


# The parent category each T and N subcategory stages as.
_T_PARENT = {
    "TX": "TX", "T0": "T0", "Tis": "Tis",
    "T1": "T1", "T1mi": "T1", "T1a": "T1", "T1b": "T1", "T1c": "T1",
    "T2": "T2", "T3": "T3",
    "T4": "T4", "T4a": "T4", "T4b": "T4", "T4c": "T4", "T4d": "T4",
}  # fmt: skip
_N_PARENT = {
    "NX": "NX", "N0": "N0", "N1": "N1", "N1mi": "N1mi",
    "N2": "N2", "N2a": "N2", "N2b": "N2",
    "N3": "N3", "N3a": "N3", "N3b": "N3", "N3c": "N3",
}  # fmt: skip

# (T parent, N parent) -> stage group for M0, exactly the AJCC rows above.
_M0_TABLE: dict[tuple[str, str], StageGroup] = {
    ("Tis", "N0"): StageGroup.stage_0,
    ("T1", "N0"): StageGroup.IA,
    ("T0", "N1mi"): StageGroup.IB,
    ("T1", "N1mi"): StageGroup.IB,
    ("T0", "N1"): StageGroup.IIA,
    ("T1", "N1"): StageGroup.IIA,
    ("T2", "N0"): StageGroup.IIA,
    ("T2", "N1"): StageGroup.IIB,
    ("T2", "N1mi"): StageGroup.IIB,
    ("T3", "N0"): StageGroup.IIB,
    ("T0", "N2"): StageGroup.IIIA,
    ("T1", "N2"): StageGroup.IIIA,
    ("T2", "N2"): StageGroup.IIIA,
    ("T3", "N1"): StageGroup.IIIA,
    ("T3", "N1mi"): StageGroup.IIIA,
    ("T3", "N2"): StageGroup.IIIA,
    ("T4", "N0"): StageGroup.IIIB,
    ("T4", "N1"): StageGroup.IIIB,
    ("T4", "N1mi"): StageGroup.IIIB,
    ("T4", "N2"): StageGroup.IIIB,
}


def _check(t: str | None, n: str | None, m: str) -> None:
    if t is not None and t not in T_CATEGORIES:
        raise ValueError(f"t: {t!r} is not a T category; allowed: {', '.join(T_CATEGORIES)}")
    if n is not None and n not in N_CATEGORIES:
        raise ValueError(f"n: {n!r} is not an N category; allowed: {', '.join(N_CATEGORIES)}")
    if m not in ("M0", "M1"):
        raise ValueError(f"m: {m!r} is not an M category; allowed: M0, M1")


def stage_group(t: str | None, n: str | None, m: str) -> StageGroup | None:
    """Anatomic stage group, or ``None`` when the AJCC table assigns none.

    ``t``/``n`` of ``None`` mean "not recorded" and stage like ``TX``/``NX``.
    """
    _check(t, n, m)
    if m == "M1":
        return StageGroup.IV
    t_parent = _T_PARENT[t or "TX"]
    n_parent = _N_PARENT[n or "NX"]
    if n_parent == "N3":
        return StageGroup.IIIC
    return _M0_TABLE.get((t_parent, n_parent))


def stage_group_reason(t: str | None, n: str | None, m: str) -> str:
    """Plain words for the stage group, including why none could be assigned."""
    group = stage_group(t, n, m)
    if group is not None:
        return _("AJCC 8th edition anatomic stage %(group)s") % {"group": group.value}
    t_parent, n_parent = _T_PARENT[t or "TX"], _N_PARENT[n or "NX"]
    if "TX" in (t_parent,) or "NX" in (n_parent,):
        return _("no anatomic stage group: T or N not assessable (TX/NX) with M0")
    if (t_parent, n_parent) == ("T0", "N0"):
        return _("no anatomic stage group: no evidence of primary tumour or nodal disease (T0 N0)")
    return _("no anatomic stage group in the AJCC table for %(t)s %(n)s %(m)s") % {
        "t": t,
        "n": n,
        "m": m,
    }
