"""The same data imported into a DuckDB store and a SQLite store answers every endpoint with the
same JSON, cursor walks included, and the same reports."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aibridge_store import Actor, Store
from tests.helpers.generated import ROOT

QUERIES = [
    "",
    "provider:anthropic -client:Cursor",
    'prompt:"test"',
    "model:claude-* has:tool_error",
    "input_tokens:>1000 duration:>2s",
    "(tool:Bash OR thought:plan) -is:byok",
    "started:2026-01-01..2026-12-31",
]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Store]]:
    """Generated logs and table exports, imported into both engines in two runs each."""
    folder = tmp_path_factory.mktemp("both")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.pop(0)
    first = generate.generate(folder / "first", 1500, seed=11, fmt="parquet")[0].parent
    second = generate.generate(folder / "second", 800, seed=12, fmt="log")[0].parent
    with Store.open(folder / "s.duckdb") as duck, Store.open(folder / "s.sqlite") as lite:
        assert (duck.engine, lite.engine) == ("duckdb", "sqlite")
        for store in (duck, lite):
            store.import_path(first)
            store.import_path(second)
            store.import_path(first)  # again: nothing changes
        yield duck, lite


def _same(stores: tuple[Store, Store], read: str | Callable[[Store], Any], *args: Any, **kwargs: Any) -> Any:
    """The answer of both stores (``read`` a method name and its arguments, or a function), which must agree."""
    duck, lite = stores
    if isinstance(read, str):
        expected, got = getattr(duck, read)(*args, **kwargs), getattr(lite, read)(*args, **kwargs)
    else:
        expected, got = read(duck), read(lite)
    as_json = (lambda v: v.model_dump_json()) if hasattr(expected, "model_dump_json") else repr
    assert as_json(got) == as_json(expected)
    return expected


def test_the_stores_hold_the_same_rows(stores: tuple[Store, Store]) -> None:
    duck, lite = stores
    for view in ("interceptions", "token_usages", "user_prompts", "tool_usages", "model_thoughts", "sessions",
                 "users"):
        sql = f"SELECT * FROM {view} ORDER BY ALL"
        assert lite.sql(sql).fetchall() == duck.sql(sql).fetchall(), view


def test_plain_sqlite3_reads_the_documented_views_of_the_store_file(stores: tuple[Store, Store]) -> None:
    import sqlite3

    duck, lite = stores
    assert lite.path is not None
    with sqlite3.connect(f"file:{lite.path}?mode=ro", uri=True) as plain:  # no function of ours registered
        for view in ("interceptions", "token_usages", "user_prompts", "tool_usages", "model_thoughts", "sessions",
                     "users"):
            assert [plain.execute(f"SELECT count(*) FROM {view}").fetchone()] == duck.sql(
                f"SELECT count(*) FROM {view}").fetchall(), view
        newest = plain.execute("SELECT id, started_at, duration_us FROM interceptions WHERE NOT in_flight "
                               "ORDER BY started_at DESC, id DESC LIMIT 1").fetchone()
        expected = duck.sql("SELECT CAST(id AS VARCHAR), duration_us FROM interceptions WHERE NOT in_flight "
                            "ORDER BY started_at DESC, id DESC LIMIT 1").fetchall()
        assert [(newest[0], newest[2])] == expected and newest[1].endswith("Z")


@pytest.mark.parametrize("q", QUERIES)
def test_interception_pages_and_their_cursor_walk(stores: tuple[Store, Store], q: str) -> None:
    first = _same(stores, lambda s: s.list_interceptions(q, limit=40))
    assert first.count > 0 or q.startswith("(")
    _same(stores, lambda s: s.list_interceptions(q, limit=25, offset=30))
    after = first.results[-1].id if first.results else None
    for _ in range(3):
        page = _same(stores, "list_interceptions", q, limit=40, after_id=after)
        if not page.results:
            break
        after = page.results[-1].id


@pytest.mark.parametrize("q", ["", "model:claude-*", "session.threads:>1", "-client:Cursor"])
def test_session_pages_their_cursor_walk_and_threads(stores: tuple[Store, Store], q: str) -> None:
    page = _same(stores, lambda s: s.list_sessions(q, limit=50))
    seen = [(s.id, s.initiator.id) for s in page.sessions]
    while len(page.sessions) == 50:
        cursor = page.next_cursor
        page = _same(stores, "list_sessions", q, limit=50, **cursor)
        seen += [(s.id, s.initiator.id) for s in page.sessions]
    assert len(seen) == len(set(seen)) == page.count
    for session_id, _ in seen[:: max(1, len(seen) // 8)]:
        threads = _same(stores, "get_session_threads", session_id, limit=3)
        if threads.threads:
            last = threads.threads[-1].id
            _same(stores, "get_session_threads", session_id, limit=3, after_id=last)
            _same(stores, "get_session_threads", session_id, limit=3, before_id=last)


def test_models_clients_members_and_costs(stores: tuple[Store, Store]) -> None:
    _same(stores, lambda s: s.list_models())
    _same(stores, lambda s: s.list_clients(limit=3, offset=1))
    _same(stores, lambda s: s.list_models("claude"))
    user = stores[0].list_interceptions(limit=1).results[0].initiator.id
    member = Actor.member(user)
    _same(stores, lambda s: s.list_interceptions(limit=30, actor=member))
    _same(stores, lambda s: s.list_sessions(limit=30, actor=member))
    _same(stores, lambda s: s.list_sessions("session.cost:>0.01", limit=30))


def test_reports_agree(stores: tuple[Store, Store]) -> None:
    def report(s: Store) -> Any:
        return s.usage("-client:Cursor", by=["user", "model"], bucket="day").to_arrow().to_pylist()

    _same(stores, report)
    _same(stores, lambda s: s.cost(by=["provider"]).to_arrow().to_pylist())
    _same(stores, lambda s: s.tools().to_arrow().to_pylist())


def test_unicode_text_search_folds_case_as_duckdb_does(tmp_path: Path) -> None:
    from tests.helpers.rows import export_dir, interception, prompt

    rows = [interception(1), interception(2), interception(3)]
    prompts = [prompt(1, 1, "Été chaud"), prompt(2, 2, "ÉTÉ FROID"), prompt(3, 3, "summer")]
    answers = []
    for path in (tmp_path / "u.duckdb", tmp_path / "u.sqlite"):
        with Store.open(path) as store:
            store.import_path(export_dir(tmp_path / path.suffix, rows, prompts=prompts))
            answers.append([sorted(str(r.id) for r in store.list_interceptions(f'prompt:"{text}"').results)
                            for text in ("été", "ÉTÉ", "SUMMER", "t_ch")])
    assert answers[0] == answers[1]
    assert [len(found) for found in answers[1]] == [2, 2, 1, 0]


def test_the_command_line_runs_on_either_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from aibridge_store.cli import main
    from tests.helpers.rows import export_dir, interception

    exports = export_dir(tmp_path / "x", [interception(1), interception(2)])
    answers = []
    for db, engine in ((tmp_path / "c.duckdb", []), (tmp_path / "c.sqlite", []), (tmp_path / "c.store",
                                                                                 ["--engine", "sqlite"])):
        assert main(["--db", str(db), *engine, "import", str(exports)]) == 0
        capsys.readouterr()
        assert main(["--db", str(db), *engine, "interceptions", "--json"]) == 0
        answers.append(capsys.readouterr().out)
        assert main(["--db", str(db), "sql", "SELECT count(*) AS n FROM interceptions"]) == 0
        assert "2" in capsys.readouterr().out
    assert answers[0] == answers[1] == answers[2] and '"count":2' in answers[0].replace(" ", "")
    with Store.open(tmp_path / "c.store") as store:  # a SQLite file is one, whatever its name
        assert store.engine == "sqlite"


def test_usernames_match_ignoring_the_case_of_every_letter(tmp_path: Path, store: Store) -> None:
    from tests.helpers.rows import USER_A, USER_B, export_dir, interception, users_rows

    users = users_rows()
    users[0]["username"] = "Élodie"
    store.import_path(export_dir(tmp_path, [interception(1), interception(2, initiator_id=str(USER_B))],
                                 users=users))
    assert [r.initiator.id for r in store.list_interceptions("initiator:éLODIE").results] == [USER_A]
    assert store.actor("ÉLODIE").user_id == USER_A
