"""Everything the store accepts it can read back: values that would poison every page holding
their row are refused at import with file, row and column, and the store is left as it was
(issue 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from aibridge_store import ImportDataError, Store
from tests.helpers.rows import INTERCEPTION_COLUMNS, export_dir, interception, prompt, snapshot, write_csv


def _deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


@pytest.mark.parametrize(
    ("overrides", "column", "reason"),
    [
        ({"started_at": "infinity"}, "started_at", "is outside the years 1 to 9999 that the store can read back: 'infinity'"),
        ({"started_at": "99999-01-01 00:00:00+00"}, "started_at", "is outside the years 1 to 9999 that the store can read back"),
        ({"ended_at": "-infinity"}, "ended_at", "is outside the years 1 to 9999 that the store can read back: '-infinity'"),
        ({"started_at": "0001-01-01 00:00:00+01"}, "started_at", "is outside the years 1 to 9999"),
        ({"model": "gpt\x00-5"}, "model", "holds a NUL character, which PostgreSQL refuses in text"),
        ({"metadata": '{"a": "x\\u0000y"}'}, "metadata", "holds a NUL character (\\u0000), which PostgreSQL refuses in JSON"),
        ({"metadata": _deep(65)}, "metadata", "nests deeper than 64 levels"),
        ({"metadata": _deep(100_000)}, "metadata", "nests deeper than 64 levels"),
    ],
)
def test_unreadable_values_are_refused_and_nothing_changes(
    tmp_path: Path, overrides: dict[str, str], column: str, reason: str
) -> None:
    with Store.open() as store:
        store.import_path(export_dir(tmp_path / "ok", [interception(1)]))
        before = snapshot(store)
        rows = [interception(2), interception(3, **overrides)]
        path = write_csv(tmp_path / "aibridge_interceptions.csv", INTERCEPTION_COLUMNS, rows)
        with pytest.raises(ImportDataError) as caught:
            store.import_path(path)
        assert (caught.value.row, caught.value.column) == (2, column)
        assert reason in caught.value.reason
        assert snapshot(store) == before


def test_the_deepest_accepted_json_reads_back_everywhere(tmp_path: Path) -> None:
    deep = _deep(64)
    with Store.open() as store:
        store.import_path(export_dir(tmp_path, [interception(1, metadata=deep, client_session_id="s")],
                                     prompts=[prompt(1, 1, metadata=deep)]))
        page = store.list_interceptions()
        assert json.dumps(page.results[0].metadata, separators=(",", ":")) == deep
        assert store.list_sessions().sessions[0].metadata == page.results[0].metadata
        assert store.get_session_threads("s").threads[0].prompt == "hello"


def test_year_one_and_year_9999_read_back(store: Store) -> None:
    rows = [interception(1, started_at="0001-01-01 00:00:00+00", ended_at="0001-01-01 00:00:01+00"),
            interception(2, started_at="9999-12-31 23:59:59.999999+00", ended_at="9999-12-31 23:59:59.999999+00")]
    store.import_arrow("aibridge_interceptions", pa.Table.from_pylist(rows))
    body = store.list_interceptions().model_dump(mode="json")
    assert [r["started_at"] for r in body["results"]] == ["9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00Z"]


def test_the_checks_still_run_after_a_failed_import(store: Store) -> None:
    bad = pa.Table.from_pylist([interception(1, started_at="bad")])
    deep = pa.Table.from_pylist([interception(2, metadata=_deep(65))])
    for _ in range(2):
        with pytest.raises(ImportDataError, match="cannot read 'bad'"):
            store.import_arrow("aibridge_interceptions", bad)
        with pytest.raises(ImportDataError, match="nests deeper than 64 levels"):
            store.import_arrow("aibridge_interceptions", deep)
    store.import_arrow("aibridge_interceptions", pa.Table.from_pylist([interception(3)]))
    assert store.list_interceptions().count == 1
