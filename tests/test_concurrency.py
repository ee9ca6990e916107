"""One writer, or readers while nobody writes: opening waits for another process's lock up to a
timeout, then names the holder (issue 9)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from aibridge_store import StorageError, Store
from aibridge_store.cli import main
from tests.helpers.rows import export_dir, interception

HOLD = """
import sys, time
from aibridge_store import Store
with Store.open(sys.argv[1], read_only=sys.argv[3] == "read") as store:
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@contextmanager
def _holding(db: Path, seconds: float, mode: str = "write") -> Iterator[subprocess.Popen[str]]:
    """Another process holding the store open for ``seconds`` (killed at the end)."""
    with subprocess.Popen([sys.executable, "-c", HOLD, str(db), str(seconds), mode],
                          stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        try:
            yield holder
        finally:
            holder.kill()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "s.duckdb"
    with Store.open(path) as store:
        store.import_path(export_dir(tmp_path / "x", [interception(1)]))
    return path


def test_a_held_store_fails_at_once_without_a_timeout_and_names_the_holder(db: Path) -> None:
    with _holding(db, 30) as holder:
        with pytest.raises(StorageError, match=rf"is in use by .*\(PID {holder.pid}\)"):
            Store.open(db, read_only=True)


def test_opening_waits_for_the_holder_to_let_go(db: Path) -> None:
    waits: list[str] = []
    with _holding(db, 1.0) as holder:
        with Store.open(db, timeout=60, on_wait=waits.append) as store:
            assert store.list_interceptions().count == 1
        assert len(waits) == 1 and f"PID {holder.pid}" in waits[0]


def test_the_command_line_says_what_it_waits_for(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _holding(db, 30) as holder:
        assert main(["--db", str(db), "--wait", "0.3", "interceptions"]) == 1
    err = capsys.readouterr().err
    assert "is in use by" in err and f"PID {holder.pid}" in err and "waiting up to 0.3 s" in err


def test_readers_share_a_store(db: Path) -> None:
    with _holding(db, 30, mode="read"), Store.open(db, read_only=True) as store:
        assert store.list_interceptions().count == 1


POLL = """
import sys, time
from aibridge_store import Store, StorageError
ends = time.monotonic() + float(sys.argv[2])
print("polling", flush=True)
while time.monotonic() < ends:
    try:
        with Store.open(sys.argv[1], read_only=True, timeout=5) as store:
            store.list_interceptions(limit=1)
    except StorageError:
        pass
"""


def test_a_writer_that_waits_gets_in_between_polling_readers(db: Path, tmp_path: Path) -> None:
    pollers = [subprocess.Popen([sys.executable, "-c", POLL, str(db), "4"], stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    try:
        for poller in pollers:
            assert poller.stdout is not None and poller.stdout.readline().strip() == "polling"
        for n in range(2, 5):
            with Store.open(db, timeout=30) as store:
                store.import_path(export_dir(tmp_path / f"more{n}", [interception(n)]))
        with Store.open(db, timeout=30, read_only=True) as store:
            assert store.list_interceptions().count == 4
    finally:
        for poller in pollers:
            poller.kill()
            poller.wait()
            assert poller.stdout is not None
            poller.stdout.close()
