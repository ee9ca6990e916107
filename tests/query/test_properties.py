"""Properties of the search language over arbitrary input."""

from __future__ import annotations

import uuid

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aibridge_store import QueryError
from aibridge_store._query import (
    ENDPOINTS,
    BindContext,
    compile_filters,
    compile_query_filters,
)
from aibridge_store._schema import INTERCEPTIONS as TABLE

ALICE = uuid.UUID("11111111-1111-4111-8111-111111111111")
CONTEXT = BindContext(actor_user_id=ALICE, find_user=lambda name: ALICE if name.lower() == "alice" else None)
KEYS = ["initiator", "provider", "provider_name", "model", "client", "session_id", "started_after",
        "started_before", "bogus", "MODEL"]

# Text biased towards the characters that matter to the grammar.
query_text = st.text(alphabet=st.sampled_from(list(' :"abcAZ09-T.+é\t')) | st.characters(), max_size=40)


@pytest.fixture(scope="module")
def duck() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(TABLE.ddl())
    return con


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=query_text, endpoint=st.sampled_from(sorted(ENDPOINTS)))
def test_any_text_compiles_or_raises_query_error(duck: duckdb.DuckDBPyConnection, text: str, endpoint: str) -> None:
    _compiles_or_explains(duck, text, endpoint)


def _compiles_or_explains(duck: duckdb.DuckDBPyConnection, text: str, endpoint: str) -> None:
    """The query either compiles to SQL that DuckDB runs, or raises our error with the endpoint's
    message and at least one reason."""
    try:
        filters = compile_query_filters(text, ENDPOINTS[endpoint], CONTEXT)
    except QueryError as e:
        assert e.message == ENDPOINTS[endpoint].invalid_message
        assert e.validations or e.detail
    else:
        compiled = compile_filters(filters)
        assert compiled.sql.count("$") == len(compiled.params)
        rows = duck.execute(f'SELECT count(*) FROM "{TABLE.name}" WHERE {compiled.sql}', compiled.params).fetchall()
        assert rows == [(0,)]


value_text = st.text(alphabet=st.characters(blacklist_characters='"', blacklist_categories=("Cs",)), min_size=1, max_size=20)
text_keys = st.sampled_from(["provider", "provider_name", "model", "client"])


@settings(max_examples=300, deadline=None)
@given(pairs=st.dictionaries(text_keys, value_text, min_size=1))
def test_sql_depends_only_on_keys_never_on_values(pairs: dict[str, str]) -> None:
    def render(values: dict[str, str]) -> tuple[str, list[object]]:
        text = " ".join(f'{key}:"{value}"' for key, value in values.items())
        compiled = compile_filters(compile_query_filters(text, ENDPOINTS["interceptions"], CONTEXT))
        return compiled.sql, compiled.params

    sql, params = render(pairs)
    assert sql == render({key: "v" for key in pairs})[0]
    for value in pairs.values():
        assert value in params


@settings(max_examples=200, deadline=None)
@given(value=value_text)
def test_user_values_never_appear_in_sql(value: str) -> None:
    marker = f"zq{value}qz"
    compiled = compile_filters(compile_query_filters(f'model:"{marker}"', ENDPOINTS["interceptions"], CONTEXT))
    assert marker not in compiled.sql
    assert marker in compiled.params


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.lists(st.sampled_from(KEYS), max_size=6), values=st.lists(value_text, max_size=6))
def test_key_value_queries_compile_or_raise_query_error(
    duck: duckdb.DuckDBPyConnection, keys: list[str], values: list[str]
) -> None:
    text = " ".join(f'{k}:"{v}"' for k, v in zip(keys, values, strict=False))  # as many terms as the shorter list
    for endpoint in ENDPOINTS:
        _compiles_or_explains(duck, text, endpoint)
