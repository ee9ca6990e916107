"""The usage and cost reports in Spark SQL, over a dataset: the same selection (search language,
actor scope, start-time window), the same figures and the same pricing as the embedded reports
(README, "Analytics"), from the interception totals written with the dataset.

Cost: interceptions whose token usages Coder priced all carry their recorded cost; the others
are priced per group of interceptions that share the report's keys, model and first and last
usage day when one price line covers all their usages, usage by usage otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from .._auth import LOCAL_ADMIN, Actor
from .._engines.spark_connection import SparkConnection, our_settings
from .._query import INTERCEPTIONS_SEARCH, Compiler
from .._query.compiler import filter_columns
from .._query.dialect import SPARK
from .._reads.common import bind_filters
from .._reports import Report, Window
from .._reports.pricebook import PriceBook
from .._reports.prices import price_lines
from .._reports.usage import BUCKETS, COST_COLUMNS, COST_PARTS, GROUPS, RECORDED_SOURCE
from .._schema import INTERCEPTION_TOTALS, INTERCEPTIONS, PARENT_TIME, TOKEN_USAGES, TOTALS_FILTERED, USERS, ident
from ..errors import ReportError

_KEY_NAMES = {"user": ("user_id",), "session": ("session_id", "session_initiator_id")}
_PRICE = "DECIMAL(38, 18)"
_PRICES_VIEW = "__aibridge_prices"
_NONE = "CAST(array() AS ARRAY<STRING>)"
_SUMMED = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_write_input_tokens", "prompts",
           "tool_calls", "injected_tool_calls", "tool_errors")
_QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99))


class _Selection:
    """The interceptions a report covers, as Spark SQL over ``i`` (rows of the totals)."""

    def __init__(self, con: SparkConnection, q: str, window: Window, actor: Actor | None, strict: bool,
                 tz: str) -> None:
        filters = bind_filters(con, actor or LOCAL_ADMIN, q, INTERCEPTIONS_SEARCH, strict, tz)
        covered = filter_columns(filters) <= TOTALS_FILTERED
        self.compiler = Compiler(SPARK, table_alias="i", totals_row=covered)
        where = self.compiler.compile(filters)
        if not covered:
            where = f'i."id" IN (SELECT i."id" FROM {ident(INTERCEPTIONS.name)} AS i WHERE {where})'
        if window.since is not None:
            where += f' AND i."started_at" >= {self.compiler.param(window.since)}'
        if window.until is not None:
            where += f' AND i."started_at" < {self.compiler.param(window.until)}'
        self.where = where

    @property
    def params(self) -> list[Any]:
        return self.compiler.params

    def sel(self, keys: Sequence[str]) -> str:
        columns = "".join(f", {sql} AS __k{n}" for n, sql in enumerate(keys))
        return (f'sel AS (SELECT i.*, unix_micros(i."ended_at") - unix_micros(i."started_at") AS duration_us'
                f"{columns} FROM {ident(INTERCEPTION_TOTALS)} AS i WHERE {self.where})")


def _prices(con: SparkConnection, selection: _Selection, book: PriceBook | None) -> None:
    """The price lines of the selection's models, as a view with a line number."""
    rows = con.execute(f'WITH {selection.sel(())} SELECT DISTINCT "provider", "provider_name", "model" FROM sel',
                       selection.params).fetchall()
    lines = [
        (n, line["provider"], line["provider_name"], line["model"], line["since"], line["before"], line["above"],
         line["up_to"], *(Decimal(line[k]) for k in ("base", "input", "output", "cache_read", "cache_write")),
         line["source"])
        for n, line in enumerate(price_lines(rows, book), start=1)
    ]
    schema = (f"line BIGINT, provider STRING, provider_name STRING, model STRING, since DATE, before DATE, "
              f"above BIGINT, up_to BIGINT, base {_PRICE}, input {_PRICE}, output {_PRICE}, cache_read {_PRICE}, "
              f"cache_write {_PRICE}, source STRING")
    con.spark.createDataFrame(lines, schema).createOrReplaceTempView(_PRICES_VIEW)


def _priced(*parts: str) -> str:
    nothing_priced = ("COALESCE(b.recorded_usages, 0) + COALESCE(l.priced_usages, 0) "
                      "+ COALESCE(u.priced_usages, 0) = 0 "
                      "AND COALESCE(l.unpriced_tokens, 0) + COALESCE(u.unpriced_tokens, 0) > 0")
    total = " + ".join(f"COALESCE({part}, 0)" for part in parts)
    return f"CASE WHEN {nothing_priced} THEN NULL ELSE CAST({total} AS {_PRICE}) END"


def _grouped(selection: _Selection, keys: Sequence[str], by_user: bool, reprice: bool) -> str:
    names = [f"__k{n}" for n in range(len(keys))]
    head = "".join(f"{name}, " for name in names)
    grouping = f"GROUP BY {', '.join(names)}" if keys else ""
    joined = f"USING ({', '.join(names)})" if keys else "ON TRUE"
    tokens = 'i."input_tokens" + i."output_tokens" + i."cache_read_input_tokens" + i."cache_write_input_tokens"'
    if reprice:
        recorded, by_lines, by_usage = "FALSE", 'i."token_usages" > 0', "FALSE"
    else:
        recorded = 'i."token_usages" > 0 AND i."recorded_usages" = i."token_usages"'
        by_lines = 'i."token_usages" > 0 AND i."recorded_usages" = 0'
        by_usage = 'i."recorded_usages" > 0 AND i."recorded_usages" < i."token_usages"'
    sessions = 'count(DISTINCT i."session_id")' if by_user else 'count(DISTINCT i."session_id", i."initiator_id")'
    users = "CAST(1 AS BIGINT)" if by_user else 'count(DISTINCT i."initiator_id")'
    sums = ", ".join(f'COALESCE(sum(i.{ident(n)}), 0) AS {ident(n)}' for n in _SUMMED)
    quantiles = ", ".join(f"percentile_disc({q}) WITHIN GROUP (ORDER BY i.duration_us) AS duration_{name}"
                          for name, q in _QUANTILES)
    same_group = "".join(f"g.{n} = i.{n} AND " for n in names)
    covered = ("p.provider = g.provider AND p.provider_name = g.provider_name AND p.model = g.model "
               "AND (p.since IS NULL OR g.first_day >= p.since) AND (p.before IS NULL OR g.last_day < p.before) "
               "AND g.least > p.above AND (p.up_to IS NULL OR g.most <= p.up_to)")
    return f"""{selection.sel(keys)},
    prices AS (SELECT * FROM {_PRICES_VIEW}),
    base AS (
        SELECT {head}count(*) AS interceptions, count_if(i."ended_at" IS NULL) AS in_flight,
               {sessions} AS sessions, {users} AS users, {quantiles}, {sums},
               sum(i."recorded_cost_micros") FILTER (WHERE {recorded}) AS recorded_cost_micros,
               sum(i."token_usages") FILTER (WHERE {recorded}) AS recorded_usages
        FROM sel AS i {grouping}
    ),
    lined AS (
        SELECT g.*, p.line FROM (
            SELECT {head}i."provider", i."provider_name", i."model", i."first_usage_day" AS first_day,
                   i."last_usage_day" AS last_day, min(i."least_usage_input") AS least,
                   max(i."most_usage_input") AS most, count_if({tokens} > 0) AS with_tokens,
                   sum(i."token_usages") AS usages, sum(i."input_tokens") AS input_tokens,
                   sum(i."output_tokens") AS output_tokens, sum(i."cache_read_input_tokens") AS cache_read_input_tokens,
                   sum(i."cache_write_input_tokens") AS cache_write_input_tokens, sum({tokens}) AS tokens
            FROM sel AS i WHERE {by_lines}
            GROUP BY {head}i."provider", i."provider_name", i."model", i."first_usage_day", i."last_usage_day"
        ) AS g LEFT JOIN prices AS p ON {covered}
    ),
    known AS (SELECT DISTINCT provider, provider_name, model FROM prices),
    gaps AS (
        SELECT g.* FROM lined AS g LEFT SEMI JOIN known AS k
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
               collect_set(p.source) AS sources
        FROM lined AS g LEFT JOIN prices AS p ON p.line = g.line
        LEFT ANTI JOIN known AS k ON g.line IS NULL
            AND k.provider = g.provider AND k.provider_name = g.provider_name AND k.model = g.model
        {grouping}
    ),
    one_by_one AS (
        SELECT i.* FROM sel AS i WHERE {by_usage}
        UNION ALL
        SELECT i.* FROM sel AS i LEFT SEMI JOIN gaps AS g
            ON {same_group}g.provider = i."provider" AND g.provider_name = i."provider_name"
               AND g.model = i."model" AND g.first_day = i."first_usage_day" AND g.last_day = i."last_usage_day"
        WHERE {by_lines}
    ),
    by_usage AS ({_by_usage(head, grouping, reprice)}),
    d AS (
        SELECT b.*,
               {_priced(f"CAST(b.recorded_cost_micros * 0.000001 AS {_PRICE})", "l.cost", "u.cost")} AS cost_usd,
               {_priced("l.request_cost", "u.request_cost")} AS request_cost_usd,
               {_priced("l.input_cost", "u.input_cost")} AS input_cost_usd,
               {_priced("l.output_cost", "u.output_cost")} AS output_cost_usd,
               {_priced("l.cache_read_cost", "u.cache_read_cost")} AS cache_read_cost_usd,
               {_priced("l.cache_write_cost", "u.cache_write_cost")} AS cache_write_cost_usd,
               {_priced(f"CAST(b.recorded_cost_micros * 0.000001 AS {_PRICE})", "u.recorded_cost")}
                   AS recorded_cost_usd,
               CAST(COALESCE(l.unpriced_tokens, 0) + COALESCE(u.unpriced_tokens, 0) AS BIGINT) AS unpriced_tokens,
               CAST(COALESCE(l.unpriced_interceptions, 0) + COALESCE(u.unpriced_interceptions, 0) AS BIGINT)
                   AS unpriced_interceptions,
               NULLIF(array_join(array_sort(array_distinct(concat(
                   CASE WHEN b.recorded_usages > 0 THEN array('{RECORDED_SOURCE}') ELSE {_NONE} END,
                   COALESCE(l.sources, {_NONE}), COALESCE(u.sources, {_NONE})))), ', '), '') AS priced_by
        FROM base AS b LEFT JOIN by_line AS l {joined} LEFT JOIN by_usage AS u {joined}
    )"""


def _by_usage(head: str, grouping: str, reprice: bool) -> str:
    child = f'c."interception_id" = i."id" AND c.{ident(PARENT_TIME)} = i."started_at"'
    usage_input = 'c."input_tokens" + c."cache_read_input_tokens" + c."cache_write_input_tokens"'
    all_tokens = f'{usage_input} + c."output_tokens"'
    priced = ('(p.base + c."input_tokens" * p.input + c."output_tokens" * p.output '
              '+ c."cache_read_input_tokens" * p.cache_read + c."cache_write_input_tokens" * p.cache_write)')
    cost, source = priced, "p.source"
    parts = {"request": "p.base", "input": 'c."input_tokens" * p.input', "output": 'c."output_tokens" * p.output',
             "cache_read": 'c."cache_read_input_tokens" * p.cache_read',
             "cache_write": 'c."cache_write_input_tokens" * p.cache_write'}
    recorded = f"CAST(NULL AS {_PRICE})"
    if not reprice:
        recorded = f'CAST(c."cost_micros" * 0.000001 AS {_PRICE})'
        cost = f'CASE WHEN c."cost_micros" IS NOT NULL THEN {recorded} ELSE {priced} END'
        source = f"""CASE WHEN c."cost_micros" IS NOT NULL THEN '{RECORDED_SOURCE}' ELSE p.source END"""
        parts = {name: f'CASE WHEN c."cost_micros" IS NULL THEN {sql} END' for name, sql in parts.items()}
    components = "".join(f"sum({sql}) AS {name}_cost, " for name, sql in parts.items())
    day = 'to_date(c."created_at")'
    return f"""
        SELECT {head}sum({cost}) AS cost, {components}sum({recorded}) AS recorded_cost,
               count({cost}) AS priced_usages,
               sum({all_tokens}) FILTER (WHERE {cost} IS NULL) AS unpriced_tokens,
               count(DISTINCT c."interception_id") FILTER (WHERE {cost} IS NULL AND {all_tokens} > 0)
                   AS unpriced_interceptions,
               collect_set({source}) FILTER (WHERE {cost} IS NOT NULL) AS sources
        FROM {ident(TOKEN_USAGES.name)} AS c JOIN one_by_one AS i ON {child}
        LEFT JOIN prices AS p ON p.provider = i."provider" AND p.provider_name = i."provider_name"
             AND p.model = i."model" AND (p.since IS NULL OR {day} >= p.since)
             AND (p.before IS NULL OR {day} < p.before) AND {usage_input} > p.above
             AND (p.up_to IS NULL OR {usage_input} <= p.up_to)
        {grouping}"""


def usage(
    con: SparkConnection, q: str, *, by: Sequence[str], bucket: str | None, tz: str, window: Window,
    actor: Actor | None, book: PriceBook | None, reprice: bool, strict: bool, parts: bool = False,
) -> Report:
    """The usage report on Spark (``parts``: with the cost's parts, for :func:`cost`)."""
    unknown = [b for b in by if b not in GROUPS]
    if unknown:
        raise ReportError(f"cannot group by {unknown[0]!r}; expected any of {', '.join(GROUPS)}")
    if bucket is not None and bucket not in BUCKETS:
        raise ReportError(f"unknown bucket {bucket!r}; expected one of {', '.join(BUCKETS)}")
    with our_settings(con.spark):
        selection = _Selection(con, q, window, actor, strict, tz)
        _prices(con, selection, book)
        keys: list[tuple[str, str]] = []
        if bucket is not None:
            zone = selection.compiler.param(tz)
            local = f'date_trunc({selection.compiler.param(bucket)}, from_utc_timestamp(i."started_at", {zone}))'
            keys.append((f"to_utc_timestamp({local}, {zone})", "bucket"))
        for group in dict.fromkeys(by):
            keys += list(zip(GROUPS[group], _KEY_NAMES.get(group, (group,)), strict=True))
        names = [name for _, name in keys]
        users, user_column = "", ""
        if "user_id" in names:
            users = f'LEFT JOIN {ident(USERS.name)} AS u ON u."id" = d.__k{names.index("user_id")}'
            user_column = 'u."username" AS "username", '
        named = "".join(f"d.__k{n} AS {ident(name)}, " for n, name in enumerate(names))
        order = ", ".join(f"__k{n} NULLS LAST" for n in range(len(keys))) or "1"
        durations = ", ".join(f"CAST(d.duration_{name} AS DOUBLE) / 1e6 AS duration_{name}_s" for name, _ in _QUANTILES)
        more = "".join(f", d.{name}" for name in COST_PARTS) if parts else ""
        sql = f"""
            WITH {_grouped(selection, [k for k, _ in keys], "user_id" in names, reprice)}
            SELECT {named}{user_column}d.interceptions, d.in_flight, d.sessions, d.users, d.input_tokens,
                   d.output_tokens, d.cache_read_input_tokens, d.cache_write_input_tokens, d.prompts, d.tool_calls,
                   d.injected_tool_calls, d.tool_errors, {durations}, d.cost_usd, d.unpriced_tokens,
                   d.unpriced_interceptions, d.priced_by{more}
            FROM d {users} ORDER BY {order}"""
        table = con.frame(sql, selection.params).toArrow()
    return Report("usage", table)


def cost(
    con: SparkConnection, q: str, *, by: Sequence[str], bucket: str | None, tz: str, window: Window,
    actor: Actor | None, book: PriceBook | None, reprice: bool, strict: bool,
) -> Report:
    """The cost report on Spark: the usage report's cost figures and the tokens they price."""
    table = usage(con, q, by=by, bucket=bucket, tz=tz, window=window, actor=actor, book=book, reprice=reprice,
                  strict=strict, parts=True).table
    figures = {"in_flight", "sessions", "users", "prompts", "tool_calls", "injected_tool_calls", "tool_errors",
               "duration_p50_s", "duration_p90_s", "duration_p95_s", "duration_p99_s", *COST_COLUMNS}
    keys = [n for n in table.column_names if n not in figures]
    return Report("cost", table.select([*keys, *COST_COLUMNS]))
