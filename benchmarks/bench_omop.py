"""OMOP CDM extraction at national scale: 10^6 persons, 10^7 condition rows, in DuckDB.

Writes the synthetic OMOP database (``locoreg cohort simulate --format omop``) for ``--n``
patients of the cohort, pads ``condition_occurrence`` with unrelated diagnoses up to
``--conditions`` rows (a second Parquet file in the table's directory, as an OMOP export
split in parts would be), then times ``extract_omop`` — the cohort SQL over every table plus
the portable extraction, written as the analytic Parquet file — in wall-clock and CPU
seconds. Target (issue 14): at most 15 s for 10^6 persons / 10^7 condition rows on 2 cores.

Usage: python benchmarks/bench_omop.py [--n 1000000] [--conditions 10000000] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    import duckdb

    from locoreg.cohort.omop import extract_omop
    from locoreg.cohort.omop_simulate import LOCAL_OTHER_DISEASE, write_omop
    from locoreg.cohort.select import Selection
    from locoreg.cohort.simulate import simulate_registry

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--conditions", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="10^5 persons, 10^6 conditions")
    args = parser.parse_args()
    n, rows = (100_000, 1_000_000) if args.quick else (args.n, args.conditions)

    with tempfile.TemporaryDirectory() as tmp:
        omop = Path(tmp) / "omop"
        start = time.perf_counter()
        write_omop(simulate_registry(n, seed=1), omop, seed=1)
        written = time.perf_counter() - start
        # condition_occurrence as a directory of parts, padded with unrelated diagnoses.
        parts = omop / "condition_occurrence"
        parts.mkdir()
        shutil.move(str(omop / "condition_occurrence.parquet"), parts / "part-0.parquet")
        con = duckdb.connect()
        have = con.execute(f"SELECT COUNT(*) FROM '{parts}/part-0.parquet'").fetchone()
        persons = con.execute(f"SELECT MAX(person_id) FROM '{omop}/person.parquet'").fetchone()
        assert have is not None and persons is not None
        extra = max(rows - int(have[0]), 0)
        con.execute(
            # The same column types as part 0 (BIGINT ids, DATE), as one export would write.
            f"COPY (SELECT CAST(10000000000 + i AS BIGINT) AS condition_occurrence_id, "
            f"CAST(1 + (i * 7919) % {int(persons[0])} AS BIGINT) AS person_id, "
            f"CAST({LOCAL_OTHER_DISEASE.concept_id} AS BIGINT) AS condition_concept_id, "
            f"DATE '2012-01-01' + CAST(i % 3000 AS INTEGER) AS condition_start_date, "
            f"CAST(32817 AS BIGINT) AS condition_type_concept_id FROM range({extra}) t(i)) "
            f"TO '{parts}/part-1.parquet' (FORMAT PARQUET)"
        )
        total = int(have[0]) + extra
        out = Path(tmp) / "analytic.parquet"
        wall, cpu = time.perf_counter(), time.process_time()
        prov = extract_omop(omop, out, Selection())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"synthetic OMOP database: {n:,} patients in the cohort, written in {written:.1f} s")
    print(f"condition_occurrence: {total:,} rows; cohort flow {prov['omop_flow']}")
    print(
        f"extract_omop (DuckDB, cohort SQL + portable extraction + Parquet): "
        f"{wall:.1f} s wall, {cpu:.1f} s CPU (target <= 15 s wall on 2 cores)"
    )


if __name__ == "__main__":
    main()
