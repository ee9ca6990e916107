"""``import_sources``: table exports and coderd logs into a dataset, by Spark.

1. The driver plans the inputs as the embedded importer does (folders in table order).
2. One Spark task per file reads, types and checks its rows (:mod:`.staging`); a bad row stops
   the import before anything of the dataset changes.
3. The rules that need every copy at once run in Spark SQL over the staged rows and the
   dataset's stored rows (:mod:`.rules`).
4. The days whose rows changed are written, each day's file replaced whole, then the small
   tables, then the manifest (:mod:`.writer`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._dataset import columns, read_manifest
from .._engines.spark_connection import our_settings
from .._ingest import ROW, plan_path
from .._schema import INTERCEPTIONS, LAST_PROMPT_AT, LOG_TABLES, PARENT_TIME, TABLES
from ..errors import ImportDataError, StorageError
from . import _rules as rules
from ._staging import DIGEST, FULLER, SOURCE, StagedFile, stage_file
from ._writer import write_dataset


@dataclass
class SparkImport:
    """What :func:`import_sources` did."""

    path: str
    files: list[str] = field(default_factory=list)
    staged_rows: dict[str, int] = field(default_factory=dict)
    """Rows each table's staged copies held (before the rules merged them)."""
    rows: dict[str, int] = field(default_factory=dict)
    """Rows per table in the dataset after the import."""
    days_written: list[str] = field(default_factory=list)
    days_unchanged: int = 0
    passed_over: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def import_sources(
    spark: Any, inputs: Iterable[str | os.PathLike[str]], out: str | os.PathLike[str], *,
    staging: str | os.PathLike[str] | None = None,
) -> SparkImport:
    """Import table exports and coderd logs (files or folders, every format and log wrapper
    :meth:`Store.import_path` reads) into the dataset at ``out`` with Spark, by the embedded
    importer's rules; rows already in the dataset take part as the store's rows would. The
    result equals importing the same inputs into a store and exporting it
    (:meth:`Store.export_dataset`).

    ``staging`` is where the tasks write the staged rows (a folder every executor can reach; a
    temporary folder beside ``out`` by default). A bad row raises :class:`ImportDataError` and
    leaves the dataset as it was."""
    root = Path(out)
    result = SparkImport(str(root))
    planned: list[str] = []
    for path in inputs:
        files, skipped = plan_path(Path(path))
        planned += [str(f.path) for f in files]
        result.passed_over.update({str(p): reason for p, reason in skipped.items()})
    result.files = planned
    root.mkdir(parents=True, exist_ok=True)
    work = Path(staging) if staging is not None else root
    folder = Path(tempfile.mkdtemp(prefix=f".import-{uuid.uuid4().hex[:8]}-", dir=work))
    try:
        staged = _stage(spark, planned, str(folder))
        for done in staged:
            result.notes += done.notes
            for table, _, rows in done.files:
                result.staged_rows[table] = result.staged_rows.get(table, 0) + rows
        with our_settings(spark):
            _register(spark, root, staged)
            rules.apply(spark)
            written = write_dataset(spark, root, folder / "out")
        changes, result.rows = written
        result.days_written = changes.changed
        result.days_unchanged = len(changes.days) - len(changes.changed)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def _stage(spark: Any, planned: list[str], folder: str) -> list[StagedFile]:
    if not planned:
        return []
    jobs = spark.sparkContext.parallelize(list(enumerate(planned)), numSlices=len(planned))
    staged: list[StagedFile] = jobs.map(lambda job: stage_file(job[0], job[1], folder)).collect()
    staged.sort(key=lambda s: s.index)
    for done in staged:
        if done.error is not None:
            reason, source, row, column = done.error
            raise ImportDataError(reason, source=source, row=row, column=column)
        if done.failure is not None:
            raise StorageError(f"cannot stage {done.failure}")
    return staged


def _register(spark: Any, root: Path, staged: list[StagedFile]) -> None:
    """``__stored_<table>`` (the dataset's rows) and ``__staged_<table>`` views of every table."""
    manifest = read_manifest(root)
    by_table: dict[str, list[str]] = {}
    for done in staged:
        for table, path, _ in done.files:
            by_table.setdefault(table, []).append(path)
    for table in (*TABLES, *(t.name for t in LOG_TABLES)):
        # A folder without a manifest holds no dataset yet (files there are not ours to merge).
        frame = rules.dataset_frame(spark, root, table) if manifest is not None else rules.empty_frame(spark, table)
        frame.createOrReplaceTempView(rules.stored(table))
        files = by_table.get(table)
        if files:
            spark.read.parquet(*files).createOrReplaceTempView(rules.staged(table))
        else:
            extra = _extra_columns(table)
            spark.createDataFrame([], f"{_staged_schema(table)}{extra}").createOrReplaceTempView(rules.staged(table))


def _staged_schema(table: str) -> str:
    return ", ".join(f"`{name}` {rules.SPARK_TYPES[kind]}" for name, kind in columns()[table]
                     if name not in (PARENT_TIME, LAST_PROMPT_AT))


def _extra_columns(table: str) -> str:
    extra = ""
    if table == INTERCEPTIONS.name:
        extra += f", `{DIGEST}` STRING"
    elif table in TABLES and "id" in TABLES[table].column_index and "interception_id" in TABLES[table].column_index:
        extra += f", `{FULLER}` STRING"
    return extra + f", `{SOURCE}` BIGINT, `{ROW}` BIGINT"
