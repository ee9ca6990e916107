"""Property: any order, duplication and split of a log's lines across files and imports gives the
same store as importing them all at once, in order (docs/imports.md, "Copies and merging")."""

from __future__ import annotations

import functools
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aibridge_store import Store
from tests.helpers.logrecords import end, envelope, other_line, prompt, start, thought, token, tool
from tests.helpers.rollup import expected_rollup, stored_rollup
from tests.helpers.rows import USER_A, USER_B, uid

STATE_TABLES = (
    "aibridge_interceptions", "aibridge_token_usages", "aibridge_user_prompts", "aibridge_tool_usages",
    "aibridge_model_thoughts", "aibridge_session_rollup", "aibridge_catalog", "aibridge_log_pending_ends",
    "aibridge_log_lineage",
)


def both(fields_g2: dict[str, Any], fields_g3: dict[str, Any]) -> list[str]:
    """The same record from coderd's enriched emitter and from the gateway: ``structured-logging-source=both``."""
    return [envelope(fields_g2, gen=2), envelope(fields_g3, gen=3)]


@functools.cache
def scenario() -> tuple[str, ...]:
    lines: list[str] = [other_line(0)]
    # Session 1, both emitters: a root and the child answering its tool call.
    r, c = uid(1), uid(2)
    lines += both(start(r, 0, session="s-1"), start(r, 0, gen=3, session="s-1"))
    lines += both(prompt(r, "m1", 0.1, "first\nprompt"), prompt(r, "m1", 0.1, "first\nprompt"))
    lines += both(token(r, "m1", 1, 10, 8, cache_write=50, nanos=781), token(r, "m1", 1, 10, 8, gen=3, cache_write=50, nanos=781))
    lines += both(token(r, "m1", 2, 0, 130), token(r, "m1", 2, 0, 130, gen=3))
    lines += both(tool(r, "m1", 2.5, call_id="toolu_r"), tool(r, "m1", 2.5, gen=3, call_id="toolu_r"))
    lines += [envelope(thought(r, 2.4, "look first"))]
    lines += both(end(r, 3), end(r, 3))
    lines += both(
        start(c, 4, session="s-1", parent=r, root=r, correlating="toolu_r"),
        start(c, 4, gen=3, session="s-1", correlating="toolu_r"),
    )
    lines += both(token(c, "m2", 5, 3, 4, cache_read=2), token(c, "m2", 5, 3, 4, gen=3, cache_read=2))
    lines += both(end(c, 6), end(c, 6))
    # Session 2, gateway only (no thread ids): a chain a -> b -> d rebuilt from tool call ids.
    a, b, d = uid(3), uid(4), uid(5)
    lines += [
        envelope(start(a, 10, gen=3, initiator=USER_B, client="Codex"), gen=3),
        envelope(tool(a, "r1", 11, gen=3, call_id="call_a"), gen=3),
        envelope(token(a, "r1", 11, 100, 10, gen=3), gen=3),
        envelope(end(a, 12), gen=3),
        envelope(start(b, 13, gen=3, initiator=USER_B, client="Codex", correlating="call_a"), gen=3),
        envelope(tool(b, "r2", 14, gen=3, call_id="call_b"), gen=3),
        envelope(prompt(b, "r2", 13.5, "go on"), gen=3),
        envelope(end(b, 15), gen=3),
        envelope(start(d, 16, gen=3, initiator=USER_B, client="Codex", correlating="call_b"), gen=3),
        envelope(token(d, "r3", 17, 7, 7, gen=3), gen=3),
        envelope(end(d, 18), gen=3),
    ]
    # The first emitter: no client, no cache fields (derived from metadata).
    g = uid(6)
    lines += [
        envelope(start(g, 20, gen=1), gen=1),
        envelope(token(g, "chatcmpl-1", 21, 2412, 187, gen=1, metadata={"prompt_cached": 1920}), gen=1),
        envelope(end(g, 22), gen=1),
    ]
    # In flight (no end), an end without a start, children without a start.
    lines += [
        envelope(start(uid(7), 30)),
        envelope(token(uid(7), "m7", 31, 1, 1)),
        envelope(end(uid(8), 40)),
        envelope(token(uid(9), "m9", 41, 5, 5)),
        envelope(thought(uid(9), 41.5, "orphan thought")),
        other_line(1),
    ]
    return tuple(lines)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def state(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    con = store.connection
    result = {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in STATE_TABLES}
    result["stored rollup"] = stored_rollup(store)
    result["recomputed rollup"] = expected_rollup(store)
    return result


@functools.cache
def ordered_state() -> dict[str, list[tuple[Any, ...]]]:
    with tempfile.TemporaryDirectory() as tmp, Store.open() as store:
        store.import_path(write(Path(tmp) / "coderd.log", list(scenario())))
        return state(store)


def test_the_ordered_import_is_what_coder_would_hold() -> None:
    expected = ordered_state()
    assert len(expected["aibridge_interceptions"]) == 7
    assert len(expected["aibridge_token_usages"]) == 8
    assert expected["stored rollup"] == expected["recomputed rollup"]
    assert len(expected["aibridge_session_rollup"]) == 3  # s-1, the chain's root a, and g
    assert expected["aibridge_log_pending_ends"] == [(uid(8), datetime(2026, 4, 14, 9, 12, 43, tzinfo=UTC))]
    with Store.open() as store:
        with tempfile.TemporaryDirectory() as tmp:
            store.import_path(write(Path(tmp) / "coderd.log", list(scenario())))
        chain = store.connection.execute(
            "SELECT id, thread_parent_id, thread_root_id, session_id FROM aibridge_interceptions "
            "WHERE initiator_id = ? ORDER BY started_at", [USER_B]
        ).fetchall()
        assert chain == [(uid(3), None, None, str(uid(3))), (uid(4), uid(3), uid(3), str(uid(3))),
                         (uid(5), uid(4), uid(3), str(uid(3)))]
        assert store.connection.execute(
            "SELECT record_origin, thread_root_id FROM aibridge_interceptions WHERE id = ?", [uid(2)]
        ).fetchone() == (1, uid(1))
        sessions = {s.id: s for s in store.list_sessions(actor=None).sessions}
        assert sessions["s-1"].token_usage_summary.output_tokens == 8 + 130 + 4
        assert sessions["s-1"].token_usage_summary.cache_write_input_tokens == 50
        assert {str(s.initiator.id) for s in sessions.values()} == {str(USER_A), str(USER_B)}
        assert sessions[str(uid(3))].threads == 1


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_order_duplication_and_split_gives_the_same_store(data: st.DataObject) -> None:
    lines = list(scenario())
    order = data.draw(st.permutations(range(len(lines))), label="order")
    shuffled = [lines[i] for i in order]
    repeats = data.draw(st.lists(st.integers(0, len(lines) - 1), max_size=8), label="repeated lines")
    for i in repeats:
        at = data.draw(st.integers(0, len(shuffled)), label="repeat position")
        shuffled.insert(at, lines[i])
    imports = data.draw(st.integers(1, 4), label="imports")
    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), min_size=imports - 1, max_size=imports - 1),
                            label="cuts"))
    pieces = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    with tempfile.TemporaryDirectory() as tmp, Store.open() as store:
        for n, piece in enumerate(pieces):
            files = data.draw(st.integers(1, 2), label="files in this import")
            half = len(piece) // 2 if files == 2 else len(piece)
            folder = Path(tmp) / f"import-{n}"
            folder.mkdir()
            write(folder / "a.log", piece[:half] or [other_line(9)])
            if files == 2:
                write(folder / "b.log", piece[half:] or [other_line(9)])
            store.import_path(folder)
        assert state(store) == ordered_state()
