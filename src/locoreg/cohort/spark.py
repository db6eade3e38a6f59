"""The OMOP extraction in Spark: the same translated SQL, run by PySpark.

The statistics need the analytic table in this process (≤ 10⁶ patients fit in
memory as numpy arrays); Spark does the part that needs a cluster — reading the
OMOP tables and building the cohort — and only the analytic table travels back.
``LOCOREG_SPARK_MASTER`` chooses the master (default ``local[2]``: PySpark on
this machine; e.g. ``spark://host:7077`` or ``yarn`` for a cluster).
"""

from __future__ import annotations

import os
from typing import Any

from locoreg.cohort.omop import FLOW, OmopSource, flow_sql, registry_sql
from locoreg.cohort.sql import translate
from locoreg.errors import InputError


def session() -> Any:
    """A Spark session (created once per process); a clear error without PySpark or Java."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError.single(
            "engine", "spark needs PySpark: pip install 'locoreg[spark]' (and a Java 17+ runtime)"
        ) from None
    try:
        builder = (
            SparkSession.builder.master(os.environ.get("LOCOREG_SPARK_MASTER", "local[2]"))
            .appName("locoreg-cohort")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.execution.arrow.pyspark.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
        )
        spark = builder.getOrCreate()
    except Exception as exc:  # Java missing or failing to start: one line, no traceback
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError.single("engine", f"spark could not start: {first}") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_extract(source: OmopSource, selection: Any) -> tuple[Any, dict[str, int]]:
    """The analytic table (a pandas DataFrame) and the attrition counts, computed in Spark."""
    from locoreg.cohort.select import extraction_sql

    spark = session()
    for name, glob in source.tables.items():
        spark.read.parquet(glob).createOrReplaceTempView(name)
    with_episode = source.with_episode
    spark.sql(translate(registry_sql(with_episode=with_episode), "spark")).createOrReplaceTempView(
        "registry"
    )
    row = spark.sql(translate(flow_sql(with_episode=with_episode), "spark")).collect()[0]
    flow = {k: int(row[k]) for k in FLOW}
    frame = spark.sql(extraction_sql(selection, has_ecog=True, dialect="spark")).toPandas()
    return frame, flow


__all__ = ["session", "spark_extract"]
