"""The derived data (session rollup, catalog, interception counts and totals, child start times,
last prompt times) always equals a from-scratch computation, whatever sequence of imports built the store."""

from __future__ import annotations

import sqlite3
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from aibridge_store import ImportDataError, Store
from tests.helpers.rollup import expected_rollup, expected_totals, stored_rollup, stored_totals
from tests.helpers.rows import USER_A, USER_B, interception, prompt, stored_rows, token, tool, ts, uid


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=repr)


class ImportSequence(RuleBasedStateMachine):
    """Random imports of interceptions (roots, children, in flight, ending later) and children,
    duplicated and out of order; after each, the derived tables equal a rebuild."""

    engine = "duckdb"

    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        path = None if self.engine == "duckdb" else Path(self.folder.name) / "store.sqlite"
        self.store = Store.open(path, engine=self.engine)

    def teardown(self) -> None:
        self.store.close()
        self.folder.cleanup()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """DuckDB SQL over what the store holds (a SQLite store's file read again)."""
        return stored_rows(self.store, sql)

    @rule(
        n=st.integers(1, 12),
        root=st.one_of(st.none(), st.integers(1, 12)),
        session=st.sampled_from([None, "s1", "s2"]),
        ended=st.booleans(),
        user=st.sampled_from([USER_A, USER_B]),
        model=st.sampled_from(["a", "b", "c"]),
        client=st.sampled_from([None, "Unknown", "Cursor"]),
        start=st.integers(0, 30),
    )
    def import_interception(self, n: int, root: int | None, session: str | None, ended: bool, user: uuid.UUID,
                            model: str, client: str | None, start: int) -> None:
        row = interception(n, started_at=ts(start), ended_at=ts(start + 3) if ended else None,
                           client_session_id=session, initiator_id=str(user), model=model, client=client,
                           thread_root_id=str(uid(root)) if root and root != n else None)
        self.store.import_arrow("aibridge_interceptions", pa.Table.from_pylist([row]))

    @rule(n=st.integers(1, 30), of=st.integers(1, 12), tokens=st.integers(0, 50), seconds=st.integers(0, 40),
          recorded=st.one_of(st.none(), st.integers(0, 99)), hours=st.sampled_from([0, 0, 30]))
    def import_token(self, n: int, of: int, tokens: int, seconds: int, recorded: int | None, hours: int) -> None:
        row = token(n, of, input_tokens=tokens, created_at=ts(seconds + hours * 3600), cost_micros=recorded)
        table = pa.Table.from_pylist([row])
        table = table.set_column(table.schema.get_field_index("cost_micros"), "cost_micros",
                                 pa.array([recorded], pa.int64()))
        self.store.import_arrow("aibridge_token_usages", table)

    @rule(n=st.integers(1, 30), of=st.integers(1, 12), injected=st.booleans(),
          error=st.sampled_from([None, "", "boom"]))
    def import_tool(self, n: int, of: int, injected: bool, error: str | None) -> None:
        row = tool(n, of, injected="t" if injected else "f", invocation_error=error)
        self.store.import_arrow("aibridge_tool_usages", pa.Table.from_pylist([row]))

    @rule(of=st.integers(1, 12), text=st.sampled_from(["hmm", "so"]))
    def import_thought(self, of: int, text: str) -> None:
        row = {"interception_id": str(uid(of)), "content": text, "metadata": "{}", "created_at": ts(5)}
        self.store.import_arrow("aibridge_model_thoughts", pa.Table.from_pylist([row]))

    @rule(n=st.integers(1, 30), of=st.integers(1, 12), text=st.sampled_from(["", "hi", "again"]),
          seconds=st.integers(0, 40))
    def import_prompt(self, n: int, of: int, text: str, seconds: int) -> None:
        row = prompt(n, of, text, created_at=ts(seconds))
        self.store.import_arrow("aibridge_user_prompts", pa.Table.from_pylist([row]))

    @rule(n=st.integers(1, 12))
    def failed_import_changes_nothing(self, n: int) -> None:
        before = self._derived()
        with pytest.raises(ImportDataError):
            self.store.import_arrow("aibridge_interceptions", pa.Table.from_pylist([interception(n, started_at="bad")]))
        assert self._derived() == before

    def _derived(self) -> list[list[tuple[Any, ...]]]:
        return [_sorted(self.rows(f"SELECT * FROM {table}"))
                for table in ("aibridge_session_rollup", "aibridge_catalog", "aibridge_interception_totals")]

    @invariant()
    def rollup_equals_an_independent_computation(self) -> None:
        assert stored_rollup(self.store) == expected_rollup(self.store)

    @invariant()
    def totals_equal_an_independent_computation(self) -> None:
        assert stored_totals(self.store) == expected_totals(self.store)

    @invariant()
    def catalog_equals_a_rebuild(self) -> None:
        stored = _sorted(self.rows("SELECT * FROM aibridge_catalog"))
        rebuilt = _sorted(self.rows(
            "SELECT DISTINCT 'model', model, initiator_id FROM aibridge_interceptions WHERE ended_at IS NOT NULL "
            "UNION SELECT DISTINCT 'client', COALESCE(client, 'Unknown'), initiator_id FROM aibridge_interceptions "
            "WHERE ended_at IS NOT NULL"))
        assert stored == rebuilt

    @invariant()
    def interception_counts_equal_a_rebuild_and_reads_see_every_import(self) -> None:
        # Read first: the counts remembered at the end of the previous check must have been
        # forgotten by the import in between (the connection is not touched until after).
        queries = ["", "model:a", "client:Unknown", f"initiator:{USER_A}", "client:Cursor model:b"]
        counted = [self.store.list_interceptions(q, limit=1).count for q in queries]
        rows = self.rows(
            "SELECT initiator_id, provider, provider_name, model, client FROM aibridge_interceptions "
            "WHERE ended_at IS NOT NULL")
        rebuilt = Counter(rows)
        stored = self.rows(
            "SELECT initiator_id, provider, provider_name, model, client, interceptions "
            "FROM aibridge_interception_counts")
        assert {tuple(r[:5]): r[5] for r in stored} == rebuilt and len(stored) == len(rebuilt)
        expected = [
            len(rows),
            sum(r[3] == "a" for r in rows),
            sum(r[4] in (None, "Unknown") for r in rows),
            sum(r[0] == USER_A for r in rows),
            sum(r[4] == "Cursor" and r[3] == "b" for r in rows),
        ]
        assert counted == expected
        for q in queries:
            self.store.list_interceptions(q, limit=1)  # remembered for the next check

    @invariant()
    def child_and_prompt_times_are_current(self) -> None:
        stale = self.rows(
            "SELECT count(*) FROM aibridge_token_usages t LEFT JOIN aibridge_interceptions i ON i.id = t.interception_id "
            "WHERE t.interception_started_at IS DISTINCT FROM i.started_at")
        assert stale == [(0,)]
        stale = self.rows(
            "SELECT count(*) FROM aibridge_interceptions i LEFT JOIN (SELECT interception_id, max(created_at) m "
            "FROM aibridge_user_prompts GROUP BY 1) p ON p.interception_id = i.id "
            "WHERE i.last_prompt_at IS DISTINCT FROM p.m")
        assert stale == [(0,)]

    @invariant()
    def sessions_list_agrees_with_the_rollup(self) -> None:
        page = self.store.list_sessions(limit=1000)
        count = self.rows("SELECT count(*) FROM aibridge_session_rollup")
        assert [(page.count,)] == count and len(page.sessions) == page.count


class SQLiteImportSequence(ImportSequence):
    """The same sequences on a SQLite store: the checks read the file, loaded anew after each
    import that wrote it (a connection of the test's own sees each commit)."""

    engine = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        assert self.store.path is not None
        self.probe = sqlite3.connect(self.store.path)
        self.seen = -1

    def teardown(self) -> None:
        self.probe.close()
        super().teardown()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        version = self.probe.execute("PRAGMA data_version").fetchone()[0]
        if version != self.seen:
            self.store._drop_mirror()  # type: ignore[attr-defined]
            self.seen = version
        return self.store.sql(sql).fetchall()


TestImportSequence = pytest.mark.slow(ImportSequence.TestCase)
TestImportSequence.settings = settings(max_examples=40, stateful_step_count=15, deadline=None)
TestSQLiteImportSequence = pytest.mark.slow(SQLiteImportSequence.TestCase)
TestSQLiteImportSequence.settings = settings(max_examples=15, stateful_step_count=12, deadline=None)
