"""Scaling: the same generated data at several sizes on three engines (README, "Scale out").

    python3 dev.py bench-scale --interceptions 100000 1000000 10000000 [--spark-import-max 1000000]

For each size: the seeded table exports (Parquet, cached under benchmarks/data/) are imported
into a new DuckDB store in a fresh interpreter (the baseline of every row), the store is written
as a dataset with ``export_dataset``, and Spark (``local[2]``) imports the same exports into a
dataset of its own with ``aibridge_store.spark.import_sources`` (up to ``--spark-import-max``;
above it Spark reads the exported dataset). Then the first sessions page and a usage report by
user and day are timed on the DuckDB store, on DuckDB over the dataset (``Store.open_dataset``) and
on Spark (``SparkStore``): the median of ``--repeat`` runs after one warm-up, cold on the store
(``refresh()`` first). Printed: every figure, its ratio to the DuckDB store's, and the growth per
10x of data.
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
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from aibridge_store import Store  # noqa: E402
from aibridge_store.spark import SparkStore, import_sources  # noqa: E402
from child import import_store  # noqa: E402
from run import DATA, dataset  # noqa: E402

ENGINES = ("duckdb store", "duckdb over dataset", "spark local[2]")
OPERATIONS = ("import", "sessions page", "usage by user and day")


def spark_session(memory: str) -> Any:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]").appName("aibridge_store scale")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", memory).config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def _median_seconds(fn: Callable[[], object], repeat: int, before: Callable[[], None] = lambda: None) -> float:
    before()
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        before()
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _reads(reader: Any, repeat: int, before: Callable[[], None] = lambda: None) -> dict[str, float]:
    return {
        "sessions page": _median_seconds(lambda: reader.list_sessions(limit=100), repeat, before),
        "usage by user and day": _median_seconds(
            lambda: reader.usage(by=["user"], bucket="day").to_arrow(), repeat, before),
    }


def measure(n: int, seed: int, spark: Any, work: Path, spark_import: bool, repeat: int,
            data_dir: Path = DATA) -> dict[str, Any]:
    data = dataset(n, "parquet", seed, data_dir)
    db = work / f"scale-{n}.duckdb"
    lake, spark_lake = work / f"dataset-{n}", work / f"spark-dataset-{n}"
    for path in (lake, spark_lake):
        shutil.rmtree(path, ignore_errors=True)
    db.unlink(missing_ok=True)
    figures: dict[str, dict[str, float | None]] = {engine: {} for engine in ENGINES}
    figures["duckdb store"]["import"] = import_store(str(db), str(data))
    with Store.open(db) as store:
        started = time.perf_counter()
        store.export_dataset(lake)
        exported = time.perf_counter() - started
        rows = store.sql("SELECT count(*) FROM interceptions").fetchall()[0][0]
    figures["duckdb over dataset"]["import"] = figures["duckdb store"]["import"] + exported  # type: ignore[operator]
    with Store.open(db, read_only=True) as store:
        figures["duckdb store"].update(_reads(store, repeat, store.refresh))
    with Store.open_dataset(lake) as over:
        figures["duckdb over dataset"].update(_reads(over, repeat, over.refresh))
    if spark_import:
        started = time.perf_counter()
        import_sources(spark, [data], spark_lake)
        figures["spark local[2]"]["import"] = time.perf_counter() - started
    else:
        figures["spark local[2]"]["import"] = None
    figures["spark local[2]"].update(_reads(SparkStore(spark, spark_lake if spark_import else lake), repeat))
    size = sum(p.stat().st_size for p in lake.rglob("*.parquet"))
    return {"interceptions": rows, "export_seconds": exported, "dataset_mb": size / 2**20, "figures": figures}


def _cell(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else (f"{value:.1f} s" if value < 100 else f"{value:.0f} s")


def table(results: list[dict[str, Any]]) -> str:
    """The figures of every size, with the ratio to the DuckDB store and the growth per 10x."""
    lines = ["| operation | engine | " + " | ".join(f"{r['interceptions']:,}" for r in results)
             + " | x DuckDB store | growth per 10x |", "|---|---|" + "---|" * (len(results) + 2)]
    for operation in OPERATIONS:
        for engine in ENGINES:
            values = [r["figures"][engine].get(operation) for r in results]
            base = results[-1]["figures"]["duckdb store"].get(operation)
            last = values[-1]
            ratio = f"{last / base:.1f}" if last is not None and base else "-"
            growth = [f"{b / a:.1f}" for a, b in zip(values, values[1:], strict=False) if a and b]
            lines.append(f"| {operation} | {engine} | " + " | ".join(_cell(v) for v in values)
                         + f" | {ratio} | {', '.join(growth) or '-'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None, spark: Any = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interceptions", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--spark-import-max", type=int, default=1_000_000,
                        help="the largest size Spark imports itself (above it, Spark reads the exported dataset)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spark-memory", default="8g")
    parser.add_argument("--work", type=Path, default=None, help="where stores and datasets go (a temporary folder)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--data-dir", type=Path, default=DATA, help="where the generated exports are cached")
    args = parser.parse_args(argv)
    spark = spark or spark_session(args.spark_memory)
    work = args.work or Path(tempfile.mkdtemp(prefix="aibridge-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.interceptions:
        result = measure(n, args.seed, spark, work, n <= args.spark_import_max, args.repeat, args.data_dir)
        results.append(result)
        print(f"{n:,} interceptions: dataset {result['dataset_mb']:.0f} MiB, export {result['export_seconds']:.1f} s; "
              + json.dumps(result["figures"]), flush=True)
    print(table(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return results


if __name__ == "__main__":
    main()
