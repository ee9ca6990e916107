"""Properties of the search language over arbitrary input."""

from __future__ import annotations

import re
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
STRICT = BindContext(actor_user_id=ALICE, find_user=CONTEXT.find_user, strict=True)
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
    """Read as Coder does; the extended language's values also decide the SQL's shape (lists,
    globs), and :func:`test_extended_values_never_appear_in_sql` covers them."""
    def render(values: dict[str, str]) -> tuple[str, list[object]]:
        text = " ".join(f'{key}:"{value}"' for key, value in values.items())
        compiled = compile_filters(compile_query_filters(text, ENDPOINTS["interceptions"], STRICT))
        return compiled.sql, compiled.params

    sql, params = render(pairs)
    assert sql == render({key: "v" for key in pairs})[0]
    for value in pairs.values():
        assert value in params


@settings(max_examples=200, deadline=None)
@given(value=value_text)
def test_user_values_never_appear_in_sql(value: str) -> None:
    marker = f"zq{value}qz"
    compiled = compile_filters(compile_query_filters(f'model:"{marker}"', ENDPOINTS["interceptions"], STRICT))
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


part_text = st.text(alphabet=st.characters(blacklist_characters='",', blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=200, deadline=None)
@given(key=text_keys, parts=st.lists(part_text, min_size=1, max_size=4), negated=st.booleans())
def test_extended_values_never_appear_in_sql(key: str, parts: list[str], negated: bool) -> None:
    """Lists and globs too: every alternative is a bound parameter (a glob's in LIKE's spelling)."""
    markers = [f"zq{part}qz" for part in parts]
    text = f'{"-" if negated else ""}{key}:"{",".join(markers)}"'
    compiled = compile_filters(compile_query_filters(text, ENDPOINTS["interceptions"], CONTEXT))
    for marker in markers:
        assert marker not in compiled.sql
        like = marker.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
        assert marker in compiled.params or like in compiled.params


# Queries of Coder's language that use none of the new forms: no ',' or '*' anywhere, no key that
# starts with '-', no parenthesis opening or closing an element, no " OR ", no day without a time.
_DAY_ONLY = re.compile(r'\d{4}-\d{2}-\d{2}"?( |$)')
coder_text = query_text.filter(lambda t: "," not in t and "*" not in t and not re.search(r'(^|[ ])"?-[^ :]*"?:', t)
                               and not re.search(r"(^| )-?\(|\)( |$)| OR ", t) and not _DAY_ONLY.search(t))
coder_value = value_text.filter(lambda v: "," not in v and "*" not in v and not _DAY_ONLY.match(v))


@settings(max_examples=500, deadline=None)
@given(text=coder_text | st.builds(lambda k, v: f'{k}:"{v}"', st.sampled_from(KEYS), coder_value)
       | st.builds(lambda k, d: f'{k}:"{d}T00:00:00Z"', st.sampled_from(KEYS), st.dates()),
       endpoint=st.sampled_from(sorted(ENDPOINTS)))
def test_coder_queries_mean_what_they_meant(text: str, endpoint: str) -> None:
    """Every query without the new forms binds to the same filters, or fails with the same
    error, as it does read strictly (as Coder reads it)."""
    def outcome(context: BindContext) -> object:
        try:
            return compile_query_filters(text, ENDPOINTS[endpoint], context)
        except QueryError as e:
            return (type(e), e.message, e.detail, [(v.field, v.detail) for v in e.validations])

    assert outcome(CONTEXT) == outcome(STRICT)


@pytest.mark.parametrize(("text", "strict_error"), [
    ("-client:Cursor", 'Query param "-client" is not a valid query param'),
    ("provider:anthropic,openai", None),
    ("model:claude-*", None),
    ("started_after:2026-01-31", 'Query param "started_after" must be a valid date format'),
    ("started_before:2026-01-31", 'Query param "started_before" must be a valid date format'),
])
def test_the_new_forms_are_errors_or_impossible_literals_for_coder(text: str, strict_error: str | None) -> None:
    """The documented cases whose meaning changes: what Coder made of each."""
    if strict_error is None:
        (node,) = compile_query_filters(text, ENDPOINTS["interceptions"], STRICT).items
        assert type(node).__name__ == "Equals" and ("," in str(node.value) or "*" in str(node.value))
    else:
        with pytest.raises(QueryError) as raised:
            compile_query_filters(text, ENDPOINTS["interceptions"], STRICT)
        assert strict_error in str(raised.value)
    assert compile_query_filters(text, ENDPOINTS["interceptions"], CONTEXT).items
