"""Import and read benchmarks for aibridge_store (conventions: benchmarks/README.md).

    python benchmarks/run.py --interceptions 100000 1000000 [--repeat 7] [--formats parquet csv]

For each size: generate (or reuse) the seeded dataset, import it into a fresh DuckDB file in a
child process (rows/s and peak RSS), then time ``list_interceptions`` cases: median and spread of
``--repeat`` runs after one warm-up. Every figure is printed beside a baseline measured in the same
run: DuckDB's own reader loading the same files into bare tables (import), and the same page as a
bare SQL query without children or models (reads).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
from aibridge_store import Store  # noqa: E402
from child import run_child  # noqa: E402

DATA = HERE / "data"


def dataset(interceptions: int, fmt: str, seed: int, root: Path = DATA) -> Path:
    path = root / f"{fmt}-{interceptions}-seed{seed}"
    if not (path / "aibridge_interceptions").with_suffix(f".{fmt}").exists():
        shutil.rmtree(path, ignore_errors=True)
        generate.generate(path, interceptions, seed, fmt)
    return path


_IMPORT = """
import json, sys, time
from aibridge_store import Store
started = time.perf_counter()
with Store.open(sys.argv[1]) as store:
    summary = store.import_path(sys.argv[2])
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "rows": sum(c.rows for c in summary.tables.values())}))
"""

_BASELINE = """
import json, sys, time, duckdb, pathlib
started = time.perf_counter()
con = duckdb.connect(sys.argv[1])
rows = 0
for path in sorted(pathlib.Path(sys.argv[2]).iterdir()):
    table = path.name.split(".")[0]
    reader = "read_parquet('%s')" % path if path.suffix == ".parquet" else \\
        "read_csv('%s', header=true, all_varchar=true, allow_quoted_nulls=false)" % path
    con.execute("CREATE TABLE %s AS SELECT * FROM %s" % (table, reader))
    rows += con.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
con.close()
print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))
"""


def bench_import(data: Path, work: Path, repeat: int) -> dict[str, float]:
    runs, base = [], []
    for i in range(repeat):
        for db in work.glob("*.duckdb*"):
            db.unlink()
        runs.append(run_child(_IMPORT, str(work / f"ours-{i}.duckdb"), str(data)))
        base.append(run_child(_BASELINE, str(work / f"base-{i}.duckdb"), str(data)))
    ours = statistics.median(r["seconds"] for r in runs)
    baseline = statistics.median(r["seconds"] for r in base)
    return {
        "seconds": ours,
        "rows": runs[0]["rows"],
        "rows_per_s": runs[0]["rows"] / ours,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "baseline_seconds": baseline,
        "ratio": ours / baseline,
    }


def _time(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), (max(samples) - min(samples))


def read_cases(store: Store) -> dict[str, Callable[[], object]]:
    con = store.connection
    first = store.list_interceptions(limit=100)
    third_cursor = store.list_interceptions(limit=100, after_id=first.results[-1].id).results[-1].id
    sample = first.results[0]
    username = con.execute("SELECT username FROM users WHERE NOT deleted ORDER BY username LIMIT 1").fetchone()[0]
    middle = con.execute("SELECT started_at FROM aibridge_interceptions ORDER BY started_at LIMIT 1 OFFSET "
                         "(SELECT count(*) // 2 FROM aibridge_interceptions)").fetchone()[0]
    moment = middle.strftime("%Y-%m-%dT%H:%M:%SZ")
    filters = {
        "initiator": f"initiator:{username}",
        "provider": f"provider:{sample.provider}",
        "provider_name": f"provider_name:{sample.provider_name}",
        "model": f'model:"{sample.model}"',
        "client": 'client:"Claude Code"',
        "started_after": f'started_after:"{moment}"',
        "started_before": f'started_before:"{moment}"',
    }
    cases: dict[str, Callable[[], object]] = {"first page": lambda: store.list_interceptions(limit=100)}
    for name, q in filters.items():
        cases[f"filter {name}"] = lambda q=q: store.list_interceptions(q, limit=100)
    cases["cursor page 3"] = lambda: store.list_interceptions(limit=100, after_id=third_cursor)
    cases["offset 5000"] = lambda: store.list_interceptions(limit=100, offset=5000)

    cases["count (page of 1)"] = lambda: store.list_interceptions(limit=1).count
    return cases


def session_cases(store: Store) -> dict[str, Callable[[], object]]:
    con = store.connection
    size = max(1, min(100, store.list_sessions(limit=1).count // 3))  # tiny datasets still have a page 3
    first = store.list_sessions(limit=size)
    third_cursor = store.list_sessions(limit=size, after_session_id=first.sessions[-1].id).sessions[-1].id
    model = con.execute(
        "SELECT model FROM aibridge_interceptions GROUP BY ALL ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    largest = con.execute("SELECT session_id FROM aibridge_session_rollup ORDER BY threads DESC LIMIT 1").fetchone()[0]
    return {
        "sessions first page": lambda: store.list_sessions(limit=100),
        "sessions cursor page 3": lambda: store.list_sessions(limit=size, after_session_id=third_cursor),
        "sessions count": lambda: store.list_sessions(limit=1).count,
        'sessions client:"Claude Code"': lambda: store.list_sessions('client:"Claude Code"', limit=100),
        f'sessions model:"{model}"': lambda: store.list_sessions(f'model:"{model}"', limit=100),
        "threads page (50, largest)": lambda: store.get_session_threads(largest, limit=50),
        "models": lambda: store.list_models(),
        "clients": lambda: store.list_clients(),
    }


_ROLLUP_TOTALS = """
SELECT count(*), sum(threads), sum(input_tokens), sum(output_tokens), sum(cache_read_input_tokens),
       min(started_at), max(ended_at), max(last_active_at)
FROM aibridge_session_rollup
"""
_RECOMPUTED_TOTALS = """
WITH ended AS (SELECT * FROM aibridge_interceptions WHERE ended_at IS NOT NULL),
tokens AS (SELECT sum(t.input_tokens) AS i, sum(t.output_tokens) AS o, sum(t.cache_read_input_tokens) AS c
           FROM aibridge_token_usages t JOIN ended e ON e.id = t.interception_id),
prompts AS (SELECT interception_id, max(created_at) AS newest FROM aibridge_user_prompts GROUP BY 1),
sessions AS (SELECT e.session_id, e.initiator_id, COALESCE(max(p.newest), min(e.started_at)) AS active
             FROM ended e LEFT JOIN prompts p ON p.interception_id = e.id GROUP BY ALL)
SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM ended WHERE thread_root_id IS NULL),
       tokens.i, tokens.o, tokens.c, (SELECT min(started_at) FROM ended), (SELECT max(ended_at) FROM ended),
       (SELECT max(active) FROM sessions)
FROM tokens
"""


def bench_incremental(db: Path, data: Path) -> dict[str, float]:
    """Imports that change a loaded store: a re-import, in-flight interceptions ending, late
    children. Each is checked to leave the session rollup equal to a rebuild."""
    import pyarrow as pa

    figures: dict[str, float] = {}
    with Store.open(db) as store:
        con = store.connection

        def exact() -> bool:
            return con.execute(_ROLLUP_TOTALS).fetchall() == con.execute(_RECOMPUTED_TOTALS).fetchall()

        started = time.perf_counter()
        store.import_path(data)
        figures["re-import (unchanged)"] = time.perf_counter() - started
        ending = con.sql(
            "SELECT * EXCLUDE (session_id, last_prompt_at) REPLACE (started_at + INTERVAL 90 SECOND AS ended_at) "
            "FROM aibridge_interceptions WHERE ended_at IS NULL"
        ).to_arrow_table()
        started = time.perf_counter()
        store.import_arrow("aibridge_interceptions", ending)
        figures[f"{ending.num_rows:,} in-flight interceptions end"] = time.perf_counter() - started
        late = con.sql(
            "SELECT md5('late' || id)::UUID AS id, id AS interception_id, 'msg_late' AS provider_response_id, "
            "7 AS input_tokens, 3 AS output_tokens, '{}' AS metadata, ended_at AS created_at "
            "FROM aibridge_interceptions WHERE ended_at IS NOT NULL USING SAMPLE 10000 ROWS"
        ).to_arrow_table()
        started = time.perf_counter()
        store.import_arrow("aibridge_token_usages", pa.Table.from_batches(late.to_batches(), late.schema))
        figures[f"{late.num_rows:,} late token usages"] = time.perf_counter() - started
        figures["exact after all three"] = float(exact())
    return figures


_BARE_PAGE = (
    'SELECT * FROM aibridge_interceptions WHERE ended_at IS NOT NULL ORDER BY started_at DESC, id DESC LIMIT 100'
)


def bench_reads(db: Path, repeat: int) -> dict[str, dict[str, float]]:
    results = {}
    with Store.open(db, read_only=True) as store:
        baseline, _ = _time(lambda: store.connection.execute(_BARE_PAGE).fetchall(), repeat)
        for name, fn in {**read_cases(store), **session_cases(store)}.items():
            median, spread = _time(fn, repeat)
            results[name] = {
                "median_ms": median,
                "spread_ms": spread,
                "baseline_ms": baseline,
                "ratio": median / baseline,
            }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interceptions", type=int, nargs="+", default=[100_000])
    parser.add_argument("--formats", nargs="+", default=["parquet", "csv"], choices=["parquet", "csv", "jsonl"])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--import-repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--data-dir", type=Path, default=DATA, help="where generated datasets are kept")
    args = parser.parse_args(argv)
    report: dict[str, object] = {"cpus": os.cpu_count()}
    for size in args.interceptions:
        with tempfile.TemporaryDirectory(prefix="aibridge-bench-") as tmp:
            work = Path(tmp)
            for fmt in args.formats:
                data = dataset(size, fmt, args.seed, args.data_dir)
                figures = bench_import(data, work, args.import_repeat)
                report[f"import {fmt} {size}"] = figures
                print(
                    f"\n== import {fmt}, {size:,} interceptions ({figures['rows']:,.0f} rows in all tables, "
                    f"{sum(p.stat().st_size for p in data.iterdir()) / 1e6:,.0f} MB)"
                )
                print(
                    f"   {figures['seconds']:.2f} s  {figures['rows_per_s']:,.0f} rows/s  peak RSS "
                    f"{figures['peak_rss_mb']:,.0f} MB  | DuckDB bare load {figures['baseline_seconds']:.2f} s  "
                    f"ratio {figures['ratio']:.2f}"
                )
            db = next(work.glob("ours-*.duckdb"))
            reads_report = bench_reads(db, args.repeat)
            report[f"reads {size}"] = reads_report
            print(f"\n== reads, {size:,} interceptions, median of {args.repeat} after a warm-up (ms)")
            print(f"   {'case':<32}{'median ms':>10}{'spread ms':>11}{'bare SQL ms':>12}{'ratio':>7}")
            for name, r in reads_report.items():
                print(
                    f"   {name:<32}{r['median_ms']:>10.2f}{r['spread_ms']:>11.2f}{r['baseline_ms']:>12.2f}"
                    f"{r['ratio']:>7.1f}"
                )
            incremental = bench_incremental(db, dataset(size, args.formats[0], args.seed, args.data_dir))
            report[f"incremental {size}"] = incremental
            print(f"\n== incremental imports into the {size:,}-interception store (seconds)")
            for name, value in incremental.items():
                shown = ("yes" if value else "NO") if name.startswith("exact") else f"{value:.2f} s"
                print(f"   {name:<40}{shown:>10}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
