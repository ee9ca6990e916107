"""Retention: delete_before removes old interceptions with everything hanging off them, keeps the
sessions and catalog exact, and is atomic even when the process is killed (issue 9)."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aibridge_store import StorageError, Store
from aibridge_store.cli import main
from tests.helpers.rollup import expected_rollup, stored_rollup
from tests.helpers.rows import USER_B, export_dir, interception, prompt, snapshot, token, tool, ts, uid

CUT = datetime(2026, 1, 13, 15, 0, 35, tzinfo=UTC)  # between interceptions 3 (15:00:30) and 4 (15:00:40)


@pytest.fixture
def loaded(tmp_path: Path) -> Store:
    rows = [
        interception(1, client_session_id="s", model="old-model"),
        interception(2, client_session_id="s"),
        interception(3, initiator_id=str(USER_B), client="Cursor", ended_at=None),
        interception(4, client_session_id="s"),
        interception(5, initiator_id=str(USER_B), client_session_id="t"),
    ]
    export_dir(tmp_path, rows, tokens=[token(1, 1), token(2, 4)], prompts=[prompt(1, 2), prompt(2, 4, "late")],
               tools=[tool(1, 1), tool(2, 5)])
    store = Store.open()
    store.import_path(tmp_path)
    return store


def test_old_interceptions_go_with_their_rows_and_counts_say_so(loaded: Store) -> None:
    deleted = loaded.delete_before(CUT)
    assert deleted == {
        "aibridge_token_usages": 1, "aibridge_user_prompts": 1, "aibridge_tool_usages": 1,
        "aibridge_model_thoughts": 0, "aibridge_log_pending_ends": 0, "aibridge_log_lineage": 0,
        "aibridge_interceptions": 3,
    }
    assert [r.id for r in loaded.list_interceptions().results] == [uid(5), uid(4)]
    assert stored_rollup(loaded) == expected_rollup(loaded)


def test_sessions_and_the_catalog_are_rebuilt_from_what_is_left(loaded: Store) -> None:
    assert "old-model" in loaded.list_models() and "Cursor" not in loaded.list_clients()
    loaded.delete_before(CUT)
    assert loaded.list_models() == ["claude-opus-4-5"]
    session = next(s for s in loaded.list_sessions().sessions if s.id == "s")
    assert (session.threads, session.token_usage_summary.input_tokens, session.last_prompt) == (1, 10, "late")
    assert loaded.get_session_threads("s").threads[0].id == uid(4)


def test_nothing_older_changes_nothing(loaded: Store) -> None:
    before = snapshot(loaded)
    assert set(loaded.delete_before("2000-01-01T00:00:00Z").values()) == {0}
    assert snapshot(loaded) == before


@pytest.mark.parametrize("when", ["yesterday", "2026-01-01T00:00:00"])
def test_a_time_must_be_readable_and_have_a_zone(loaded: Store, when: str) -> None:
    with pytest.raises(StorageError):
        loaded.delete_before(when)


def test_prune_on_the_command_line_gives_the_space_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    noise = random.Random(3)
    pads = ["".join(noise.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=3000)) for _ in range(3000)]
    export_dir(tmp_path / "export", [interception(n, metadata=f'{{"pad": "{pads[n]}"}}') for n in range(1, 3000)])
    db = tmp_path / "p.duckdb"
    assert main(["--db", str(db), "import", "--quiet", str(tmp_path / "export")]) == 0
    full = _used_bytes(db)
    assert main(["--db", str(db), "prune", "--before", "2026-12-01T00:00:00Z"]) == 0
    assert "aibridge_interceptions" in capsys.readouterr().out
    assert _used_bytes(db) < full / 4
    with Store.open(db, read_only=True) as store:
        assert store.list_interceptions().count == 0 and store.list_sessions().count == 0


def _used_bytes(db: Path) -> int:
    """Bytes in the file's blocks that hold data (freed blocks are reused by later writes)."""
    with Store.open(db, read_only=True) as store:
        size, used = store.connection.execute(
            "SELECT block_size, used_blocks FROM pragma_database_size() WHERE database_name = current_database()"
        ).fetchone()
    return int(size) * int(used)


PRUNE = """
import sys
from aibridge_store import Store
with Store.open(sys.argv[1]) as store:
    print("open", flush=True)
    store.delete_before(sys.argv[2])
"""


@pytest.mark.slow
def test_a_prune_killed_at_any_moment_leaves_the_store_before_or_after(tmp_path: Path) -> None:
    rows = [interception(n, client_session_id=f"s{n % 40}", started_at=ts(n), ended_at=ts(n + 1)) for n in range(1, 20001)]
    export_dir(tmp_path / "export", rows, prompts=[prompt(n, n, seconds=0.5) for n in range(1, 20001, 7)])
    db = tmp_path / "k.duckdb"
    with Store.open(db) as store:
        store.import_path(tmp_path / "export")
        before = snapshot(store)
    cut = "2026-01-13T17:00:00Z"
    outcomes = set()
    for delay in [0.0, *sorted(random.Random(9).uniform(0.05, 1.5) for _ in range(7))]:
        with subprocess.Popen([sys.executable, "-c", PRUNE, str(db), cut], stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout is not None and child.stdout.readline().strip() == "open"
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
        with Store.open(db) as store:
            state = snapshot(store)
            assert stored_rollup(store) == expected_rollup(store)
            if state == before:
                outcomes.add("before")
            else:
                assert store.list_interceptions('started_before:"2026-01-13T16:59:59.999999Z"').count == 0
                outcomes.add("after")
                store.import_path(tmp_path / "export")  # back to the full store for the next run
                assert snapshot(store) == before
    assert "before" in outcomes
