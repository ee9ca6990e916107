"""Prices of token usages from genai-prices, as lines that SQL joins (README, "Cost").

A token usage is one request. genai-prices prices a request from its provider, model and time
(prices change on dates) and its token counts; within one price tier the price is linear in those
counts. So for each distinct (provider, model) the store asks genai-prices for the model's prices,
splits time into the periods between its price changes (UTC days, as genai-prices compares them),
and reads the linear function off each period's price, tier by tier: a constant (per-request
prices) and one price per stored token count. The query then prices every row with arithmetic,
exactly as genai-prices would (DECIMAL, no rounding).

Token counts as Coder stores them: ``input_tokens`` excludes cache reads and writes for every
provider (aibridge subtracts OpenAI's cached tokens from its prompt tokens; Anthropic reports them
apart), so genai-prices, whose input count includes them, gets ``input + cache_read +
cache_write``.

Models whose prices depend on the time of day (off-peak rates) are left unpriced, not guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from importlib.metadata import version
from typing import Any

from genai_prices import Usage, calc_price
from genai_prices.types import ModelPrice, StartDateConstraint, TieredPrices, TimeOfDateConstraint

from .pricebook import OwnPrice, PriceBook

SOURCE = f"genai-prices {version('genai-prices')}"


@dataclass(frozen=True)
class PriceLine:
    """The price of one request of ``model`` made on a UTC day in ``[since, before)`` (None: no
    bound) whose input (cache included) is more than ``above`` tokens and at most ``up_to``
    (None: no bound): ``base`` plus each count times its price, in USD."""

    provider: str
    provider_name: str
    model: str
    since: date | None
    before: date | None
    above: int
    up_to: int | None
    base: Decimal
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    source: str = SOURCE

    def as_param(self) -> dict[str, Any]:
        prices = {k: str(getattr(self, k)) for k in ("base", "input", "output", "cache_read", "cache_write")}
        return {"provider": self.provider, "provider_name": self.provider_name, "model": self.model,
                "since": self.since, "before": self.before, "above": self.above, "up_to": self.up_to,
                **prices, "source": self.source}


def _request_price(price: ModelPrice, input_tokens: int, output: int, cache_read: int, cache_write: int) -> Decimal:
    usage = Usage(input_tokens=input_tokens + cache_read + cache_write, output_tokens=output,
                  cache_read_tokens=cache_read, cache_write_tokens=cache_write)
    total: Decimal = price.calc_price(usage)["total_price"]
    return total


def _thresholds(price: ModelPrice) -> list[int]:
    starts = {tier.start for value in price.__dict__.values() if isinstance(value, TieredPrices)
              for tier in value.tiers}
    return sorted(starts)


def _lines(provider: str, model: str, since: date | None, before: date | None, price: ModelPrice) -> list[PriceLine]:
    """The lines of one period's price (:func:`price_lines` fills in the provider name)."""
    bounds = _thresholds(price)
    intervals = list(zip([-1, *bounds], [*bounds, None], strict=True))
    lines = []
    for above, up_to in intervals:
        n = above + 1  # inside the interval, and so is n + 1 (tier starts are at least 2 apart)
        at = _request_price(price, n, 0, 0, 0)
        per_input = _request_price(price, n + 1, 0, 0, 0) - at
        lines.append(PriceLine(
            provider, "", model, since, before, above, up_to, at - n * per_input, per_input,
            _request_price(price, n, 1, 0, 0) - at,
            _request_price(price, n, 0, 1, 0) - at,
            _request_price(price, n, 0, 0, 1) - at,
        ))
    return lines


@lru_cache(maxsize=4096)
def lines_for(provider: str, model: str) -> tuple[PriceLine, ...]:
    """The price lines of a model, period by period; none when genai-prices has no price for it
    (or only time-of-day prices)."""
    try:
        found = calc_price(Usage(), model, provider_id=provider)
    except (LookupError, ValueError):
        return ()
    info = found.model
    if isinstance(info.prices, ModelPrice):
        return tuple(_lines(provider, model, None, None, info.prices))
    if any(isinstance(c.constraint, TimeOfDateConstraint) for c in info.prices):
        return ()
    changes = sorted({c.constraint.start_date for c in info.prices if isinstance(c.constraint, StartDateConstraint)})
    bounds: list[date | None] = [None, *changes]
    lines: list[PriceLine] = []
    for since, before in zip(bounds, [*changes, None], strict=True):
        day = since or date(1970, 1, 1)
        price = info.get_prices(datetime(day.year, day.month, day.day, tzinfo=UTC))
        lines += _lines(provider, model, since, before, price)
    return tuple(lines)


def price_lines(keys: Iterable[tuple[str, str, str]], book: PriceBook | None = None) -> list[dict[str, Any]]:
    """Price lines of every (provider, provider name, model), as query parameters: the price
    book's where it has a price, genai-prices' elsewhere."""
    lines: list[dict[str, Any]] = []
    for provider, provider_name, model in keys:
        own = book.matching(provider, provider_name, model) if book is not None else []
        found = _combined(own, lines_for(provider, model)) if own else list(lines_for(provider, model))
        lines += [replace(line, provider=provider, provider_name=provider_name, model=model).as_param()
                  for line in found]
    return lines


def _combined(own: list[OwnPrice], theirs: Iterable[PriceLine]) -> list[PriceLine]:
    """Lines that take, day by day, the first of ``own`` prices that covers the day, and
    genai-prices' line elsewhere."""
    theirs = list(theirs)
    days = {d for entry in own for d in (entry.since, entry.before) if d is not None}
    days |= {d for line in theirs for d in (line.since, line.before) if d is not None}
    bounds = sorted(days)
    result: list[PriceLine] = []
    for since, before in zip([None, *bounds], [*bounds, None], strict=True):
        day = since or (before - timedelta(days=1) if before else date(2000, 1, 1))
        entry = next((e for e in own if e.covers(day)), None)
        if entry is not None:
            result.append(PriceLine("", "", "", since, before, -1, None, entry.per_request, entry.input,
                                    entry.output, entry.cache_read, entry.cache_write, entry.source))
            continue
        result += [replace(line, since=since, before=before) for line in theirs
                   if (line.since is None or line.since <= day) and (line.before is None or day < line.before)]
    return result


LINE_TYPE = (
    "STRUCT(provider VARCHAR, provider_name VARCHAR, model VARCHAR, since DATE, before DATE, above BIGINT, "
    "up_to BIGINT, base VARCHAR, input VARCHAR, output VARCHAR, cache_read VARCHAR, cache_write VARCHAR, "
    "source VARCHAR)[]"
)
"""The SQL type of :func:`price_lines` as one parameter."""
