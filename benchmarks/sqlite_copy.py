"""A SQLite copy of a whole store (``Store.copy_to_sqlite``) beside DuckDB writing the same tables
to Parquet, in the same run; then the same point reads in SQL on the store and on the copy.

    python benchmarks/sqlite_copy.py --interceptions 1000000 [--repeat 3]

The store is imported from the Parquet dataset. Each round writes the SQLite copy and the Parquet
baseline once, each in a fresh interpreter (its peak memory is its own); medians in seconds. The
reads are the bare SQL of the read paths (no JSON, no Python models), warm, to show what each
engine's layout gives them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from child import import_store, run_child  # noqa: E402
from run import DATA, dataset  # noqa: E402

_COPY = """
import json, sys, time
from aibridge_store import Store
started = time.perf_counter()
with Store.open(sys.argv[1], read_only=True) as store:
    written = store.copy_to_sqlite(sys.argv[2], replace=True)
print(json.dumps({"seconds": time.perf_counter() - started, "rows": sum(written.values())}))
"""

_PARQUET = """
import json, sys, time, duckdb
started = time.perf_counter()
con = duckdb.connect(sys.argv[1], read_only=True)
tables = "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
for (name,) in con.execute(tables).fetchall():
    con.execute(f'COPY "{name}" TO \\'{sys.argv[2]}-{name}.parquet\\' (FORMAT parquet)')
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


_READS = """
import json, sqlite3, statistics, sys, time, duckdb
stores = {"duckdb store": duckdb.connect(sys.argv[1], read_only=True),
          "sqlite copy": sqlite3.connect(f"file:{sys.argv[2]}?mode=ro", uri=True)}
lite = stores["sqlite copy"]
page = ("SELECT * FROM aibridge_interceptions WHERE ended_at IS NOT NULL "
        "ORDER BY started_at DESC, id DESC LIMIT 100")
ids = [row[0] for row in lite.execute(page)]
marks = ", ".join("?" for _ in ids)
user = lite.execute("SELECT initiator_id FROM aibridge_interceptions LIMIT 1").fetchone()[0]
session = list(lite.execute("SELECT session_id, initiator_id FROM aibridge_session_rollup "
                            "ORDER BY threads DESC LIMIT 1").fetchone())
cases = {
    "interceptions page": (page, []),
    "a page 10,000 rows deep": (page + " OFFSET 10000", []),
    "one user's page": (page.replace("WHERE", "WHERE initiator_id = ? AND"), [user]),
    "the page's child rows (4 tables)": (" UNION ALL ".join(
        f"SELECT interception_id, created_at FROM {t} WHERE interception_id IN ({marks})"
        for t in ("aibridge_token_usages", "aibridge_user_prompts", "aibridge_tool_usages",
                  "aibridge_model_thoughts")), ids * 4),
    "sessions page": ("SELECT * FROM aibridge_session_rollup "
                      "ORDER BY last_active_at DESC, session_id DESC, initiator_id DESC LIMIT 100", []),
    "a session's interceptions": ("SELECT * FROM aibridge_interceptions WHERE session_id = ? AND initiator_id = ? "
                                  "ORDER BY started_at, id", session),
    "count from the counts table": ("SELECT sum(interceptions) FROM aibridge_interception_counts", []),
}
found = {}
for name, (sql, params) in cases.items():
    for engine, con in stores.items():
        samples = []
        for _ in range(15):
            started = time.perf_counter()
            con.execute(sql, params).fetchall()
            samples.append((time.perf_counter() - started) * 1000)
        found[f"{name}|{engine}"] = statistics.median(samples)
print(json.dumps(found))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interceptions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    data = dataset(args.interceptions, "parquet", args.seed, args.data_dir)
    figures: dict[str, list[dict[str, float]]] = {"sqlite copy": [], "parquet baseline": []}
    with tempfile.TemporaryDirectory(prefix="aibridge-sqlite-") as tmp:
        db = Path(tmp) / "store.duckdb"
        seconds = import_store(str(db), str(data))
        print(f"== {args.interceptions:,} interceptions imported from Parquet in {seconds:.1f} s")
        for _ in range(args.repeat):
            figures["sqlite copy"].append(run_child(_COPY, str(db), str(Path(tmp) / "copy.sqlite")))
            figures["parquet baseline"].append(run_child(_PARQUET, str(db), str(Path(tmp) / "baseline")))
        size = (Path(tmp) / "copy.sqlite").stat().st_size
        reads = run_child(_READS, str(db), str(Path(tmp) / "copy.sqlite"))
    rows = figures["sqlite copy"][0]["rows"]
    median = {name: statistics.median(f["seconds"] for f in runs) for name, runs in figures.items()}
    peak = {name: max(f["peak_rss_mb"] for f in runs) for name, runs in figures.items()}
    print(f"\n== copy of {args.interceptions:,} interceptions ({rows:,} rows in all), median of {args.repeat} (s)")
    print(f"   {'case':<22}{'seconds':>9}{'rows/s':>12}{'peak MB':>9}{'x parquet':>11}")
    for name in figures:
        print(f"   {name:<22}{median[name]:>9.1f}{rows / median[name]:>12,.0f}{peak[name]:>9.0f}"
              f"{median[name] / median['parquet baseline']:>11.2f}")
    print(f"   SQLite file: {size / 2**20:,.0f} MiB")
    print("\n== the same SQL on the DuckDB store and on the SQLite copy, warm, median of 15 (ms)")
    print(f"   {'read':<36}{'duckdb':>9}{'sqlite':>9}{'x duckdb':>10}")
    for key in [k for k in reads if k.endswith("|duckdb store")]:
        name = key.split("|")[0]
        duck, lite = reads[key], reads[f"{name}|sqlite copy"]
        print(f"   {name:<36}{duck:>9.2f}{lite:>9.2f}{lite / duck:>10.2f}")
    if args.json:
        args.json.write_text(json.dumps({"median_s": median, "peak_mb": peak, "rows": rows, "bytes": size,
                                         "reads_ms": {k: v for k, v in reads.items() if k != "peak_rss_mb"}},
                                        indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
