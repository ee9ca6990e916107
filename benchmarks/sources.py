"""Import benchmarks for the sources of issue #4: a coderd structured log, and a live PostgreSQL
database (conventions: benchmarks/README.md).

    python benchmarks/sources.py --interceptions 1000000 [--memory-limit 2GB] [--skip-postgres]

Log: the seeded dataset written as one coderd JSON log (``generate.py --format log``), imported in
a fresh child process into a fresh DuckDB file: lines/s and the child's peak RSS, beside DuckDB's
own ``read_ndjson_objects`` loading the same file into a bare table (no parsing of the records).

PostgreSQL: the same dataset's CSV files are loaded into a throwaway PostgreSQL cluster with
Coder's tables (``tests/pg.py``); then, each in a fresh child process, ``store.import_postgres``
beside the way without it: ``\\copy`` every table to CSV with psql and import the files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import generate  # noqa: E402
from child import run_child  # noqa: E402

DATA = HERE / "data"
TABLES = generate.TABLES


_IMPORT = """
import json, sys, time
from aibridge_store import Store
limit = sys.argv[3] or None
started = time.perf_counter()
with Store.open(sys.argv[1], memory_limit=limit) as store:
    if sys.argv[2].startswith("postgresql://"):
        summary = store.import_postgres(sys.argv[2])
    else:
        summary = store.import_path(*sys.argv[2].split(","))
elapsed = time.perf_counter() - started
lines = sum(r.passed_over.get("other log lines", 0) for r in summary.reports.values())
print(json.dumps({"seconds": elapsed, "rows": sum(c.rows for c in summary.tables.values()), "other_lines": lines}))
"""

_BARE_LOG = """
import json, sys, time, duckdb
started = time.perf_counter()
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE lines AS SELECT json FROM read_ndjson_objects(?)", [sys.argv[2]])
rows = con.execute("SELECT count(*) FROM lines").fetchone()[0]
con.close()
print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))
"""


def log_dataset(interceptions: int, seed: int, root: Path) -> Path:
    path = root / f"log-{interceptions}-seed{seed}" / "coderd.log"
    if not path.exists():
        shutil.rmtree(path.parent, ignore_errors=True)
        generate.generate(path.parent, interceptions, seed, "log")
    return path


def csv_dataset(interceptions: int, seed: int, root: Path) -> Path:
    path = root / f"csv-{interceptions}-seed{seed}"
    if not (path / "aibridge_interceptions.csv").exists():
        shutil.rmtree(path, ignore_errors=True)
        generate.generate(path, interceptions, seed, "csv")
    return path


def bench_log(log: Path, work: Path, memory_limit: str) -> dict[str, float]:
    with open(log, "rb") as f:
        lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b""))
    ours = run_child(_IMPORT, str(work / "log.duckdb"), str(log), "")
    limited = run_child(_IMPORT, str(work / "log-limited.duckdb"), str(log), memory_limit)
    bare = run_child(_BARE_LOG, str(work / "bare.duckdb"), str(log))
    return {
        "lines": lines,
        "megabytes": log.stat().st_size / 1e6,
        "rows": ours["rows"],
        "seconds": ours["seconds"],
        "lines_per_s": lines / ours["seconds"],
        "peak_rss_mb": ours["peak_rss_mb"],
        "limited_seconds": limited["seconds"],
        "limited_peak_rss_mb": limited["peak_rss_mb"],
        "baseline_seconds": bare["seconds"],
        "ratio": ours["seconds"] / bare["seconds"],
    }


def _psql(dsn: str, command: str) -> None:
    subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "-q", "-d", dsn, "-c", command], check=True)


def bench_postgres(data: Path, work: Path, memory_limit: str) -> dict[str, float]:
    import dev
    from tests.helpers.postgres import CODER_DDL, execute

    dsn = os.environ.get("AIBRIDGE_TEST_POSTGRES") or dev.postgres_for_tests().get("AIBRIDGE_TEST_POSTGRES")
    if dsn is None:
        raise SystemExit("AIBRIDGE_SKIP_POSTGRES=1 is set: run with --skip-postgres, or unset it")
    execute(dsn, "DROP DATABASE IF EXISTS aibridge_bench", "CREATE DATABASE aibridge_bench")
    parts = urlsplit(dsn)
    db = urlunsplit(parts._replace(path="/aibridge_bench"))
    execute(db, *[s for s in CODER_DDL.split(";") if s.strip()])
    started = time.perf_counter()
    for table in TABLES:
        header = (data / f"{table}.csv").open().readline().strip()
        _psql(db, f"\\copy {table} ({header}) FROM '{data / f'{table}.csv'}' WITH (FORMAT csv, HEADER)")
    _psql(db, "VACUUM ANALYZE")
    load = time.perf_counter() - started
    rows = sum(int(subprocess.run(["psql", "-tA", "-d", db, "-c", f"SELECT count(*) FROM {t}"],
                                  check=True, capture_output=True, text=True).stdout) for t in TABLES)
    direct = run_child(_IMPORT, str(work / "pg.duckdb"), db, memory_limit)
    exported = work / "exported"
    exported.mkdir()
    started = time.perf_counter()
    for table in TABLES:
        _psql(db, f"\\copy (SELECT * FROM {table}) TO '{exported / f'{table}.csv'}' WITH (FORMAT csv, HEADER)")
    export = time.perf_counter() - started
    via_csv = run_child(_IMPORT, str(work / "csv.duckdb"), str(exported), memory_limit)
    return {
        "rows": rows,
        "load_seconds": load,
        "seconds": direct["seconds"],
        "rows_per_s": rows / direct["seconds"],
        "peak_rss_mb": direct["peak_rss_mb"],
        "csv_export_seconds": export,
        "csv_import_seconds": via_csv["seconds"],
        "csv_peak_rss_mb": via_csv["peak_rss_mb"],
        "ratio": direct["seconds"] / (export + via_csv["seconds"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interceptions", type=int, nargs="+", default=[100_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--memory-limit", default="2GB", help="the second log run's DuckDB memory limit")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    report: dict[str, object] = {}
    for size in args.interceptions:
        with tempfile.TemporaryDirectory(prefix="aibridge-bench-") as tmp:
            work = Path(tmp)
            log = log_dataset(size, args.seed, args.data_dir)
            figures = bench_log(log, work, args.memory_limit)
            report[f"log {size}"] = figures
            print(f"\n== coderd log import, {size:,} interceptions ({figures['lines']:,} lines, "
                  f"{figures['megabytes']:,.0f} MB, {figures['rows']:,} rows)")
            print(f"   {figures['seconds']:.2f} s  {figures['lines_per_s']:,.0f} lines/s  peak RSS "
                  f"{figures['peak_rss_mb']:,.0f} MB  | memory limit {args.memory_limit}: "
                  f"{figures['limited_seconds']:.2f} s, peak RSS {figures['limited_peak_rss_mb']:,.0f} MB")
            print(f"   DuckDB read_ndjson_objects into a bare table {figures['baseline_seconds']:.2f} s  "
                  f"ratio {figures['ratio']:.2f}")
            if args.skip_postgres:
                continue
            pg = bench_postgres(csv_dataset(size, args.seed, args.data_dir), work, "")
            report[f"postgres {size}"] = pg
            print(f"\n== live PostgreSQL import, {size:,} interceptions ({pg['rows']:,} rows; loading the "
                  f"server took {pg['load_seconds']:.1f} s)")
            print(f"   import_postgres {pg['seconds']:.2f} s  {pg['rows_per_s']:,.0f} rows/s  peak RSS "
                  f"{pg['peak_rss_mb']:,.0f} MB")
            print(f"   psql \\copy to CSV {pg['csv_export_seconds']:.2f} s + import of the CSV files "
                  f"{pg['csv_import_seconds']:.2f} s = {pg['csv_export_seconds'] + pg['csv_import_seconds']:.2f} s  "
                  f"ratio {pg['ratio']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
