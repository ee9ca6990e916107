"""The extended search language at scale: pages and a report filtered by the new forms, beside
the same page unfiltered and the bare SQL page, in the same run.

    python benchmarks/search.py --interceptions 1000000 [--repeat 9]

The store is imported from the Parquet dataset. Every read is timed cold (``store.refresh()``
first: nothing remembered), in rounds, one sample of each case per round; medians and spreads in
milliseconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from aibridge_store import Store  # noqa: E402
from child import import_store  # noqa: E402
from pages import timed_rounds  # noqa: E402
from run import DATA, dataset  # noqa: E402

TEN_TERMS = ("(model:claude-* OR model:gpt-5*) -client:Unknown provider:anthropic,openai input_tokens:>1000 "
             "-initiator:user1 duration:>1s has:tool -model:*mini* output_tokens:..100000 cache_read_tokens:>=0")
QUERIES = {
    "page, unfiltered": "",
    "page, 10 terms (negation, globs, ranges, a group)": TEN_TERMS,
    'page, prompt:"flaky" (every prompt searched)': 'prompt:"flaky"',
    "page, model:claude-* -client:Unknown": "model:claude-* -client:Unknown",
    "page, has:tool_error started:>-3650d": "has:tool_error started:>-3650d",
}
BARE_PAGE = ("SELECT id, started_at FROM aibridge_interceptions WHERE ended_at IS NOT NULL "
             "ORDER BY started_at DESC, id DESC LIMIT 100")


def cases(store: Store) -> dict[str, Callable[[], float | None]]:
    def cold(call: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            store.refresh()
            call()
        return run

    found: dict[str, Callable[[], float | None]] = {
        name: cold(lambda q=q: store.list_interceptions(q, limit=100)) for name, q in QUERIES.items()
    }
    found["sessions page, unfiltered"] = cold(lambda: store.list_sessions(limit=100))
    found["sessions page, session.tokens:>1000000"] = cold(lambda: store.list_sessions("session.tokens:>1000000",
                                                                                        limit=100))
    found["sessions page, session.cost:>1 (every session priced)"] = cold(lambda: store.list_sessions(
        "session.cost:>1", limit=100))
    found["usage report, 10 terms"] = cold(lambda: store.usage(TEN_TERMS))
    found["usage report, unfiltered"] = cold(lambda: store.usage())
    found["bare SQL page (no children, no count)"] = lambda: store.sql(BARE_PAGE).fetchall() and None
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interceptions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    data = dataset(args.interceptions, "parquet", args.seed, args.data_dir)
    with tempfile.TemporaryDirectory(prefix="aibridge-search-") as tmp:
        db = Path(tmp) / "store.duckdb"
        seconds = import_store(str(db), str(data))
        print(f"== {args.interceptions:,} interceptions imported from Parquet in {seconds:.1f} s")
        with Store.open(db, read_only=True) as store:
            counts = {name: store.list_interceptions(q, limit=1).count for name, q in QUERIES.items()}
            report = timed_rounds(cases(store), args.repeat)
    bases = {"page": report["page, unfiltered"]["median_ms"],
             "sessions": report["sessions page, unfiltered"]["median_ms"],
             "usage": report["usage report, unfiltered"]["median_ms"]}
    print(f"\n== search, {args.interceptions:,} interceptions, cold, median of {args.repeat} rounds (ms)")
    print(f"   {'case':<56}{'median':>9}{'spread':>9}{'x unfiltered':>14}{'matches':>10}")
    for name, figures in report.items():
        matches = f"{counts[name]:,}" if name in counts else ""
        base = bases.get(name.split(" ")[0].rstrip(","), bases["page"])
        print(f"   {name:<56}{figures['median_ms']:>9.1f}{figures['spread_ms']:>9.1f}"
              f"{figures['median_ms'] / base:>14.2f}{matches:>10}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
