"""One translator for the numeric cores' typed argument errors and for pydantic errors."""

from __future__ import annotations

import pytest

from locoreg.errors import FieldError, core_error, pydantic_errors
from locoreg.meta import rma
from locoreg.meta.effects import log_hr_from_ci
from locoreg.meta.errors import ArgumentError


def test_core_error_names_the_entry_as_a_json_path() -> None:
    with pytest.raises(ArgumentError) as info:
        log_hr_from_ci([0.8, 0.0], [0.6, 0.5], [1.0, 1.2])
    assert str(info.value) == "hr[1]: hazard ratio 0.0 must be > 0"
    assert core_error(info.value) == FieldError("hr.1", "hazard ratio 0.0 must be > 0")


def test_core_error_names_the_column_and_data_row() -> None:
    with pytest.raises(ArgumentError) as info:
        rma([0.1, 0.2, 0.3], [0.01, 0.02, -1.0])
    err = core_error(info.value, columns={"vi": "var_loghr"}, rows=True)
    assert err == FieldError("var_loghr", "row 3: sampling variance -1.0 must be > 0")


def test_core_error_carries_the_allowed_values() -> None:
    with pytest.raises(ArgumentError) as info:
        rma([0.1, 0.2], [0.01, 0.02], method="XX")
    err = core_error(info.value)
    assert err.field == "method"
    assert err.allowed == "FE, DL, REML, ML, PM, HE, SJ, EB, HS"


def test_other_exceptions_have_no_field() -> None:
    assert core_error(ValueError("boom")) == FieldError("", "boom")


def test_pydantic_errors_drop_the_transport_and_list_enum_values() -> None:
    errs = pydantic_errors(
        [
            {"type": "literal_error", "loc": ("body", "method"), "msg": "Input should be 'z'",
             "ctx": {"expected": "'z' or 'knha'"}},
            {"type": "extra_forbidden", "loc": ("query", "x"), "msg": "Extra inputs"},
            {"type": "value_error", "loc": (), "msg": "Value error, bad pair",
             "ctx": {"field": "ci_low"}},
        ]
    )  # fmt: skip
    assert errs == [
        FieldError("method", "Input should be 'z'", "z, knha"),
        FieldError("x", "unknown field; it is not part of the input contract"),
        FieldError("ci_low", "bad pair"),
    ]
