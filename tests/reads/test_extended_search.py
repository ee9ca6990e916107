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
