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
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from importlib.metadata import version
from typing import Any

from genai_prices import Usage, calc_price
from genai_prices.types import ModelPrice, StartDateConstraint, TieredPrices, TimeOfDateConstraint

SOURCE = f"genai-prices {version('genai-prices')}"


@dataclass(frozen=True)
class PriceLine:
    """The price of one request of ``model`` made on a UTC day in ``[since, before)`` (None: no
    bound) whose input (cache included) is more than ``above`` tokens and at most ``up_to``
    (None: no bound): ``base`` plus each count times its price, in USD."""

    provider: str
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

    def as_param(self) -> dict[str, Any]:
        return {"provider": self.provider, "model": self.model, "since": self.since, "before": self.before,
                "above": self.above,
                "up_to": self.up_to, **{k: str(getattr(self, k))
                                        for k in ("base", "input", "output", "cache_read", "cache_write")}}


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
    bounds = _thresholds(price)
    intervals = list(zip([-1, *bounds], [*bounds, None], strict=True))
    lines = []
    for above, up_to in intervals:
        n = above + 1  # inside the interval, and so is n + 1 (tier starts are at least 2 apart)
        at = _request_price(price, n, 0, 0, 0)
        per_input = _request_price(price, n + 1, 0, 0, 0) - at
        lines.append(PriceLine(
            provider, model, since, before, above, up_to, at - n * per_input, per_input,
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


def price_lines(keys: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Price lines of every (provider, model), as query parameters."""
    return [line.as_param() for key in keys for line in lines_for(*key)]


LINE_TYPE = (
    "STRUCT(provider VARCHAR, model VARCHAR, since DATE, before DATE, above BIGINT, up_to BIGINT, base VARCHAR, "
    "input VARCHAR, output VARCHAR, cache_read VARCHAR, cache_write VARCHAR)[]"
)
"""The SQL type of :func:`price_lines` as one parameter."""
