"""Filter tree → SQL, pinned by golden files (one reviewable file per case and dialect).

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/query/test_compiler.py``.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path

import duckdb
import pytest

from aibridge_store._query import (
    CLIENTS_SEARCH,
    DIALECTS,
    INTERCEPTIONS_SEARCH,
    MODELS_SEARCH,
    SESSIONS_SEARCH,
    BindContext,
    compile_filters,
    compile_query_filters,
)
from aibridge_store._query.dialect import iso_instant

GOLDEN = Path(__file__).parent / "golden"
ALICE = uuid.UUID("11111111-1111-4111-8111-111111111111")
CONTEXT = BindContext(actor_user_id=ALICE, find_user=lambda name: ALICE if name == "alice" else None)

CASES = {
    "empty": (INTERCEPTIONS_SEARCH, ""),
    "every_key": (
        INTERCEPTIONS_SEARCH,
        'initiator:me provider:openai provider_name:azure model:"gpt 5" client:Unknown '
        'started_after:"2025-01-01T00:00:00Z" started_before:"2025-02-01T00:00:00.5+01:00"',
    ),
    "bare_username": (INTERCEPTIONS_SEARCH, "alice"),
    "zero_time_is_no_filter": (INTERCEPTIONS_SEARCH, 'started_after:"0001-01-01T00:00:00Z" model:x'),
    "sessions_session_id": (SESSIONS_SEARCH, "session_id:abc client:Cursor"),
    "models_prefix": (MODELS_SEARCH, "gpt_5%"),
    "clients_prefix": (CLIENTS_SEARCH, "client:Unk"),
}


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_sql(case: str, dialect: str) -> None:
    endpoint, text = CASES[case]
    compiled = compile_filters(compile_query_filters(text, endpoint, CONTEXT), DIALECTS[dialect])
    rendered = f"-- q: {text}\n{compiled.sql}\n-- params: {compiled.params!r}\n"
    path = GOLDEN / f"{case}.{dialect}.sql"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(rendered, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == rendered


def test_the_same_filters_run_on_duckdb_and_sqlite() -> None:
    """The dialect seam is real: one filter tree selects the same rows in two engines."""
    rows = [
        (str(uuid.UUID(int=i)), str(ALICE if i % 2 else uuid.UUID(int=99)), "openai" if i % 3 else "anthropic",
         f"gpt-{i % 4}", None if i % 5 == 0 else "Cursor", 1_735_689_600_000_000 + i * 60_000_000)
        for i in range(40)
    ]
    text = 'initiator:alice provider:openai client:Unknown started_after:"2025-01-01T00:05:00Z"'
    filters = compile_query_filters(text, INTERCEPTIONS_SEARCH, CONTEXT)

    lite = sqlite3.connect(":memory:")
    lite.execute("CREATE TABLE t (id TEXT, initiator_id TEXT, provider TEXT, model TEXT, client TEXT, started_at TEXT)")
    lite.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", [(*row[:5], iso_instant(row[5])) for row in rows])
    sql = compile_filters(filters, DIALECTS["sqlite"])
    got_sqlite = sorted(r[0] for r in lite.execute(f"SELECT id FROM t WHERE {sql.sql}", sql.params))

    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")
    duck.execute("CREATE TABLE t (id UUID, initiator_id UUID, provider VARCHAR, model VARCHAR, client VARCHAR, started_at TIMESTAMPTZ)")
    duck.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, make_timestamptz(?))", rows)
    sql = compile_filters(filters, DIALECTS["duckdb"])
    got_duckdb = sorted(str(r[0]) for r in duck.execute(f"SELECT id FROM t WHERE {sql.sql}", sql.params).fetchall())

    expected = sorted(r[0] for r in rows if r[1] == str(ALICE) and r[2] == "openai" and r[4] is None
                      and r[5] >= 1_735_689_900_000_000)
    assert expected and got_sqlite == expected and got_duckdb == expected


def test_prefix_treats_like_wildcards_as_plain_characters() -> None:
    duck = duckdb.connect()
    duck.execute("CREATE TABLE aibridge_interceptions (model VARCHAR)")
    duck.execute("INSERT INTO aibridge_interceptions VALUES ('gpt_5'), ('gptx5'), ('gpt%'), ('gpt-4')")
    for text, expected in (("gpt_", ["gpt_5"]), ("gpt%", ["gpt%"]), ("gpt", ["gpt%", "gpt-4", "gpt_5", "gptx5"])):
        sql = compile_filters(compile_query_filters(text, MODELS_SEARCH, CONTEXT))
        got = sorted(r[0] for r in duck.execute(f"SELECT model FROM aibridge_interceptions WHERE {sql.sql}", sql.params).fetchall())
        assert got == expected, text


def test_the_registry_names_the_stores_tables_and_columns() -> None:
    """The query layer knows nothing of the store but these names, which must be the store's."""
    from aibridge_store._query.fields import FIELDS, INTERCEPTIONS_TABLE, SESSIONS_TABLE, TOTALS_TABLE, Child, Totals
    from aibridge_store._schema import CHILD_TABLES, INTERCEPTION_TOTALS, INTERCEPTIONS, SESSION_ROLLUP, TOTALS_COLUMNS

    assert (TOTALS_TABLE, SESSIONS_TABLE) == (INTERCEPTION_TOTALS, SESSION_ROLLUP)
    assert INTERCEPTIONS_TABLE == INTERCEPTIONS.name
    children = {table.name: {column.name for column in table.columns} for table in CHILD_TABLES}
    for field in FIELDS.values():
        if isinstance(field.target, Child):
            assert field.target.column in children[field.target.table], field.key
        if isinstance(field.target, Totals) and field.target.column:
            assert field.target.column in dict(TOTALS_COLUMNS), field.key


def test_columns_the_registry_calls_never_null_are_not_null_in_the_store() -> None:
    """The compiler negates terms on these columns without guarding a NULL."""
    from aibridge_store._query.fields import FIELDS, Coalesce, Col, Missing
    from aibridge_store._schema import INTERCEPTIONS

    declared = {c.name for c in INTERCEPTIONS.columns if c.required or c.not_null}
    declared |= {name for name, _, _ in INTERCEPTIONS.derived}  # session_id: COALESCE(..., id)
    columns = [f.target for f in FIELDS.values() if isinstance(f.target, Col) and f.target.name]
    columns += [f.target.column for f in FIELDS.values() if isinstance(f.target, Coalesce | Missing)]
    assert {c.name for c in columns if c.never_null} <= declared
    assert {c.name for c in columns if not c.never_null} == {"client", "ended_at"}


@pytest.mark.parametrize(("text", "sql"), [
    ("model:claude-*", "starts_with(\"model\", $1)"),
    ("model:*mini", "ends_with(\"model\", $1)"),
    ("model:*mini*", "contains(\"model\", $1)"),
    ("model:a*b", "\"model\" LIKE $1 ESCAPE '\\'"),
    ("provider:anthropic,openai", "\"provider\" IN ($1, $2)"),
    ("-provider:anthropic", "NOT (\"provider\" = $1)"),
    ("-client:Cursor", "NOT (COALESCE(\"client\", $1) = $2)"),
    ("-duration:>1s", 'NOT COALESCE((epoch_us("ended_at") - epoch_us("started_at")) > $1, FALSE)'),
])
def test_terms_compile_to_what_the_engine_pushes_into_its_scan(text: str, sql: str) -> None:
    """Prefixes, suffixes, lists and negations of what is never NULL are spelled so that DuckDB
    filters them while scanning (a LIKE with an escape character, or a COALESCE, it does not)."""
    assert compile_filters(compile_query_filters(text, INTERCEPTIONS_SEARCH, CONTEXT)).sql == sql
