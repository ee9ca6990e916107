"""Usage reports: what the interceptions a search query selects used, grouped any way (README,
"Analytics").

Every report starts from the same selection: the interceptions the query (Coder's search
language, with the actor's scope) selects, in flight or ended, that started in ``[since, until)``.
Each figure then counts what that selection holds; the README says which rows each one counts.
Group keys and time buckets come from the registry below, values only ever as parameters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from .._auth import LOCAL_ADMIN, Actor
from .._gocompat import parse_rfc3339
from .._query import INTERCEPTIONS_SEARCH, Compiler
from .._query.compiler import filter_columns
from .._reads.common import bind_filters
from .._schema import (
    INTERCEPTION_TOTALS,
    INTERCEPTIONS,
    PARENT_TIME,
    TOKEN_USAGES,
    TOOL_USAGES,
    TOTALS_FILTERED,
    USER_PROMPTS,
    USERS,
    ident,
)
from ..errors import ReportError
from .pricebook import PriceBook
from .prices import LINE_TYPE, price_lines
from .report import Report

_I = ident(INTERCEPTIONS.name)

GROUPS: dict[str, tuple[str, ...]] = {
    "user": ('i."initiator_id"',),
    "provider": ('i."provider"',),
    "provider_name": ('i."provider_name"',),
    "model": ('i."model"',),
    "client": ("""COALESCE(i."client", 'Unknown')""",),
    "session": ('i."session_id"', 'i."initiator_id"'),
}
"""Group name → the SQL of its keys (a session is a session id of one initiator)."""
_KEY_NAMES = {"user": ("user_id",), "session": ("session_id", "session_initiator_id")}
BUCKETS = ("hour", "day", "week", "month")


@dataclass(frozen=True)
class Window:
    """The start times a report covers: ``[since, until)``, either end open."""

    since: datetime | None = None
    until: datetime | None = None


_RELATIVE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def moment(value: datetime | str | None, name: str, now: datetime | None = None) -> datetime | None:
    """A bound given as a datetime, an RFC 3339 time, a date (midnight UTC), or a span back
    from now (``30d``, ``12h``, ``2w``)."""
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ReportError(f"{name}: a datetime needs a time zone")
        return value
    relative = _RELATIVE.match(value)
    if relative:
        return (now or datetime.now(UTC)) - int(relative.group(1)) * _UNITS[relative.group(2)]
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00:00Z"
    try:
        parsed = parse_rfc3339(text)
    except ValueError:
        raise ReportError(
            f"{name}: {value!r} is not a time: give RFC 3339 (2026-01-31T00:00:00Z), a date "
            "(2026-01-31) or a span back from now (30d, 12h, 2w)"
        ) from None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=parsed.micros)


RECORDED_SOURCE = "coder"
"""``priced_by`` for the cost Coder recorded with a token usage."""


class Selection:
    """The interceptions a report covers, as SQL over ``i`` (rows of the interception totals),
    and the parameters it binds. ``reprice`` prices every token usage from the price sources,
    ignoring what Coder recorded. ``totals`` is what to read the totals from: their table, or the
    query that computes them (a store too old to have the table, opened read-only)."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, q: str, window: Window, actor: Actor | None, reprice: bool = False,
        totals: str = ident(INTERCEPTION_TOTALS), strict: bool = False, tz: str = "UTC",
    ) -> None:
        self.reprice = reprice
        self.totals = totals
        filters = bind_filters(con, actor or LOCAL_ADMIN, q, INTERCEPTIONS_SEARCH, strict, tz)
        covered = filter_columns(filters) <= TOTALS_FILTERED
        self.compiler = Compiler(table_alias="i", totals_row=covered)  # totals rows: their columns
        where = self.compiler.compile(filters)
        if not covered:
            where = f'i."id" IN (SELECT i."id" FROM {_I} AS i WHERE {where})'
        if window.since is not None:
            where += f' AND i."started_at" >= {self.compiler.param(window.since)}'
        if window.until is not None:
            where += f' AND i."started_at" < {self.compiler.param(window.until)}'
        self.where = where
        self.everything = not filters.items and window == Window()
        """Whether the selection is every stored interception."""

    def param(self, value: object) -> str:
        return self.compiler.param(value)

    @property
    def params(self) -> list[Any]:
        return self.compiler.params

    def price(self, con: duckdb.DuckDBPyConnection, book: PriceBook | None) -> None:
        """Look up the prices of the selection's models (the price ``book``'s, genai-prices'
        elsewhere, per provider, provider name and model); :meth:`grouped` then prices every
        token usage."""
        rows = con.execute(
            f'WITH {self.selected()} SELECT DISTINCT s."provider", s."provider_name", s."model" FROM sel AS s',
            self.params,
        ).fetchall()
        self._prices = f"CAST({self.param(price_lines(rows, book))} AS {LINE_TYPE})"

    _prices = f"CAST([] AS {LINE_TYPE})"

    def selected(self, keys: Sequence[Key] = ()) -> str:
        """``sel``: the selected interceptions' totals (with their duration), and the ``keys``
        as columns ``__k0``, ``__k1``... Never materialised: each reader scans the totals again,
        which costs less than writing a million rows aside (measured).

        A time bucket is computed once per quarter hour the selection started in and read from
        there, unless that quarter hour spans two buckets (every time zone's offset is a whole
        number of quarter hours today, but not every one was)."""
        columns = "".join(f", {key.sql} AS {_key(n)}" for n, key in enumerate(keys))
        zoned = [key for key in keys if key.zone is not None]
        base = f"""
        sel AS NOT MATERIALIZED (
            SELECT i.*, epoch_us(i."ended_at") - epoch_us(i."started_at") AS duration_us{columns}
            FROM {self.totals} AS i WHERE {self.where}
        )"""
        if not zoned:
            return base
        bucket = zoned[0]
        quarter = 'epoch_us(i."started_at") // 900000000'
        at = "make_timestamptz(q.quarter * 900000000{})"
        fixed = "".join(f", {key.sql} AS {_key(n)}" for n, key in enumerate(keys) if key.zone is None)
        n = keys.index(bucket)
        return f"""
        sel0 AS NOT MATERIALIZED (
            SELECT i.*, epoch_us(i."ended_at") - epoch_us(i."started_at") AS duration_us{fixed},
                   {quarter} AS __quarter
            FROM {self.totals} AS i WHERE {self.where}
        ),
        quarters AS (
            SELECT q.quarter, {bucket.at(at.format(""))} AS first, {bucket.at(at.format(" + 899999999"))} AS last
            FROM (SELECT DISTINCT __quarter AS quarter FROM sel0) AS q
        ),
        sel AS NOT MATERIALIZED (
            SELECT i.* EXCLUDE (__quarter),
                   CASE WHEN q.first = q.last THEN q.first ELSE {bucket.sql} END AS {_key(n)}
            FROM sel0 AS i JOIN quarters AS q ON q.quarter = i.__quarter
        )"""

    def grouped(self, keys: Sequence[Key], extra: str = "") -> str:
        """CTEs ending in ``d``: one row per value of ``keys`` (named by the keys) with every
        figure of the usage report and the ``extra`` aggregates of the selected interceptions
        (SQL over ``i``).

        Figures come from the interceptions' totals. Cost is priced per group of interceptions
        that share the report's keys, model, and first and last usage day, when one price line
        covers all their token usages (the same day range and tier): the group's token sums
        times the line's prices. Usage by usage otherwise: interceptions whose usages fall under
        different lines, and those Coder priced only in part."""
        names = [_key(n) for n in range(len(keys))]
        head = "".join(f"{name}, " for name in names)
        grouping = f"GROUP BY {', '.join(names)}" if keys else ""
        joined = f"USING ({', '.join(names)})" if keys else "ON TRUE"
        by_user = any(key.sql == 'i."initiator_id"' for key in keys)
        tokens = ('i."input_tokens" + i."output_tokens" + i."cache_read_input_tokens" '
                  '+ i."cache_write_input_tokens"')
        if self.reprice:
            recorded, by_lines, by_usage = "FALSE", 'i."token_usages" > 0', "FALSE"
        else:
            recorded = 'i."token_usages" > 0 AND i."recorded_usages" = i."token_usages"'
            by_lines = 'i."token_usages" > 0 AND i."recorded_usages" = 0'
            by_usage = 'i."recorded_usages" > 0 AND i."recorded_usages" < i."token_usages"'
        sessions = 'count(DISTINCT i."session_id")' if by_user else 'count(DISTINCT (i."session_id", i."initiator_id"))'
        users = "CAST(1 AS BIGINT)" if by_user else 'count(DISTINCT i."initiator_id")'
        sums = ",\n                   ".join(f'COALESCE({_sum(f"i.{ident(n)}")}, 0) AS {ident(n)}' for n in _SUMMED)
        same_group = " AND ".join(f"g.{n} = i.{n}" for n in names)
        same_group = f"{same_group} AND " if keys else ""
        covered = ("p.provider = g.provider AND p.provider_name = g.provider_name AND p.model = g.model "
                   "AND (p.since IS NULL OR g.first_day >= p.since) AND (p.before IS NULL OR g.last_day < p.before) "
                   "AND g.least > p.above AND (p.up_to IS NULL OR g.most <= p.up_to)")
        return f"""{self.selected(keys)},
        prices AS (
            SELECT row_number() OVER () AS line, p.provider, p.provider_name, p.model, p.since, p.before, p.above,
                   p.up_to, p.source, CAST(p.base AS {_PRICE}) AS base, CAST(p.input AS {_PRICE}) AS input,
                   CAST(p.output AS {_PRICE}) AS output, CAST(p.cache_read AS {_PRICE}) AS cache_read,
                   CAST(p.cache_write AS {_PRICE}) AS cache_write
            FROM (SELECT unnest({self._prices}) AS p)
        ),
        base AS (
            SELECT {head}count(*) AS interceptions,
                   count(*) FILTER (WHERE i."ended_at" IS NULL) AS in_flight,
                   {sessions} AS sessions, {users} AS users,
                   quantile_disc(i.duration_us, [0.5, 0.9, 0.95, 0.99]) AS duration_quantiles,
                   {sums},
                   {_sum('i."recorded_cost_micros"', recorded)} AS recorded_cost_micros,
                   {_sum('i."token_usages"', recorded)} AS recorded_usages{extra}
            FROM sel AS i {grouping}
        ),
        lined AS (
            SELECT g.*, p.line
            FROM (
                SELECT {head}i."provider", i."provider_name", i."model", i."first_usage_day" AS first_day,
                       i."last_usage_day" AS last_day, min(i."least_usage_input") AS least,
                       max(i."most_usage_input") AS most, count(*) FILTER (WHERE {tokens} > 0) AS with_tokens,
                       {_sum('i."token_usages"')} AS usages, {_sum('i."input_tokens"')} AS input_tokens,
                       {_sum('i."output_tokens"')} AS output_tokens,
                       {_sum('i."cache_read_input_tokens"')} AS cache_read_input_tokens,
                       {_sum('i."cache_write_input_tokens"')} AS cache_write_input_tokens, {_sum(tokens)} AS tokens
                FROM sel AS i WHERE {by_lines} GROUP BY ALL
            ) AS g
            LEFT JOIN prices AS p ON {covered}
        ),
        known AS (SELECT DISTINCT provider, provider_name, model FROM prices),
        gaps AS (
            SELECT g.* FROM lined AS g SEMI JOIN known AS k
                ON k.provider = g.provider AND k.provider_name = g.provider_name AND k.model = g.model
            WHERE g.line IS NULL
        ),
        by_line AS (
            SELECT {head}sum(p.base * g.usages + p.input * g.input_tokens + p.output * g.output_tokens
                       + p.cache_read * g.cache_read_input_tokens + p.cache_write * g.cache_write_input_tokens) AS cost,
                   sum(p.base * g.usages) AS request_cost, sum(p.input * g.input_tokens) AS input_cost,
                   sum(p.output * g.output_tokens) AS output_cost,
                   sum(p.cache_read * g.cache_read_input_tokens) AS cache_read_cost,
                   sum(p.cache_write * g.cache_write_input_tokens) AS cache_write_cost,
                   CAST(NULL AS {_PRICE}) AS recorded_cost,
                   sum(g.usages) FILTER (WHERE p.line IS NOT NULL) AS priced_usages,
                   sum(g.tokens) FILTER (WHERE p.line IS NULL) AS unpriced_tokens,
                   sum(g.with_tokens) FILTER (WHERE p.line IS NULL) AS unpriced_interceptions,
                   list(DISTINCT p.source) FILTER (WHERE p.line IS NOT NULL) AS sources
            FROM lined AS g LEFT JOIN prices AS p ON p.line = g.line
            WHERE g.line IS NOT NULL OR NOT EXISTS (
                SELECT 1 FROM known AS k
                WHERE k.provider = g.provider AND k.provider_name = g.provider_name AND k.model = g.model)
            {grouping}
        ),
        one_by_one AS (
            SELECT i.* FROM sel AS i WHERE {by_usage}
            UNION ALL
            SELECT i.* FROM sel AS i SEMI JOIN gaps AS g
                ON {same_group}g.provider = i."provider" AND g.provider_name = i."provider_name"
                   AND g.model = i."model" AND g.first_day = i."first_usage_day" AND g.last_day = i."last_usage_day"
            WHERE {by_lines}
        ),
        by_usage AS ({self._by_usage(head, grouping)}),
        d AS (
            SELECT base.* EXCLUDE (recorded_cost_micros, recorded_usages),
                   {_priced("CAST(base.recorded_cost_micros * 0.000001 AS " + _PRICE + ")", "l.cost", "u.cost")}
                       AS cost_usd,
                   {_priced("l.request_cost", "u.request_cost")} AS request_cost_usd,
                   {_priced("l.input_cost", "u.input_cost")} AS input_cost_usd,
                   {_priced("l.output_cost", "u.output_cost")} AS output_cost_usd,
                   {_priced("l.cache_read_cost", "u.cache_read_cost")} AS cache_read_cost_usd,
                   {_priced("l.cache_write_cost", "u.cache_write_cost")} AS cache_write_cost_usd,
                   {_priced("CAST(base.recorded_cost_micros * 0.000001 AS " + _PRICE + ")", "u.recorded_cost")}
                       AS recorded_cost_usd,
                   CAST(COALESCE(l.unpriced_tokens, 0) + COALESCE(u.unpriced_tokens, 0) AS BIGINT) AS unpriced_tokens,
                   CAST(COALESCE(l.unpriced_interceptions, 0) + COALESCE(u.unpriced_interceptions, 0) AS BIGINT)
                       AS unpriced_interceptions,
                   NULLIF(array_to_string(list_sort(list_distinct(list_concat(
                       CASE WHEN base.recorded_usages > 0 THEN ['{RECORDED_SOURCE}'] ELSE [] END,
                       COALESCE(l.sources, []), COALESCE(u.sources, [])))), ', '), '') AS priced_by
            FROM base LEFT JOIN by_line AS l {joined} LEFT JOIN by_usage AS u {joined}
        )"""

    def _by_usage(self, head: str, grouping: str) -> str:
        """The cost of ``one_by_one``'s interceptions, priced usage by usage."""
        child = f'c."interception_id" = i."id" AND c.{ident(PARENT_TIME)} = i."started_at"'
        usage_input = 'c."input_tokens" + c."cache_read_input_tokens" + c."cache_write_input_tokens"'
        all_tokens = f'{usage_input} + c."output_tokens"'
        priced = ('(p.base + c."input_tokens" * p.input + c."output_tokens" * p.output '
                  '+ c."cache_read_input_tokens" * p.cache_read + c."cache_write_input_tokens" * p.cache_write)')
        cost, source = priced, "p.source"
        parts = {"request": "p.base", "input": 'c."input_tokens" * p.input', "output": 'c."output_tokens" * p.output',
                 "cache_read": 'c."cache_read_input_tokens" * p.cache_read',
                 "cache_write": 'c."cache_write_input_tokens" * p.cache_write'}
        recorded = "NULL"
        if not self.reprice:  # what Coder recorded comes first
            recorded = f'CAST(c."cost_micros" * 0.000001 AS {_PRICE})'  # exact: a multiplication
            cost = f'CASE WHEN c."cost_micros" IS NOT NULL THEN {recorded} ELSE {priced} END'
            source = f"""CASE WHEN c."cost_micros" IS NOT NULL THEN '{RECORDED_SOURCE}' ELSE p.source END"""
            parts = {name: f'CASE WHEN c."cost_micros" IS NULL THEN {sql} END' for name, sql in parts.items()}
        components = "".join(f"sum({sql}) AS {name}_cost, " for name, sql in parts.items())
        day = "CAST(timezone('UTC', c.\"created_at\") AS DATE)"
        return f"""
            SELECT {head}sum({cost}) AS cost, {components}sum({recorded}) AS recorded_cost,
                   count({cost}) AS priced_usages,
                   sum({all_tokens}) FILTER (WHERE {cost} IS NULL) AS unpriced_tokens,
                   count(DISTINCT c."interception_id") FILTER (WHERE {cost} IS NULL AND {all_tokens} > 0)
                       AS unpriced_interceptions,
                   list(DISTINCT {source}) FILTER (WHERE {cost} IS NOT NULL) AS sources
            FROM {ident(TOKEN_USAGES.name)} AS c JOIN one_by_one AS i ON {child}
            LEFT JOIN prices AS p ON p.provider = i."provider" AND p.provider_name = i."provider_name"
                 AND p.model = i."model" AND (p.since IS NULL OR {day} >= p.since)
                 AND (p.before IS NULL OR {day} < p.before) AND {usage_input} > p.above
                 AND (p.up_to IS NULL OR {usage_input} <= p.up_to)
            {grouping}"""


@dataclass(frozen=True)
class Key:
    """A report group key: SQL over ``i`` and its output name. A time bucket also has the zone
    parameter and the bucket unit, to compute it for other instants (:meth:`at`)."""

    sql: str
    name: str
    zone: str | None = None
    unit: str = ""

    def at(self, instant: str) -> str:
        return f"timezone({self.zone}, date_trunc('{self.unit}', timezone({self.zone}, {instant})))"


def _key(n: int) -> str:
    return f"__k{n}"


_PRICE = "DECIMAL(38, 18)"
_SUMMED = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_write_input_tokens", "prompts",
           "tool_calls", "injected_tool_calls", "tool_errors")


def _priced(*parts: str) -> str:
    """``d``'s sum of cost ``parts``, or NULL when nothing in the group was priced and some
    tokens were not (the cost is unknown, not zero)."""
    nothing_priced = ("COALESCE(base.recorded_usages, 0) + COALESCE(l.priced_usages, 0) "
                      "+ COALESCE(u.priced_usages, 0) = 0 "
                      "AND COALESCE(l.unpriced_tokens, 0) + COALESCE(u.unpriced_tokens, 0) > 0")
    total = " + ".join(f"COALESCE({part}, 0)" for part in parts)
    return f"CASE WHEN {nothing_priced} THEN NULL ELSE {total} END"


def _sum(sql: str, where: str | None = None) -> str:
    """An exact sum of non-negative integers (of the rows ``where`` holds), summed as DOUBLE,
    which is several times faster in DuckDB than its 128-bit integer sums and exact while the
    total stays below 2**53 (nine million billion)."""
    only = f" FILTER (WHERE {where})" if where else ""
    return f"CAST(sum(CAST({sql} AS DOUBLE)){only} AS BIGINT)"


_DURATIONS = ", ".join(
    f"d.duration_quantiles[{n}] / 1000000.0 AS duration_{name}_s"
    for n, name in enumerate(("p50", "p90", "p95", "p99"), start=1)
)
_COST = "d.cost_usd, d.unpriced_tokens, d.unpriced_interceptions, d.priced_by"


def bucket_key(selection: Selection, bucket: str, tz: str) -> Key:
    """The start of the ``bucket`` (in time zone ``tz``) an interception started in."""
    if bucket not in BUCKETS:
        raise ReportError(f"unknown bucket {bucket!r}; expected one of {', '.join(BUCKETS)}")
    key = Key("", "bucket", selection.param(tz), bucket)
    return Key(key.at('i."started_at"'), "bucket", key.zone, bucket)


_ZONES: set[str] = set()
"""Time zones DuckDB knows, as found so far."""


def check_zone(con: duckdb.DuckDBPyConnection, tz: str) -> None:
    if tz in _ZONES:
        return
    rows = con.execute("SELECT count(*) FROM pg_timezone_names() WHERE name = $1", [tz]).fetchall()
    if rows[0][0] == 0:
        raise ReportError(f"unknown time zone {tz!r}; use an IANA name such as 'UTC' or 'Europe/Paris'")
    _ZONES.add(tz)


def _named(keys: Sequence[Key]) -> str:
    """The key columns of ``d`` under their names."""
    return "".join(f"d.{_key(n)} AS {ident(key.name)}, " for n, key in enumerate(keys))


def usage(
    con: duckdb.DuckDBPyConnection, q: str, *, by: tuple[str, ...], bucket: str | None, tz: str, window: Window,
    actor: Actor | None, book: PriceBook | None = None, reprice: bool = False, totals: str = ident(INTERCEPTION_TOTALS),
    strict: bool = False,
    parts: bool = False,
) -> Report:
    """The usage report (``parts``: with the cost's parts, for :func:`cost`)."""
    unknown = [b for b in by if b not in GROUPS]
    if unknown:
        raise ReportError(f"cannot group by {unknown[0]!r}; expected any of {', '.join(GROUPS)}")
    check_zone(con, tz)
    selection = Selection(con, q, window, actor, reprice, totals, strict, tz)
    selection.price(con, book)
    keys: list[Key] = []
    if bucket is not None:
        keys.append(bucket_key(selection, bucket, tz))
    for group in dict.fromkeys(by):
        keys += [Key(sql, name) for sql, name in zip(GROUPS[group], _KEY_NAMES.get(group, (group,)), strict=True)]
    names = [key.name for key in keys]
    users = ""
    user_column = ""
    if "user_id" in names:
        users = f'LEFT JOIN {ident(USERS.name)} AS u ON u."id" = d.{_key(names.index("user_id"))}'
        user_column = 'u."username",'
    order = ", ".join(_key(n) for n in range(len(keys))) or "1"
    sql = f"""
        WITH {selection.grouped(keys)}
        SELECT {_named(keys)} {user_column}
               d.interceptions, d.in_flight, d.sessions, d.users, d.input_tokens, d.output_tokens,
               d.cache_read_input_tokens, d.cache_write_input_tokens, d.prompts, d.tool_calls,
               d.injected_tool_calls, d.tool_errors, {_DURATIONS}, {_COST}
               {"".join(f", d.{name}" for name in COST_PARTS) if parts else ""}
        FROM d {users} ORDER BY {order}
    """
    return Report("usage", con.sql(sql, params=selection.params).to_arrow_table())


def tools(
    con: duckdb.DuckDBPyConnection, q: str, *, by: str, window: Window, actor: Actor | None,
    totals: str = ident(INTERCEPTION_TOTALS), strict: bool = False,
) -> Report:
    """Tool calls of the selection per tool (and its server) or per server (MCP servers; tools
    without a server URL under ``""``), most called first. A tool call counts when its
    interception is stored and selected; when the selection is every interception, those are the
    calls whose interception's start time is known, found without a join."""
    if by not in ("tool", "server"):
        raise ReportError(f"cannot group tools by {by!r}; expected 'tool' or 'server'")
    selection = Selection(con, q, window, actor, totals=totals, strict=strict)
    keys = ['COALESCE(c."server_url", \'\') AS server_url'] + (['c."tool"'] if by == "tool" else [])
    errors = 'COALESCE(c."invocation_error", \'\') <> \'\''
    if selection.everything:
        calls = f"{ident(TOOL_USAGES.name)} AS c WHERE c.{ident(PARENT_TIME)} IS NOT NULL"
    else:
        child = f'c."interception_id" = s."id" AND c.{ident(PARENT_TIME)} = s."started_at"'
        calls = f"{ident(TOOL_USAGES.name)} AS c SEMI JOIN sel AS s ON {child}"
    sql = f"""
        WITH {selection.selected()}
        SELECT {', '.join(keys)}, count(*) AS calls, count(*) FILTER (WHERE c."injected") AS injected_calls,
               count(*) FILTER (WHERE {errors}) AS errors,
               count(*) FILTER (WHERE {errors}) / count(*) AS error_rate
        FROM {calls}
        GROUP BY ALL ORDER BY calls DESC, server_url{', c."tool"' if by == "tool" else ''}
    """
    return Report(f"tools by {by}", con.sql(sql, params=selection.params).to_arrow_table())


def sessions(
    con: duckdb.DuckDBPyConnection, q: str, *, window: Window, actor: Actor | None, limit: int | None,
    book: PriceBook | None = None, reprice: bool = False, totals: str = ident(INTERCEPTION_TOTALS),
    strict: bool = False,
) -> Report:
    """The selection's sessions with their figures, most tokens first (input, output and cache).

    With a ``limit``, the figures are computed only for the sessions that can make the cut:
    those with at least as many tokens as the ``limit``-th most (ties included, so that the
    order among them is still decided by cost, start and id)."""
    if limit is not None and limit < 1:
        raise ReportError(f"limit must be at least 1, not {limit}")
    selection = Selection(con, q, window, actor, reprice, totals, strict)
    if limit is not None:
        _only_top_sessions(con, selection, limit)
    selection.price(con, book)
    cap = f"LIMIT {selection.param(limit)}" if limit is not None else ""
    keys = [Key('i."session_id"', "session_id"), Key('i."initiator_id"', "user_id")]
    extra = ', min(i."started_at") AS started_at, max(i."ended_at") AS ended_at'
    sql = f"""
        WITH {selection.grouped(keys, extra)}
        SELECT {_named(keys)} u."username",
               d.input_tokens + d.output_tokens + d.cache_read_input_tokens + d.cache_write_input_tokens
                   AS total_tokens, d.cost_usd, d.unpriced_tokens, d.priced_by,
               d.interceptions, d.in_flight, d.input_tokens, d.output_tokens, d.cache_read_input_tokens,
               d.cache_write_input_tokens, d.prompts, d.tool_calls, d.tool_errors, d.started_at, d.ended_at,
               {_DURATIONS}
        FROM d LEFT JOIN {ident(USERS.name)} AS u ON u."id" = d.{_key(1)}
        ORDER BY total_tokens DESC, d.cost_usd DESC NULLS LAST, d.started_at, d.{_key(0)}, d.{_key(1)} {cap}
    """
    return Report("sessions", con.sql(sql, params=selection.params).to_arrow_table())


def session_costs(
    con: duckdb.DuckDBPyConnection, *, book: PriceBook | None = None, totals: str = ident(INTERCEPTION_TOTALS)
) -> Any:
    """Each (session id, initiator)'s cost, as the cost report prices it, over its ended
    interceptions (the session figures' interceptions): ``session_id``, ``initiator_id``,
    ``cost_usd`` (NULL when some tokens were not priced and nothing was), as an Arrow table."""
    selection = Selection(con, "-is:in_flight", Window(), None, totals=totals)
    selection.price(con, book)
    keys = [Key('i."session_id"', "session_id"), Key('i."initiator_id"', "initiator_id")]
    sql = f"WITH {selection.grouped(keys)} SELECT {_named(keys)} d.cost_usd FROM d"
    con.execute("SET arrow_lossless_conversion = true")  # initiator ids stay UUIDs
    try:
        return con.sql(sql, params=selection.params).to_arrow_table()
    finally:
        con.execute("RESET arrow_lossless_conversion")


def _only_top_sessions(con: duckdb.DuckDBPyConnection, selection: Selection, limit: int) -> None:
    """Narrow ``selection`` to the sessions ids of the ``limit`` sessions with the most tokens,
    and of those tied with the last of them."""
    tokens = ('CAST(i."input_tokens" + i."output_tokens" + i."cache_read_input_tokens" '
              '+ i."cache_write_input_tokens" AS DOUBLE)')
    rows = con.execute(
        f"""WITH {selection.selected()},
        tot AS (SELECT i."session_id", i."initiator_id", sum({tokens}) AS t FROM sel AS i GROUP BY ALL)
        SELECT DISTINCT "session_id" FROM tot
        WHERE t >= COALESCE((SELECT t FROM tot ORDER BY t DESC LIMIT 1 OFFSET ${len(selection.params) + 1}), -1)""",
        [*selection.params, limit - 1],
    ).fetchall()
    selection.where += f' AND i."session_id" IN (SELECT unnest({selection.param([r[0] for r in rows])}))'


def users(
    con: duckdb.DuckDBPyConnection, q: str, *, tz: str, window: Window, actor: Actor | None,
    book: PriceBook | None = None, reprice: bool = False, totals: str = ident(INTERCEPTION_TOTALS),
    strict: bool = False,
) -> Report:
    """Per user: when first and last seen, on how many days (in ``tz``), and what they used."""
    check_zone(con, tz)
    selection = Selection(con, q, window, actor, reprice, totals, strict, tz)
    selection.price(con, book)
    zone = selection.param(tz)
    extra = (', min(i."started_at") AS first_seen, max(i."started_at") AS last_seen, '
             f'count(DISTINCT CAST(timezone({zone}, i."started_at") AS DATE)) AS active_days')
    keys = [Key('i."initiator_id"', "user_id")]
    sql = f"""
        WITH {selection.grouped(keys, extra)}
        SELECT {_named(keys)} u."username", d.first_seen, d.last_seen, d.active_days, d.interceptions,
               d.in_flight, d.sessions, d.input_tokens, d.output_tokens, d.cache_read_input_tokens,
               d.cache_write_input_tokens, d.prompts, d.tool_calls, d.tool_errors, {_COST}
        FROM d LEFT JOIN {ident(USERS.name)} AS u ON u."id" = d.{_key(0)}
        ORDER BY d.interceptions DESC, u."username", d.{_key(0)}
    """
    return Report("users", con.sql(sql, params=selection.params).to_arrow_table())


COST_PARTS = ("input_cost_usd", "output_cost_usd", "cache_read_cost_usd", "cache_write_cost_usd", "request_cost_usd",
              "recorded_cost_usd")
"""The cost report's parts of ``cost_usd``: what each kind of token cost at the price lines, the
price per request, and what Coder recorded (a total without parts)."""
COST_COLUMNS = ("cost_usd", *COST_PARTS, "unpriced_tokens", "unpriced_interceptions", "interceptions", "input_tokens",
                "output_tokens", "cache_read_input_tokens", "cache_write_input_tokens", "priced_by")


def cost(
    con: duckdb.DuckDBPyConnection, q: str, *, by: tuple[str, ...], bucket: str | None, tz: str, window: Window,
    actor: Actor | None, book: PriceBook | None = None, reprice: bool = False, totals: str = ident(INTERCEPTION_TOTALS),
    strict: bool = False,
) -> Report:
    """The usage report's cost figures (and the tokens they price), with the source of the prices."""
    table = usage(con, q, by=by, bucket=bucket, tz=tz, window=window, actor=actor, book=book, reprice=reprice,
                  totals=totals, strict=strict, parts=True).table
    keys = [n for n in table.column_names if n not in _FIGURES]
    return Report("cost", table.select([*keys, *COST_COLUMNS]))


_FIGURES = frozenset({
    "interceptions", "in_flight", "sessions", "users", "input_tokens", "output_tokens", "cache_read_input_tokens",
    "cache_write_input_tokens", "prompts", "tool_calls", "injected_tool_calls", "tool_errors", "duration_p50_s",
    "duration_p90_s", "duration_p95_s", "duration_p99_s", "cost_usd", "unpriced_tokens", "unpriced_interceptions",
    "priced_by", *COST_PARTS,
})


def span(con: duckdb.DuckDBPyConnection, q: str, *, window: Window, actor: Actor | None,
         totals: str = ident(INTERCEPTION_TOTALS), strict: bool = False) -> tuple[datetime | None, datetime | None]:
    """When the first and the last selected interception started."""
    selection = Selection(con, q, window, actor, totals=totals, strict=strict)
    rows = con.execute(
        f'WITH {selection.selected()} SELECT min(i."started_at"), max(i."started_at") FROM sel AS i', selection.params
    ).fetchall()
    first, last = rows[0]
    return first, last


def recent(
    con: duckdb.DuckDBPyConnection, q: str, what: str, *, window: Window, actor: Actor | None, limit: int,
    totals: str = ident(INTERCEPTION_TOTALS), strict: bool = False,
) -> Report:
    """The newest ``limit`` prompts (``what="prompts"``) or tool calls (``"tool_calls"``) of the
    selection, with who and which model and client, newest first."""
    selection = Selection(con, q, window, actor, totals=totals, strict=strict)
    table, columns = {
        "prompts": (USER_PROMPTS, 'c."prompt"'),
        "tool_calls": (TOOL_USAGES, 'c."tool", COALESCE(c."server_url", \'\') AS server_url, c."input", c."injected", '
                                    'c."invocation_error"'),
    }[what]
    child = f'c."interception_id" = i."id" AND c.{ident(PARENT_TIME)} = i."started_at"'
    sql = f"""
        WITH {selection.selected()}
        SELECT c."created_at", i."initiator_id" AS user_id, u."username", i."provider", i."model",
               COALESCE(i."client", 'Unknown') AS client, i."session_id", c."interception_id", {columns}
        FROM {ident(table.name)} AS c JOIN sel AS i ON {child}
        LEFT JOIN {ident(USERS.name)} AS u ON u."id" = i."initiator_id"
        ORDER BY c."created_at" DESC, c."id" DESC LIMIT {selection.param(limit)}
    """
    return Report(f"recent {what}", con.sql(sql, params=selection.params).to_arrow_table())


def session_shapes(
    con: duckdb.DuckDBPyConnection, q: str, *, window: Window, actor: Actor | None,
    totals: str = ident(INTERCEPTION_TOTALS), strict: bool = False,
) -> Report:
    """Per session of the selection: from its first start to its last end in microseconds
    (NULL while none has ended), and its interceptions."""
    selection = Selection(con, q, window, actor, totals=totals, strict=strict)
    sql = f"""
        WITH {selection.selected()}
        SELECT epoch_us(max(i."ended_at")) - epoch_us(min(i."started_at")) AS duration_us, count(*) AS interceptions
        FROM sel AS i GROUP BY i."session_id", i."initiator_id"
    """
    return Report("session shapes", con.sql(sql, params=selection.params).to_arrow_table())
