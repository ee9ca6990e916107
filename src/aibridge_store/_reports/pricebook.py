"""Your own prices (README, "Cost"): a TOML or JSON file of entries that override or add to
genai-prices, for negotiated rates and deployments by provider name (Bedrock, Vertex, Azure).

    [[prices]]
    provider_name = "bedrock"        # or provider = "anthropic"; both may be given
    model = "claude-sonnet-4-5*"     # as Coder stores it; * matches any text
    since = 2026-01-01               # optional: from this UTC day on
    before = 2026-07-01              # optional: up to this day, excluded
    input_mtok = 2.7                 # USD per million input tokens (cache excluded)
    output_mtok = 13.5
    cache_read_mtok = 0.27           # optional: the input price
    cache_write_mtok = 3.375         # optional: the input price
    requests_kcount = 0              # optional: USD per thousand requests

A request takes the first entry, in file order, that matches its provider, provider name, model
and day; genai-prices prices the rest.
"""

from __future__ import annotations

import fnmatch
import json
import os
import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..errors import ReportError

_PRICES = {"input_mtok": 10**6, "output_mtok": 10**6, "cache_read_mtok": 10**6, "cache_write_mtok": 10**6,
           "requests_kcount": 10**3}
_KEYS = {"provider", "provider_name", "model", "since", "before", *_PRICES}


@dataclass(frozen=True)
class OwnPrice:
    """One entry of a price file, per token (and per request)."""

    provider: str | None
    provider_name: str | None
    model: str
    since: date | None
    before: date | None
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    per_request: Decimal
    source: str

    def matches(self, provider: str, provider_name: str, model: str) -> bool:
        return ((self.provider is None or self.provider == provider)
                and (self.provider_name is None or self.provider_name == provider_name)
                and fnmatch.fnmatchcase(model, self.model))

    def covers(self, day: date) -> bool:
        return (self.since is None or self.since <= day) and (self.before is None or day < self.before)


@dataclass(frozen=True)
class PriceBook:
    """The entries of one price file, in file order."""

    entries: tuple[OwnPrice, ...]

    def matching(self, provider: str, provider_name: str, model: str) -> list[OwnPrice]:
        return [e for e in self.entries if e.matches(provider, provider_name, model)]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PriceBook:
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
            data = json.loads(text) if file.suffix.lower() == ".json" else tomllib.loads(text)
        except (OSError, ValueError) as e:
            raise ReportError(f"{file}: cannot read the price file: {e}") from e
        entries = data.get("prices") if isinstance(data, dict) else None
        if not isinstance(entries, list) or not entries:
            raise ReportError(f"{file}: expected a list of entries under 'prices' ([[prices]] in TOML)")
        return cls(tuple(_entry(file, n, entry) for n, entry in enumerate(entries, start=1)))


def _entry(file: Path, n: int, entry: Any) -> OwnPrice:
    where = f"{file}, entry {n}"
    if not isinstance(entry, dict):
        raise ReportError(f"{where}: expected a table of keys and values")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise ReportError(f"{where}: unknown key {unknown[0]!r}; expected some of {', '.join(sorted(_KEYS))}")
    for required in ("model", "input_mtok", "output_mtok"):
        if required not in entry:
            raise ReportError(f"{where}: {required!r} is missing")
    if "provider" not in entry and "provider_name" not in entry:
        raise ReportError(f"{where}: give 'provider' or 'provider_name' (or both)")
    texts = {k: entry.get(k) for k in ("provider", "provider_name", "model")}
    for key, value in texts.items():
        if value is not None and not isinstance(value, str):
            raise ReportError(f"{where}: {key!r} must be text")
    prices = {k: _price(where, k, entry[k]) for k in _PRICES if k in entry}
    per_token = {k: v / _PRICES[k] for k, v in prices.items()}
    since, before = _day(where, "since", entry.get("since")), _day(where, "before", entry.get("before"))
    if since is not None and before is not None and before <= since:
        raise ReportError(f"{where}: 'before' ({before}) must come after 'since' ({since})")
    return OwnPrice(
        provider=texts["provider"], provider_name=texts["provider_name"], model=str(texts["model"]),
        since=since, before=before, input=per_token["input_mtok"], output=per_token["output_mtok"],
        cache_read=per_token.get("cache_read_mtok", per_token["input_mtok"]),
        cache_write=per_token.get("cache_write_mtok", per_token["input_mtok"]),
        per_request=per_token.get("requests_kcount", Decimal(0)), source=file.name,
    )


def _price(where: str, key: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ReportError(f"{where}: {key!r} must be a number")
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise ReportError(f"{where}: {key!r} must be a number, not {value!r}") from None
    if not price.is_finite() or price < 0:
        raise ReportError(f"{where}: {key!r} must be a price of zero or more, not {value!r}")
    return price


def _day(where: str, key: str, value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not hasattr(value, "hour")):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ReportError(f"{where}: {key!r} must be a date such as 2026-01-31, not {value!r}")
