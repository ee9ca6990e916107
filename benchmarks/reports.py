"""Reports and the SQL surface, each beside plain DuckDB SQL over the same tables in the same run.

    python benchmarks/reports.py --interceptions 1000000 [--repeat 5]

The store is imported from the Parquet dataset. Cases run in rounds (one sample of each per round,
after a warm-up round); medians and spreads in milliseconds. Baselines: hand-written DuckDB SQL
that computes the report's main figures straight from the tables (no query language, no actor
scope, no prices), and, for the public views, the same query on the tables behind them.
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
from pages import timed_rounds, whole  # noqa: E402
from run import DATA, dataset  # noqa: E402

_TOKENS_PER_INTERCEPTION = """
    SELECT interception_id AS id, sum(input_tokens) AS i, sum(output_tokens) AS o,
           sum(cache_read_input_tokens) AS r, sum(cache_write_input_tokens) AS w
    FROM aibridge_token_usages GROUP BY 1"""

BASELINES = {
    "usage by user x day": f"""
        WITH t AS ({_TOKENS_PER_INTERCEPTION})
        SELECT i.initiator_id, date_trunc('day', i.started_at) AS day, count(*), sum(t.i), sum(t.o), sum(t.r), sum(t.w)
        FROM aibridge_interceptions i LEFT JOIN t USING (id) GROUP BY ALL""",
    "cost by model x day": """
        SELECT i.model, date_trunc('day', t.created_at) AS day, sum(t.input_tokens * 0.000003
               + t.output_tokens * 0.000015 + t.cache_read_input_tokens * 0.0000003
               + t.cache_write_input_tokens * 0.00000375)
        FROM aibridge_token_usages t JOIN aibridge_interceptions i ON i.id = t.interception_id GROUP BY ALL""",
    "top tools": """
        SELECT tool, COALESCE(server_url, ''), count(*), count(*) FILTER (WHERE invocation_error <> '')
        FROM aibridge_tool_usages GROUP BY ALL ORDER BY 3 DESC""",
    "user activity": f"""
        WITH t AS ({_TOKENS_PER_INTERCEPTION})
        SELECT i.initiator_id, min(i.started_at), max(i.started_at), count(DISTINCT CAST(i.started_at AS DATE)),
               count(*), sum(t.i), sum(t.o)
        FROM aibridge_interceptions i LEFT JOIN t USING (id) GROUP BY ALL""",
    "top 20 sessions by tokens": f"""
        WITH t AS ({_TOKENS_PER_INTERCEPTION})
        SELECT i.session_id, i.initiator_id, sum(t.i + t.o + t.r + t.w) AS tokens
        FROM aibridge_interceptions i LEFT JOIN t USING (id) GROUP BY ALL ORDER BY tokens DESC LIMIT 20""",
}

VIEW_QUERY = ("SELECT model, count(*) FILTER (WHERE NOT in_flight), avg(duration_us) FROM interceptions "
              "GROUP BY ALL ORDER BY 2 DESC")
TABLE_QUERY = ("SELECT model, count(*) FILTER (WHERE ended_at IS NOT NULL), "
               "avg(epoch_us(ended_at) - epoch_us(started_at)) FROM aibridge_interceptions "
               "GROUP BY ALL ORDER BY 2 DESC")


def cases(store: Store, page: Path) -> dict[str, tuple[Callable[[], float | None], Callable[[], float | None]]]:
    """Each case: (ours, its baseline). The HTML report's baseline is the plain SQL of the five
    reports above, one after the other (the page shows more than that)."""
    con = store.connection
    ours: dict[str, Callable[[], object]] = {
        "usage by user x day": lambda: store.usage(by=["user"], bucket="day"),
        "cost by model x day": lambda: store.cost(by=["model"], bucket="day"),
        "top tools": lambda: store.tools(),
        "user activity": lambda: store.user_activity(),
        "top 20 sessions by tokens": lambda: store.top_sessions(limit=20),
    }
    found = {name: (whole(fn), whole(lambda sql=BASELINES[name]: con.execute(sql).fetchall()))
             for name, fn in ours.items()}
    found["the HTML report"] = (
        whole(lambda: store.html_report(page)),
        whole(lambda: [con.execute(sql).fetchall() for sql in BASELINES.values()]))
    # Both through store.sql(), so that the ratio is the views' own cost.
    found["a query through the public views"] = (
        whole(lambda: store.sql(VIEW_QUERY).fetchall()), whole(lambda: store.sql(TABLE_QUERY).fetchall()))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interceptions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    data = dataset(args.interceptions, "parquet", args.seed, args.data_dir)
    with tempfile.TemporaryDirectory(prefix="aibridge-reports-") as tmp:
        db = Path(tmp) / "store.duckdb"
        seconds = import_store(str(db), str(data))
        print(f"== {args.interceptions:,} interceptions imported from Parquet in {seconds:.1f} s")
        with Store.open(db, read_only=True) as store:
            pairs = cases(store, Path(tmp) / "report.html")
            flat = {**{name: pair[0] for name, pair in pairs.items()},
                    **{f"baseline | {name}": pair[1] for name, pair in pairs.items()}}
            report = timed_rounds(flat, args.repeat)
    print(f"\n== reports, {args.interceptions:,} interceptions, median of {args.repeat} rounds (ms)")
    print(f"   {'case':<36}{'ours':>10}{'spread':>9}{'plain SQL':>11}{'ratio':>8}")
    for name in pairs:
        ours, base = report[name], report[f"baseline | {name}"]
        print(f"   {name:<36}{ours['median_ms']:>10.1f}{ours['spread_ms']:>9.1f}{base['median_ms']:>11.1f}"
              f"{ours['median_ms'] / base['median_ms']:>8.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
