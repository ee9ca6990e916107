"""Idempotence, in-flight updates, dedupe, atomicity and error reporting of imports."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from aibridge_store import ImportDataError, Store
from tests.helpers.rows import (
    INTERCEPTION_COLUMNS,
    THOUGHT_COLUMNS,
    TOKEN_COLUMNS,
    export_dir,
    interception,
    prompt,
    snapshot,
    token,
    tool,
    ts,
    uid,
    write_csv,
)


def _counts(summary: object) -> dict[str, tuple[int, int, int]]:
    return {name: (c.inserted, c.updated, c.unchanged) for name, c in summary.tables.items()}  # type: ignore[attr-defined]


def _full_export(root: Path) -> Path:
    return export_dir(
        root,
        [interception(1), interception(2, ended_at=None), interception(3, thread_root_id=str(uid(1)))],
        tokens=[token(1, 1), token(2, 2)],
        prompts=[prompt(1, 1)],
        tools=[tool(1, 1)],
        thoughts=[{"interception_id": str(uid(1)), "content": "hmm", "metadata": "{}", "created_at": ts(12)}],
    )


def test_importing_the_same_export_twice_changes_nothing(tmp_path: Path, store: Store) -> None:
    export = _full_export(tmp_path / "export")
    first = store.import_path(export)
    assert _counts(first) == {
        "aibridge_interceptions": (3, 0, 0), "aibridge_token_usages": (2, 0, 0), "aibridge_user_prompts": (1, 0, 0),
        "aibridge_tool_usages": (1, 0, 0), "aibridge_model_thoughts": (1, 0, 0), "users": (2, 0, 0),
    }
    before = snapshot(store)
    second = store.import_path(export)
    assert _counts(second) == {
        "aibridge_interceptions": (0, 0, 3), "aibridge_token_usages": (0, 0, 2), "aibridge_user_prompts": (0, 0, 1),
        "aibridge_tool_usages": (0, 0, 1), "aibridge_model_thoughts": (0, 0, 1), "users": (0, 0, 2),
    }
    assert snapshot(store) == before


def test_an_interception_that_has_ended_since_updates_the_row(tmp_path: Path, store: Store) -> None:
    export_dir(tmp_path / "a", [interception(1, ended_at=None, model="m")])
    store.import_path(tmp_path / "a")
    assert store.list_interceptions().count == 0
    export_dir(tmp_path / "b", [interception(1, model="m")])
    summary = store.import_path(tmp_path / "b")
    assert _counts(summary)["aibridge_interceptions"] == (0, 1, 0)
    page = store.list_interceptions()
    assert page.count == 1 and page.results[0].ended_at is not None


def test_an_older_in_flight_copy_never_undoes_an_ended_row(tmp_path: Path, store: Store) -> None:
    export_dir(tmp_path / "a", [interception(1)])
    store.import_path(tmp_path / "a")
    export_dir(tmp_path / "b", [interception(1, ended_at=None)])
    assert _counts(store.import_path(tmp_path / "b"))["aibridge_interceptions"] == (0, 0, 1)
    assert store.list_interceptions().count == 1


def test_duplicates_inside_one_import_keep_the_ended_copy(tmp_path: Path, store: Store) -> None:
    write_csv(tmp_path / "aibridge_interceptions.csv", INTERCEPTION_COLUMNS,
              [interception(1, ended_at=None), interception(1), interception(1, ended_at=None)])
    summary = store.import_path(tmp_path)
    assert _counts(summary)["aibridge_interceptions"] == (1, 0, 0)
    assert summary.tables["aibridge_interceptions"].repeated == 2
    assert summary.notes == [
        f"{tmp_path / 'aibridge_interceptions.csv'}: 2 row(s) of aibridge_interceptions repeat the key of another "
        f"row of the same source with different content (first: {uid(1)}); one copy of each was kept"
    ]
    assert store.connection.execute("SELECT ended_at IS NOT NULL FROM aibridge_interceptions").fetchall() == [(True,)]


def test_children_dedupe_by_id(tmp_path: Path, store: Store) -> None:
    write_csv(tmp_path / "aibridge_token_usages.csv", TOKEN_COLUMNS,
              [token(1, 1), token(1, 1, input_tokens=99), token(2, 1)])
    summary = store.import_path(tmp_path)
    assert _counts(summary)["aibridge_token_usages"] == (2, 0, 0)
    assert (summary.tables["aibridge_token_usages"].repeated, summary.tables["aibridge_token_usages"].conflicting) == (1, 1)
    rows = store.connection.execute("SELECT input_tokens FROM aibridge_token_usages ORDER BY id").fetchall()
    assert rows == [(10,), (10,)]  # the first copy wins


def test_thoughts_dedupe_by_interception_time_and_content(tmp_path: Path, store: Store) -> None:
    thoughts = [
        {"interception_id": str(uid(1)), "content": "a", "metadata": "{}", "created_at": ts(1)},
        {"interception_id": str(uid(1)), "content": "a", "metadata": '{"x": 1}', "created_at": ts(1)},
        {"interception_id": str(uid(1)), "content": "b", "metadata": "{}", "created_at": ts(1)},
        {"interception_id": str(uid(1)), "content": "a", "metadata": "{}", "created_at": ts(2)},
    ]
    write_csv(tmp_path / "aibridge_model_thoughts.csv", THOUGHT_COLUMNS, thoughts)
    first = store.import_path(tmp_path)
    assert _counts(first)["aibridge_model_thoughts"] == (3, 0, 0)
    assert first.tables["aibridge_model_thoughts"].repeated == 1
    again = store.import_path(tmp_path)
    assert _counts(again)["aibridge_model_thoughts"] == (0, 0, 3)
    assert again.tables["aibridge_model_thoughts"].repeated == 1


def test_users_take_the_newer_copy(tmp_path: Path, store: Store) -> None:
    export_dir(tmp_path / "a", [])
    store.import_path(tmp_path / "a")
    from tests.helpers.rows import users_rows

    renamed = users_rows()
    renamed[0]["username"] = "alice2"
    export_dir(tmp_path / "b", [], users=renamed)
    assert _counts(store.import_path(tmp_path / "b"))["users"] == (0, 1, 1)


@pytest.mark.parametrize(
    ("override", "column", "reason"),
    [
        ({"started_at": "yesterday"}, "started_at", "cannot read 'yesterday' as a timestamp with time zone"),
        ({"id": "not-a-uuid"}, "id", "cannot read 'not-a-uuid' as a UUID"),
        ({"initiator_id": None}, "initiator_id", "a value is required"),
        ({"model": None}, "model", "a value is required"),
        ({"metadata": "{oops"}, "metadata", "cannot read '{oops' as JSON"),
        ({"credential_kind": "shared"}, "credential_kind", "must be one of centralized, byok, got 'shared'"),
        ({"credential_hint": "x" * 16}, "credential_hint", "is longer than 15 characters: '" + "x" * 16 + "'"),
        ({"ended_at": "2026-13-01 00:00:00+00"}, "ended_at", "cannot read '2026-13-01 00:00:00+00' as a timestamp with time zone"),
    ],
)
def test_a_bad_interception_row_names_file_row_column_and_keeps_nothing(
    tmp_path: Path, store: Store, override: dict[str, object], column: str, reason: str
) -> None:
    export_dir(tmp_path / "good", [interception(50)])
    store.import_path(tmp_path / "good")
    before = snapshot(store)
    rows = [interception(n) for n in range(1, 6)]
    rows[2].update(override)
    export = export_dir(tmp_path / "bad", rows, tokens=[token(1, 1)])
    with pytest.raises(ImportDataError) as caught:
        store.import_path(export)
    error = caught.value
    assert (error.source, error.row, error.column, error.reason) == (
        str(export / "aibridge_interceptions.csv"), 3, column, reason)
    assert str(error).startswith(f"{export / 'aibridge_interceptions.csv'}, row 3, column '{column}': ")
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("override", "column", "reason"),
    [
        ({"input_tokens": -1}, "input_tokens", "must not be negative, got -1"),
        ({"output_tokens": "1.5"}, "output_tokens", "cannot read '1.5' as a whole number"),
        ({"cache_read_input_tokens": "many"}, "cache_read_input_tokens", "cannot read 'many' as a whole number"),
    ],
)
def test_bad_token_counts(tmp_path: Path, store: Store, override: dict[str, object], column: str, reason: str) -> None:
    export = export_dir(tmp_path, [interception(1)], tokens=[token(1, 1), token(2, 1, **override)])
    with pytest.raises(ImportDataError) as caught:
        store.import_path(export)
    assert (caught.value.row, caught.value.column, caught.value.reason) == (2, column, reason)
    assert all(not rows for rows in snapshot(store).values())


def test_a_missing_required_column_is_named(tmp_path: Path, store: Store) -> None:
    columns = [c for c in INTERCEPTION_COLUMNS if c != "started_at"]
    write_csv(tmp_path / "aibridge_interceptions.csv", columns, [interception(1)])
    with pytest.raises(ImportDataError) as caught:
        store.import_path(tmp_path)
    assert caught.value.column == "started_at" and caught.value.row is None
    assert "required column is missing" in str(caught.value)


def test_a_bad_file_in_a_later_table_rolls_back_earlier_tables(tmp_path: Path, store: Store) -> None:
    export = export_dir(tmp_path, [interception(1)], tools=[tool(1, 1, injected="maybe")])
    with pytest.raises(ImportDataError) as caught:
        store.import_path(export)
    assert caught.value.column == "injected"
    assert all(not rows for rows in snapshot(store).values())


def test_orphan_children_are_kept_and_adopted_later(tmp_path: Path, store: Store) -> None:
    export_dir(tmp_path / "children", [], tokens=[token(1, 7)], prompts=[prompt(1, 7)], tools=[tool(1, 7)])
    store.import_path(tmp_path / "children")
    assert store.connection.execute("SELECT count(*) FROM aibridge_token_usages").fetchone() == (1,)
    export_dir(tmp_path / "parent", [interception(7)])
    store.import_path(tmp_path / "parent")
    result = store.list_interceptions().results[0]
    assert (len(result.token_usages), len(result.user_prompts), len(result.tool_usages)) == (1, 1, 1)


def test_import_arrow_accepts_tables_readers_and_c_streams(store: Store) -> None:
    rows = [interception(n) for n in range(1, 4)]
    table = pa.Table.from_pylist(rows)
    assert store.import_arrow("aibridge_interceptions", table).tables["aibridge_interceptions"].inserted == 3

    class Stream:
        def __init__(self, t: pa.Table) -> None:
            self.t = t

        def __arrow_c_stream__(self, requested_schema: object = None) -> object:
            return self.t.__arrow_c_stream__(requested_schema)

    more = pa.Table.from_pylist([interception(n) for n in range(4, 6)])
    assert store.import_arrow("aibridge_interceptions", Stream(more)).inserted == 2
    assert store.import_arrow("aibridge_interceptions", more.to_reader()).unchanged == 2
    assert store.list_interceptions().count == 5


def test_import_arrow_rejects_unknown_tables_and_objects(store: Store) -> None:
    with pytest.raises(ImportDataError, match="unknown table"):
        store.import_arrow("nope", pa.table({"a": [1]}))
    with pytest.raises(ImportDataError, match="expected a pyarrow.Table"):
        store.import_arrow("users", [1, 2, 3])


def test_arrow_column_of_an_impossible_type_is_named(store: Store) -> None:
    table = pa.Table.from_pylist([interception(1)]).set_column(4, "started_at", pa.array([1.5]))
    with pytest.raises(ImportDataError) as caught:
        store.import_arrow("aibridge_interceptions", table)
    assert caught.value.column == "started_at"


def test_a_file_that_is_not_a_table_export_is_refused(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ImportDataError, match="name it after its table"):
        store.import_path(path)


def test_a_directory_reports_files_it_passed_over(tmp_path: Path, store: Store) -> None:
    export_dir(tmp_path, [interception(1)])
    (tmp_path / "README.txt").write_text("hi")
    assert store.import_path(tmp_path).skipped == [str(tmp_path / "README.txt")]


def test_a_missing_path_is_our_error(tmp_path: Path, store: Store) -> None:
    with pytest.raises(ImportDataError, match="no such file"):
        store.import_path(tmp_path / "nope")


def test_progress_reaches_the_total(tmp_path: Path, store: Store) -> None:
    export = _full_export(tmp_path)
    seen: list[tuple[int, int]] = []
    store.import_path(export, progress=lambda done, total: seen.append((done, total)))
    total = sum(p.stat().st_size for p in export.iterdir())
    assert seen[-1] == (total, total)
    assert all(done <= total for done, _ in seen)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-13T15:50:20.790690781Z", "2026-01-13 15:50:20.790691+00"),  # PostgreSQL rounds up
        ("2026-01-13T15:50:20.790690499Z", "2026-01-13 15:50:20.79069+00"),
        ("2026-04-14T09:12:03.1234565+02:00", "2026-04-14 07:12:03.123456+00"),  # rint of the float: down
        ("2026-04-14T09:12:03.9999996Z", "2026-04-14 09:12:04+00"),  # carries into the second
        ("2026-01-13 15:50:20.790691+00", "2026-01-13 15:50:20.790691+00"),
        ("2026-04-14T09:12:03Z", "2026-04-14 09:12:03+00"),
        ("not a time.1234567", None),
    ],
)
def test_timestamps_round_to_the_microsecond_as_postgresql_does(text: str, expected: str | None) -> None:
    import duckdb

    from aibridge_store._load.staging import timestamp_sql

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    value = con.execute(f"SELECT CAST({timestamp_sql('$t')} AS VARCHAR)", {"t": text}).fetchone()[0]
    assert value == expected


def test_a_folder_lists_everything_it_passed_over_and_why_issue_9(tmp_path: Path, store: Store) -> None:
    import os

    export_dir(tmp_path, [interception(1)])
    (tmp_path / "nested").mkdir()
    (tmp_path / ".hidden.csv").write_text("x\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "aibridge_interceptions.csv")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "config.json").write_text('{"listen": ":8080", "debug": true}')
    (tmp_path / "empty.sql").write_text("-- a dump of another database\nSET client_encoding = 'UTF8';\n")
    summary = store.import_path(tmp_path)
    assert summary.inserted == 3  # the interception and two users
    assert {Path(p).name: reason.split(" (")[0] for p, reason in summary.passed_over.items()} == {
        ".hidden.csv": "a hidden file",
        "config.json": "neither a table export, a coderd log nor a saved API response",
        "link.csv": "a symbolic link",
        "nested": "a folder",
        "pipe": "not a regular file",
    }
    assert summary.notes == [f"{tmp_path / 'empty.sql'}: held no rows of an aibridge table"]


def test_an_unrelated_json_file_named_on_its_own_is_still_an_error(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"listen": ":8080"}')
    with pytest.raises(ImportDataError):
        store.import_path(path)
