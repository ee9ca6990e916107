"""The compiled SQL selects exactly the rows a plain Python reading of the filter tree selects, on
DuckDB and on SQLite (through the dialect seam), for random queries of the extended language
over random small data."""

from __future__ import annotations

import re
import sqlite3
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aibridge_store import QueryError
from aibridge_store._query import (
    DUCKDB,
    ENDPOINTS,
    SQLITE,
    And,
    BindContext,
    Equals,
    Glob,
    Not,
    Or,
    compile_filters,
    compile_query_filters,
)
from aibridge_store._query.ast import Filter

ALICE = uuid.UUID("11111111-1111-4111-8111-111111111111")
BOB = uuid.UUID("22222222-2222-4222-8222-222222222222")
CONTEXT = BindContext(actor_user_id=ALICE, find_user={"alice": ALICE, "bob": BOB}.get)
COLUMNS = {"initiator": "initiator_id", "provider": "provider", "provider_name": "provider_name",
           "model": "model", "client": "client", "session_id": "session_id"}

# Values rich in what globs and LIKE read specially.
WORDS = ["claude-sonnet-4", "claude-haiku", "gpt-5", "gpt_5", "o4%mini", "a\\b", "Cursor", "cursor", "", "x*y"]
row_strategy = st.fixed_dictionaries({
    "initiator_id": st.sampled_from([ALICE, BOB]),
    "provider": st.sampled_from(["anthropic", "openai", "open_ai"]),
    "provider_name": st.sampled_from(["anthropic", "bedrock", "openai"]),
    "model": st.sampled_from(WORDS),
    "client": st.sampled_from([None, "Unknown", "Cursor", "Claude Code", "claude-code"]),
    "session_id": st.sampled_from(["s1", "s_1", "s%1"]),
})
pattern = st.lists(st.sampled_from(["claude", "-", "*", "gpt", "_", "%", "5", "\\", "C", "ursor", "s", "1", "o4"]),
                   min_size=1, max_size=5).map("".join)
term = st.tuples(
    st.booleans(),  # negated
    st.sampled_from(["provider", "provider_name", "model", "client", "session_id"]),
    st.lists(pattern, min_size=1, max_size=3),
) | st.tuples(st.booleans(), st.just("initiator"), st.lists(st.sampled_from(["alice", "bob", "me"]), min_size=1,
                                                             max_size=2))


def _query(terms: list[tuple[bool, str, list[str]]]) -> str:
    return " ".join(f'{"-" if negated else ""}{key}:"{",".join(values)}"' for negated, key, values in terms)


def _glob(pattern: str, value: str) -> bool:
    return re.fullmatch(".*".join(re.escape(piece) for piece in pattern.split("*")), value, re.S) is not None


def _value(row: dict[str, Any], field: str) -> Any:
    value = row[COLUMNS[field]]
    return "Unknown" if field == "client" and value is None else value


def matches(node: Filter, row: dict[str, Any]) -> bool:
    """The filter tree read in plain Python."""
    if isinstance(node, And):
        return all(matches(item, row) for item in node.items)
    if isinstance(node, Or):
        return any(matches(item, row) for item in node.items)
    if isinstance(node, Not):
        return not matches(node.item, row)
    if isinstance(node, Equals):
        return bool(_value(row, node.field) == node.value)
    if isinstance(node, Glob):
        return _glob(str(node.value), _value(row, node.field))
    raise AssertionError(f"unexpected node {node!r}")


def _ordered(row: dict[str, Any]) -> list[Any]:
    return [row[column] for column in COLUMNS.values()]


def _duckdb(rows: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (n INTEGER, initiator_id UUID, provider VARCHAR, provider_name VARCHAR, "
                "model VARCHAR, client VARCHAR, session_id VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", [[n, *_ordered(row)] for n, row in enumerate(rows)])
    return con


def _sqlite(rows: list[dict[str, Any]]) -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t (n INTEGER, initiator_id TEXT, provider TEXT, provider_name TEXT, model TEXT, "
                "client TEXT, session_id TEXT)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [[n, str(row["initiator_id"]), *_ordered(row)[1:]] for n, row in enumerate(rows)])
    return con


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(row_strategy, min_size=1, max_size=12), terms=st.lists(term, min_size=1, max_size=4))
def test_sql_selects_what_the_filter_tree_means(rows: list[dict[str, Any]], terms: list[Any]) -> None:
    try:
        filters = compile_query_filters(_query(terms), ENDPOINTS["sessions"], CONTEXT)
    except QueryError:
        return  # a key given twice unnegated: Coder's error, kept
    expected = sorted(n for n, row in enumerate(rows) if matches(filters, row))
    on_duckdb = compile_filters(filters, DUCKDB)
    found = _duckdb(rows).execute(f"SELECT n FROM t WHERE {on_duckdb.sql} ORDER BY n", on_duckdb.params).fetchall()
    assert [n for (n,) in found] == expected
    on_sqlite = compile_filters(filters, SQLITE)
    params = {str(i): p for i, p in enumerate(on_sqlite.params, start=1)}
    found = _sqlite(rows).execute(f"SELECT n FROM t WHERE {on_sqlite.sql} ORDER BY n", params).fetchall()
    assert [n for (n,) in found] == expected


def test_the_forms_bind_as_documented() -> None:
    def bound(text: str) -> tuple[Filter, ...]:
        return compile_query_filters(text, ENDPOINTS["interceptions"], CONTEXT).items

    assert bound("-client:Cursor") == (Not(Equals("client", "Cursor")),)
    assert bound("provider:anthropic,openai") == (Or((Equals("provider", "anthropic"), Equals("provider", "openai"))),)
    assert bound("model:claude-*") == (Glob("model", "claude-*"),)
    assert bound("-model:gpt-5*,o4*") == (Not(Or((Glob("model", "gpt-5*"), Glob("model", "o4*")))),)
    assert bound("initiator:alice,bob -initiator:me") == (
        Not(Equals("initiator", ALICE)), Or((Equals("initiator", ALICE), Equals("initiator", BOB))))
    assert bound("-client:a -client:b") == (Not(Equals("client", "a")), Not(Equals("client", "b")))


def _written(node: Any) -> str:
    """A random query tree as text: ("and" | "or", children), ("not", child) or a term."""
    if node[0] == "and":
        return " ".join(_written(child) for child in node[1])
    if node[0] == "or":
        return "(" + " OR ".join(_written(child) for child in node[1]) + ")"
    if node[0] == "not":
        return f"-({_written(node[1])})"
    return _query([node])


trees = st.recursive(
    term,
    lambda inner: st.one_of(
        st.tuples(st.just("and"), st.lists(inner, min_size=2, max_size=3)),
        st.tuples(st.just("or"), st.lists(inner, min_size=2, max_size=3)),
        st.tuples(st.just("not"), inner),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(row_strategy, min_size=1, max_size=12), tree=trees)
def test_groups_select_what_the_filter_tree_means(rows: list[dict[str, Any]], tree: Any) -> None:
    """Groups, OR and negated groups: the same check on both engines."""
    text = _written(tree)
    try:
        filters = compile_query_filters(text, ENDPOINTS["sessions"], CONTEXT)
    except QueryError:
        return  # only Coder's "given more than once", within one group of ANDed terms
    expected = sorted(n for n, row in enumerate(rows) if matches(filters, row))
    on_duckdb = compile_filters(filters, DUCKDB)
    found = _duckdb(rows).execute(f"SELECT n FROM t WHERE {on_duckdb.sql} ORDER BY n", on_duckdb.params).fetchall()
    assert [n for (n,) in found] == expected, text
    on_sqlite = compile_filters(filters, SQLITE)
    params = {str(i): p for i, p in enumerate(on_sqlite.params, start=1)}
    found = _sqlite(rows).execute(f"SELECT n FROM t WHERE {on_sqlite.sql} ORDER BY n", params).fetchall()
    assert [n for (n,) in found] == expected, text


def test_groups_bind_as_written() -> None:
    def bound(text: str) -> tuple[Filter, ...]:
        return compile_query_filters(text, ENDPOINTS["interceptions"], CONTEXT).items

    assert bound("(model:claude-* OR model:gpt-5*) -client:Unknown") == (
        Or((Glob("model", "claude-*"), Glob("model", "gpt-5*"))), Not(Equals("client", "Unknown")))
    assert bound("-(provider:openai OR model:x) client:a") == (
        Not(Or((Equals("provider", "openai"), Equals("model", "x")))), Equals("client", "a"))
    assert bound("model:gpt(beta)") == (Equals("model", "gpt(beta)"),)  # no group: Coder's reading
    assert bound("(model:a) client:b") == (Equals("model", "a"), Equals("client", "b"))  # a group of one
    assert bound("-(model:a)") == (Not(Equals("model", "a")),)
    assert bound("(model:a model:b) OR model:c") == (Or((
        And((Equals("model", "a"), Equals("model", "b"))), Equals("model", "c"))),)


PARIS_NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 13:00 in Paris
STARTS = [PARIS_NOON - timedelta(days=d, hours=h) for d in range(0, 40, 3) for h in (0, 12, 13, 14)]


def _paris_day(moment: datetime) -> date:
    return moment.astimezone(ZoneInfo("Europe/Paris")).date()


@pytest.mark.parametrize(("value", "keep"), [
    ("today", lambda t: _paris_day(t) == date(2026, 3, 10)),
    ("yesterday", lambda t: _paris_day(t) == date(2026, 3, 9)),
    ("2026-03-01..2026-03-04", lambda t: date(2026, 3, 1) <= _paris_day(t) <= date(2026, 3, 4)),
    ("2026-03-01..", lambda t: _paris_day(t) >= date(2026, 3, 1)),
    ("..2026-02-10", lambda t: _paris_day(t) <= date(2026, 2, 10)),
    (">-7d", lambda t: t > PARIS_NOON - timedelta(days=7)),
    ("<=-3d", lambda t: t <= PARIS_NOON - timedelta(days=3)),
    (">2026-03-01", lambda t: _paris_day(t) > date(2026, 3, 1)),
    ("<2026-03-01", lambda t: _paris_day(t) < date(2026, 3, 1)),
    (">=2026-03-01", lambda t: _paris_day(t) >= date(2026, 3, 1)),
    ("<=2026-03-01", lambda t: _paris_day(t) <= date(2026, 3, 1)),
    ('">2026-03-01T23:00:00Z"', lambda t: t > datetime(2026, 3, 1, 23, tzinfo=UTC)),
    ("2026-02-28", lambda t: _paris_day(t) == date(2026, 2, 28)),
])
def test_started_counts_whole_days_in_the_callers_zone(value: str, keep: Any) -> None:
    _assert_selects(f"started:{value}", keep)


@pytest.mark.parametrize(("q", "keep"), [
    ("started_after:2026-03-01", lambda t: _paris_day(t) >= date(2026, 3, 1)),
    ("started_before:2026-03-01", lambda t: _paris_day(t) <= date(2026, 3, 1)),
    ("started_after:2026-02-20 started_before:2026-02-20", lambda t: _paris_day(t) == date(2026, 2, 20)),
    ('started_after:2026-02-20 started_before:"2026-03-01T00:00:00Z"',
     lambda t: _paris_day(t) >= date(2026, 2, 20) and t <= datetime(2026, 3, 1, tzinfo=UTC)),
])
def test_a_day_without_a_time_on_started_after_or_before_is_the_whole_day(q: str, keep: Any) -> None:
    """Coder wants a time; here a day alone is where the range starts or ends, through the day."""
    _assert_selects(q, keep)
    strict = BindContext(tz="Europe/Paris", now=PARIS_NOON, strict=True)
    with pytest.raises(QueryError, match="must be a valid date format"):
        compile_query_filters(q, ENDPOINTS["interceptions"], strict)


def test_an_impossible_day_is_an_error_that_names_the_term() -> None:
    for q in ("started:2026-02-30", "started_after:2026-02-30", "started:2026-01-01..2026-13-01"):
        with pytest.raises(QueryError, match=q.split(":")[0]):
            compile_query_filters(q, ENDPOINTS["interceptions"], BindContext())
    with pytest.raises(QueryError, match='"started_before" must be after "started_after"'):
        compile_query_filters("started_after:2026-02-21 started_before:2026-02-20", ENDPOINTS["interceptions"],
                              BindContext())


def _assert_selects(q: str, keep: Any) -> None:
    context = BindContext(tz="Europe/Paris", now=PARIS_NOON)
    filters = compile_query_filters(q, ENDPOINTS["interceptions"], context)
    compiled = compile_filters(filters, DUCKDB)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t (n INTEGER, started_at TIMESTAMPTZ)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [[n, t] for n, t in enumerate(STARTS)])
    found = con.execute(f"SELECT n FROM t WHERE {compiled.sql} ORDER BY n", compiled.params).fetchall()
    assert [n for (n,) in found] == [n for n, t in enumerate(STARTS) if keep(t)]
