"""Usage reports: what the interceptions a search query selects used, grouped any way (README,
"Analytics").

Every report starts from the same selection: the interceptions the query (Coder's search
language, with the actor's scope) selects, in flight or ended, that started in ``[since, until)``.
Each figure then counts what that selection holds; the README says which rows each one counts.
Group keys and time buckets come from the registry below, values only ever as parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from .._auth import LOCAL_ADMIN, Actor
from .._gocompat import parse_rfc3339
from .._query import INTERCEPTIONS_SEARCH, Compiler
from .._reads.common import bind_filters
from .._schema import INTERCEPTIONS, PARENT_TIME, TOKEN_USAGES, TOOL_USAGES, USER_PROMPTS, USERS, ident
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
    """The interceptions a report covers, as SQL over ``i``, and the parameters it binds.
    ``reprice`` prices every token usage from the price sources, ignoring what Coder recorded."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, q: str, window: Window, actor: Actor | None, reprice: bool = False
    ) -> None:
        self.reprice = reprice
        self.compiler = Compiler(table_alias="i")
        filters = bind_filters(con, actor or LOCAL_ADMIN, q, INTERCEPTIONS_SEARCH)
        where = self.compiler.compile(filters)
        if window.since is not None:
            where += f' AND i."started_at" >= {self.compiler.param(window.since)}'
        if window.until is not None:
            where += f' AND i."started_at" < {self.compiler.param(window.until)}'
        self.where = where

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

    def selected(self) -> str:
        """``sel``: the selected interceptions (with duration)."""
        return f"""
        sel AS (
            SELECT i."id", i."initiator_id", i."provider", i."provider_name", i."model", i."client",
                   i."session_id", i."started_at", i."ended_at",
                   epoch_us(i."ended_at") - epoch_us(i."started_at") AS duration_us
            FROM {_I} AS i WHERE {self.where}
        )"""

    def grouped(self, keys: list[tuple[str, str]], extra: str = "") -> str:
        """CTEs ending in ``d``: one row per value of ``keys`` ((SQL over ``i``, name) pairs) with
        every figure of the usage report and the ``extra`` aggregates of the selected interceptions.

        Children are aggregated straight at the keys' grain (joined to their interception through
        the child rows' start-time column), not per interception first: a million interceptions
        make a million groups, a report a few thousand."""
        selected = ", ".join(f"{sql} AS {ident(name)}" for sql, name in keys)
        head = f"{selected}, " if keys else ""
        names = ", ".join(ident(name) for _, name in keys)
        joined = f"USING ({names})" if keys else "ON TRUE"
        grouping = "GROUP BY ALL" if keys else ""
        child = f'c."interception_id" = i."id" AND c.{ident(PARENT_TIME)} = i."started_at"'
        total_input = 'c."input_tokens" + c."cache_read_input_tokens" + c."cache_write_input_tokens"'
        all_tokens = f'{total_input} + c."output_tokens"'
        priced = ('(p.base + c."input_tokens" * p.input + c."output_tokens" * p.output '
                  '+ c."cache_read_input_tokens" * p.cache_read + c."cache_write_input_tokens" * p.cache_write)')
        cost, source = priced, "p.source"
        if not self.reprice:  # what Coder recorded comes first
            recorded = 'CAST(c."cost_micros" * 0.000001 AS DECIMAL(38, 18))'  # exact: a multiplication
            cost = f'CASE WHEN c."cost_micros" IS NOT NULL THEN {recorded} ELSE {priced} END'
            source = f"""CASE WHEN c."cost_micros" IS NOT NULL THEN '{RECORDED_SOURCE}' ELSE p.source END"""
        return f"""{self.selected()},
        prices AS (
            SELECT p.provider, p.provider_name, p.model, p.since, p.before, p.above, p.up_to, p.source,
                   CAST(p.base AS DECIMAL(38, 18)) AS base, CAST(p.input AS DECIMAL(38, 18)) AS input,
                   CAST(p.output AS DECIMAL(38, 18)) AS output, CAST(p.cache_read AS DECIMAL(38, 18)) AS cache_read,
                   CAST(p.cache_write AS DECIMAL(38, 18)) AS cache_write
            FROM (SELECT unnest({self._prices}) AS p)
        ),
        base AS (
            SELECT {head}count(*) AS interceptions,
                   count(*) FILTER (WHERE i."ended_at" IS NULL) AS in_flight,
                   count(DISTINCT (i."session_id", i."initiator_id")) AS sessions,
                   count(DISTINCT i."initiator_id") AS users,
                   quantile_disc(i.duration_us, [0.5, 0.9, 0.95, 0.99]) AS duration_quantiles{extra}
            FROM sel AS i {grouping}
        ),
        tok AS (
            SELECT {head}sum(c."input_tokens") AS input_tokens, sum(c."output_tokens") AS output_tokens,
                   sum(c."cache_read_input_tokens") AS cache_read_input_tokens,
                   sum(c."cache_write_input_tokens") AS cache_write_input_tokens,
                   sum({cost}) AS cost,
                   count({cost}) AS priced_usages,
                   sum({all_tokens}) FILTER (WHERE {cost} IS NULL) AS unpriced_tokens,
                   count(DISTINCT c."interception_id") FILTER (WHERE {cost} IS NULL AND {all_tokens} > 0)
                       AS unpriced_interceptions,
                   string_agg(DISTINCT {source}, ', ' ORDER BY {source}) AS priced_by
            FROM {ident(TOKEN_USAGES.name)} AS c JOIN sel AS i ON {child}
            LEFT JOIN prices AS p ON p.provider = i."provider" AND p.provider_name = i."provider_name"
                 AND p.model = i."model"
                 AND (p.since IS NULL OR CAST(c."created_at" AS DATE) >= p.since)
                 AND (p.before IS NULL OR CAST(c."created_at" AS DATE) < p.before) AND {total_input} > p.above
                 AND (p.up_to IS NULL OR {total_input} <= p.up_to)
            {grouping}
        ),
        pro AS (
            SELECT {head}count(*) AS prompts
            FROM {ident(USER_PROMPTS.name)} AS c JOIN sel AS i ON {child} {grouping}
        ),
        use AS (
            SELECT {head}count(*) AS tool_calls, count(*) FILTER (WHERE c."injected") AS injected_tool_calls,
                   count(*) FILTER (WHERE COALESCE(c."invocation_error", '') <> '') AS tool_errors
            FROM {ident(TOOL_USAGES.name)} AS c JOIN sel AS i ON {child} {grouping}
        ),
        d AS (
            SELECT base.*,
                   COALESCE(tok.input_tokens, 0)::BIGINT AS input_tokens,
                   COALESCE(tok.output_tokens, 0)::BIGINT AS output_tokens,
                   COALESCE(tok.cache_read_input_tokens, 0)::BIGINT AS cache_read_input_tokens,
                   COALESCE(tok.cache_write_input_tokens, 0)::BIGINT AS cache_write_input_tokens,
                   COALESCE(pro.prompts, 0)::BIGINT AS prompts,
                   COALESCE(use.tool_calls, 0)::BIGINT AS tool_calls,
                   COALESCE(use.injected_tool_calls, 0)::BIGINT AS injected_tool_calls,
                   COALESCE(use.tool_errors, 0)::BIGINT AS tool_errors,
                   CASE WHEN COALESCE(tok.priced_usages, 0) = 0 AND COALESCE(tok.unpriced_tokens, 0) > 0 THEN NULL
                        ELSE COALESCE(tok.cost, 0) END AS cost_usd,
                   COALESCE(tok.unpriced_tokens, 0)::BIGINT AS unpriced_tokens,
                   COALESCE(tok.unpriced_interceptions, 0) AS unpriced_interceptions, tok.priced_by
            FROM base LEFT JOIN tok {joined} LEFT JOIN pro {joined} LEFT JOIN use {joined}
        )"""


_DURATIONS = ", ".join(
    f"d.duration_quantiles[{n}] / 1000000.0 AS duration_{name}_s"
    for n, name in enumerate(("p50", "p90", "p95", "p99"), start=1)
)
_COST = "d.cost_usd, d.unpriced_tokens, d.unpriced_interceptions, d.priced_by"


def bucket_sql(selection: Selection, bucket: str, tz: str) -> str:
    """SQL: the start of the ``bucket`` (in time zone ``tz``) an interception started in."""
    if bucket not in BUCKETS:
        raise ReportError(f"unknown bucket {bucket!r}; expected one of {', '.join(BUCKETS)}")
    zone = selection.param(tz)
    return f"timezone({zone}, date_trunc('{bucket}', timezone({zone}, i.\"started_at\")))"


_ZONES: set[str] = set()
"""Time zones DuckDB knows, as found so far."""


def check_zone(con: duckdb.DuckDBPyConnection, tz: str) -> None:
    if tz in _ZONES:
        return
    rows = con.execute("SELECT count(*) FROM pg_timezone_names() WHERE name = $1", [tz]).fetchall()
    if rows[0][0] == 0:
        raise ReportError(f"unknown time zone {tz!r}; use an IANA name such as 'UTC' or 'Europe/Paris'")
    _ZONES.add(tz)


def usage(
    con: duckdb.DuckDBPyConnection, q: str, *, by: tuple[str, ...], bucket: str | None, tz: str, window: Window,
    actor: Actor | None, book: PriceBook | None = None, reprice: bool = False,
) -> Report:
    unknown = [b for b in by if b not in GROUPS]
    if unknown:
        raise ReportError(f"cannot group by {unknown[0]!r}; expected any of {', '.join(GROUPS)}")
    check_zone(con, tz)
    selection = Selection(con, q, window, actor, reprice)
    selection.price(con, book)
    keys: list[tuple[str, str]] = []  # (sql, output name)
    if bucket is not None:
        keys.append((bucket_sql(selection, bucket, tz), "bucket"))
    for group in dict.fromkeys(by):
        keys += list(zip(GROUPS[group], _KEY_NAMES.get(group, (group,)), strict=True))
    names = [name for _, name in keys]
    users = ""
    user_column = ""
    if "user_id" in names:
        users = f'LEFT JOIN {ident(USERS.name)} AS u ON u."id" = d."user_id"'
        user_column = 'u."username",'
    order = ", ".join(f"d.{ident(n)}" for n in names) or "1"
    columns = ", ".join(f"d.{ident(n)}" for n in names)
    sql = f"""
        WITH {selection.grouped(keys)}
        SELECT {columns + ',' if columns else ''} {user_column}
               d.interceptions, d.in_flight, d.sessions, d.users, d.input_tokens, d.output_tokens,
               d.cache_read_input_tokens, d.cache_write_input_tokens, d.prompts, d.tool_calls,
               d.injected_tool_calls, d.tool_errors, {_DURATIONS}, {_COST}
        FROM d {users} ORDER BY {order}
    """
    return Report("usage", con.sql(sql, params=selection.params).to_arrow_table())


def tools(
    con: duckdb.DuckDBPyConnection, q: str, *, by: str, window: Window, actor: Actor | None
) -> Report:
    """Tool calls of the selection per tool (and its server) or per server (MCP servers; tools
    without a server URL under ``""``), most called first."""
    if by not in ("tool", "server"):
        raise ReportError(f"cannot group tools by {by!r}; expected 'tool' or 'server'")
    selection = Selection(con, q, window, actor)
    keys = ['COALESCE(c."server_url", \'\') AS server_url'] + (['c."tool"'] if by == "tool" else [])
    child = f'c."interception_id" = s."id" AND c.{ident(PARENT_TIME)} = s."started_at"'
    sql = f"""
        WITH {selection.selected()}
        SELECT {', '.join(keys)}, count(*) AS calls, count(*) FILTER (WHERE c."injected") AS injected_calls,
               count(*) FILTER (WHERE COALESCE(c."invocation_error", '') <> '') AS errors,
               count(*) FILTER (WHERE COALESCE(c."invocation_error", '') <> '') / count(*) AS error_rate,
               count(DISTINCT c."interception_id") AS interceptions, count(DISTINCT s."initiator_id") AS users
        FROM {ident(TOOL_USAGES.name)} AS c JOIN sel AS s ON {child}
        GROUP BY ALL ORDER BY calls DESC, server_url{', c."tool"' if by == "tool" else ''}
    """
    return Report(f"tools by {by}", con.sql(sql, params=selection.params).to_arrow_table())


def sessions(
    con: duckdb.DuckDBPyConnection, q: str, *, window: Window, actor: Actor | None, limit: int | None,
    book: PriceBook | None = None, reprice: bool = False,
) -> Report:
    """The selection's sessions with their figures, most tokens first (input, output and cache)."""
    selection = Selection(con, q, window, actor, reprice)
    selection.price(con, book)
    cap = f"LIMIT {selection.param(limit)}" if limit is not None else ""
    keys = [('i."session_id"', "session_id"), ('i."initiator_id"', "user_id")]
    extra = ', min(i."started_at") AS started_at, max(i."ended_at") AS ended_at'
    sql = f"""
        WITH {selection.grouped(keys, extra)}
        SELECT d."session_id", d.user_id, u."username",
               d.input_tokens + d.output_tokens + d.cache_read_input_tokens + d.cache_write_input_tokens
                   AS total_tokens, d.cost_usd, d.unpriced_tokens, d.priced_by,
               d.interceptions, d.in_flight, d.input_tokens, d.output_tokens, d.cache_read_input_tokens,
               d.cache_write_input_tokens, d.prompts, d.tool_calls, d.tool_errors, d.started_at, d.ended_at,
               {_DURATIONS}
        FROM d LEFT JOIN {ident(USERS.name)} AS u ON u."id" = d.user_id
        ORDER BY total_tokens DESC, d.cost_usd DESC NULLS LAST, d.started_at, d."session_id", d.user_id {cap}
    """
    return Report("sessions", con.sql(sql, params=selection.params).to_arrow_table())


def users(
    con: duckdb.DuckDBPyConnection, q: str, *, tz: str, window: Window, actor: Actor | None,
    book: PriceBook | None = None, reprice: bool = False,
) -> Report:
    """Per user: when first and last seen, on how many days (in ``tz``), and what they used."""
    check_zone(con, tz)
    selection = Selection(con, q, window, actor, reprice)
    selection.price(con, book)
    zone = selection.param(tz)
    extra = (', min(i."started_at") AS first_seen, max(i."started_at") AS last_seen, '
             f'count(DISTINCT CAST(timezone({zone}, i."started_at") AS DATE)) AS active_days')
    sql = f"""
        WITH {selection.grouped([('i."initiator_id"', "user_id")], extra)}
        SELECT d.user_id, u."username", d.first_seen, d.last_seen, d.active_days, d.interceptions, d.in_flight,
               d.sessions, d.input_tokens, d.output_tokens, d.cache_read_input_tokens, d.cache_write_input_tokens,
               d.prompts, d.tool_calls, d.tool_errors, {_COST}
        FROM d LEFT JOIN {ident(USERS.name)} AS u ON u."id" = d.user_id
        ORDER BY d.interceptions DESC, u."username", d.user_id
    """
    return Report("users", con.sql(sql, params=selection.params).to_arrow_table())


COST_COLUMNS = ("cost_usd", "unpriced_tokens", "unpriced_interceptions", "interceptions", "input_tokens",
                "output_tokens", "cache_read_input_tokens", "cache_write_input_tokens", "priced_by")


def cost(
    con: duckdb.DuckDBPyConnection, q: str, *, by: tuple[str, ...], bucket: str | None, tz: str, window: Window,
    actor: Actor | None, book: PriceBook | None = None, reprice: bool = False,
) -> Report:
    """The usage report's cost figures (and the tokens they price), with the source of the prices."""
    table = usage(con, q, by=by, bucket=bucket, tz=tz, window=window, actor=actor, book=book, reprice=reprice).table
    keys = [n for n in table.column_names if n not in _FIGURES]
    return Report("cost", table.select([*keys, *COST_COLUMNS]))


_FIGURES = frozenset({
    "interceptions", "in_flight", "sessions", "users", "input_tokens", "output_tokens", "cache_read_input_tokens",
    "cache_write_input_tokens", "prompts", "tool_calls", "injected_tool_calls", "tool_errors", "duration_p50_s",
    "duration_p90_s", "duration_p95_s", "duration_p99_s", "cost_usd", "unpriced_tokens", "unpriced_interceptions",
    "priced_by",
})
