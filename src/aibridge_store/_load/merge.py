"""Merge staged rows into their table, inside the caller's transaction.

A bad row raises :class:`ImportDataError` while staging and the caller rolls the whole import
back. Rules per table:

* interceptions dedupe by ``id``. The fuller copy wins: a table export's over a log record's,
  a log record with thread ids over one without (:data:`~.schema.ORIGIN`); between copies of
  the same origin, a stored in-flight row (``ended_at`` NULL) is replaced by a copy that has
  ended, and between two log copies the larger content hash wins, so that any order of imports
  ends in the same row. An end time, once known, is kept;
* token usages, prompts and tool usages dedupe by ``id`` (first copy wins). Rows rebuilt from
  log records have hashed ids (:mod:`.logrecords`): among them the copy with the fuller
  metadata wins, and a table export's copy of the same record (same natural key, times within
  a microsecond) replaces them, whichever came first;
* model thoughts (no id) dedupe by interception, time and content;
* users are replaced by a newer copy when any field differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._ingest import ROW
from .._schema import (
    FROM_TABLE,
    INTERCEPTIONS,
    LOG_ENDS,
    LOG_ID_MARK,
    ORIGIN,
    PARENT_TIME,
    TOKEN_USAGES,
    TOOL_USAGES,
    USER_PROMPTS,
    USERS,
    Table,
    ident,
)
from .run import ImportRun
from .staging import Staged, from_log, stage_source

NATURAL_KEYS = {
    TOKEN_USAGES.name: ("interception_id", "provider_response_id", "input_tokens", "output_tokens"),
    USER_PROMPTS.name: ("interception_id", "provider_response_id"),
    TOOL_USAGES.name: ("interception_id", "provider_response_id", "tool"),
}
"""What identifies a child record without its row id, besides its ``created_at``
(docs/imports.md, "Natural keys"), for the tables whose rows have ids."""

_TOLERANCE = "INTERVAL 1 MICROSECOND"
"""PostgreSQL rounds a logged nanosecond time to the microsecond; a copy read elsewhere may
have truncated it. Two copies of one record can differ by this much."""


@dataclass
class TableCounts:
    """Rows of one table in one import: inserted, updated and unchanged (already there)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    """Rows that were another source's copy of a record already stored (a log record and a table
    export of the same token usage), merged into one row."""
    repeated: int = 0
    """Rows whose key another row of the same source had already: one copy is kept (by the merge
    rules), the others are counted here."""
    conflicting: int = 0
    """Of the repeated rows, those whose content differed from the copy kept (a damaged export?)."""
    first_conflict: str | None = None
    """The key of one conflicting row, to look at."""

    def add(self, other: TableCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.merged += other.merged
        self.repeated += other.repeated
        self.conflicting += other.conflicting
        self.first_conflict = self.first_conflict or other.first_conflict

    @property
    def rows(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.merged + self.repeated


def merge_source(run: ImportRun, source: Staged) -> TableCounts:
    """Stage, validate and merge one source; return what happened to its rows."""
    stage_source(run, source)
    if source.table is INTERCEPTIONS:
        run.touch(f'SELECT "id" FROM {run.stage}')
    elif "interception_id" in source.table.column_index:
        run.touch(f'SELECT "interception_id" FROM {run.stage}')
    staged = run.number(f"SELECT count(*) FROM {run.stage}")
    _find_existing(run, source.table)
    if source.insert_only:
        counts = _merge_insert_only(run, source.table, source)
    else:
        counts = _MERGERS.get(source.table.name, _merge_insert_only)(run, source.table, source)
    _count_repeats(run, source, counts)
    counts.unchanged = staged - counts.inserted - counts.updated - counts.merged - counts.repeated
    return counts


def _count_repeats(run: ImportRun, source: Staged, counts: TableCounts) -> None:
    """How many staged rows repeated a key of the same source (the keys the dedupe found), and
    how many of those differ from their first copy. Log records are exempt from the latter:
    copies of one record from two emitters differ by design."""
    if not run.has_rows(run.duplicate_keys):
        return
    table = source.table
    keys = ", ".join(f"s.{ident(k)}" for k in table.key)
    digest = _content_hash(table, "s")
    shown = " || ' ' || ".join(f"CAST(s.{ident(k)} AS VARCHAR)" for k in table.key)
    repeated, conflicting, example = run.row(
        f"SELECT sum(n - 1), sum(n - 1) FILTER (WHERE versions > 1), min(example) FILTER (WHERE versions > 1) "
        f"FROM (SELECT count(*) AS n, count(DISTINCT {digest}) AS versions, min({shown}) AS example "
        f"FROM {run.stage} AS s SEMI JOIN {run.duplicate_keys} AS d ON {_key_match(table, 's', 'd')} "
        f"GROUP BY {keys})"
    )
    counts.repeated = int(repeated or 0)
    if not from_log(source):
        counts.conflicting = int(conflicting or 0)
        counts.first_conflict = example


def _columns(table: Table, prefix: str = "") -> str:
    return ", ".join(prefix + ident(c) for c in table.stored_columns)


def _key_match(table: Table, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{ident(k)} = {right}.{ident(k)}" for k in table.key)


def _drop_duplicates(run: ImportRun, table: Table, prefer: str) -> str:
    """Find rows that lose to another copy of the same key (usually none); return a condition
    that keeps the winners of ``s``."""
    keys = ", ".join(ident(k) for k in table.key)
    run.execute(
        f"CREATE OR REPLACE TEMP TABLE {run.duplicate_keys} AS "
        f"SELECT {keys} FROM {run.stage} GROUP BY ALL HAVING count(*) > 1"
    )
    if not run.number(f"SELECT count(*) FROM {run.duplicate_keys}"):
        return "TRUE"
    run.execute(
        f"CREATE OR REPLACE TEMP TABLE {run.losers} AS SELECT {ident(ROW)} FROM ("
        f"SELECT s.{ident(ROW)}, row_number() OVER (PARTITION BY {', '.join('s.' + ident(k) for k in table.key)} "
        f"ORDER BY {prefer}) AS n "
        f"FROM {run.stage} AS s SEMI JOIN {run.duplicate_keys} AS d ON {_key_match(table, 's', 'd')}"
        f") WHERE n > 1"
    )
    return f"s.{ident(ROW)} NOT IN (SELECT {ident(ROW)} FROM {run.losers})"


def _find_existing(run: ImportRun, table: Table) -> int:
    """Keep the keys of staged rows that are stored already in ``run.existing`` (one join with
    the stored table; the merge then compares against this usually small set)."""
    keys = ", ".join(f"s.{ident(k)}" for k in table.key)
    run.execute(
        f"CREATE OR REPLACE TEMP TABLE {run.existing} AS SELECT DISTINCT {keys} FROM {run.stage} AS s "
        f"SEMI JOIN {ident(table.name)} AS t ON {_key_match(table, 't', 's')}"
    )
    return run.number(f"SELECT count(*) FROM {run.existing}")


def _existing_keys(run: ImportRun) -> str:
    return f"SELECT * FROM {run.existing}"


def _insert_new(run: ImportRun, table: Table, keep: str) -> int:
    columns = _columns(table)
    values = _columns(table, "s.")
    parent = ""
    if table.parent_time:
        columns += f", {ident(PARENT_TIME)}"
        values += f', p."started_at" AS {ident(PARENT_TIME)}'
        parent = f'LEFT JOIN {ident(INTERCEPTIONS.name)} AS p ON p."id" = s."interception_id"'
    order = f"ORDER BY {table.order_by}" if table.order_by else ""
    return run.number(
        f"INSERT INTO {ident(table.name)} ({columns}) SELECT {values} FROM {run.stage} AS s {parent} "
        f"ANTI JOIN {run.existing} AS t ON {_key_match(table, 't', 's')} WHERE {keep} {order}",
    )


def _update(
    run: ImportRun,
    table: Table,
    candidates: str,
    when: str,
    keep: str,
    overrides: dict[str, str] | None = None,
) -> int:
    """Overwrite stored rows (among ``candidates``, a SELECT of keys) that ``when`` says to."""
    overrides = overrides or {}
    sets = ", ".join(
        f"{ident(c)} = {overrides.get(c, 's.' + ident(c))}" for c in table.stored_columns if c not in table.key
    )
    return run.number(
        f"UPDATE {ident(table.name)} AS t SET {sets} FROM {run.stage} AS s "
        f"WHERE {_key_match(table, 't', 's')} AND s.{ident(table.key[0])} IN ({candidates}) "
        f"AND ({when}) AND {keep}",
    )


def _content_hash(table: Table, alias: str, leave_out: tuple[str, ...] = ()) -> str:
    """A hash of a row's values (a deterministic tie-break between two copies of one record)."""
    values = ", ".join(f"{alias}.{ident(c)}" for c in table.stored_columns if c not in leave_out)
    return f"md5(CAST(row({values}) AS VARCHAR))"


def interception_digest(alias: str) -> str:
    """SQL: the hash that decides between two log copies of one interception of equal origin (the
    larger wins). Thread ids are left out: on rows without them in the log they are derived
    (lineage.py), not part of the copy."""
    leave_out = ("id", "ended_at", "thread_parent_id", "thread_root_id", "session_id")
    return _content_hash(INTERCEPTIONS, alias, leave_out)


def fuller_sql(table: Table, alias: str) -> str:
    """SQL: what decides between two log copies of one child row (the larger wins): the longer
    metadata, then the larger hash."""
    size = f'COALESCE(length(CAST({alias}."metadata" AS VARCHAR)), 0)'
    return f"lpad(CAST({size} AS VARCHAR), 12, '0') || {_content_hash(table, alias)}"


def _merge_insert_only(run: ImportRun, table: Table, source: Staged) -> TableCounts:
    keep = _drop_duplicates(run, table, f"s.{ident(ROW)}")
    return TableCounts(inserted=_insert_new(run, table, keep))


def _merge_interceptions(run: ImportRun, table: Table, source: Staged) -> TableCounts:
    origin = ident(ORIGIN)

    digest = interception_digest
    tie = f"{digest('s')} DESC" if from_log(source) else f"s.{ident(ROW)} DESC"
    keep = _drop_duplicates(run, table, f's.{origin} DESC, s."ended_at" IS NULL, {tie}')
    better = (
        f"s.{origin} > t.{origin} "
        f'OR (s.{origin} = t.{origin} AND t."ended_at" IS NULL AND s."ended_at" IS NOT NULL)'
    )
    candidates = (
        f'SELECT t."id" FROM {run.existing} AS e JOIN {ident(table.name)} AS t ON t."id" = e."id" '
        f'WHERE t."ended_at" IS NULL OR t.{origin} < {FROM_TABLE}'
    )
    if from_log(source):
        better += f" OR (s.{origin} = t.{origin} AND {digest('s')} > {digest('t')})"
    changing = (
        f'SELECT s."id" FROM {run.stage} AS s JOIN {ident(table.name)} AS t ON t."id" = s."id" '
        f'WHERE s."id" IN ({candidates}) AND ({better}) AND {keep}'
    )
    run.capture_sessions(changing)
    run.mark_updated(changing)
    updated = _update(run, table, candidates, better, keep, {"ended_at": 'COALESCE(s."ended_at", t."ended_at")'})
    return TableCounts(inserted=_insert_new(run, table, keep), updated=updated)


def log_id_sql(column: str) -> str:
    """SQL: the row id was hashed from a log record (version 8 with :data:`LOG_ID_MARK`), not made
    by Coder (version 4)."""
    text = f"CAST({column} AS VARCHAR)"
    return f"(substr({text}, 15, 1) = '8' AND substr({text}, 20, 4) = '{LOG_ID_MARK}')"


def _same_record(table: Table, stored: str, staged: str) -> str:
    equal = " AND ".join(f"{stored}.{ident(k)} = {staged}.{ident(k)}" for k in NATURAL_KEYS[table.name])
    return (
        f'{equal} AND {stored}."created_at" BETWEEN {staged}."created_at" - {_TOLERANCE} '
        f'AND {staged}."created_at" + {_TOLERANCE}'
    )


def _merge_children(run: ImportRun, table: Table, source: Staged) -> TableCounts:
    name = ident(table.name)
    stored_is_log = log_id_sql('t."id"')
    if not from_log(source):
        keep = _drop_duplicates(run, table, f"s.{ident(ROW)}")
        if not run.number(f"SELECT count(*) FROM (SELECT 1 FROM {name} AS t WHERE {stored_is_log} LIMIT 1)"):
            return TableCounts(inserted=_insert_new(run, table, keep))
        # A table export's copy replaces the rows rebuilt from log records of the same record.
        replaced = run.number(
            f"DELETE FROM {name} AS t USING {run.stage} AS s WHERE {stored_is_log} AND t.\"id\" <> s.\"id\" "
            f"AND {_same_record(table, 't', 's')} AND {keep}",
        )
        inserted = _insert_new(run, table, keep)
        return TableCounts(inserted=inserted - replaced, merged=replaced)

    def fuller(alias: str) -> str:
        return fuller_sql(table, alias)

    keep = _drop_duplicates(run, table, f"{fuller('s')} DESC")
    run.execute(
        f"CREATE OR REPLACE TEMP TABLE {run.covered} AS SELECT DISTINCT s.{ident(ROW)} FROM {run.stage} AS s "
        f"JOIN {name} AS t ON {_same_record(table, 't', 's')} WHERE NOT {stored_is_log}"
    )
    merged = run.number(f"SELECT count(*) FROM {run.covered}")
    if merged:
        keep += f" AND s.{ident(ROW)} NOT IN (SELECT {ident(ROW)} FROM {run.covered})"
    updated = 0
    if run.number(f"SELECT count(*) FROM {run.existing}"):
        updated = _update(run, table, _existing_keys(run), f"{fuller('s')} > {fuller('t')}", keep)
    return TableCounts(inserted=_insert_new(run, table, keep), updated=updated, merged=merged)


def _merge_log_ends(run: ImportRun, table: Table, source: Staged) -> TableCounts:
    """End records wait for their interception; one that has ended already is nothing new."""
    keep = _drop_duplicates(run, table, f"s.{ident(ROW)}")
    keep += (
        f' AND s."interception_id" NOT IN (SELECT "id" FROM {ident(INTERCEPTIONS.name)} WHERE "ended_at" IS NOT NULL)'
    )
    return TableCounts(inserted=_insert_new(run, table, keep))


_MERGERS = {
    LOG_ENDS.name: _merge_log_ends,
    INTERCEPTIONS.name: _merge_interceptions,
    USERS.name: lambda run, table, source: _merge_users(run, table),
    **{name: _merge_children for name in NATURAL_KEYS},
}


def _merge_users(run: ImportRun, table: Table) -> TableCounts:
    keep = _drop_duplicates(run, table, f"s.{ident(ROW)} DESC")
    differs = " OR ".join(
        f"t.{ident(c)} IS DISTINCT FROM s.{ident(c)}" for c in table.stored_columns if c not in table.key
    )
    updated = _update(run, table, _existing_keys(run), differs, keep)
    return TableCounts(inserted=_insert_new(run, table, keep), updated=updated)
