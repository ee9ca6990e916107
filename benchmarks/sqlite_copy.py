"""A SQLite copy of a whole store (``Store.copy_to_sqlite``) beside DuckDB writing the same tables
to Parquet, in the same run.

    python benchmarks/sqlite_copy.py --interceptions 1000000 [--repeat 3]

The store is imported from the Parquet dataset. Each round writes the SQLite copy and the Parquet
baseline once, each in a fresh interpreter (its peak memory is its own); medians in seconds.
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
    rows = figures["sqlite copy"][0]["rows"]
    median = {name: statistics.median(f["seconds"] for f in runs) for name, runs in figures.items()}
    peak = {name: max(f["peak_rss_mb"] for f in runs) for name, runs in figures.items()}
    print(f"\n== copy of {args.interceptions:,} interceptions ({rows:,} rows in all), median of {args.repeat} (s)")
    print(f"   {'case':<22}{'seconds':>9}{'rows/s':>12}{'peak MB':>9}{'x parquet':>11}")
    for name in figures:
        print(f"   {name:<22}{median[name]:>9.1f}{rows / median[name]:>12,.0f}{peak[name]:>9.0f}"
              f"{median[name] / median['parquet baseline']:>11.2f}")
    print(f"   SQLite file: {size / 2**20:,.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps({"median_s": median, "peak_mb": peak, "rows": rows, "bytes": size}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
