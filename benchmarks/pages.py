"""Point reads side by side: the pages people click through, against their baselines.

    python benchmarks/pages.py --interceptions 1000000 [--repeat 9] [--skip-postgres]

One store is imported from the CSV dataset; with PostgreSQL (the throwaway cluster of
``dev.py test``, or ``AIBRIDGE_TEST_POSTGRES``) the same CSV files are loaded into Coder's tables
with the indexes Coder has for these reads, and each page is also answered there by the
endpoint's queries as Coder runs them (count, page, then the page's children).

Every case is timed in rounds, one sample of each case per round, so that a slow spell of the
machine touches all cases alike; the median and the spread (max - min) are printed. Our reads are
timed cold (``store.refresh()`` first: nothing remembered) and warm (a repeat of the same call);
a cursor page is timed at the end of a walk from a cold first page, as a user pages. Baselines in
the same run: the bare ``SELECT ... ORDER BY ... LIMIT 100`` without children in DuckDB, and
PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from aibridge_store import Store  # noqa: E402
from child import import_store  # noqa: E402
from run import DATA, dataset  # noqa: E402

TABLES = ("users", "aibridge_interceptions", "aibridge_token_usages", "aibridge_user_prompts",
          "aibridge_tool_usages", "aibridge_model_thoughts")

# Coder's indexes for these reads, and one on the listing order so that PostgreSQL's page is an
# index scan rather than a sort of every row (a baseline at its best).
CODER_INDEXES = (
    "CREATE INDEX ON aibridge_interceptions (started_at DESC, id DESC) WHERE ended_at IS NOT NULL",
    "CREATE INDEX ON aibridge_interceptions (session_id) WHERE ended_at IS NOT NULL",
    "CREATE INDEX ON aibridge_interceptions (initiator_id, started_at DESC, id DESC) WHERE ended_at IS NOT NULL",
    "CREATE INDEX ON aibridge_interceptions (thread_root_id)",
    "CREATE INDEX ON aibridge_interceptions (client)",
    "CREATE INDEX ON aibridge_user_prompts (interception_id, created_at DESC, id DESC)",
    "CREATE INDEX ON aibridge_tool_usages (provider_tool_call_id)",
    "CREATE INDEX ON aibridge_token_usages (interception_id)",
    "CREATE INDEX ON aibridge_tool_usages (interception_id)",
    "CREATE INDEX ON aibridge_model_thoughts (interception_id)",
)



# -- PostgreSQL: Coder's queries over Coder's tables ------------------------------------------------

class Postgres:
    """One connection to a database loaded with the dataset; each method answers one endpoint
    call the way Coder's handler does, statement by statement."""

    def __init__(self, url: str) -> None:
        import adbc_driver_postgresql.dbapi as adbc

        self.con = adbc.connect(url, autocommit=True)
        self.cur = self.con.cursor()

    def rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        self.cur.execute(sql, params or None)
        return self.cur.fetchall()

    def interceptions(self, where: str = "TRUE", params: tuple[object, ...] = (), offset: int = 0,
                      after: str | None = None) -> list[str]:
        selection = f"i.ended_at IS NOT NULL AND {where}"
        self.rows(f"SELECT count(*) FROM aibridge_interceptions i WHERE {selection}", params)
        if after is not None:
            (started,), = self.rows("SELECT started_at FROM aibridge_interceptions WHERE id = $1::uuid", (after,))
            n = len(params)
            selection += f" AND (i.started_at, i.id) < (${n + 1}::timestamptz, ${n + 2}::uuid)"
            params = (*params, started, after)
        page = self.rows(
            f"SELECT i.*, u.username, u.name, u.avatar_url FROM aibridge_interceptions i "
            f"JOIN users u ON u.id = i.initiator_id WHERE {selection} "
            f"ORDER BY i.started_at DESC, i.id DESC LIMIT 100 OFFSET {offset}", params)
        ids = "{" + ",".join(str(row[0]) for row in page) + "}"
        for table in ("aibridge_token_usages", "aibridge_user_prompts", "aibridge_tool_usages"):
            self.rows(f"SELECT * FROM {table} WHERE interception_id = ANY($1::uuid[]) ORDER BY created_at, id", (ids,))
        return [str(row[0]) for row in page]

    def sessions(self, where: str, params: tuple[object, ...]) -> None:
        groups = f"""
            SELECT i.session_id, i.initiator_id, min(i.started_at) AS started_at, max(i.ended_at) AS ended_at,
                   count(*) FILTER (WHERE i.thread_root_id IS NULL) AS threads,
                   COALESCE(max(p.created_at), min(i.started_at)) AS last_active_at
            FROM aibridge_interceptions i LEFT JOIN aibridge_user_prompts p ON p.interception_id = i.id
            WHERE i.ended_at IS NOT NULL AND {where} GROUP BY i.session_id, i.initiator_id"""
        self.rows(f"SELECT count(*) FROM ({groups}) g", params)
        page = self.rows(f"SELECT * FROM ({groups}) g ORDER BY last_active_at DESC, session_id DESC LIMIT 100",
                         params)
        keys = ("{" + ",".join(f'"{r[0]}"' for r in page) + "}", "{" + ",".join(str(r[1]) for r in page) + "}")
        self.rows("""
            SELECT i.session_id, i.initiator_id, array_agg(DISTINCT i.provider), array_agg(DISTINCT i.model),
                   sum(t.input_tokens), sum(t.output_tokens)
            FROM aibridge_interceptions i LEFT JOIN aibridge_token_usages t ON t.interception_id = i.id
            WHERE i.ended_at IS NOT NULL AND i.session_id = ANY($1::text[]) AND i.initiator_id = ANY($2::uuid[])
            GROUP BY 1, 2""", keys)

    def threads(self, session_id: str, after: str | None = None) -> str | None:
        self.rows("SELECT initiator_id, min(started_at) FROM aibridge_interceptions "
                  "WHERE session_id = $1 AND ended_at IS NOT NULL GROUP BY 1", (session_id,))
        position = ""
        params: tuple[object, ...] = (session_id,)
        if after is not None:
            (started,), = self.rows("SELECT started_at FROM aibridge_interceptions WHERE id = $1::uuid", (after,))
            position, params = " AND (started_at, id) > ($2::timestamptz, $3::uuid)", (session_id, started, after)
        roots = self.rows(
            f"SELECT id FROM aibridge_interceptions WHERE session_id = $1 AND ended_at IS NOT NULL "
            f"AND thread_root_id IS NULL{position} ORDER BY started_at, id LIMIT 50", params)
        if not roots:
            return None
        root_ids = "{" + ",".join(str(r[0]) for r in roots) + "}"
        rows = self.rows(
            "SELECT * FROM aibridge_interceptions WHERE ended_at IS NOT NULL AND session_id = $1 "
            "AND COALESCE(thread_root_id, id) = ANY($2::uuid[]) ORDER BY started_at, id", (session_id, root_ids))
        ids = "{" + ",".join(str(r[0]) for r in rows) + "}"
        for table in ("aibridge_token_usages", "aibridge_user_prompts", "aibridge_tool_usages",
                      "aibridge_model_thoughts"):
            self.rows(f"SELECT * FROM {table} WHERE interception_id = ANY($1::uuid[]) ORDER BY created_at", (ids,))
        return str(roots[-1][0]) if len(roots) == 50 else None


def load_postgres(url: str, data: Path) -> str:
    """A fresh database ``aibridge_pages`` with Coder's tables, the dataset and Coder's indexes."""
    from urllib.parse import urlsplit, urlunsplit

    from tests.helpers.postgres import CODER_DDL, execute

    execute(url, "DROP DATABASE IF EXISTS aibridge_pages", "CREATE DATABASE aibridge_pages")
    db = urlunsplit(urlsplit(url)._replace(path="/aibridge_pages"))
    execute(db, *[s for s in CODER_DDL.split(";") if s.strip()])
    for table in TABLES:
        header = (data / f"{table}.csv").open().readline().strip()
        subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "-q", "-d", db, "-c",
                        f"\\copy {table} ({header}) FROM '{data / f'{table}.csv'}' WITH (FORMAT csv, HEADER)"],
                       check=True)
    execute(db, *CODER_INDEXES, "VACUUM ANALYZE")
    return db


# -- timing -----------------------------------------------------------------------------------------

def timed_rounds(cases: dict[str, Callable[[], float | None]], rounds: int) -> dict[str, dict[str, float]]:
    """Each case once per round (after one warm-up round). A case returns the milliseconds it
    measured itself, or None to be timed whole."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for index in range(rounds + 1):
        for name, case in cases.items():
            started = time.perf_counter()
            own = case()
            elapsed = (time.perf_counter() - started) * 1000 if own is None else own
            if index:
                samples[name].append(elapsed)
    return {name: {"median_ms": statistics.median(xs), "spread_ms": max(xs) - min(xs)} for name, xs in samples.items()}


def whole(fn: Callable[[], object]) -> Callable[[], float | None]:
    """A case timed whole."""
    def run() -> None:
        fn()
    return run


def _ms(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def our_cases(store: Store, filters: dict[str, str], largest: str) -> dict[str, Callable[[], float | None]]:
    cases: dict[str, Callable[[], float | None]] = {}

    def cold(fn: Callable[[], object]) -> Callable[[], float | None]:
        def run() -> float:
            store.refresh()
            return _ms(fn)
        return run

    for name, q in filters.items():
        cases[f"interceptions {name}: cold"] = cold(lambda q=q: store.list_interceptions(q))
        cases[f"interceptions {name}: warm"] = whole(lambda q=q: store.list_interceptions(q))

    def cursor_page_3() -> float:
        store.refresh()
        first = store.list_interceptions()
        second = store.list_interceptions(after_id=first.results[-1].id)
        return _ms(lambda: store.list_interceptions(after_id=second.results[-1].id))

    cases["interceptions cursor page 3 (walk)"] = cursor_page_3
    cases["interceptions offset 5000: cold"] = cold(lambda: store.list_interceptions(offset=5000))
    page = store.list_interceptions()
    cases["model_dump(mode='json') of a page"] = whole(lambda: page.model_dump(mode="json"))

    def walk_20() -> None:
        store.refresh()
        after = None
        for _ in range(20):
            results = store.list_interceptions(after_id=after).results
            if len(results) < 100:
                break
            after = results[-1].id

    cases["cursor walk, 20 pages (total)"] = walk_20
    cases["threads page (50, largest): cold"] = cold(lambda: store.get_session_threads(largest))
    cases["threads page (50, largest): warm"] = whole(lambda: store.get_session_threads(largest))

    def thread_walk() -> None:
        store.refresh()
        threads = store.get_session_threads(largest, limit=10)
        while len(threads.threads) == 10:
            threads = store.get_session_threads(largest, limit=10, after_id=threads.threads[-1].id)

    cases["thread walk, every page of 10 (total)"] = thread_walk
    cases["sessions first page: cold"] = cold(lambda: store.list_sessions())
    cases['sessions client:"Claude Code": cold'] = cold(lambda: store.list_sessions('client:"Claude Code"'))
    model = filters["model"].split(":", 1)[1]
    cases[f"sessions model:{model}: cold"] = cold(lambda: store.list_sessions(f"model:{model}"))
    return cases


def postgres_cases(pg: Postgres, values: dict[str, tuple[str, tuple[object, ...]]], largest: str,
                   model: str) -> dict[str, Callable[[], float | None]]:
    cases: dict[str, Callable[[], float | None]] = {}
    for name, (where, params) in values.items():
        cases[f"interceptions {name}: cold"] = whole(lambda w=where, p=params: pg.interceptions(w, p))
    first = pg.interceptions()
    second = pg.interceptions(after=first[-1])
    cases["interceptions cursor page 3 (walk)"] = whole(lambda: pg.interceptions(after=second[-1]))
    cases["interceptions offset 5000: cold"] = whole(lambda: pg.interceptions(offset=5000))

    def walk_20() -> None:
        after = None
        for _ in range(20):
            ids = pg.interceptions(after=after)
            if len(ids) < 100:
                break
            after = ids[-1]

    cases["cursor walk, 20 pages (total)"] = walk_20
    cases["threads page (50, largest): cold"] = whole(lambda: pg.threads(largest))
    cases["sessions first page: cold"] = lambda: pg.sessions("TRUE", ())
    cases['sessions client:"Claude Code": cold'] = lambda: pg.sessions("COALESCE(i.client, 'Unknown') = $1",
                                                                       ("Claude Code",))
    cases[f"sessions model:{model}: cold"] = lambda: pg.sessions("i.model = $1", (model.strip('"'),))
    return cases


def command_line(db: Path, rounds: int) -> dict[str, dict[str, float]]:
    """Wall time from process start of a read command and of ``--help``."""
    exe = [sys.executable, "-m", "aibridge_store"]
    cases = {
        "command line: interceptions": whole(lambda: subprocess.run([*exe, "--db", str(db), "interceptions"],
                                                                    check=True, capture_output=True)),
        "command line: --help": whole(lambda: subprocess.run([*exe, "--help"], check=True, capture_output=True)),
    }
    return timed_rounds(cases, rounds)


def bare_page(store: Store, where: str) -> Callable[[], float | None]:
    con = store.connection
    sql = (f"SELECT * FROM aibridge_interceptions WHERE ended_at IS NOT NULL AND {where} "
           "ORDER BY started_at DESC, id DESC LIMIT 100")
    return whole(lambda: con.execute(sql).fetchall())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interceptions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9, help="rounds of every case")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    data = dataset(args.interceptions, "csv", args.seed, args.data_dir)
    with tempfile.TemporaryDirectory(prefix="aibridge-pages-") as tmp:
        db = Path(tmp) / "store.duckdb"
        seconds = import_store(str(db), str(data))
        print(f"== {args.interceptions:,} interceptions imported from CSV in {seconds:.1f} s")
        pg = None
        if not args.skip_postgres:
            import dev

            url = os.environ.get("AIBRIDGE_TEST_POSTGRES") or dev.postgres_for_tests().get("AIBRIDGE_TEST_POSTGRES")
            if url is None:
                raise SystemExit("AIBRIDGE_SKIP_POSTGRES=1 is set: run with --skip-postgres, or unset it")
            started = time.perf_counter()
            pg = Postgres(load_postgres(url, data))
            print(f"== PostgreSQL loaded with Coder's tables and indexes in {time.perf_counter() - started:.1f} s")
        report = measure(db, pg, args.repeat)
        report.update(command_line(db, max(args.repeat, 10)))
    print_report(report, args.interceptions, args.repeat)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def measure(db: Path, pg: Postgres | None, rounds: int) -> dict[str, dict[str, float]]:
    with Store.open(db, read_only=True) as store:
        con = store.connection
        sample = store.list_interceptions().results[0]
        user_id, username = con.execute(
            "SELECT u.id, u.username FROM users u JOIN aibridge_interceptions i ON i.initiator_id = u.id "
            "GROUP BY ALL ORDER BY count(*) DESC LIMIT 1").fetchone()
        largest = con.execute("SELECT session_id FROM aibridge_session_rollup ORDER BY threads DESC, session_id "
                              "LIMIT 1").fetchone()[0]
        filters = {"unfiltered": "", "provider": f"provider:{sample.provider}", "model": f'model:"{sample.model}"',
                   "client": 'client:"Claude Code"', "initiator": f"initiator:{username}"}
        wheres = {"unfiltered": ("TRUE", ()), "provider": ("provider = $1", (sample.provider,)),
                  "model": ("model = $1", (sample.model,)),
                  "client": ("COALESCE(client, 'Unknown') = $1", ("Claude Code",)),
                  "initiator": ("initiator_id = $1::uuid", (str(user_id),))}
        cases = our_cases(store, filters, largest)
        for name, (where, params) in wheres.items():
            literal = where.replace("$1", f"'{params[0]}'") if params else where
            cases[f"bare SELECT LIMIT 100 ({name})"] = bare_page(store, literal)
        theirs = postgres_cases(pg, wheres, largest, filters["model"].split(":", 1)[1]) if pg else {}
        both = {**cases, **{f"postgres | {name}": case for name, case in theirs.items()}}
        return timed_rounds(both, rounds)


def print_report(report: dict[str, dict[str, float]], size: int, rounds: int) -> None:
    print(f"\n== point reads, {size:,} interceptions, median of {rounds} rounds (ms)")
    print(f"   {'case':<46}{'ours':>9}{'spread':>9}{'PostgreSQL':>12}{'PG / ours':>11}")
    for name, figures in report.items():
        if name.startswith("postgres | "):
            continue
        theirs = report.get(f"postgres | {name}")
        pg = f"{theirs['median_ms']:>12.1f}{theirs['median_ms'] / figures['median_ms']:>11.1f}" if theirs else ""
        print(f"   {name:<46}{figures['median_ms']:>9.2f}{figures['spread_ms']:>9.2f}{pg}")


if __name__ == "__main__":
    raise SystemExit(main())
