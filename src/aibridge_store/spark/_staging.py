"""One Spark task per input file: read it with the store's own readers (every table format and
every log wrapper the embedded importer reads), type and check every row with the importer's
staging, and write the staged rows as Parquet, one file per table and source, for the rules
that need every file at once (:mod:`.rules`).

Nothing of the dataset is touched here; a bad row comes back as the reason, file, row and
column, and the driver raises it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .._dataset import columns
from .._ingest import ROW, LogFile, plan_path
from .._load.importer import ImportSummary, _open
from .._load.logrecords import _RECORDS, LogReport, _count, _fields_sql, _load_slice
from .._load.merge import fuller_sql, interception_digest
from .._load.run import ImportRun, register_functions
from .._load.staging import Staged, stage_source
from .._schema import INTERCEPTIONS, ident
from ..errors import AibridgeStoreError, ImportDataError

SOURCE = "__src"
"""The input's position in the import (file, then source within it): copies that the
embedded importer would merge earlier sort first."""
DIGEST = "__digest"
"""The tie-break between two log copies of one interception (the merge's own hash)."""
FULLER = "__fuller"
"""The tie-break between two log copies of one child row (the merge's own expression)."""
SOURCES_PER_FILE = 1_000_000


@dataclass
class StagedFile:
    """What a task made of one input file."""

    index: int
    path: str
    files: list[tuple[str, str, int]] = field(default_factory=list)
    """(table, staged Parquet file, rows)."""
    error: tuple[str, str, int | None, str | None] | None = None
    """(reason, source, row, column) of the first bad row."""
    failure: str | None = None
    notes: list[str] = field(default_factory=list)
    passed_over: dict[str, int] = field(default_factory=dict)


def stage_file(index: int, path: str, out: str) -> StagedFile:
    """Stage input file number ``index`` into the folder ``out`` (runs in a Spark task)."""
    result = StagedFile(index, path)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        register_functions(con)
        summary = ImportSummary()
        planned, _ = plan_path(Path(path))
        with ImportRun(con) as run:
            sources = 0
            for entry in planned:
                for item in _open(entry, lambda n: None, summary):
                    if isinstance(item, LogFile):
                        sources = _stage_log(run, item, index, sources, out, result)
                    else:
                        _write_stage(run, item, index * SOURCES_PER_FILE + sources, out, result)
                        sources += 1
        result.notes = summary.notes
    except ImportDataError as e:
        result.error = (e.reason, e.source, e.row, e.column)
    except (AibridgeStoreError, OSError, duckdb.Error) as e:
        result.failure = f"{path}: {e}"
    finally:
        con.close()
    return result


def _stage_log(run: ImportRun, log: LogFile, index: int, sources: int, out: str, result: StagedFile) -> int:
    """Every slice of a log, each record type staged as a source of its own."""
    batches = iter(log.batches)
    fields = _fields_sql()
    report = LogReport()
    while True:
        first = next(batches, None)
        if first is None:
            break
        _load_slice(run, log, first, batches)
        _count(run, report)
        for record in _RECORDS:
            _write_stage(run, record.relation(run, log.name, fields), index * SOURCES_PER_FILE + sources, out, result)
            sources += 1
    unknown = sum(report.unknown_types.values())
    passed = {"other log lines": log.stats.lines - report.records - report.malformed - unknown,
              "lines that mention an interception log but are not JSON": report.malformed}
    result.passed_over.update({reason: n for reason, n in passed.items() if n})
    return sources


def _write_stage(run: ImportRun, source: Staged, position: int, out: str, result: StagedFile) -> None:
    stage_source(run, source)
    table = source.table
    rows = int(run.con.execute(f"SELECT count(*) FROM {run.stage}").fetchall()[0][0])
    if not rows:
        return
    cols = [(name, kind) for name, kind in columns()[table.name] if name in table.stored_columns]
    select = [
        f"CAST(s.{ident(c)} AS VARCHAR) AS {ident(c)}" if kind in ("UUID", "JSON") else f"s.{ident(c)}"
        for c, kind in cols
    ]
    if table is INTERCEPTIONS:
        select.append(f"{interception_digest('s')} AS {DIGEST}")
    elif "id" in table.column_index and "interception_id" in table.column_index:
        select.append(f"{fuller_sql(table, 's')} AS {FULLER}")
    select += [f"CAST({position} AS BIGINT) AS {SOURCE}", f"s.{ident(ROW)} AS {ident(ROW)}"]
    target = Path(out) / table.name / f"{position:012d}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    run.con.execute(
        f"COPY (SELECT {', '.join(select)} FROM {run.stage} AS s) TO '{_literal(str(target))}' (FORMAT parquet)"
    )
    result.files.append((table.name, str(target), rows))


def _literal(text: str) -> str:
    return text.replace("'", "''")
