"""The extended search forms (negation, lists, globs) through every read that takes ``q``, and
``strict=True`` / ``--strict`` for Coder's reading."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from aibridge_store import QueryError, Store
from aibridge_store.cli import main
from tests.helpers.rows import USER_A, USER_B, interception, ts, uid, users_rows

PLAN = [  # initiator, provider, model, client, session
    (USER_A, "anthropic", "claude-sonnet-4", "Claude Code", "s1"),
    (USER_A, "anthropic", "claude-haiku-4", "Claude Code", "s1"),
    (USER_A, "openai", "gpt-5", "Cursor", "s2"),
    (USER_B, "openai", "gpt-5-mini", None, "s3"),
    (USER_B, "openai", "o4-mini", "Cursor", "s3"),
    (USER_B, "anthropic", "claude-sonnet-4", "Unknown", "s4"),
]
ROWS = [{"n": n, "initiator": user, "provider": provider, "model": model, "client": client or "Unknown",
         "session": session} for n, (user, provider, model, client, session) in enumerate(PLAN, start=1)]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("search") / "s.duckdb"
    rows = [interception(n, initiator_id=str(user), provider=provider, provider_name=provider, model=model,
                         client=client, client_session_id=session, started_at=ts(n * 60), ended_at=ts(n * 60 + 5))
            for n, (user, provider, model, client, session) in enumerate(PLAN, start=1)]
    with Store.open(path) as store:
        store.import_arrow("users", pa.Table.from_pylist(users_rows()))
        store.import_arrow("aibridge_interceptions", pa.Table.from_pylist(rows))
    return path


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    with Store.open(db, read_only=True) as opened:
        yield opened


CASES: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("-client:Cursor", lambda r: r["client"] != "Cursor"),
    ("provider:anthropic,openai -model:gpt-5*", lambda r: not r["model"].startswith("gpt-5")),
    ("model:claude-*", lambda r: r["model"].startswith("claude-")),
    ("model:*mini client:Cursor,Unknown", lambda r: r["model"].endswith("mini")),
    ("client:*code*", lambda r: False),  # case-sensitive: "Claude Code" has no "code"
    ("client:*Code*", lambda r: r["client"] == "Claude Code"),
    ("-initiator:alice", lambda r: r["initiator"] == USER_B),
    ("initiator:alice,bob -model:claude-*,o4-*", lambda r: r["model"] in ("gpt-5", "gpt-5-mini")),
    ("-client:Unknown -client:Cursor", lambda r: r["client"] == "Claude Code"),
    ("(model:claude-* OR client:Cursor) -initiator:bob",
     lambda r: r["initiator"] == USER_A),
    ("-(provider:openai OR client:Unknown)", lambda r: r["provider"] == "anthropic" and r["client"] != "Unknown"),
    ("(initiator:bob model:o4-*) OR (initiator:alice model:gpt-*)", lambda r: r["model"] in ("o4-mini", "gpt-5")),
]


@pytest.mark.parametrize(("q", "keep"), CASES)
def test_interceptions_sessions_and_reports_select_the_same_rows(
    store: Store, q: str, keep: Callable[[dict[str, Any]], bool]
) -> None:
    expected = [r for r in ROWS if keep(r)]
    page = store.list_interceptions(q, limit=100)
    assert sorted(str(i.id) for i in page.results) == sorted(str(uid(r["n"])) for r in expected)
    assert page.count == len(expected)
    sessions = store.list_sessions(q, limit=100)
    assert sorted((s.id, s.initiator.id) for s in sessions.sessions) == sorted(
        {(r["session"], r["initiator"]) for r in expected})
    (total,) = store.usage(q).to_pylist()
    assert total["interceptions"] == len(expected)


def test_strict_reads_the_query_as_coder_does(store: Store, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert store.list_interceptions("provider:anthropic,openai", strict=True).count == 0  # a literal
    assert store.list_interceptions("provider:anthropic,openai").count == len(ROWS)
    with pytest.raises(QueryError, match='"-client" is not a valid query param'):
        store.list_interceptions("-client:Cursor", strict=True)
    with pytest.raises(QueryError, match='"-client" is not a valid query param'):
        store.usage("-client:Cursor", strict=True)
    assert main(["--db", str(db), "--strict", "interceptions", "-q", "model:claude-*", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 0  # a model named "claude-*": none
    assert main(["--db", str(db), "interceptions", "-q", "model:claude-*", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 3
    assert main(["--db", str(db), "--strict", "report", "usage", "-q", "-client:Cursor"]) == 1
    assert '"-client" is not a valid query param' in capsys.readouterr().err


def test_a_list_with_an_empty_value_is_an_error(store: Store) -> None:
    with pytest.raises(QueryError, match='has an empty value in its list "a,"'):
        store.list_interceptions("model:a,")


def test_session_grain_terms_test_the_whole_session(tmp_path: Path) -> None:
    from datetime import timedelta

    from tests.helpers.rows import token

    plan = [  # n, user, model, session, seconds after start, tokens, thread root
        (1, USER_A, "claude-sonnet-4", "big", 0, 90_000, None), (2, USER_A, "gpt-5", "big", 600, 20_000, None),
        (3, USER_A, "claude-sonnet-4", "small", 60, 500, None), (4, USER_B, "gpt-5", "big", 30, 5_000, None),
        (5, USER_B, "gpt-5", "long", 0, 1_000, None), (6, USER_B, "gpt-5", "long", 7200, 1_000, 5),
    ]
    rows = [interception(n, initiator_id=str(user), model=model, client_session_id=session, started_at=ts(at),
                         ended_at=ts(at + 10), thread_root_id=str(uid(root)) if root else None)
            for n, user, model, session, at, _, root in plan]
    tokens = [token(n, n, input_tokens=amount, output_tokens=0, cache_read_input_tokens=0) for n, *_, amount, _ in plan]
    with Store.open(tmp_path / "s.duckdb") as store:
        store.import_arrow("users", pa.Table.from_pylist(users_rows()))
        store.import_arrow("aibridge_interceptions", pa.Table.from_pylist(rows))
        store.import_arrow("aibridge_token_usages", pa.Table.from_pylist(tokens))
        everything = {(s.id, s.initiator.id): s for s in store.list_sessions(limit=100).sessions}

        def tokens_of(s: Any) -> int:
            summary = s.token_usage_summary
            return (summary.input_tokens + summary.output_tokens + summary.cache_read_input_tokens
                    + summary.cache_write_input_tokens)

        def found(q: str) -> set[tuple[str, Any]]:
            return {(s.id, s.initiator.id) for s in store.list_sessions(q, limit=100).sessions}

        assert found("session.tokens:>100000") == {k for k, s in everything.items() if tokens_of(s) > 100_000}
        assert found("session.tokens:>100000") == {("big", USER_A)}
        assert found("session.threads:>=2") == {k for k, s in everything.items() if s.threads >= 2}
        long = {k for k, s in everything.items() if s.ended_at - s.started_at > timedelta(hours=1)}
        assert found("session.duration:>1h") == long == {("long", USER_B)}
        # With a term on interceptions, the session figures still cover the whole session.
        claude = found("model:claude-*")
        assert found("model:claude-* session.tokens:>100000") == claude & {("big", USER_A)} == {("big", USER_A)}
        assert found("-session.tokens:>100000") == set(everything) - {("big", USER_A)}
        with pytest.raises(QueryError, match='"session.tokens" is not a valid query param'):
            store.list_interceptions("session.tokens:>5")


def test_session_cost_is_the_cost_reports_price_of_the_whole_session(tmp_path: Path) -> None:
    from decimal import Decimal
    from uuid import UUID

    from tests.helpers.rows import token

    plan = [  # n, user, model, session, input tokens, ended
        (1, USER_A, "house-a", "pricey", 3_000_000, True), (2, USER_A, "house-b", "pricey", 1_000_000, True),
        (3, USER_A, "house-a", "cheap", 100_000, True), (4, USER_B, "house-a", "pricey", 500_000, True),
        (5, USER_B, "mystery", "unknown", 9_000_000, True), (6, USER_B, "house-a", "cheap", 8_000_000, False),
    ]
    rows = [interception(n, initiator_id=str(user), provider="anthropic", provider_name="anthropic", model=model,
                         client_session_id=session, started_at=ts(n * 60), ended_at=ts(n * 60 + 5) if ended else None)
            for n, user, model, session, _, ended in plan]
    tokens = [token(n, n, input_tokens=amount, output_tokens=0, cache_read_input_tokens=0,
                    cache_write_input_tokens=0, created_at=ts(n * 60 + 1), metadata="{}")
              for n, _, _, _, amount, _ in plan]
    book = tmp_path / "prices.toml"
    book.write_text('[[prices]]\nprovider = "anthropic"\nmodel = "house-a"\ninput_mtok = 1\noutput_mtok = 1\n\n'
                    '[[prices]]\nprovider = "anthropic"\nmodel = "house-b"\ninput_mtok = 0.5\noutput_mtok = 1\n')
    with Store.open(tmp_path / "s.duckdb") as store:
        store.import_arrow("users", pa.Table.from_pylist(users_rows()))
        store.import_arrow("aibridge_interceptions", pa.Table.from_pylist(rows))
        store.import_arrow("aibridge_token_usages", pa.Table.from_pylist(tokens))

        def found(q: str) -> set[tuple[str, Any]]:
            return {(s.id, s.initiator.id) for s in store.list_sessions(q, limit=100).sessions}

        everything = found("")
        assert found("session.cost:>0") == set()  # genai-prices knows none of these models
        store.load_prices(book)  # forgets what was priced before
        # alice's pricey session: 3 + 0.5 dollars; bob's: 0.5; cheap: 0.1 (bob's in-flight call not counted).
        assert found("session.cost:>3") == {("pricey", USER_A)}
        assert found("session.cost:>=0.5") == {("pricey", USER_A), ("pricey", USER_B)}
        assert found("session.cost:$0.1..0.5") == {("cheap", USER_A), ("pricey", USER_B)}
        assert found("session.cost:3.5") == {("pricey", USER_A)}
        # What could not be priced is unknown, not zero: no range selects it, its negation does.
        assert found("-session.cost:>=0") == {("unknown", USER_B)} == everything - found("session.cost:>=0")
        # Terms on interceptions choose the sessions; the cost stays the whole session's.
        assert found("model:house-b session.cost:>3") == {("pricey", USER_A)}
        assert found("initiator:bob session.cost:<1") == {("pricey", USER_B)}
        costs = {(r["session_id"], UUID(str(r["user_id"]))): r["cost_usd"]
                 for r in store.top_sessions("-is:in_flight").to_pylist()}
        assert costs[("pricey", USER_A)] == Decimal("3.5")
        assert found("session.cost:>0.2") == {k for k, cost in costs.items() if cost is not None and cost > Decimal("0.2")}
        walked, page = [], store.list_sessions("session.cost:>=0", limit=1)
        while page.sessions:
            walked += [(s.id, s.initiator.id) for s in page.sessions]
            page = store.list_sessions("session.cost:>=0", limit=1, **page.next_cursor)
        assert sorted(walked, key=str) == sorted(found("session.cost:>=0"), key=str) and len(walked) == 3
        for bad in ("session.cost:cheap", "session.cost:>1.", "session.cost:1e3"):
            with pytest.raises(QueryError, match="expected an amount of US dollars"):
                store.list_sessions(bad)
        with pytest.raises(QueryError, match='"session.cost" is not a valid query param'):
            store.usage("session.cost:>1")
