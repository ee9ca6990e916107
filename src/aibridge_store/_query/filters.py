"""Syntax tree → filter tree, with Coder's checks and messages (docs/semantics.md, "Search queries").

Every problem is collected into one :class:`QueryValidationError`, as Coder does; errors about the
shape of elements come first and alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from .._gocompat import GoTime, GoTimeError, go_quote, go_trim_quotes, parse_go_uuid, parse_rfc3339
from ..errors import QueryValidationError, Validation
from .ast import And, BareTerm, Filter, KeyTerm, Query
from .fields import FIELDS, Endpoint, ValueType
from .parser import parse_query

UserLookup = Callable[[str], "uuid.UUID | None"]


@dataclass(frozen=True)
class BindContext:
    """What binding needs from outside the query: who is asking, and how to find a username."""

    actor_user_id: uuid.UUID | None = None
    find_user: UserLookup | None = None


def compile_query_filters(text: str, endpoint: Endpoint, context: BindContext) -> And:
    """Parse ``text`` and bind it for ``endpoint``: the one entry point the read layer uses."""
    return bind(parse_query(text, message=endpoint.invalid_message), endpoint, context)


def bind(query: Query, endpoint: Endpoint, context: BindContext) -> And:
    """Turn a parsed query into filters for ``endpoint``; raise :class:`QueryValidationError`."""
    values, problem = _collect(query, endpoint)
    if problem is not None:
        raise QueryValidationError(endpoint.invalid_message, query=query.text, validations=[problem])
    errors: list[Validation] = []
    filters: list[Filter] = []
    times: dict[str, GoTime] = {}
    for key, field_name in endpoint.keys.items():
        given = values.pop(key, [])
        if len(given) > 1:
            errors.append(Validation(
                key,
                f"Query param {go_quote(key)} provided more than once, found {len(given)} times. "
                "Only provide 1 instance of this query param.",
            ))
            continue
        if not given or given[0] == "":
            continue
        field = FIELDS[field_name]
        value = _parse_value(key, field.value_type, given[0], context, errors)
        if value is None:
            continue
        if isinstance(value, GoTime):
            times[key] = value
            if value.is_zero:
                continue
        filters.append(field.node(field_name, value))
    errors += [Validation(key, f"Query param {go_quote(key)} is not a valid query param") for key in values]
    after, before = times.get("started_after"), times.get("started_before")
    if after and before and not after.is_zero and not before.is_zero and before.nanos <= after.nanos:
        errors.append(Validation(
            "started_before",
            'Query param "started_before" has invalid value: "started_before" must be after '
            '"started_after" if set',
        ))
    if errors:
        raise QueryValidationError(endpoint.invalid_message, query=query.text, validations=errors)
    return And(tuple(filters))


def _collect(query: Query, endpoint: Endpoint) -> tuple[dict[str, list[str]], Validation | None]:
    """Group values by lower-cased key; bare terms become one value of the default key."""
    values: dict[str, list[str]] = {}
    for term in query.terms:
        if isinstance(term, KeyTerm):
            values.setdefault(term.key.lower(), []).append(term.value)
    # Bare terms are joined into one element; one holding a quoted ':' stands on its own.
    bare = [t.raw for t in query.terms if isinstance(t, BareTerm) and ":" not in t.raw]
    alone = [t.raw for t in query.terms if isinstance(t, BareTerm) and ":" in t.raw]
    elements = alone + ([" ".join(bare)] if bare else [])
    for element in elements:
        if endpoint.default_key is None:
            return values, Validation("q", "no search key specified")
        values.setdefault(endpoint.default_key, []).append(go_trim_quotes(element))
    return values, None


def _parse_value(
    key: str, value_type: ValueType, text: str, context: BindContext, errors: list[Validation]
) -> object | None:
    if value_type is ValueType.TEXT:
        return text
    if value_type is ValueType.TIME:
        upper = "".join(c.upper() if len(c.upper()) == 1 else c for c in text)
        try:
            return parse_rfc3339(upper)
        except GoTimeError as e:
            errors.append(Validation(
                key,
                f"Query param {go_quote(key)} must be a valid date format "
                f"(2006-01-02T15:04:05.999999999Z07:00): {e}",
            ))
            return None
    return _parse_user(key, text, context, errors)


def _parse_user(key: str, text: str, context: BindContext, errors: list[Validation]) -> uuid.UUID | None:
    if text == "me":
        if context.actor_user_id is None:
            errors.append(Validation(
                key,
                f'Query param {go_quote(key)} has invalid value: "me" needs an actor with a user id '
                "(pass actor=Actor.owner(user_id=...), Actor.auditor(...) or Actor.member(...))",
            ))
        return context.actor_user_id
    parsed = parse_go_uuid(text)
    if parsed is not None:
        return parsed
    found = context.find_user(text) if context.find_user is not None else None
    if found is None:
        errors.append(Validation(
            key,
            f"Query param {go_quote(key)} has invalid value: user {go_quote(text)} either does not "
            "exist, or you are unauthorized to view them",
        ))
    return found
