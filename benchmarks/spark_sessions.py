"""Sessions on Spark: from the rollup written with the dataset, or computed at query time.

    python3 benchmarks/spark_sessions.py DATASET [DATASET ...] [--repeat 3]

For each dataset (``export-dataset`` or ``import_sources``): the first sessions page through
``SparkStore.list_sessions`` (the rollup), beside the same 100 sessions computed at query time
from the interceptions, token usages and prompts by the rollup's own Spark SQL, newest activity
first. Both on the same Spark session (``local[2]``), median of ``--repeat`` after a warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from aibridge_store.spark import SparkStore, rollup_sql  # noqa: E402
from scale import spark_session  # noqa: E402


def _median(fn: Callable[[], object], repeat: int) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def measure(spark: Any, path: Path, repeat: int) -> tuple[int, float, float]:
    """(interceptions, rollup page seconds, computed page seconds) of one dataset."""
    store = SparkStore(spark, path)
    query = (f"SELECT * FROM ({rollup_sql()}) ORDER BY last_active_at DESC, session_id DESC, initiator_id DESC "
             "LIMIT 100")
    page = _median(lambda: store.list_sessions(limit=100), repeat)
    computed = _median(lambda: store.sql(query).collect(), repeat)
    return int(store.manifest["rows"]["aibridge_interceptions"]), page, computed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", type=Path, nargs="+")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spark-memory", default="8g")
    args = parser.parse_args()
    spark = spark_session(args.spark_memory)
    print("| dataset | interceptions | rollup page | computed at query time | x rollup |")
    print("|---|---|---|---|---|")
    for path in args.datasets:
        rows, page, computed = measure(spark, path, args.repeat)
        print(f"| {path.name} | {rows:,} | {page * 1000:.0f} ms | {computed * 1000:.0f} ms | {computed / page:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
