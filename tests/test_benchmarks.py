"""Smoke test: the benchmark runner runs end to end at a tiny size (timings are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmarks_run_at_tiny_size(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--interceptions", "400", "--repeat", "1",
         "--data-dir", str(tmp_path / "data"), "--json", str(tmp_path / "figures.json")],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    out = result.stdout
    for case in ("import parquet", "import csv", "first page", "filter client", "cursor page 3", "offset 5000",
                 "count", "sessions first page", "threads page", "models", "clients", "re-import",
                 "in-flight interceptions end", "late token usages"):
        assert case in out, case
    assert (tmp_path / "figures.json").read_text().count("median_ms") == 19
    assert "exact after all three                          yes" in out


def test_source_benchmarks_run_at_tiny_size(tmp_path: Path) -> None:
    import os

    from tests.helpers.postgres import server_url

    env = {**os.environ, "AIBRIDGE_TEST_POSTGRES": server_url()}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "sources.py"), "--interceptions", "300",
         "--data-dir", str(tmp_path / "data"), "--json", str(tmp_path / "figures.json")],
        capture_output=True, text=True, check=True, cwd=ROOT, env=env,
    )
    for case in ("coderd log import", "lines/s", "read_ndjson_objects", "live PostgreSQL import", "import_postgres",
                 "psql \\copy to CSV"):
        assert case in result.stdout, case
    figures = (tmp_path / "figures.json").read_text()
    assert '"lines_per_s"' in figures and '"csv_import_seconds"' in figures


def test_page_benchmarks_run_at_tiny_size(tmp_path: Path) -> None:
    import json
    import os

    from tests.helpers.postgres import server_url

    env = {**os.environ, "AIBRIDGE_TEST_POSTGRES": server_url()}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "pages.py"), "--interceptions", "300", "--repeat", "1",
         "--data-dir", str(tmp_path / "data"), "--json", str(tmp_path / "figures.json")],
        capture_output=True, text=True, check=True, cwd=ROOT, env=env,
    )
    figures = json.loads((tmp_path / "figures.json").read_text())
    for case in ("interceptions unfiltered: cold", "interceptions initiator: warm", "interceptions cursor page 3 (walk)",
                 "interceptions offset 5000: cold", "model_dump(mode='json') of a page", "cursor walk, 20 pages (total)",
                 "threads page (50, largest): cold", "thread walk, every page of 10 (total)",
                 'sessions client:"Claude Code": cold', "bare SELECT LIMIT 100 (initiator)",
                 "command line: interceptions", "command line: --help",
                 "postgres | interceptions client: cold", "postgres | threads page (50, largest): cold"):
        assert case in figures, case
        assert case.startswith("postgres") or case in result.stdout, case
    line = next(line for line in result.stdout.splitlines() if "interceptions client: cold" in line)
    assert len(line.split()) == 7  # the case (3 words), ours, spread, PostgreSQL, ratio


def test_report_benchmarks_run_at_tiny_size(tmp_path: Path) -> None:
    import json

    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "reports.py"), "--interceptions", "300", "--repeat", "1",
         "--data-dir", str(tmp_path / "data"), "--json", str(tmp_path / "figures.json")],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    figures = json.loads((tmp_path / "figures.json").read_text())
    for case in ("usage by user x day", "cost by model x day", "top tools", "user activity",
                 "top 20 sessions by tokens", "a query through the public views"):
        assert case in figures and f"baseline | {case}" in figures, case
        assert case in result.stdout, case


def test_search_benchmarks_run_at_tiny_size(tmp_path: Path) -> None:
    import json

    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "search.py"), "--interceptions", "300", "--repeat", "1",
         "--data-dir", str(tmp_path / "data"), "--json", str(tmp_path / "figures.json")],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    figures = json.loads((tmp_path / "figures.json").read_text())
    for case in ("page, unfiltered", "page, 10 terms (negation, globs, ranges, a group)",
                 'page, prompt:"flaky" (every prompt searched)', "usage report, 10 terms"):
        assert figures[case]["median_ms"] > 0, case
        assert case in result.stdout, case


def test_sqlite_copy_benchmark_runs_at_tiny_size(tmp_path: Path) -> None:
    import json

    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "sqlite_copy.py"), "--interceptions", "300", "--repeat", "1",
         "--data-dir", str(tmp_path / "data"), "--json", str(tmp_path / "figures.json")],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["median_s"]["sqlite copy"] > 0 and figures["median_s"]["parquet baseline"] > 0
    assert figures["rows"] > 300 and figures["bytes"] > 0
    assert "sqlite copy" in result.stdout and "x parquet" in result.stdout
    assert figures["reads_ms"]["interceptions page|sqlite copy"] > 0 and "x duckdb" in result.stdout


def test_engines_benchmark_runs_at_tiny_size(tmp_path: Path) -> None:
    import json

    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "engines.py"), "--interceptions", "300", "--repeat", "1",
         "--data-dir", str(tmp_path / "data"), "--json", str(tmp_path / "figures.json")],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    figures = json.loads((tmp_path / "figures.json").read_text())
    for engine in ("duckdb", "sqlite"):
        assert figures["imports"][engine]["full"]["rows"] > 300
        assert figures["imports"][engine]["incremental 1%"]["rows"] > 0
        assert figures["reads_ms"][engine]["interceptions page"] > 0
        assert figures["reads_ms"][engine]["a session's threads"] > 0
    assert figures["imports"]["duckdb"]["full"]["rows"] == figures["imports"]["sqlite"]["full"]["rows"]
    assert "x duckdb" in result.stdout and "sessions page" in result.stdout


def test_generator_is_deterministic(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.pop(0)
    a = generate.generate(tmp_path / "a", 300, seed=5)
    b = generate.generate(tmp_path / "b", 300, seed=5)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
