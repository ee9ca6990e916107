"""``export-dataset``: the store as day-partitioned Parquet with a manifest, written again only
where days changed, each day's file replaced whole; DuckDB reads it back as the store's rows."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from aibridge_store import StorageError, Store
from aibridge_store.cli import main
from tests.helpers.dataset import dataset_rows, files_of
from tests.helpers.rows import export_dir, interception, prompt, token, ts


def _day(n: int, day: int) -> dict[str, str]:
    """Interception ``n``, started on January ``day`` 2026."""
    return interception(n, started_at=ts(n, f"2026-01-{day:02d} 10:00:00"), ended_at=ts(n + 5, f"2026-01-{day:02d} 10:00:00"))


def test_an_export_holds_every_table_by_day_with_a_manifest(store: Store, tmp_path: Path) -> None:
    rows = [_day(1, 3), _day(2, 3), _day(3, 4), interception(4, started_at="2026-01-05 23:30:00-05")]
    store.import_path(export_dir(tmp_path / "x", rows, tokens=[token(1, 1), token(2, 3)], prompts=[prompt(1, 2)]))
    done = store.export_dataset(tmp_path / "ds")
    assert done.days_written == ["2026-01-03", "2026-01-04", "2026-01-06"]  # 23:30 at UTC-5 is the 6th in UTC
    got = dataset_rows(tmp_path / "ds")
    assert [(r[0], r[-1]) for r in got["aibridge_interceptions"]] == [
        (rows[0]["id"], "2026-01-03"), (rows[1]["id"], "2026-01-03"), (rows[2]["id"], "2026-01-04"),
        (rows[3]["id"], "2026-01-06")]
    assert {r[-1] for r in got["aibridge_token_usages"]} == {"2026-01-03", "2026-01-04"}  # their interception's day
    assert len(got["aibridge_session_rollup"]) == 4 and len(got["users"]) == 2
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["rows"]["aibridge_interceptions"] == 4 and manifest["rows"]["aibridge_user_prompts"] == 1
    assert manifest["time_range"] == {"first_started_at": "2026-01-03T10:00:01Z",
                                      "last_started_at": "2026-01-06T04:30:00Z"}
    assert manifest["schema_version"] == store.schema_version
    # DuckDB reads the layout as Hive partitions; ids are text, instants UTC timestamps.
    count = duckdb.sql(f"SELECT count(*), min(day) FROM read_parquet('{tmp_path}/ds/aibridge_interceptions/*/*.parquet', "
                       "hive_partitioning = true)").fetchall()
    assert [(c, str(d)) for c, d in count] == [(4, "2026-01-03")]


def test_a_later_export_rewrites_only_the_days_that_changed(store: Store, tmp_path: Path) -> None:
    store.import_path(export_dir(tmp_path / "a", [_day(1, 3), _day(2, 4), _day(3, 5)]))
    store.export_dataset(tmp_path / "ds")
    before = files_of(tmp_path / "ds")
    again = store.export_dataset(tmp_path / "ds")
    assert (again.days_written, again.days_unchanged, again.tables_written) == ([], 3, [])
    assert files_of(tmp_path / "ds") == before
    store.import_path(export_dir(tmp_path / "b", [_day(4, 4)], tokens=[token(1, 4)]))
    later = store.export_dataset(tmp_path / "ds")
    assert later.days_written == ["2026-01-04"] and later.days_unchanged == 2
    after = files_of(tmp_path / "ds")
    day3 = "aibridge_interceptions/day=2026-01-03/data.parquet"
    day4 = "aibridge_interceptions/day=2026-01-04/data.parquet"
    assert after[day3] == before[day3] and after[day4] != before[day4]
    assert "aibridge_token_usages/day=2026-01-04/data.parquet" in after
    store.delete_before("2026-01-04T00:00:00Z")
    pruned = store.export_dataset(tmp_path / "ds")
    assert pruned.days_removed == ["2026-01-03"]
    assert not (tmp_path / "ds" / "aibridge_interceptions" / "day=2026-01-03").exists()
    assert len(dataset_rows(tmp_path / "ds")["aibridge_interceptions"]) == 3


def test_a_day_file_that_went_missing_is_written_again(store: Store, tmp_path: Path) -> None:
    store.import_path(export_dir(tmp_path / "a", [_day(1, 3), _day(2, 4)]))
    store.export_dataset(tmp_path / "ds")
    (tmp_path / "ds" / "aibridge_interceptions" / "day=2026-01-04" / "data.parquet").unlink()
    assert store.export_dataset(tmp_path / "ds").days_written == ["2026-01-04"]
    assert len(dataset_rows(tmp_path / "ds")["aibridge_interceptions"]) == 2


def test_a_folder_with_a_foreign_manifest_is_refused(store: Store, tmp_path: Path) -> None:
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "manifest.json").write_text('{"something": "else"}')
    with pytest.raises(StorageError, match="not an aibridge_store dataset manifest"):
        store.export_dataset(tmp_path / "ds")


def test_the_command_line_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.duckdb"
    assert main(["--db", str(db), "import", str(export_dir(tmp_path / "x", [_day(1, 3), _day(2, 4)]))]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "export-dataset", str(tmp_path / "ds")]) == 0
    assert "2 day(s) written, 0 removed, 0 unchanged; 2 interceptions" in capsys.readouterr().out
    assert main(["--db", str(db), "export-dataset", str(tmp_path / "ds")]) == 0
    assert "0 day(s) written, 0 removed, 2 unchanged" in capsys.readouterr().out


def _json(answer: object) -> str:
    dump = getattr(answer, "model_dump_json", None)
    return dump() if dump is not None else repr(answer)


def test_duckdb_answers_reads_and_reports_from_the_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [_day(1, 3), _day(2, 3), _day(3, 4), interception(4, client_session_id="s-9", started_at=ts(0, "2026-01-05"))]
    tokens = [token(1, 1), token(2, 3, input_tokens=500)]
    with Store.open() as store:
        store.import_path(export_dir(tmp_path / "x", rows, tokens=tokens, prompts=[prompt(1, 2, "fix the flaky test")]))
        store.export_dataset(tmp_path / "ds")
        with Store.open_dataset(tmp_path / "ds") as lake, Store.open(tmp_path / "ds") as same:
            assert lake.read_only and same.read_only
            for read in (lambda s: s.list_interceptions('prompt:"flaky"'), lambda s: s.list_interceptions(limit=2),
                         lambda s: s.list_sessions(), lambda s: s.get_session_threads("s-9"),
                         lambda s: s.list_models(), lambda s: s.list_clients()):
                assert _json(read(lake)) == _json(read(store))
                assert _json(read(same)) == _json(read(lake))
            report = [s.usage(by=["user"], bucket="day").to_arrow().to_pylist() for s in (store, lake)]
            assert report[0] == report[1] and len(report[0]) == 3
            assert lake.sql("SELECT count(*) FROM interceptions").fetchall() == [(4,)]
    assert main(["--db", str(tmp_path / "ds"), "sessions", "--json"]) == 0
    assert '"count": 4' in capsys.readouterr().out
