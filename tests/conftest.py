"""Fixtures shared by every test; the helpers they use live in :mod:`tests.helpers`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aibridge_store import Store

ENGINES = ("duckdb", "sqlite")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Each engine in turn: tests that take ``store`` run on both."""
    return str(request.param)


@pytest.fixture
def store(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """An empty store: DuckDB in memory, or a new SQLite file."""
    path = None if engine == "duckdb" else tmp_path_factory.mktemp("sqlite") / "store.sqlite"
    with Store.open(path, engine=engine) as s:
        yield s
