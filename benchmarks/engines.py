"""The two engines side by side: the same imports and every read case on a DuckDB store and on a
SQLite store, in the same run, with the ratio SQLite / DuckDB.

    python benchmarks/engines.py --interceptions 1000000 [--repeat 7]

Imports: the seeded Parquet dataset into a new store (rows/s counts every row of every table the
import wrote), then an incremental import of another 1% into the full store. Each runs in a fresh
interpreter, its peak memory its own. Reads go through the public API (JSON models included), each
engine in a fresh interpreter of its own, every read cold (``store.refresh()`` before it: nothing
remembered); medians in ms (a read over 5 s is measured once).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from child import run_child  # noqa: E402
from run import DATA, dataset  # noqa: E402

_IMPORT = """
import json, sys, time
from aibridge_store import Store
started = time.perf_counter()
with Store.open(sys.argv[1]) as store:
    summary = store.import_path(sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - started, "rows": summary.inserted + summary.updated}))
"""

_READS = """
import json, statistics, sys, time
from aibridge_store import Actor, Store
repeat = int(sys.argv[2])
store = Store.open(sys.argv[1], read_only=True)
first = store.list_interceptions(limit=100)
user = first.results[0].initiator.id
session = store.list_sessions(limit=1).sessions[0].id
ten = ("provider:anthropic,openai -client:Cursor model:claude-* input_tokens:>100 output_tokens:10..100000 "
       "duration:>1s -is:byok has:prompt (tool:Bash OR tool:Read) started:2026-01-01..2026-12-31")
cases = {
    "interceptions page": lambda: store.list_interceptions(limit=100),
    "interceptions page, 10,000 deep": lambda: store.list_interceptions(limit=100, offset=10_000),
    "interceptions page after a cursor": lambda: store.list_interceptions(limit=100, after_id=first.results[-1].id),
    "one member's page": lambda: store.list_interceptions(limit=100, actor=Actor.member(user)),
    "provider:openai page": lambda: store.list_interceptions("provider:openai", limit=100),
    "10-term search page": lambda: store.list_interceptions(ten, limit=100),
    'prompt:"flaky" page': lambda: store.list_interceptions('prompt:"flaky"', limit=100),
    "sessions page": lambda: store.list_sessions(limit=100),
    "sessions page, model:claude-*": lambda: store.list_sessions("model:claude-*", limit=100),
    "a session's threads": lambda: store.get_session_threads(session),
    "models": lambda: store.list_models(),
    "clients": lambda: store.list_clients(),
}
found = {}
for name, read in cases.items():
    samples = []
    for _ in range(repeat):
        store.refresh()
        started = time.perf_counter()
        read()
        samples.append((time.perf_counter() - started) * 1000)
        if samples[0] > 5000:  # a read this slow is measured once
            break
    found[name] = statistics.median(samples)
started = time.perf_counter()
store.usage(by=["user", "model"], bucket="day")
found["usage report, first (SQLite: loads its mirror)"] = (time.perf_counter() - started) * 1000
started = time.perf_counter()
store.usage(by=["user", "model"], bucket="day")
found["usage report, again"] = (time.perf_counter() - started) * 1000
print(json.dumps(found))
"""

ENGINES = {"duckdb": "store.duckdb", "sqlite": "store.sqlite"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interceptions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    data = dataset(args.interceptions, "parquet", args.seed, args.data_dir)
    more = dataset(max(args.interceptions // 100, 10), "parquet", args.seed + 1, args.data_dir)
    imports: dict[str, dict[str, dict[str, float]]] = {}
    reads: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="aibridge-engines-") as tmp:
        for engine, name in ENGINES.items():
            path = str(Path(tmp) / name)
            imports[engine] = {"full": run_child(_IMPORT, path, str(data)),
                               "incremental 1%": run_child(_IMPORT, path, str(more))}
            imports[engine]["full"]["bytes"] = Path(path).stat().st_size
        for engine, name in ENGINES.items():
            reads[engine] = run_child(_READS, str(Path(tmp) / name), str(args.repeat))
    print(f"== imports of {args.interceptions:,} interceptions (Parquet), then 1% more into the full store")
    print(f"   {'import':<18}{'engine':<8}{'seconds':>9}{'rows':>12}{'rows/s':>11}{'peak MB':>9}{'x duckdb':>10}")
    for kind in ("full", "incremental 1%"):
        for engine in ENGINES:
            f = imports[engine][kind]
            ratio = f["seconds"] / imports["duckdb"][kind]["seconds"]
            print(f"   {kind:<18}{engine:<8}{f['seconds']:>9.1f}{f['rows']:>12,.0f}{f['rows'] / f['seconds']:>11,.0f}"
                  f"{f['peak_rss_mb']:>9.0f}{ratio:>10.2f}")
    print("   file sizes: " + ", ".join(f"{e} {imports[e]['full']['bytes'] / 2**20:,.0f} MiB" for e in ENGINES))
    print(f"\n== reads through the public API, cold, median of {args.repeat} (ms)")
    print(f"   {'read':<48}{'duckdb':>9}{'sqlite':>9}{'x duckdb':>10}")
    for name, duck in reads["duckdb"].items():
        if name == "peak_rss_mb":
            continue
        lite = reads["sqlite"][name]
        print(f"   {name:<48}{duck:>9.2f}{lite:>9.2f}{lite / duck:>10.2f}")
    if args.json:
        args.json.write_text(json.dumps({"imports": imports, "reads_ms": reads}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
