"""Walking every page, by cursor and by offset, equals one ordered query (ties included)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from aibridge_store import InterceptionsPage, Store
from tests.conftest import ENGINES
from tests.helpers.rows import USER_A, USER_B, interception, stored_rows, ts, uid

rows_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=8),  # start second: few values, so many ties
        st.booleans(),  # ended
        st.sampled_from(["anthropic", "openai"]),
        st.sampled_from([USER_A, USER_B]),
    ),
    min_size=0,
    max_size=40,
)


@contextmanager
def _load(rows: list[tuple[int, bool, str, uuid.UUID]], engine: str = "duckdb") -> Iterator[Store]:
    """A store of either engine holding the rows (a SQLite one in a folder of its own)."""
    with tempfile.TemporaryDirectory() as folder:
        path = None if engine == "duckdb" else Path(folder) / "store.sqlite"
        with Store.open(path, engine=engine) as store:
            _fill(store, rows)
            yield store


def _fill(store: Store, rows: list[tuple[int, bool, str, uuid.UUID]]) -> None:
    data = [
        interception(
            n + 1,
            started_at=ts(second),
            ended_at=ts(second + 1) if ended else None,
            provider=provider,
            initiator_id=str(user),
        )
        for n, (second, ended, provider, user) in enumerate(rows)
    ]
    if data:
        store.import_arrow("aibridge_interceptions", pa.Table.from_pylist(data))


def _expected(store: Store, provider: str | None) -> list[uuid.UUID]:
    where = "ended_at IS NOT NULL" + (" AND provider = ?" if provider else "")
    params = [provider] if provider else []
    rows = stored_rows(store, f"SELECT id FROM aibridge_interceptions WHERE {where} ORDER BY started_at DESC, id DESC",
                       params)
    return [r[0] for r in rows]


@settings(max_examples=120, deadline=None)
@given(rows=rows_strategy, limit=st.integers(min_value=1, max_value=7), provider=st.sampled_from([None, "openai"]),
       deep=st.booleans(), remembered=st.booleans(), engine=st.sampled_from(ENGINES))
def test_cursor_and_offset_walks_visit_every_row_once_in_order(
    rows: list[tuple[int, bool, str, uuid.UUID]], limit: int, provider: str | None, deep: bool, remembered: bool,
    engine: str,
) -> None:
    from aibridge_store._reads.interceptions import DEEP_PAGES, DeepPages, list_interceptions
    from aibridge_store._reads.memo import ReadMemo

    # deep: every page goes through the start-time bound, with a window that starts tiny and grows.
    plan = DeepPages(threshold=0, first_window=timedelta(seconds=1)) if deep else DEEP_PAGES
    with _load(rows, engine) as store:
        q = f"provider:{provider}" if provider else ""
        expected = _expected(store, provider)

        # remembered: counts from the counts table, positions from the page before, as the Store reads.
        memo = ReadMemo(counts_table=True) if remembered else None
        con = store.connection  # (deep pages apply to DuckDB; SQLite's B-tree walks to any offset)

        def read(limit: int, offset: int, after_id: uuid.UUID | None) -> InterceptionsPage:
            return list_interceptions(
                con, q, limit=limit, offset=offset, after_id=after_id, actor=None, deep=plan, memo=memo
            )

        by_cursor: list[uuid.UUID] = []
        after = None
        while True:
            page = read(limit=limit, offset=0, after_id=after)
            assert page.count == len(expected)
            by_cursor += [r.id for r in page.results]
            if len(page.results) < limit:
                break
            after = page.results[-1].id
        assert by_cursor == expected

        by_offset: list[uuid.UUID] = []
        offset = 0
        while True:
            page = read(limit=limit, offset=offset, after_id=None)
            by_offset += [r.id for r in page.results]
            if len(page.results) < limit:
                break
            offset += limit
        assert by_offset == expected


def test_ties_are_broken_by_id_descending() -> None:
    rows = [(3, True, "openai", USER_A)] * 5
    with _load(rows) as store:
        ids = [r.id for r in store.list_interceptions(limit=2).results]
        assert ids == [uid(5), uid(4)]
        ids = [r.id for r in store.list_interceptions(limit=10, after_id=uid(4)).results]
        assert ids == [uid(3), uid(2), uid(1)]
