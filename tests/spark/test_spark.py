"""Spark imports and reads give exactly what the embedded store gives, on cases shared with the
embedded tests: the log-order scenario (tests/ingest/test_log_order.py), shuffled, repeated and
split across files and imports; the generated exports and logs and the queries of
tests/engines/test_both_engines.py."""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aibridge_store import Actor, ImportDataError, Store
from aibridge_store._dataset import columns as columns_of
from aibridge_store.spark import SparkStore, import_sources
from tests.engines.test_both_engines import QUERIES
from tests.helpers.dataset import BASE_TABLES, dataset_rows, files_of
from tests.helpers.generated import ROOT
from tests.helpers.rows import export_dir, interception
from tests.ingest.test_log_order import scenario, write

pytestmark = pytest.mark.slow  # a JVM and about three minutes: CI runs them, a plain `pytest` does not


def _generate(folder: Path, n: int, seed: int, fmt: str) -> Path:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.pop(0)
    return generate.generate(folder, n, seed=seed, fmt=fmt)[0].parent


@pytest.fixture(scope="module")
def both(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, SparkStore, Path, Path]]:
    """Generated table exports and a coderd log, imported by the embedded store (then exported)
    and by Spark, each into a dataset."""
    folder = tmp_path_factory.mktemp("spark")
    first = _generate(folder / "first", 600, 11, "parquet")
    second = _generate(folder / "second", 300, 12, "log")
    with Store.open() as store:
        store.import_path(first)
        store.import_path(second)
        store.export_dataset(folder / "embedded")
        done = import_sources(spark, [first, second], folder / "spark")
        assert done.rows["aibridge_interceptions"] == 900
        yield store, SparkStore(spark, folder / "spark"), folder / "embedded", folder / "spark"


def test_a_spark_import_of_exports_and_logs_equals_the_embedded_import(both: tuple[Store, SparkStore, Path, Path]) -> None:
    _, _, embedded, spark_made = both
    expected, got = dataset_rows(embedded), dataset_rows(spark_made)
    for table in expected:
        assert got[table] == expected[table], table
    assert all(expected[t] for t in BASE_TABLES)
    manifests = [json.loads((root / "manifest.json").read_text()) for root in (embedded, spark_made)]
    for key in ("rows", "time_range", "days", "tables_fingerprint", "schema_version"):
        assert manifests[0][key] == manifests[1][key], key


def test_shuffled_repeated_and_split_logs_give_the_embedded_store(spark: Any, tmp_path: Path) -> None:
    lines = list(scenario())
    pick = random.Random(20261201)
    shuffled = pick.sample(lines, len(lines))
    for line in pick.sample(lines, 8):
        shuffled.insert(pick.randrange(len(shuffled) + 1), line)
    third = len(shuffled) // 3
    a = write(tmp_path / "a.log", shuffled[:third])
    b = write(tmp_path / "b.log", shuffled[third:2 * third])
    c = write(tmp_path / "c.log", shuffled[2 * third:])
    import_sources(spark, [a, b], tmp_path / "spark")
    second = import_sources(spark, [c], tmp_path / "spark")  # a later import merges with what is stored
    assert second.staged_rows["aibridge_interceptions"] > 0
    ordered = tmp_path / "ordered"
    ordered.mkdir()
    with Store.open() as store:  # the embedded store imports the lines once, in order
        store.import_path(write(ordered / "coderd.log", lines))
        store.export_dataset(tmp_path / "embedded")
    expected, got = dataset_rows(tmp_path / "embedded"), dataset_rows(tmp_path / "spark")
    for table in expected:
        assert got[table] == expected[table], table
    assert len(expected["aibridge_interceptions"]) == 7 and len(expected["aibridge_log_pending_ends"]) == 1
    assert expected["aibridge_log_lineage"]  # the gateway's records without thread ids were linked


def _same(both: tuple[Store, SparkStore, Path, Path], read: Callable[[Any], Any]) -> Any:
    expected, got = read(both[0]), read(both[1])
    as_json = (lambda v: v.model_dump_json()) if hasattr(expected, "model_dump_json") else repr
    assert as_json(got) == as_json(expected)
    return expected


@pytest.mark.parametrize("q", QUERIES[:3])
def test_interception_pages_on_spark(both: tuple[Store, SparkStore, Path, Path], q: str) -> None:
    first = _same(both, lambda s: s.list_interceptions(q, limit=30))
    assert first.count > 0
    if first.results:
        after = first.results[-1].id
        _same(both, lambda s: s.list_interceptions(q, limit=30, after_id=after))


@pytest.mark.parametrize("q", ["", "session.threads:>1"])
def test_session_pages_and_threads_on_spark(both: tuple[Store, SparkStore, Path, Path], q: str) -> None:
    page = _same(both, lambda s: s.list_sessions(q, limit=40))
    assert page.sessions
    _same(both, lambda s: s.list_sessions(q, limit=40, **page.next_cursor))
    session = page.sessions[len(page.sessions) // 2].id
    threads = _same(both, lambda s: s.get_session_threads(session, limit=2))
    if threads.threads:
        _same(both, lambda s: s.get_session_threads(session, limit=2, after_id=threads.threads[-1].id))


def test_catalog_and_a_members_reads_on_spark(both: tuple[Store, SparkStore, Path, Path], spark: Any) -> None:
    _same(both, lambda s: s.list_models())
    _same(both, lambda s: s.list_clients(limit=3, offset=1))
    user = both[0].list_interceptions(limit=1).results[0].initiator.id
    _same(both, lambda s: s.list_interceptions(limit=20, actor=Actor.member(user)))
    # Our statements run with their own settings; the session keeps its own.
    assert spark.conf.get("spark.sql.session.timeZone") == "America/New_York"
    assert spark.conf.get("spark.sql.ansi.doubleQuotedIdentifiers") == "false"


def test_usage_and_cost_reports_on_spark(both: tuple[Store, SparkStore, Path, Path]) -> None:
    def report(s: Any) -> Any:
        return s.usage("-client:Cursor", by=["user", "model"], bucket="day").to_arrow().to_pylist()

    rows = _same(both, report)
    assert rows and any(r["cost_usd"] is not None for r in rows)
    _same(both, lambda s: s.usage(by=["session"], bucket="week", tz="Europe/Paris").to_arrow().to_pylist())
    _same(both, lambda s: s.cost(by=["provider"], since="2026-01-15").to_arrow().to_pylist())


def test_the_rollup_read_equals_the_rollup_computed_at_query_time(both: tuple[Store, SparkStore, Path, Path]) -> None:
    from aibridge_store.spark import rollup_sql

    spark_store = both[1]
    columns = [c for c, _ in columns_of()["aibridge_session_rollup"]]
    computed = spark_store.sql(f"SELECT {', '.join(columns)} FROM ({rollup_sql()})").collect()
    stored = spark_store.sql(f"SELECT {', '.join(columns)} FROM aibridge_session_rollup").collect()
    assert sorted(map(tuple, computed), key=repr) == sorted(map(tuple, stored), key=repr) and len(stored) > 100


def test_the_scaling_benchmark_runs_at_tiny_size(spark: Any, tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import scale
    finally:
        sys.path.pop(0)
    results = scale.main(["--interceptions", "200", "--repeat", "1", "--spark-import-max", "0",
                          "--data-dir", str(tmp_path / "data"), "--work", str(tmp_path / "work")], spark=spark)
    figures = results[0]["figures"]
    assert results[0]["interceptions"] == 200 and figures["spark local[2]"]["import"] is None
    assert all(figures[engine][operation] is not None and figures[engine][operation] > 0
               for engine in ("duckdb store", "duckdb over dataset", "spark local[2]")
               for operation in ("sessions page", "usage by user and day"))
    assert "| usage by user and day | spark local[2] |" in scale.table(results)


def test_a_bad_row_is_named_and_the_dataset_is_left_as_it_was(spark: Any, tmp_path: Path) -> None:
    good = export_dir(tmp_path / "good", [interception(1), interception(2)])
    import_sources(spark, [good], tmp_path / "ds")
    before = (files_of(tmp_path / "ds"), (tmp_path / "ds" / "manifest.json").read_bytes())
    bad = export_dir(tmp_path / "bad", [interception(3), interception(4, started_at="yesterday")])
    with pytest.raises(ImportDataError) as raised:
        import_sources(spark, [bad], tmp_path / "ds")
    assert raised.value.row == 2 and raised.value.column == "started_at"
    assert "aibridge_interceptions" in raised.value.source and "'yesterday'" in str(raised.value)
    assert (files_of(tmp_path / "ds"), (tmp_path / "ds" / "manifest.json").read_bytes()) == before
    assert not [p for p in (tmp_path / "ds").iterdir() if p.name.startswith(".")]  # no staging left behind
