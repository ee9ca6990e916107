"""A SQLite store as SQLite promises it: readers in other processes keep answering while an import
writes, and see the state before it or after it, never between; a second writer waits for its
timeout, then gets a clear error."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aibridge_store import StorageError, Store
from tests.helpers.generated import ROOT

_READER = """
import json, sys, time
from pathlib import Path
from aibridge_store import Store

path, stop = sys.argv[1], Path(sys.argv[2])
with Store.open(path, read_only=True) as store:
    while not stop.exists():  # each read is one snapshot
        interceptions = store.list_interceptions(limit=5).count
        sessions = store.list_sessions(limit=1000)
        claude = store.list_interceptions("model:claude-*", limit=1).count
        print(json.dumps([time.time(), interceptions, [sessions.count, len(sessions.sessions)], claude]), flush=True)
"""


def _generated(folder: Path, n: int, seed: int) -> Path:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.pop(0)
    return generate.generate(folder, n, seed=seed, fmt="parquet")[0].parent


def _state(store: Store) -> tuple[int, int, int]:
    """Interceptions, sessions (both under a page's 1000 rows), and Claude's interceptions."""
    return (store.list_interceptions(limit=1).count, store.list_sessions(limit=1).count,
            store.list_interceptions("model:claude-*", limit=1).count)


def test_readers_in_other_processes_see_before_or_after_an_import(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    first, second = _generated(tmp_path / "a", 2000, 3), _generated(tmp_path / "b", 6000, 4)
    with Store.open(path) as store:
        store.import_path(first)
        before = _state(store)
        stop = tmp_path / "stop"
        readers = [subprocess.Popen([sys.executable, "-c", _READER, str(path), str(stop)], stdout=subprocess.PIPE,
                                    text=True, cwd=ROOT) for _ in range(2)]
        try:
            time.sleep(1.5)  # the readers are answering
            started = time.time()
            store.import_path(second)
            ended = time.time()
            after = _state(store)
            time.sleep(0.5)
        finally:
            stop.touch()
            outputs = [reader.communicate(timeout=60)[0] for reader in readers]
    assert all(b < a for b, a in zip(before, after, strict=True)) and after[1] <= 1000
    seen = [json.loads(line) for output in outputs for line in output.splitlines()]
    for state in (0, 1, 2):  # each read sees the store before the import or after it, whole
        assert {s[1 + state] if state != 1 else s[2][0] for s in seen} <= {before[state], after[state]}
    assert all(count == rows for _, _, (count, rows), _ in seen), "a sessions page disagrees with its count"
    during = [s for s in seen if started < s[0] < ended]
    assert during, "no reader answered while the import ran"
    assert {(s[1], s[2][0], s[3]) for s in seen if s[0] > ended + 0.2} == {after}


def test_a_second_writer_waits_for_its_timeout_then_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    data = _generated(tmp_path / "a", 200, 5)
    waits: list[str] = []
    with Store.open(path) as writer, Store.open(path, timeout=0.5, on_wait=waits.append) as other:
        with writer.transaction():  # holds the write lock
            began = time.monotonic()
            with pytest.raises(StorageError, match="being written by another program.*waited 0.5 s"):
                other.import_path(data)
            assert time.monotonic() - began >= 0.45
            assert waits == ["another program writing it"]
            assert other.list_interceptions().count == 0  # reads go on
        assert other.import_path(data).inserted > 0  # once the lock is free
        assert writer.list_interceptions().count == other.list_interceptions().count > 150


def test_a_writer_in_another_process_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    data = _generated(tmp_path / "a", 200, 6)
    Store.open(path).close()
    hold = ("import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
            "c.execute('BEGIN IMMEDIATE'); print('held', flush=True); time.sleep(1.0); c.execute('COMMIT')")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with Store.open(path, timeout=10) as store:
            began = time.monotonic()
            assert store.import_path(data).inserted > 0
            assert time.monotonic() - began > 0.3  # it waited for the other process's commit
    finally:
        holder.communicate(timeout=30)  # waits, and closes its pipe
