"""Usage reports equal sums computed in plain Python over the rows the test built."""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aibridge_store import Actor, ReportError, Store
from tests.helpers.rows import USER_A, USER_B, interception, prompt, token, tool, uid, users_rows

BASE = datetime(2026, 1, 13, 22, 30, tzinfo=UTC)  # 23:30 in Paris: buckets cross local midnight

rows_strategy = st.lists(
    st.tuples(
        st.integers(0, 180),  # start, minutes after BASE
        st.sampled_from([USER_A, USER_B]),
        st.sampled_from(["claude", "gpt"]),
        st.sampled_from([None, "Cursor", "Unknown"]),
        st.one_of(st.none(), st.integers(1, 600)),  # duration in seconds, None: in flight
        st.lists(st.tuples(st.integers(0, 500), st.integers(0, 50), st.integers(0, 90), st.integers(0, 9)),
                 max_size=3),  # token usages: input, output, cache read, cache write
        st.integers(0, 2),  # prompts
        st.lists(st.tuples(st.booleans(), st.booleans()), max_size=3),  # tool calls: injected, failed
        st.sampled_from(["s1", "s2", None]),
    ),
    max_size=14,
)


def _load(store: Store, rows: list[Any]) -> list[dict[str, Any]]:
    interceptions, tokens, prompts, tools = [], [], [], []
    facts = []
    for n, (minutes, user, model, client, duration, usages, n_prompts, calls, session) in enumerate(rows, start=1):
        started = BASE + timedelta(minutes=minutes, microseconds=n)
        ended = None if duration is None else started + timedelta(seconds=duration)
        interceptions.append(interception(
            n, initiator_id=str(user), model=model, client=client, client_session_id=session,
            started_at=started.isoformat(), ended_at=None if ended is None else ended.isoformat()))
        for k, (i, o, r, w) in enumerate(usages):
            tokens.append(token(n * 10 + k, n, input_tokens=i, output_tokens=o, cache_read_input_tokens=r,
                                cache_write_input_tokens=w, metadata="{}"))
        prompts += [prompt(n * 10 + k, n) for k in range(n_prompts)]
        tools += [tool(n * 10 + k, n, injected=injected, invocation_error="boom" if failed else None,
                       server_url="https://mcp.example/" if injected else None)
                  for k, (injected, failed) in enumerate(calls)]
        facts.append({
            "id": uid(n), "user": user, "model": model, "client": client or "Unknown", "started": started,
            "ended": ended, "session": (session or str(uid(n)), user),
            "tokens": [sum(u[j] for u in usages) for j in range(4)], "prompts": n_prompts,
            "calls": len(calls), "injected": sum(c[0] for c in calls), "errors": sum(c[1] for c in calls),
        })
    # A token usage of an interception that is not stored counts nowhere.
    tokens.append(token(999, 999, input_tokens=10**6))
    for table, data in (("users", users_rows()), ("aibridge_interceptions", interceptions), ("aibridge_token_usages", tokens),
                        ("aibridge_user_prompts", prompts), ("aibridge_tool_usages", tools)):
        if data:
            store.import_arrow(table, pa.Table.from_pylist(data))
    return facts


def _bucket(moment: datetime, bucket: str, tz: str) -> datetime:
    local = moment.astimezone(ZoneInfo(tz))
    if bucket == "hour":
        start = local.replace(minute=0, second=0, microsecond=0)
    elif bucket == "day":
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    elif bucket == "week":
        start = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(UTC)


def _nearest_rank(values: list[int], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(round(len(ordered) * q, 9)) - 1] / 1e6


def _expected(facts: list[dict[str, Any]], by: tuple[str, ...], bucket: str | None, tz: str) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for fact in facts:
        key: tuple[Any, ...] = ()
        if bucket:
            key += (_bucket(fact["started"], bucket, tz),)
        for name in by:
            key += {"user": (str(fact["user"]),), "model": (fact["model"],), "client": (fact["client"],),
                    "session": (fact["session"][0], str(fact["session"][1])), "provider": ("anthropic",),
                    "provider_name": ("anthropic",)}[name]
        groups[key].append(fact)
    if not by and not bucket:
        groups.setdefault((), [])  # the totals: one row, even of nothing
    result = []
    for key in sorted(groups):
        members = groups[key]
        durations = [int((f["ended"] - f["started"]) / timedelta(microseconds=1)) for f in members if f["ended"]]
        result.append({
            "key": key,
            "interceptions": len(members),
            "in_flight": sum(f["ended"] is None for f in members),
            "sessions": len({f["session"] for f in members}),
            "users": len({f["user"] for f in members}),
            "input_tokens": sum(f["tokens"][0] for f in members),
            "output_tokens": sum(f["tokens"][1] for f in members),
            "cache_read_input_tokens": sum(f["tokens"][2] for f in members),
            "cache_write_input_tokens": sum(f["tokens"][3] for f in members),
            "prompts": sum(f["prompts"] for f in members),
            "tool_calls": sum(f["calls"] for f in members),
            "injected_tool_calls": sum(f["injected"] for f in members),
            "tool_errors": sum(f["errors"] for f in members),
            **{f"duration_{name}_s": _nearest_rank(durations, q)
               for name, q in (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99))},
            # "claude" and "gpt" have no price: their tokens are unpriced, never $0 (tests/reports/test_cost.py
            # checks priced models against genai-prices).
            "cost_usd": None if any(sum(f["tokens"]) for f in members) else 0,
            "unpriced_tokens": sum(sum(f["tokens"]) for f in members),
            "unpriced_interceptions": sum(1 for f in members if sum(f["tokens"])),
            "priced_by": None,
        })
    return result


_KEY_COLUMNS = {"user": ("user_id",), "session": ("session_id", "session_initiator_id")}


def _actual(report_rows: list[dict[str, Any]], by: tuple[str, ...], bucket: str | None) -> list[dict[str, Any]]:
    names = (["bucket"] if bucket else []) + [c for name in by for c in _KEY_COLUMNS.get(name, (name,))]
    actual = []
    for row in report_rows:
        key = tuple(str(row[n]) if n in ("user_id", "session_initiator_id") else row[n] for n in names)
        figures = {k: v for k, v in row.items() if k not in names and k != "username"}
        actual.append({"key": key, **figures})
    return sorted(actual, key=lambda r: r["key"])


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open() as opened:
        yield opened


@settings(max_examples=60, deadline=None)
@given(rows=rows_strategy,
       by=st.lists(st.sampled_from(["user", "model", "client", "session", "provider"]), unique=True, max_size=2),
       bucket=st.sampled_from([None, "hour", "day", "week", "month"]),
       tz=st.sampled_from(["UTC", "Europe/Paris", "America/Los_Angeles"]))
def test_usage_equals_a_plain_python_computation(rows: list[Any], by: list[str], bucket: str | None, tz: str) -> None:
    with Store.open() as store:
        facts = _load(store, rows)
        report = store.usage(by=tuple(by), bucket=bucket, tz=tz)
        assert _actual(report.to_pylist(), tuple(by), bucket) == _expected(facts, tuple(by), bucket, tz)


def test_a_query_a_window_and_an_actor_select_the_interceptions(store: Store) -> None:
    facts = _load(store, [(0, USER_A, "claude", None, 10, [(5, 1, 0, 0)], 0, [], None),
                          (90, USER_B, "claude", None, None, [(7, 1, 0, 0)], 1, [], None),
                          (200, USER_A, "gpt", "Cursor", 20, [(11, 1, 0, 0)], 0, [], None)])
    assert [r["input_tokens"] for r in store.usage("model:claude").to_pylist()] == [12]
    since = (BASE + timedelta(minutes=60)).isoformat()
    assert [r["interceptions"] for r in store.usage(since=since).to_pylist()] == [2]
    assert [r["interceptions"] for r in store.usage(until=since).to_pylist()] == [1]
    member = Actor.member(USER_B)
    assert [(r["user_id"], r["in_flight"]) for r in store.usage(by=["user"], actor=member).to_pylist()] == [
        (str(USER_B), 1)]
    assert len(facts) == 3


def test_no_match_is_one_row_of_zeros_without_groups_and_no_rows_with_them(store: Store) -> None:
    (row,) = store.usage().to_pylist()
    assert (row["interceptions"], row["input_tokens"], row["tool_errors"], row["duration_p50_s"]) == (0, 0, 0, None)
    assert len(store.usage(by=["user"])) == 0


def test_tools_and_servers_count_calls_errors_and_injections(store: Store) -> None:
    _load(store, [(0, USER_A, "claude", None, 10, [], 0, [(True, True), (True, False), (False, False)], None),
                  (5, USER_B, "claude", None, 10, [], 0, [(False, True)], None)])
    servers = {r["server_url"]: r for r in store.tools(by="server").to_pylist()}
    assert servers["https://mcp.example/"]["calls"] == 2 and servers["https://mcp.example/"]["errors"] == 1
    assert servers[""]["calls"] == 2 and servers[""]["error_rate"] == 0.5
    (bash_mcp, bash) = store.tools().to_pylist()[:2]
    assert {bash_mcp["calls"], bash["calls"]} == {2}


def test_top_sessions_and_user_activity(store: Store) -> None:
    _load(store, [(0, USER_A, "claude", None, 10, [(100, 0, 0, 0)], 0, [], "s1"),
                  (30, USER_A, "claude", None, 10, [(1, 0, 0, 0)], 0, [], "s2"),
                  (60, USER_A, "claude", None, None, [(5, 0, 0, 0)], 0, [], "s2")])
    top = store.top_sessions(limit=1).to_pylist()
    assert [(r["session_id"], r["total_tokens"], r["username"]) for r in top] == [("s1", 100, "alice")]
    (alice,) = store.user_activity(tz="Europe/Paris").to_pylist()
    # 23:30, 00:00 and 00:30 in Paris: two local days.
    assert (alice["active_days"], alice["interceptions"], alice["sessions"]) == (2, 3, 2)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"by": ["team"]}, "cannot group by 'team'"),
    ({"bucket": "fortnight"}, "unknown bucket 'fortnight'"),
    ({"tz": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ({"since": "yesterday-ish"}, "since: 'yesterday-ish' is not a time"),
])
def test_bad_report_arguments_are_our_errors(store: Store, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ReportError, match=message):
        store.usage(**kwargs)


def test_relative_and_date_bounds(store: Store) -> None:
    _load(store, [(0, USER_A, "claude", None, 10, [], 0, [], None)])
    assert store.usage(since="2026-01-13").to_pylist()[0]["interceptions"] == 1
    assert store.usage(since="2026-01-14").to_pylist()[0]["interceptions"] == 0
    assert store.usage(since="1d").to_pylist()[0]["interceptions"] == 0  # BASE is long ago


def test_reports_do_not_see_the_in_flight_rows_of_other_users_for_a_member(store: Store) -> None:
    _load(store, [(0, USER_B, "claude", None, None, [(3, 0, 0, 0)], 0, [], None)])
    assert store.usage(actor=Actor.member(uuid.UUID(int=USER_A.int))).to_pylist()[0]["interceptions"] == 0


@settings(max_examples=30, deadline=None)
@given(rows=rows_strategy, limit=st.integers(1, 4))
def test_top_sessions_with_a_limit_are_the_first_of_all(rows: list[Any], limit: int) -> None:
    """The limit narrows the sessions before their figures are computed; ties on tokens are
    still ordered by cost, start and id."""
    with Store.open() as store:
        _load(store, rows)
        assert store.top_sessions(limit=limit).to_pylist() == store.top_sessions().to_pylist()[:limit]
    with Store.open() as store, pytest.raises(ReportError, match="limit must be at least 1"):
        store.top_sessions(limit=0)
