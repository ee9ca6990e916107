"""Cost equals genai-prices' own calculation, row by row, summed per interception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from genai_prices import Usage, calc_price
from hypothesis import given, settings
from hypothesis import strategies as st

from aibridge_store import ReportError, Store
from tests.helpers.rows import interception, token, uid

MODELS = [("anthropic", "claude-sonnet-4-6"),  # tiered before 2026-03-13, one price after
          ("openai", "gpt-5.6-luna"),           # new prices from 2026-07-30, tiered at 272k
          ("copilot", "gpt-4.1"),               # included in the subscription: $0
          ("anthropic", "claude-mystery-9")]    # no price: unpriced, never $0

usage_strategy = st.tuples(
    st.integers(0, 400_000),  # input (without cache)
    st.integers(0, 20_000),   # output
    st.integers(0, 300_000),  # cache read
    st.integers(0, 50_000),   # cache write
    st.integers(-30, 30),     # days from the price change
    st.one_of(st.none(), st.integers(0, 5_000_000)),  # the cost Coder recorded, in micro-USD
)
rows_strategy = st.lists(st.tuples(st.sampled_from(range(len(MODELS))), st.lists(usage_strategy, max_size=3)),
                         min_size=1, max_size=8)

CHANGES = {"claude-sonnet-4-6": datetime(2026, 3, 13, 12, tzinfo=UTC), "gpt-5.6-luna": datetime(2026, 7, 30, 12, tzinfo=UTC)}


def _expected(
    provider: str, model: str, usages: list[tuple[int, int, int, int, datetime, int | None]], reprice: bool = False
) -> tuple[Any, int, int]:
    """(cost or None when unpriced, unpriced tokens, priced usages)."""
    cost = Decimal(0)
    priced = unpriced_tokens = 0
    for i, o, r, w, at, recorded in usages:
        if recorded is not None and not reprice:
            cost += Decimal(recorded) / 1_000_000
            priced += 1
            continue
        try:
            price = calc_price(Usage(input_tokens=i + r + w, output_tokens=o, cache_read_tokens=r,
                                     cache_write_tokens=w), model, provider_id=provider, genai_request_timestamp=at)
        except LookupError:
            unpriced_tokens += i + o + r + w
            continue
        cost += price.total_price
        priced += 1
    return (None if not priced and unpriced_tokens else cost), unpriced_tokens, priced


def _total(costs: list[tuple[Any, int, int]]) -> tuple[Any, int]:
    """What a report without groups says of interceptions with these figures."""
    unpriced = sum(u for _, u, _ in costs)
    priced = sum(p for _, _, p in costs)
    cost = sum((c for c, _, _ in costs if c is not None), Decimal(0))
    return (cost if priced or not unpriced else None), unpriced


@settings(max_examples=40, deadline=None)
@given(rows=rows_strategy, reprice=st.booleans())
def test_cost_per_interception_equals_genai_prices(
    rows: list[tuple[int, list[tuple[int, int, int, int, int, int | None]]]], reprice: bool
) -> None:
    """Per interception and in total, whether its usages share one price line or not (days
    across a price change, tiers), recorded by Coder or not, all or some of them."""
    interceptions, tokens, expected = [], [], {}
    for n, (which, usages) in enumerate(rows, start=1):
        provider, model = MODELS[which]
        change = CHANGES.get(model, datetime(2026, 5, 1, 12, tzinfo=UTC))
        started = change - timedelta(days=40) + timedelta(minutes=n)
        interceptions.append(interception(n, provider=provider, model=model, started_at=started.isoformat(),
                                          ended_at=(started + timedelta(seconds=5)).isoformat()))
        moments = []
        for k, (i, o, r, w, days, recorded) in enumerate(usages):
            at = change + timedelta(days=days, seconds=k)
            moments.append((i, o, r, w, at, recorded))
            tokens.append(token(n * 10 + k, n, input_tokens=i, output_tokens=o, cache_read_input_tokens=r,
                                cache_write_input_tokens=w, created_at=at.isoformat(), metadata="{}",
                                cost_micros=recorded))
        expected[str(uid(n))] = _expected(provider, model, moments, reprice)
    with Store.open() as store:
        store.import_arrow("aibridge_interceptions", pa.Table.from_pylist(interceptions))
        if tokens:
            schema = pa.Table.from_pylist(tokens).schema.set(
                list(tokens[0]).index("cost_micros"), pa.field("cost_micros", pa.int64()))
            store.import_arrow("aibridge_token_usages", pa.Table.from_pylist(tokens, schema=schema))
        report = store.usage(by=["session"], reprice=reprice).to_pylist()
        (total,) = store.usage(reprice=reprice).to_pylist()
        by_model = store.usage(by=["model"], reprice=reprice).to_pylist()
        parts = store.cost(by=["model"], reprice=reprice).to_pylist()
    actual = {r["session_id"]: (r["cost_usd"], r["unpriced_tokens"]) for r in report}
    assert actual == {k: v[:2] for k, v in expected.items()}
    assert (total["cost_usd"], total["unpriced_tokens"]) == _total(list(expected.values()))
    for row in parts:  # the parts add up to the cost, and are unknown where it is
        names = ("input", "output", "cache_read", "cache_write", "request", "recorded")
        values = [row[f"{name}_cost_usd"] for name in names]
        assert values == [None] * 6 if row["cost_usd"] is None else sum(values) == row["cost_usd"]
        assert row["recorded_cost_usd"] in (None, 0) or not reprice
    for row in by_model:
        ids = [str(uid(n)) for n, (which, _) in enumerate(rows, start=1) if MODELS[which][1] == row["model"]]
        assert (row["cost_usd"], row["unpriced_tokens"]) == _total([expected[i] for i in ids])


def test_a_price_change_inside_the_window_prices_each_day_at_its_own_price() -> None:
    before = datetime(2026, 3, 12, 12, tzinfo=UTC)
    after = datetime(2026, 3, 14, 12, tzinfo=UTC)
    big = 250_000  # above the 200k tier before the change; the tier is gone after it
    rows = [interception(1, model="claude-sonnet-4-6", started_at=before.isoformat(),
                         ended_at=(before + timedelta(seconds=1)).isoformat())]
    tokens = [token(1, 1, input_tokens=big, output_tokens=0, cache_read_input_tokens=0, cache_write_input_tokens=0,
                    created_at=before.isoformat(), metadata="{}"),
              token(2, 1, input_tokens=big, output_tokens=0, cache_read_input_tokens=0, cache_write_input_tokens=0,
                    created_at=after.isoformat(), metadata="{}")]
    with Store.open() as store:
        store.import_arrow("aibridge_interceptions", pa.Table.from_pylist(rows))
        store.import_arrow("aibridge_token_usages", pa.Table.from_pylist(tokens))
        (row,) = store.usage().to_pylist()
    assert row["cost_usd"] == Decimal(big) * Decimal(6) / 10**6 + Decimal(big) * Decimal(3) / 10**6


def _one_usage(store: Store, provider_name: str, model: str, at: datetime, n: int = 1) -> None:
    store.import_arrow("aibridge_interceptions", pa.Table.from_pylist([interception(
        n, provider="anthropic", provider_name=provider_name, model=model, started_at=at.isoformat(),
        ended_at=(at + timedelta(seconds=1)).isoformat())]))
    store.import_arrow("aibridge_token_usages", pa.Table.from_pylist([token(
        n, n, input_tokens=1_000_000, output_tokens=100_000, cache_read_input_tokens=2_000_000,
        cache_write_input_tokens=0, created_at=at.isoformat(), metadata="{}")]))


def test_a_price_file_overrides_genai_prices_by_provider_name_and_days(tmp_path: Any) -> None:
    book = tmp_path / "prices.toml"
    book.write_text(
        '[[prices]]\nprovider_name = "bedrock"\nmodel = "claude-sonnet-4-*"\nsince = 2026-02-01\n'
        'input_mtok = 2\noutput_mtok = 10\ncache_read_mtok = 0.25\n\n'
        '[[prices]]\nprovider = "anthropic"\nmodel = "in-house-*"\ninput_mtok = 1\noutput_mtok = 1\n'
    )
    with Store.open() as store:
        _one_usage(store, "bedrock", "claude-sonnet-4-6", datetime(2026, 2, 10, tzinfo=UTC), 1)   # our price
        _one_usage(store, "bedrock", "claude-sonnet-4-6", datetime(2026, 1, 10, tzinfo=UTC), 2)   # before it
        _one_usage(store, "anthropic", "claude-sonnet-4-6", datetime(2026, 2, 10, tzinfo=UTC), 3)  # not bedrock
        _one_usage(store, "anthropic", "in-house-7", datetime(2026, 2, 10, tzinfo=UTC), 4)         # added
        plain = {r["session_id"]: r for r in store.usage(by=["session"]).to_pylist()}
        store.load_prices(book)
        priced = {r["session_id"]: r for r in store.usage(by=["session"]).to_pylist()}
    ours = Decimal(1) * 2 + Decimal("0.1") * 10 + Decimal(2) * Decimal("0.25")
    assert (priced[str(uid(1))]["cost_usd"], priced[str(uid(1))]["priced_by"]) == (ours, "prices.toml")
    for n in (2, 3):
        assert priced[str(uid(n))]["cost_usd"] == plain[str(uid(n))]["cost_usd"] > 0
        assert priced[str(uid(n))]["priced_by"].startswith("genai-prices")
    assert plain[str(uid(4))]["cost_usd"] is None and plain[str(uid(4))]["unpriced_tokens"] == 3_100_000
    assert priced[str(uid(4))]["cost_usd"] == Decimal("1") + Decimal("0.1") + Decimal(2)


@pytest.mark.parametrize(("text", "message"), [
    ("[[prices]]\nmodel = 'x'\ninput_mtok = 1\noutput_mtok = 1\n", "entry 1: give 'provider' or 'provider_name'"),
    ("[[prices]]\nprovider = 'openai'\nmodel = 'x'\ninput_mtok = 1\n", "entry 1: 'output_mtok' is missing"),
    ("[[prices]]\nprovider = 'openai'\nmodel = 'x'\ninput_mtok = 1\noutput_mtok = -2\n", "must be a price of zero"),
    ("[[prices]]\nprovider = 'openai'\nmodel = 'x'\ninput_mtok = 1\noutput_mtok = 1\ninput_mtoks = 3\n",
     "unknown key 'input_mtoks'"),
    ("[[prices]]\nprovider = 'openai'\nmodel = 'x'\ninput_mtok = 1\noutput_mtok = 1\nsince = 'soon'\n",
     "'since' must be a date"),
    ("prices = [\n", "cannot read the price file"),
    ("[other]\n", "expected a list of entries under 'prices'"),
])
def test_a_bad_price_file_is_our_error_naming_the_entry(tmp_path: Any, text: str, message: str) -> None:
    book = tmp_path / "prices.toml"
    book.write_text(text)
    with Store.open() as store, pytest.raises(ReportError, match=message):
        store.load_prices(book)


def test_the_cost_coder_recorded_comes_first_and_reprice_ignores_it(tmp_path: Any) -> None:
    from tests.helpers.rows import TOKEN_COLUMNS, export_dir, write_csv

    at = datetime(2026, 2, 10, tzinfo=UTC)
    rows = [interception(n, model="claude-sonnet-4-6", started_at=at.isoformat(),
                         ended_at=(at + timedelta(seconds=1)).isoformat()) for n in (1, 2)]
    tokens = [token(n, n, input_tokens=1000, output_tokens=10, cache_read_input_tokens=0,
                    cache_write_input_tokens=0, created_at=at.isoformat(), metadata="{}") for n in (1, 2)]
    folder = export_dir(tmp_path / "x", rows)
    recorded = {"input_price_micros": 3, "output_price_micros": 15, "cache_read_price_micros": None,
                "cache_write_price_micros": None, "cost_micros": 1234, "priced_model": "claude-sonnet-4-6",
                "effective_group_id": str(uid(77))}
    tokens[0].update(recorded)
    tokens[1].update(dict.fromkeys(recorded))
    write_csv(folder / "aibridge_token_usages.csv", [*TOKEN_COLUMNS, *recorded], tokens)
    with Store.open() as store:
        summary = store.import_path(folder)
        assert not summary.ignored_columns
        kept = store.sql("SELECT cost_micros, priced_model, effective_group_id FROM token_usages ORDER BY id").fetchall()
        assert [(r[0], r[1], str(r[2]) if r[2] else None) for r in kept] == [
            (1234, "claude-sonnet-4-6", str(uid(77))), (None, None, None)]
        by_session = {r["session_id"]: r for r in store.usage(by=["session"]).to_pylist()}
        repriced = {r["session_id"]: r for r in store.usage(by=["session"], reprice=True).to_pylist()}
    genai = _expected("anthropic", "claude-sonnet-4-6", [(1000, 10, 0, 0, at, None)])[0]
    assert (by_session[str(uid(1))]["cost_usd"], by_session[str(uid(1))]["priced_by"]) == (Decimal("0.001234"), "coder")
    assert by_session[str(uid(2))]["cost_usd"] == genai
    assert repriced[str(uid(1))]["cost_usd"] == genai and repriced[str(uid(1))]["priced_by"].startswith("genai")
