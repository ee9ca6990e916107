"""Write the rules' result (the ``__final_<table>`` views) into the dataset layout: every table
is computed and written aside first, then the changed days are renamed into place a file at a
time, then the small tables, then the manifest (:mod:`aibridge_store._dataset`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from .._dataset import DATA_FILE, DAY, PARTITIONED, columns, comparable_manifest, write_manifest
from .._schema import INTERCEPTIONS, ident
from ..errors import StorageError
from . import rules

FINGERPRINT = "spark xxhash64"


def _day_sql(table: str) -> str:
    instant = PARTITIONED[table]
    return f"to_date({instant})"


def write_dataset(spark: Any, root: Path, aside: Path) -> tuple[dict[str, int], list[str], int]:
    """Write every table; return (rows per table, days written, days unchanged)."""
    old = comparable_manifest(root, FINGERPRINT)
    frames = {table: spark.table(rules.final(table)).persist() for table in columns()}
    try:
        days, whole = _fingerprints(spark, frames)
        old_days: dict[str, Any] = (old or {}).get("days", {})
        old_whole: dict[str, Any] = (old or {}).get("tables_fingerprint", {})
        changed = sorted(d for d in days if days[d] != old_days.get(d) or not _complete(root, d, days[d]))
        removed = sorted(set(old_days) - set(days))
        rewrite = [t for t in whole if whole[t] != old_whole.get(t) or not (root / t / DATA_FILE).exists()]
        _write_aside(spark, frames, aside, changed, rewrite)
        _move_into_place(root, aside, changed, removed, rewrite, days)
        first, last = spark.sql(
            f'SELECT min("started_at"), max("started_at") FROM {rules.final(INTERCEPTIONS.name)}'
        ).collect()[0]
    finally:
        for frame in frames.values():
            frame.unpersist()
    rows = {table: 0 for table in columns()}
    for tables in days.values():
        for table, (n, _) in tables.items():
            rows[table] += int(n)
    rows.update({table: int(n) for table, (n, _) in whole.items()})
    write_manifest(root, days=days, whole=whole, rows=rows, first=first, last=last, fingerprint=FINGERPRINT)
    return rows, changed, len(days) - len(changed)


def _digest(table: str) -> str:
    cols = ", ".join(ident(c) for c, _ in columns()[table])
    return f"CAST(sum(CAST(xxhash64({cols}) AS DECIMAL(38, 0))) AS STRING)"


def _fingerprints(spark: Any, frames: dict[str, Any]) -> tuple[dict[str, dict[str, list[Any]]], dict[str, list[Any]]]:
    days: dict[str, dict[str, list[Any]]] = {}
    whole: dict[str, list[Any]] = {}
    for table, frame in frames.items():
        view = f"__written_{table}"
        frame.createOrReplaceTempView(view)
        if table in PARTITIONED:
            for day, n, digest in spark.sql(
                f"SELECT CAST({_day_sql(table)} AS STRING) AS d, count(*), {_digest(table)} FROM {view} GROUP BY 1"
            ).collect():
                days.setdefault(day, {})[table] = [n, digest]
        else:
            n, digest = spark.sql(f"SELECT count(*), {_digest(table)} FROM {view}").collect()[0]
            whole[table] = [n, digest]
    return days, whole


def _complete(root: Path, day: str, tables: dict[str, list[Any]]) -> bool:
    return all((root / table / f"{DAY}={day}" / DATA_FILE).exists() for table in tables)


def _write_aside(spark: Any, frames: dict[str, Any], aside: Path, changed: list[str], rewrite: list[str]) -> None:
    from pyspark.sql import functions as F

    for table, frame in frames.items():
        target = str(aside / table)
        if table in PARTITIONED:
            if not changed:
                continue
            dated = frame.withColumn(DAY, F.expr(_day_sql(table)))
            chosen = dated.where(F.col(DAY).cast("string").isin(changed))
            chosen.repartition(DAY).write.mode("overwrite").partitionBy(DAY).parquet(target)
        elif table in rewrite:
            frame.coalesce(1).write.mode("overwrite").parquet(target)


def _parquet(folder: Path) -> Path | None:
    found = sorted(p for p in folder.glob("*.parquet")) if folder.exists() else []
    if len(found) > 1:
        raise StorageError(f"Spark wrote {len(found)} files into {folder}, expected one")
    return found[0] if found else None


def _move_into_place(
    root: Path, aside: Path, changed: list[str], removed: list[str], rewrite: list[str],
    days: dict[str, dict[str, list[Any]]],
) -> None:
    for day in changed:
        for table in PARTITIONED:
            final = root / table / f"{DAY}={day}"
            written = _parquet(aside / table / f"{DAY}={day}")
            if written is None:
                shutil.rmtree(final, ignore_errors=True)
                continue
            final.mkdir(parents=True, exist_ok=True)
            os.replace(written, final / DATA_FILE)
    for day in removed:
        for table in PARTITIONED:
            shutil.rmtree(root / table / f"{DAY}={day}", ignore_errors=True)
    for table in rewrite:
        written = _parquet(aside / table)
        (root / table).mkdir(parents=True, exist_ok=True)
        if written is None:
            raise StorageError(f"Spark wrote no file for {table}")
        os.replace(written, root / table / DATA_FILE)
