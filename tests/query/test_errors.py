"""Text → (error class, position, exact Coder message)."""

from __future__ import annotations

import uuid

import pytest

from aibridge_store import QueryError, QuerySyntaxError, QueryValidationError
from aibridge_store._query import (
    CLIENTS_SEARCH,
    INTERCEPTIONS_SEARCH,
    MODELS_SEARCH,
    SESSIONS_SEARCH,
    BindContext,
    compile_query_filters,
)

ALICE = uuid.UUID("11111111-1111-4111-8111-111111111111")


def _users(name: str) -> uuid.UUID | None:
    return ALICE if name.lower() == "alice" else None


CONTEXT = BindContext(actor_user_id=None, find_user=_users)


@pytest.mark.parametrize(
    ("text", "position", "detail"),
    [
        (":a", 0, "Query element \":a\" cannot start or end with ':'"),
        ("a:", 2, "Query element \"a:\" cannot start or end with ':'"),
        ("x a: b", 4, "Query element \"a:\" cannot start or end with ':'"),
        ("a:b:c", 3, "Query element \"a:b:c\" can only contain 1 ':'"),
        ('model:"a:b":c', 11, 'Query element "model:\\"a:b\\":c" can only contain 1 \':\''),
        ("ok:1 :bad", 5, "Query element \":bad\" cannot start or end with ':'"),
        (":", 0, "Query element \":\" cannot start or end with ':'"),
    ],
)
def test_syntax_errors(text: str, position: int, detail: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        compile_query_filters(text, INTERCEPTIONS_SEARCH, CONTEXT)
    error = caught.value
    assert error.start == position
    assert error.message == "Invalid workspace search query."
    assert [(v.field, v.detail) for v in error.validations] == [("q", detail)]
    (caret_line,) = [line for line in str(error).splitlines() if line.strip().strip("^") == "" and "^" in line]
    assert caret_line.index("^") - 2 == position - (text.rfind("\n", 0, position) + 1)


def test_syntax_error_response_body() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        compile_query_filters("a:b:c", SESSIONS_SEARCH, CONTEXT)
    assert caught.value.to_response() == {
        "message": "Invalid session search query.",
        "validations": [{"field": "q", "detail": "Query element \"a:b:c\" can only contain 1 ':'"}],
    }


DATE = "(2006-01-02T15:04:05.999999999Z07:00)"


QUERY_CASES: list[tuple[object, str, list[tuple[str, str]]]] = [
        (INTERCEPTIONS_SEARCH, "bogus:1", [("bogus", 'Query param "bogus" is not a valid query param')]),
        (INTERCEPTIONS_SEARCH, "session_id:x", [("session_id", 'Query param "session_id" is not a valid query param')]),
        (INTERCEPTIONS_SEARCH, "provider:a provider:b", [
            ("provider", 'Query param "provider" provided more than once, found 2 times. '
                         "Only provide 1 instance of this query param."),
        ]),
        (INTERCEPTIONS_SEARCH, "PROVIDER:a provider:b", [
            ("provider", 'Query param "provider" provided more than once, found 2 times. '
                         "Only provide 1 instance of this query param."),
        ]),
        (INTERCEPTIONS_SEARCH, "nobody", [
            ("initiator", 'Query param "initiator" has invalid value: user "nobody" either does not exist, '
                          "or you are unauthorized to view them"),
        ]),
        (INTERCEPTIONS_SEARCH, "foo bar", [
            ("initiator", 'Query param "initiator" has invalid value: user "foo bar" either does not exist, '
                          "or you are unauthorized to view them"),
        ]),
        (INTERCEPTIONS_SEARCH, "alice initiator:alice", [
            ("initiator", 'Query param "initiator" provided more than once, found 2 times. '
                          "Only provide 1 instance of this query param."),
        ]),
        (INTERCEPTIONS_SEARCH, "started_after:INVALID", [
            ("started_after", f'Query param "started_after" must be a valid date format {DATE}: parsing time '
                              '"INVALID" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "INVALID" as "2006"'),
        ]),
        (INTERCEPTIONS_SEARCH, 'started_after:"2025-01-01"', [
            ("started_after", f'Query param "started_after" must be a valid date format {DATE}: parsing time '
                              '"2025-01-01" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "" as "T"'),
        ]),
        (INTERCEPTIONS_SEARCH, 'started_before:"2025-01-01t00:00:00z"', []),
        (INTERCEPTIONS_SEARCH, 'started_after:"2025-02-01T00:00:00Z" started_before:"2025-01-01T00:00:00Z"', [
            ("started_before", 'Query param "started_before" has invalid value: "started_before" must be after '
                               '"started_after" if set'),
        ]),
        (INTERCEPTIONS_SEARCH, 'started_after:"2025-01-01T00:00:00Z" started_before:"2025-01-01T00:00:00Z"', [
            ("started_before", 'Query param "started_before" has invalid value: "started_before" must be after '
                               '"started_after" if set'),
        ]),
        (INTERCEPTIONS_SEARCH, 'started_after:"2025-01-01T00:00:00Z" started_before:"2025-01-01T00:00:00.000000001Z"', []),
        (INTERCEPTIONS_SEARCH, "initiator:me", [
            ("initiator", 'Query param "initiator" has invalid value: "me" needs an actor with a user id '
                          "(pass actor=Actor.owner(user_id=...), Actor.auditor(...) or Actor.member(...))"),
        ]),
        (SESSIONS_SEARCH, "claude", [("q", "no search key specified")]),
        (SESSIONS_SEARCH, "model:x claude", [("q", "no search key specified")]),
        (MODELS_SEARCH, "client:x", [("client", 'Query param "client" is not a valid query param')]),
        (CLIENTS_SEARCH, "model:x", [("model", 'Query param "model" is not a valid query param')]),
        (INTERCEPTIONS_SEARCH, "provider:a provider:b bogus:1 started_after:nope", [
            ("provider", 'Query param "provider" provided more than once, found 2 times. '
                         "Only provide 1 instance of this query param."),
            ("started_after", f'Query param "started_after" must be a valid date format {DATE}: parsing time '
                              '"NOPE" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "NOPE" as "2006"'),
            ("bogus", 'Query param "bogus" is not a valid query param'),
        ]),
]
"""(endpoint, q, the validations Coder reports; none for a query it accepts)."""


@pytest.mark.parametrize(("endpoint", "text"), [(e, t) for e, t, v in QUERY_CASES if not v])
def test_accepted_queries(endpoint: object, text: str) -> None:
    assert compile_query_filters(text, endpoint, CONTEXT).items  # type: ignore[arg-type]


CHANGED = {'started_after:"2025-01-01"'}
"""Coder's errors that the extended language accepts (README, "The search language"): a day
without a time on ``started_after``/``started_before``."""


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "extended"])
@pytest.mark.parametrize(("endpoint", "text", "validations"), [c for c in QUERY_CASES if c[2]])
def test_validation_errors(endpoint: object, text: str, validations: list[tuple[str, str]], strict: bool) -> None:
    context = BindContext(actor_user_id=CONTEXT.actor_user_id, find_user=CONTEXT.find_user, strict=strict)
    if text in CHANGED and not strict:
        assert compile_query_filters(text, endpoint, context).items  # type: ignore[arg-type]
        return
    with pytest.raises(QueryValidationError) as caught:
        compile_query_filters(text, endpoint, context)  # type: ignore[arg-type]
    assert [(v.field, v.detail) for v in caught.value.validations] == validations
    assert caught.value.message == endpoint.invalid_message  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        (INTERCEPTIONS_SEARCH, "Invalid workspace search query."),
        (SESSIONS_SEARCH, "Invalid session search query."),
        (MODELS_SEARCH, "Invalid AI Bridge models search query."),
        (CLIENTS_SEARCH, "Invalid AI Bridge clients search query."),
    ],
)
def test_messages_per_endpoint(endpoint: object, message: str) -> None:
    with pytest.raises(QueryValidationError) as caught:
        compile_query_filters("nope:1", endpoint, CONTEXT)  # type: ignore[arg-type]
    assert caught.value.to_response()["message"] == message


def test_errors_are_value_errors_of_our_hierarchy() -> None:
    from aibridge_store import AibridgeStoreError, QueryError

    with pytest.raises(QueryError) as caught:
        compile_query_filters("a:", INTERCEPTIONS_SEARCH, CONTEXT)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, AibridgeStoreError)


def test_a_query_that_is_not_a_string_is_our_error() -> None:
    with pytest.raises(QuerySyntaxError):
        compile_query_filters(42, INTERCEPTIONS_SEARCH, CONTEXT)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "strict", "start", "hint"), [
    ("modle:gpt-5", False, 0, 'did you mean "model"?'),
    ("client:Cursor -modle:x", False, 14, 'did you mean "-model"?'),
    ("input_tokns:>5", False, 0, 'did you mean "input_tokens"?'),
    ("-client:Cursor", True, 0, "that is the extended search language, which strict reading leaves out"),
    ("prompt:x", True, 0, "that is the extended search language, which strict reading leaves out"),
    ('started_after:2026-01-01T10:00:00Z', False, 27, 'quote values that contain \':\', as in '
     'started_after:"2026-01-01T10:00:00Z"'),
    ("provider:openai client:Cursor nobody", False, 30, ""),
])
def test_errors_point_at_the_term_and_say_what_was_meant(text: str, strict: bool, start: int, hint: str) -> None:
    context = BindContext(actor_user_id=CONTEXT.actor_user_id, find_user=CONTEXT.find_user, strict=strict)
    with pytest.raises(QueryError) as caught:
        compile_query_filters(text, INTERCEPTIONS_SEARCH, context)
    error = caught.value
    assert (error.start, error.hint) == (start, hint)
    shown = str(error)
    assert f"  {text}\n  {' ' * start}^" in shown
    assert ("hint: " + hint in shown) == bool(hint)
    assert "hint" not in str(error.to_response())  # Coder's body, unchanged
