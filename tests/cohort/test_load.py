"""The loader: every kind of bad row is reported by row number and column; stop vs exclude."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from locoreg.cohort.load import load_registry
from locoreg.errors import InputError


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _first_unoperated(rows: list[dict[str, str]], skip: set[int]) -> int:
    return next(i for i, r in enumerate(rows) if r["surgery"] == "false" and i not in skip)


def _errors(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(InputError) as exc:
        load_registry(path, **kwargs)  # type: ignore[arg-type]
    return [str(e) for e in exc.value.errors]


BAD_VALUES = [
    # (column, bad value, rule phrase expected in the message)
    ("survival_months", "-2", "below the minimum 0"),
    ("er", "positve", "cannot read 'positve'"),
    ("pr", "maybe", "cannot read 'maybe'"),
    ("her2", "3+", "cannot read '3+'"),
    ("t", "T9", "cannot read 'T9'"),
    ("n", "N4", "cannot read 'N4'"),
    ("age", "abc", "as a whole number"),
    ("age", "12", "below the minimum 18"),
    ("dead", "perhaps", "true or false"),
    ("year_of_diagnosis", "", "value is missing"),
]


@pytest.mark.parametrize(("column", "value", "phrase"), BAD_VALUES)
def test_each_bad_value_is_named_by_row_and_column(
    small_csv: Path, tmp_path: Path, column: str, value: str, phrase: str
) -> None:
    header, rows = _rows(small_csv)
    rows[4][column] = value
    errors = _errors(_write(tmp_path / "bad.csv", header, rows))
    assert len(errors) == 1
    assert errors[0].startswith(f"row 5, {column}: ")
    assert phrase in errors[0]


def test_cross_field_problems(small_csv: Path, tmp_path: Path) -> None:
    header, rows = _rows(small_csv)
    a = _first_unoperated(rows, set())
    b = _first_unoperated(rows, {a})
    c = _first_unoperated(rows, {a, b})
    rows[a]["surgery"] = "true"  # operated without a time
    rows[b]["surgery_months"] = "3.0"  # a time without the flag
    rows[c]["surgery"] = "true"
    rows[c]["surgery_months"] = str(float(rows[c]["survival_months"]) + 5)  # after death
    rows[7]["patient_id"] = rows[2]["patient_id"]  # duplicate
    errors = _errors(_write(tmp_path / "bad.csv", header, rows))
    assert f"row {a + 1}, surgery_months: surgery is true but surgery_months is empty" in errors
    assert f"row {b + 1}, surgery_months: surgery is false but surgery_months is given" in errors
    assert any(
        e.startswith(f"row {c + 1}, surgery_months: surgery at ") and "after death or last" in e
        for e in errors
    )
    assert "row 3, patient_id: patient_id is not unique (rows 3, 8)" in errors
    assert "row 8, patient_id: patient_id is not unique (rows 3, 8)" in errors
    assert len(errors) == 5


def test_missing_columns_always_stop(small_csv: Path, tmp_path: Path) -> None:
    header, rows = _rows(small_csv)
    keep = [h for h in header if h not in ("dead", "mets_brain")]
    path = _write(tmp_path / "cols.csv", keep, [{k: r[k] for k in keep} for r in rows])
    for mode in ("stop", "exclude"):
        assert _errors(path, on_error=mode) == [
            "column mets_brain: required column is missing",
            "column dead: required column is missing",
        ]


def test_stop_lists_the_first_problems_then_a_count(small_csv: Path, tmp_path: Path) -> None:
    header, rows = _rows(small_csv)
    for r in rows[:30]:
        r["er"] = "??"
    errors = _errors(_write(tmp_path / "bad.csv", header, rows), max_errors=5)
    assert len(errors) == 6
    assert [e.split(":")[0] for e in errors[:5]] == [f"row {i}, er" for i in range(1, 6)]
    assert errors[5].startswith("input: 25 more problems not shown (30 in total)")


def test_exclude_drops_bad_rows_and_counts_them(small_csv: Path, tmp_path: Path) -> None:
    header, rows = _rows(small_csv)
    rows[0]["survival_months"] = "-1"
    rows[1]["t"] = "T7"
    rows[1]["n"] = "N9"  # two problems, one row
    rows[2]["patient_id"] = rows[3]["patient_id"]
    reg = load_registry(_write(tmp_path / "bad.csv", header, rows), on_error="exclude")
    assert reg.n_rows == 40
    assert reg.n_excluded == 4
    assert reg.n_kept == 36
    assert reg.excluded_by_rule == {
        "duplicate patient_id": 2,
        "negative survival": 1,
        "unknown code": 1,
    }
    kept = [r[0] for r in reg.con.execute("SELECT _row FROM registry ORDER BY _row").fetchall()]
    assert kept == list(range(5, 41))


def test_codes_are_normalised(small_csv: Path, tmp_path: Path) -> None:
    header, rows = _rows(small_csv)
    rows[0].update(er=" Positive ", t="cT4D", n="pn2A", dead="YES", mets_bone="1")
    reg = load_registry(_write(tmp_path / "ok.csv", header, rows))
    got = reg.con.execute(
        "SELECT er, t, n, dead, mets_bone FROM registry WHERE _row = 1"
    ).fetchone()
    assert got == ("positive", "T4d", "N2a", True, True)


def test_parquet_is_checked_too(small_csv: Path, tmp_path: Path) -> None:
    header, rows = _rows(small_csv)
    rows[9]["her2"] = "equivocal"
    bad_csv = _write(tmp_path / "bad.csv", header, rows)
    parquet = tmp_path / "bad.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{bad_csv}')) TO '{parquet}' (FORMAT PARQUET)")
    errors = _errors(parquet)
    assert len(errors) == 1 and errors[0].startswith("row 10, her2: cannot read 'equivocal'")


def test_typed_parquet_gives_what_its_text_gives(small_csv: Path, tmp_path: Path) -> None:
    """Parquet columns of the contract's type (BOOLEAN, BIGINT, DOUBLE) are taken as they
    are, without a round trip through text: same problems, same registry, same types."""
    header, rows = _rows(small_csv)
    rows[2]["survival_months"] = "-2.25"
    rows[3]["age"] = "61.5"  # the column becomes DOUBLE: not a whole number
    rows[5]["surgery_months"] = "0.1"
    as_text = _write(tmp_path / "typed.csv", header, rows)
    parquet = tmp_path / "typed.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{as_text}')) TO '{parquet}' (FORMAT PARQUET)")
    types = dict(
        duckdb.sql(f"SELECT column_name, column_type FROM (DESCRIBE '{parquet}')").fetchall()
    )
    assert (types["age"], types["dead"], types["survival_months"]) == (
        "DOUBLE",
        "BOOLEAN",
        "DOUBLE",
    )
    assert types["year_of_diagnosis"] == "BIGINT"
    text, typed = (load_registry(p, on_error="exclude") for p in (as_text, parquet))
    assert typed.problems == text.problems
    messages = {(p.column, p.message) for p in typed.problems}
    assert ("age", "cannot read '61.5' as a whole number") in messages
    assert ("survival_months", "value -2.25 is below the minimum 0") in messages
    assert typed.excluded_by_rule == text.excluded_by_rule
    table = "SELECT * FROM registry ORDER BY _row"
    assert typed.con.execute(table).fetchall() == text.con.execute(table).fetchall()
    schema = "SELECT column_name, column_type FROM (DESCRIBE registry)"
    assert typed.con.execute(schema).fetchall() == text.con.execute(schema).fetchall()


def test_unreadable_files(tmp_path: Path) -> None:
    assert _errors(tmp_path / "nope.csv")[0].startswith("file: no such file")
    other = tmp_path / "reg.xlsx"
    other.write_text("x")
    assert "unsupported file type" in _errors(other)[0]
    fake = tmp_path / "fake.parquet"
    fake.write_text("not parquet")
    assert _errors(fake)[0].startswith("file: cannot read fake.parquet")


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "registry"


def test_example_registries_behave_as_documented() -> None:
    """examples/registry/README.md: sample.csv is clean; the bad copy breaks one rule per row."""
    assert load_registry(EXAMPLES / "sample.csv").n_rows == 500
    errors = _errors(EXAMPLES / "sample_bad_rows.csv")
    rows = sorted({int(e.split(",")[0].removeprefix("row ")) for e in errors})
    assert rows == [2, 3, 4, 7, 11, 14, 17, 20, 22, 25]
    reg = load_registry(EXAMPLES / "sample_bad_rows.csv", on_error="exclude")
    assert (reg.n_rows, reg.n_excluded) == (500, 10)
    assert reg.excluded_by_rule == {
        "duplicate patient_id": 2,
        "missing value": 1,
        "negative survival": 1,
        "not readable": 1,
        "surgery after death or last contact": 1,
        "surgery flag and time disagree": 2,
        "unknown code": 2,
    }
