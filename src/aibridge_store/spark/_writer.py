"""Write the rules' result (the ``__final_<table>`` views) into the dataset layout: Spark writes
every table aside (one file per day), DuckDB fingerprints what was written, and only the days
and tables whose fingerprints changed are renamed into place, then the manifest is written
(:mod:`aibridge_store._dataset`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from .._dataset import DAY, PARTITIONED, Changes, columns, fingerprint_folder, place, plan_changes
from .._dataset import write_manifest as _write_manifest
from .._schema import INTERCEPTIONS, ident
from . import _rules as rules


def write_dataset(spark: Any, root: Path, aside: Path) -> tuple[Changes, dict[str, int]]:
    """Write every table aside, then what changed into ``root``; return the changes and the
    rows per table."""
    for table in columns():
        _write_aside(spark, table, aside / table)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        changes = plan_changes(root, *fingerprint_folder(con, aside))
        if (aside / INTERCEPTIONS.name).exists() and any((aside / INTERCEPTIONS.name).glob(f"{DAY}=*")):
            files = str(aside / INTERCEPTIONS.name / f"{DAY}=*" / "*.parquet").replace("'", "''")
            first, last = con.execute(
                f"SELECT min(\"started_at\"), max(\"started_at\") FROM read_parquet('{files}')"
            ).fetchall()[0]
        else:
            first = last = None
        place(root, aside, changes)
    finally:
        con.close()
    rows = _write_manifest(root, changes, first=first, last=last)
    return changes, rows


def _write_aside(spark: Any, table: str, target: Path) -> None:
    names = ", ".join(ident(c) for c, _ in columns()[table])
    if table in PARTITIONED:
        frame = spark.sql(f"SELECT {names}, to_date({PARTITIONED[table]}) AS {DAY} FROM {rules.final(table)}")
        frame.repartition(DAY).write.mode("overwrite").option("compression", "zstd").partitionBy(DAY).parquet(
            str(target)
        )
        return
    frame = spark.sql(f"SELECT {names} FROM {rules.final(table)}")
    frame.coalesce(1).write.mode("overwrite").option("compression", "zstd").parquet(str(target))
    if not any(target.glob("*.parquet")):  # nothing to write: an empty file with the table's columns
        spark.createDataFrame([], rules.spark_schema(table)).coalesce(1).write.mode("overwrite").parquet(
            str(target)
        )
