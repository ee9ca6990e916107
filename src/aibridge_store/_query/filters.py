"""Syntax tree → filter tree, with Coder's checks and messages (docs/semantics.md, "Search queries").

Every problem is collected into one :class:`QueryValidationError`, as Coder does; errors about the
shape of elements come first and alone.

Beyond Coder (README, "The search language"), unless ``strict``: a text or user key may be
negated (``-client:Cursor``, as often as wanted), and its value may list alternatives
(``provider:anthropic,openai``); a text value with ``*`` is a glob (``model:claude-*``); the
endpoint's extended keys (tokens, duration, started, text, tools, flags, session figures) bind
through :func:`_extended`; and a query with groups binds term by term (:func:`_bind_tree`). Each
of these was an error in Coder or a literal that no stored value can equal.
"""

from __future__ import annotations

import difflib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from .._gocompat import GoTime, GoTimeError, go_quote, go_trim_quotes, parse_go_uuid, parse_rfc3339
from ..errors import QueryValidationError, Validation
from .ast import (
    Above,
    AllOf,
    And,
    AnyOf,
    AtLeast,
    AtMost,
    BareTerm,
    Below,
    Contains,
    Equals,
    Filter,
    Glob,
    KeyTerm,
    Node,
    Not,
    NotGroup,
    Or,
    Query,
)
from .fields import FIELDS, FLAGS, Endpoint, ValueType
from .parser import parse_query

UserLookup = Callable[[str], "uuid.UUID | None"]


@dataclass(frozen=True)
class BindContext:
    """What binding needs from outside the query: who is asking, and how to find a username."""

    actor_user_id: uuid.UUID | None = None
    find_user: UserLookup | None = None
    strict: bool = False
    """Read the query as Coder does: no negation, lists or globs."""
    tz: str = "UTC"
    """The time zone whose days ``started:`` counts in."""
    now: datetime | None = None
    """The moment ``started:>-7d`` counts back from (None: the time of binding)."""


def compile_query_filters(text: str, endpoint: Endpoint, context: BindContext) -> And:
    """Parse ``text`` and bind it for ``endpoint``: the one entry point the read layer uses."""
    query = parse_query(text, message=endpoint.invalid_message, extended=not context.strict)
    return bind(query, endpoint, context)


def bind(query: Query, endpoint: Endpoint, context: BindContext) -> And:
    """Turn a parsed query into filters for ``endpoint``; raise :class:`QueryValidationError`."""
    if query.tree is not None:
        return _bind_tree(query, endpoint, context)
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
        field = FIELDS[field_name]
        extended = not context.strict and field.node is Equals and field.value_type is not ValueType.TIME
        if extended:
            for negated in values.pop(f"-{key}", []):
                found = _alternatives(key, field_name, negated, context, errors)
                if found is not None:
                    filters.append(Not(found))
        if not given or given[0] == "":
            continue
        if extended:
            found = _alternatives(key, field_name, given[0], context, errors)
            if found is not None:
                filters.append(found)
            continue
        day = _day(given[0]) if field.value_type is ValueType.TIME and not context.strict else None
        if day is not None:  # a whole day in the caller's time zone: from its start, or through its end
            start, end = _whole_day(day, context)
            times[key] = _at(start if field.node is AtLeast else end)
            filters.append(AtLeast(field_name, times[key]) if field.node is AtLeast else Below(field_name, times[key]))
            continue
        value = _parse_value(key, field.value_type, given[0], context, errors)
        if value is None:
            continue
        if isinstance(value, GoTime):
            times[key] = value
            if value.is_zero:
                continue
        filters.append(field.node(field_name, value))
    if not context.strict:
        for key in endpoint.extended:
            for text in values.pop(key, []):
                found = _extended(key, text, context, errors)
                if found is not None:
                    filters.append(found)
            for text in values.pop(f"-{key}", []):
                found = _extended(key, text, context, errors)
                if found is not None:
                    filters.append(Not(found))
    errors += [Validation(key, f"Query param {go_quote(key)} is not a valid query param") for key in values]
    after, before = times.get("started_after"), times.get("started_before")
    if after and before and not after.is_zero and not before.is_zero and before.nanos <= after.nanos:
        errors.append(Validation(
            "started_before",
            'Query param "started_before" has invalid value: "started_before" must be after '
            '"started_after" if set',
        ))
    if errors:
        raise _validation_error(query, endpoint, errors, context)
    return And(tuple(filters))


def _bind_tree(query: Query, endpoint: Endpoint, context: BindContext) -> And:
    """A query with groups: each term binds on its own (so ``(model:a OR model:b)`` is fine, and
    a bare word is one ``initiator:`` term), the groups become AND, OR and NOT. Every problem of
    every term is reported, pointing at the first."""
    problems: list[QueryValidationError] = []

    def visit(node: Node) -> Filter:
        if isinstance(node, AllOf | AnyOf):
            items = tuple(visit(item) for item in node.items)
            return And(items) if isinstance(node, AllOf) else Or(items)
        if isinstance(node, NotGroup):
            return Not(visit(node.item))
        try:
            bound = bind(Query(terms=(node,), text=query.text), endpoint, context)
            return bound.items[0] if len(bound.items) == 1 else bound
        except QueryValidationError as e:
            problems.append(e)
            return And()

    found = visit(query.tree) if query.tree is not None else And()
    if problems:
        first = problems[0]
        raise QueryValidationError(endpoint.invalid_message, query=query.text, start=first.start, end=first.end,
                                   hint=first.hint, validations=[v for p in problems for v in p.validations])
    return found if isinstance(found, And) else And((found,))


def _validation_error(
    query: Query, endpoint: Endpoint, errors: list[Validation], context: BindContext
) -> QueryValidationError:
    """Coder's error, pointing at the term of the first problem, with a "did you mean" for an
    unknown key."""
    field = errors[0].field
    span = next((t.span for t in query.terms if isinstance(t, KeyTerm) and t.key.lower() == field), None)
    if span is None and field in ("q", endpoint.default_key):
        span = next((t.span for t in query.terms if isinstance(t, BareTerm)), None)
    hint = ""
    if errors[0].detail.endswith("is not a valid query param"):
        known = [*endpoint.keys, *(() if context.strict else endpoint.extended)]
        negated = field.startswith("-") and not context.strict
        close = difflib.get_close_matches(field.removeprefix("-") if negated else field, known, n=1)
        if context.strict and (field.startswith("-") or field in endpoint.extended):
            hint = "that is the extended search language, which strict reading leaves out"
        elif close:
            hint = f"did you mean {go_quote(('-' if negated else '') + close[0])}?"
    return QueryValidationError(endpoint.invalid_message, query=query.text, validations=errors,
                                start=None if span is None else span.start, end=None if span is None else span.end,
                                hint=hint)


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


def _extended(key: str, text: str, context: BindContext, errors: list[Validation]) -> Filter | None:
    """A term of a key only the extended language has; None for an empty value (no filter)."""
    if text == "":
        return None
    value_type = FIELDS[key].value_type
    if value_type is ValueType.COUNT:
        return _range(key, text, _whole_number, errors)
    if value_type is ValueType.DURATION:
        return _range(key, text, _micros, errors)
    if value_type is ValueType.USD:
        return _range(key, text, _dollars, errors)
    if value_type is ValueType.WHEN:
        return _started(key, text, context, errors)
    if value_type is ValueType.TEXT:
        return _alternatives(key, key, text, context, errors)
    parts = text.split(",")
    if "" in parts:
        errors.append(Validation(key, f"Query param {go_quote(key)} has an empty value in its list {go_quote(text)}"))
        return None
    found: list[Filter] = []
    for part in parts:
        if value_type is ValueType.CONTAINS:
            found.append(Contains(key, part))
            continue
        flag = FLAGS[key].get(part)
        if flag is None:
            known = ", ".join(FLAGS[key])
            errors.append(Validation(key, f"Query param {go_quote(key)} has invalid value {go_quote(part)}: "
                                          f"expected one of {known}"))
            return None
        field, value = flag
        found.append(Above(field, value) if key == "has" else Equals(field, value))
    return found[0] if len(found) == 1 else Or(tuple(found))


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)?")
_UNIT_MICROS = {"ms": 1_000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000}


def _whole_number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _micros(text: str) -> int | None:
    """A duration (``30s``, ``1.5m``, ``2h``, ``500ms``, ``1d``; a number alone is seconds) in
    microseconds."""
    found = _DURATION.fullmatch(text)
    if found is None:
        return None
    return int(Decimal(found.group(1)) * _UNIT_MICROS[found.group(2) or "s"])


_DOLLARS = re.compile(r"\$?(\d+(?:\.\d+)?)")


def _dollars(text: str) -> Decimal | None:
    """An amount of US dollars (``1``, ``0.25``, ``$5``), exactly."""
    found = _DOLLARS.fullmatch(text)
    return None if found is None else Decimal(found.group(1))


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_BACK = re.compile(r"-(\d+)(m|h|d|w)")
_BACK_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def _day(text: str) -> date | None:
    """A calendar day written ``2026-01-31``, or None."""
    if not _DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:  # 2026-02-30
        return None


def _whole_day(day: date, context: BindContext) -> tuple[datetime, datetime]:
    """The instants ``[from, to)`` of a day in the caller's time zone."""
    zone = ZoneInfo(context.tz)
    return datetime.combine(day, time(), tzinfo=zone), datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)


def _at(moment: datetime) -> GoTime:
    return GoTime(int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1)) * 1000)


def _started(key: str, text: str, context: BindContext, errors: list[Validation]) -> Filter | None:
    """``started:`` a day (``2026-01-31``, ``today``, ``yesterday``: the whole day in the
    caller's time zone), days ``a..b`` (both whole, either end may be left out), a time (RFC
    3339) or a time back from now (``-7d``, ``-12h``, ``-30m``, ``-2w``), alone or after ``>``,
    ``>=``, ``<``, ``<=``."""
    zone = ZoneInfo(context.tz)
    now = context.now or datetime.now(UTC)

    def span(value: str) -> tuple[datetime, datetime] | None:
        """The instants ``[from, to)`` a value covers (a single instant: ``to == from``)."""
        day = {"today": now.astimezone(zone).date(), "yesterday": now.astimezone(zone).date() - timedelta(days=1)}
        first = day[value] if value in day else _day(value)
        if first is not None:
            return _whole_day(first, context)
        back = _BACK.fullmatch(value)
        if back:
            moment = now - int(back.group(1)) * _BACK_UNITS[back.group(2)]
            return moment, moment
        try:
            moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=parse_rfc3339(value.upper()).micros)
        except (GoTimeError, OverflowError, ValueError):
            return None
        return moment, moment

    found: Filter | None = None
    for operator in (">=", "<=", ">", "<"):
        if text.startswith(operator):
            bounds = span(text[len(operator):])
            if bounds is not None:
                first, end = bounds
                whole = first != end
                choices: dict[str, Filter] = {
                    ">=": AtLeast(key, _at(first)), "<": Below(key, _at(first)),
                    ">": AtLeast(key, _at(end)) if whole else Above(key, _at(first)),
                    "<=": Below(key, _at(end)) if whole else AtMost(key, _at(first)),
                }
                found = choices[operator]
            break
    else:
        if ".." in text:
            low, _, high = text.partition("..")
            lows, highs = span(low) if low else None, span(high) if high else None
            if (low or high) and (lows is not None or not low) and (highs is not None or not high):
                items: list[Filter] = [AtLeast(key, _at(lows[0]))] if lows is not None else []
                if highs is not None:
                    items.append(Below(key, _at(highs[1])) if highs[0] != highs[1] else AtMost(key, _at(highs[0])))
                found = items[0] if len(items) == 1 else And(tuple(items))
        else:
            bounds = span(text)
            if bounds is not None:
                first, end = bounds
                whole_days = And((AtLeast(key, _at(first)), Below(key, _at(end))))
                found = whole_days if first != end else Equals(key, _at(first))
    if found is None:
        errors.append(Validation(key, f"Query param {go_quote(key)} has invalid value {go_quote(text)}: expected a day "
                                      "(2026-01-31, today, yesterday), a time (quoted RFC 3339) or a time back from "
                                      "now (-7d, -12h, -30m, -2w), alone, as a..b, or after >, >=, <, <="))
    return found


def _range(
    key: str, text: str, read: Callable[[str], int | Decimal | None], errors: list[Validation]
) -> Filter | None:
    """``>n``, ``>=n``, ``<n``, ``<=n``, ``a..b`` (inclusive, either end may be left out) or ``n``."""
    for operator, node in ((">=", AtLeast), ("<=", AtMost), (">", Above), ("<", Below)):
        if text.startswith(operator):
            value = read(text[len(operator):])
            if value is not None:
                return node(key, value)
            break
    else:
        if ".." in text:
            start, _, end = text.partition("..")
            low, high = read(start) if start else None, read(end) if end else None
            if (start or end) and (low is not None or not start) and (high is not None or not end):
                items: list[Filter] = [AtLeast(key, low)] if low is not None else []
                items += [AtMost(key, high)] if high is not None else []
                return items[0] if len(items) == 1 else And(tuple(items))
        else:
            value = read(text)
            if value is not None:
                return Equals(key, value)
    shapes: dict[Callable[[str], int | Decimal | None], str] = {
        _micros: "a duration (30s, 1.5m, 2h, 500ms, 1d)", _dollars: "an amount of US dollars (1, 0.25, $5)"}
    shape = shapes.get(read, "a whole number")
    errors.append(Validation(key, f"Query param {go_quote(key)} has invalid value {go_quote(text)}: expected "
                                  f"{shape}, alone or as >n, >=n, <n, <=n or a..b"))
    return None


def _alternatives(
    key: str, field_name: str, text: str, context: BindContext, errors: list[Validation]
) -> Filter | None:
    """A value of the extended language: ``a,b`` any of them, ``a*`` a glob (text keys)."""
    parts = text.split(",")
    if len(parts) > 1 and "" in parts:
        errors.append(Validation(key, f"Query param {go_quote(key)} has an empty value in its list {go_quote(text)}"))
        return None
    value_type = FIELDS[field_name].value_type
    found: list[Filter] = []
    for part in parts:
        if value_type is ValueType.TEXT and "*" in part:
            found.append(Glob(field_name, part))
            continue
        value = _parse_value(key, value_type, part, context, errors)
        if value is not None:
            found.append(Equals(field_name, value))
    if len(found) < len(parts):
        return None
    return found[0] if len(found) == 1 else Or(tuple(found))


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
