"""``aibridge-store``: a thin command line over the public API.

It starts fast: the package's names load on first use, and each command reaches for only what it
needs (``--help`` loads neither DuckDB nor pydantic; a read never loads Arrow).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO, TypeAlias

from . import DATABASE_SCHEMES, __version__, go_time_text
from .errors import AibridgeStoreError, ReportError, StorageError

if TYPE_CHECKING:
    from . import Actor, ImportSummary, Store, TableCounts
    from .models import InterceptionsPage, SessionsPage, SessionThreads

DEFAULT_DB = "aibridge.duckdb"


class _ProgressBar:
    """A one-line progress bar on a terminal; silent when the stream is not a terminal.

    Shows bytes (files) or rows (a database); without a known total, only what was done."""

    def __init__(self, stream: TextIO, unit: str = "MB") -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.started = time.monotonic()
        self.last = 0.0
        self.unit = unit

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and (not total or done < total)):
            return
        self.last = now
        scale = 1e6 if self.unit == "MB" else 1.0
        rate = done / max(now - self.started, 1e-9) / scale
        amount = f"{done / scale:,.1f} {self.unit}" if self.unit == "MB" else f"{done:,} {self.unit}"
        if total:
            fraction = done / total
            width = 30
            filled = int(fraction * width)
            line = (
                f"[{'#' * filled}{'.' * (width - filled)}] {fraction:6.1%} {amount} of {total / scale:,.1f} {self.unit}"
            )
        else:
            line = f"{amount} read"
        self.stream.write(f"\r{line}  {rate:,.1f} {self.unit}/s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: Collection[int] = ()) -> str:
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()

    return "\n".join([line(cells[0]), line(["-" * w for w in widths]), *map(line, cells[1:])])


_COUNT_HEADERS = ("inserted", "updated", "merged", "already stored", "repeated")


def _counts(counts: TableCounts) -> tuple[int, int, int, int, int]:
    return counts.inserted, counts.updated, counts.merged, counts.unchanged, counts.repeated


def _is_database(text: str) -> bool:
    return text.startswith(DATABASE_SCHEMES)


def render_summary(summary: ImportSummary, seconds: float) -> str:
    """Per source: what happened to its rows, what was passed over and why; then the totals."""
    text = []
    for report in summary.reports.values():
        kind = f"  ({report.kind})" if report.kind else ""
        text.append(f"{report.name}{kind}")
        rows = [(summary.label(name), *_counts(c)) for name, c in report.tables.items() if c.rows]
        if rows:
            text.append(_indent(_table(("table", *_COUNT_HEADERS), rows, right={1, 2, 3, 4, 5})))
        else:
            text.append("  nothing new")
        for reason, n in report.passed_over.items():
            text.append(f"  passed over: {reason}: {n}")
        text.append("")
    counted = {name: c for name, c in summary.tables.items() if not summary.is_bookkeeping(name)}
    totals: list[tuple[object, ...]] = [(name, *_counts(c)) for name, c in counted.items()]
    sums = [sum(column) for column in zip(*map(_counts, counted.values()), strict=True)]
    totals.append(("total", *(sums or [0] * len(_COUNT_HEADERS))))
    text.append(_table(("all sources", *_COUNT_HEADERS), totals, right={1, 2, 3, 4, 5}))
    text.append(f"{len(summary.reports)} source(s) imported in {seconds:.2f} s")
    for path, reason in summary.passed_over.items():
        text.append(f"passed over {path}: {reason}")
    for source, columns in summary.ignored_columns.items():
        text.append(f"ignored columns in {source}: {', '.join(columns)}")
    text.extend(summary.notes)
    return "\n".join(text)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _short(text: str | None, width: int) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _footer(offset: int, shown: int, count: int, noun: str, cursor_flag: str, last: str) -> str:
    span = f"{offset + 1}-{offset + shown}" if shown else "none"
    footer = f"\n{span} of {count} {noun}"
    if shown and offset + shown < count:
        footer += f"; next page: {cursor_flag} {last}"
    return footer


def render_interceptions(page: InterceptionsPage, offset: int) -> str:
    rows = []
    for i in page.results:
        tokens_in = sum(t.input_tokens for t in i.token_usages)
        tokens_out = sum(t.output_tokens for t in i.token_usages)
        prompt = i.user_prompts[-1].prompt if i.user_prompts else ""
        rows.append(
            (
                go_time_text(i.started_at),
                str(i.id),
                i.initiator.username or str(i.initiator.id)[:8],
                i.provider_name,
                i.model,
                i.client if i.client is not None else "-",
                tokens_in,
                tokens_out,
                len(i.tool_usages),
                _short(prompt, 40),
            )
        )
    table = _table(
        ("started_at", "id", "initiator", "provider", "model", "client", "in", "out", "tools", "prompt"),
        rows,
        right={6, 7, 8},
    )
    last = str(page.results[-1].id) if page.results else ""
    return table + _footer(offset, len(page.results), page.count, "interception(s)", "--after-id", last)


def render_sessions(page: SessionsPage, offset: int) -> str:
    rows = [
        (
            go_time_text(s.last_active_at),
            s.id,
            s.initiator.username or str(s.initiator.id)[:8],
            s.client if s.client is not None else "-",
            s.threads,
            ",".join(s.models),
            s.token_usage_summary.input_tokens,
            s.token_usage_summary.output_tokens,
            _short(s.last_prompt, 40),
        )
        for s in page.sessions
    ]
    table = _table(
        ("last_active_at", "session", "initiator", "client", "threads", "models", "in", "out", "last prompt"),
        rows,
        right={4, 6, 7},
    )
    cursor = page.next_cursor
    last = ""
    if cursor:
        last = f"{shlex.quote(cursor['after_session_id'])} --after-initiator {cursor['after_initiator_id']}"
    return table + _footer(offset, len(page.sessions), page.count, "session(s)", "--after-session-id", last)


def render_threads(page: SessionThreads, more: bool = False) -> str:
    summary = page.token_usage_summary
    head = [
        f"session {page.id} by {page.initiator.username or page.initiator.id}, client {page.client or '-'}",
        f"providers {', '.join(page.providers)}; models {', '.join(page.models)}",
        f"{go_time_text(page.started_at)} .. {go_time_text(page.ended_at) if page.ended_at else '-'}; "
        f"tokens in {summary.input_tokens}, out {summary.output_tokens}, cache read "
        f"{summary.cache_read_input_tokens}, cache write {summary.cache_write_input_tokens}",
        "",
    ]
    rows = [
        (
            go_time_text(t.started_at),
            str(t.id),
            t.model,
            len(t.agentic_actions),
            sum(len(a.tool_calls) for a in t.agentic_actions),
            t.token_usage.input_tokens,
            t.token_usage.output_tokens,
            _short(t.prompt, 40),
        )
        for t in page.threads
    ]
    table = _table(
        ("started_at", "thread", "model", "actions", "tools", "in", "out", "prompt"), rows, right={3, 4, 5, 6}
    )
    footer = f"\n{len(page.threads)} thread(s)"
    if more:
        footer += f"; next page: --after-id {page.threads[-1].id}"
    return "\n".join(head) + table + footer


_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``add_subparsers`` returns (argparse names no public type for it)."""


def _listing(
    commands: _Commands, name: str, summary: str, query_help: str, cursor: str = ""
) -> argparse.ArgumentParser:
    """A paged read command: -q, --limit, --offset and --json."""
    command = commands.add_parser(name, help=summary)
    command.add_argument("-q", "--query", default="", help=query_help)
    command.add_argument("--limit", default=None, help="page size (1-1000, default 100)")
    command.add_argument("--offset", default=None, help=f"rows to skip{f' (not with {cursor})' if cursor else ''}")
    command.add_argument("--json", action="store_true", help="print the API's JSON exactly")
    return command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aibridge-store", description="Fast, exact answers about Coder AI Bridge data."
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("AIBRIDGE_STORE_DB", DEFAULT_DB),
        help=f"store file (default: $AIBRIDGE_STORE_DB or {DEFAULT_DB}); a .sqlite or .sqlite3 file, or an "
             "existing SQLite file, is a SQLite store",
    )
    parser.add_argument("--engine", choices=("duckdb", "sqlite"), default=None,
                        help="the store's engine, whatever the file is named (default: from the file)")
    parser.add_argument("--memory-limit", default=None, help="cap DuckDB's memory, e.g. 2GB (imports spill to disk)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--wait", type=float, default=5.0, metavar="SECONDS",
        help="how long to wait for another process that holds the store (default 5)",
    )
    parser.add_argument(
        "--as", dest="as_user", default=None, metavar="USER",
        help="read as this user (a username or id): initiator:me means them, and --role says what they see",
    )
    parser.add_argument(
        "--prices", default=None, metavar="FILE",
        help="your own prices (TOML or JSON) before genai-prices', for the reports' cost",
    )
    parser.add_argument(
        "--reprice", action="store_true",
        help="price every token usage from genai-prices (and --prices), ignoring the cost Coder recorded",
    )
    parser.add_argument(
        "--strict", action="store_true",
        help="read -q as Coder does: no negation (-key:), lists (a,b) or globs (*)",
    )
    parser.add_argument(
        "--role", choices=("member", "auditor", "owner"), default="member",
        help="with --as: a member reads only their own rows (default); auditors and owners read all",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    imp = commands.add_parser(
        "import",
        help="import table exports, pg_dump files, coderd JSON logs, saved API responses (files, directories, "
        "- for standard input) and live Coder databases (postgresql://...)",
    )
    imp.add_argument("paths", nargs="+", metavar="PATH|URL")
    imp.add_argument("--full", action="store_true", help="read a database whole, not only what changed since last time")
    imp.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    lst = _listing(
        commands,
        "interceptions",
        "list interceptions, newest first",
        'search, e.g. \'provider:anthropic model:"gpt-5"\'',
        "--after-id",
    )
    lst.add_argument("--after-id", default=None, help="cursor: the last id of the previous page")
    ses = _listing(
        commands,
        "sessions",
        "list sessions, most recently active first",
        'search, e.g. \'client:"Claude Code" model:gpt-5\'',
        "--after-session-id",
    )
    ses.add_argument("--after-session-id", default=None, help="cursor: the last session id of the previous page")
    ses.add_argument(
        "--after-initiator", default=None, help="cursor: the last session's initiator id (names one session)"
    )
    one = commands.add_parser("session", help="one session's threads, oldest first")
    one.add_argument("session_id", help="a session id, or the id of any interception in the session")
    one.add_argument("--after-id", default=None, help="the threads after this interception's thread")
    one.add_argument("--before-id", default=None, help="the threads before this interception's thread")
    one.add_argument("--limit", default=None, help="threads per page (1-200, default 50)")
    one.add_argument("--json", action="store_true", help="print the API's JSON exactly")
    prune = commands.add_parser(
        "prune", help="delete interceptions that started before a time, with their rows; sessions stay exact"
    )
    prune.add_argument("--before", required=True, metavar="TIME", help="RFC 3339, e.g. 2026-01-01T00:00:00Z")
    copy = commands.add_parser(
        "copy-to-sqlite", help="write the whole store into a new SQLite file (sqlite3, Datasette, sqlite-utils)",
        epilog="example: aibridge-store copy-to-sqlite archive.sqlite && datasette archive.sqlite",
    )
    copy.add_argument("out", metavar="FILE", help="the SQLite file to write")
    copy.add_argument("--replace", action="store_true", help="write over FILE if it exists")
    dataset = commands.add_parser(
        "export-dataset", help="write the store as day-partitioned Parquet for Spark, Trino or DuckDB (incremental)",
        epilog="example: aibridge-store export-dataset lake/aibridge/  (again later: only changed days are written)",
    )
    dataset.add_argument("out", metavar="DIR", help="the dataset's folder (created if missing)")
    for name, key in (("models", "model"), ("clients", "client")):
        _listing(commands, name, f"distinct {name} of ended interceptions", f"a {key} prefix ({key}:PREFIX or PREFIX)")
    for command in (lst, ses, one):
        _output_options(command, table=False)
    sql = commands.add_parser(
        "sql", help="run one SELECT over the public views (interceptions, token_usages, user_prompts, tool_usages, "
        "model_thoughts, sessions, users)",
        epilog='example: aibridge-store sql "SELECT model, count(*) FROM interceptions GROUP BY ALL" --out m.csv',
    )
    sql.add_argument("query", help="one SELECT statement")
    _output_options(sql)
    topics = commands.add_parser("help", help="help on a topic: search (the -q language)")
    topics.add_argument("topic", choices=("search",))
    report = commands.add_parser("report", help="usage reports: usage, cost, tools, sessions, users, html")
    kinds = report.add_subparsers(dest="report", required=True)
    for kind, summary, example in _REPORTS:
        command = kinds.add_parser(kind, help=summary, epilog=f"example: aibridge-store report {kind} {example}")
        command.add_argument("-q", "--query", default="", help='a search, e.g. \'model:"gpt-5" client:Cursor\'')
        command.add_argument("--since", default=None, help="start time: RFC 3339, a date, or back from now (30d)")
        command.add_argument("--until", default=None, help="end time (exclusive), same forms")
        if kind in ("usage", "cost"):
            command.add_argument("--by", default="" if kind == "usage" else "provider,model",
                                 help="group by any of user,model,provider,provider_name,client,session "
                                 "(comma-separated)")
            command.add_argument("--bucket", choices=("hour", "day", "week", "month"), default=None)
        if kind in ("usage", "cost", "users", "html"):
            command.add_argument("--tz", default="UTC", help="time zone of buckets and days (IANA name)")
        if kind == "tools":
            command.add_argument("--by", choices=("tool", "server"), default="tool")
        if kind == "sessions":
            command.add_argument("--limit", type=int, default=20, help="how many sessions (default 20)")
        if kind == "html":
            command.add_argument("--out", required=True, metavar="FILE", help="the page to write (report.html)")
            continue
        _output_options(command)
    return parser


_REPORTS = (
    ("usage", "interceptions, sessions, users, tokens, prompts, tool calls and durations, grouped",
     "--by user,model --bucket day --since 30d"),
    ("cost", "what usage cost (genai-prices, at each day's prices), grouped", "--by model --bucket month"),
    ("tools", "tool calls per tool or MCP server, with error rates", "--by server --since 7d"),
    ("sessions", "the sessions with the most tokens", "--limit 10 -q client:Cursor"),
    ("users", "per user: first and last seen, active days, usage", "--tz Europe/Paris"),
    ("html", "one self-contained HTML page of charts and tables (opens with no network)",
     "--out report.html --since 30d -q provider:anthropic"),
)


def _output_options(command: argparse.ArgumentParser, *, table: bool = True) -> None:
    """--format and --out: a table on the terminal, or rows written as JSON lines, CSV or Parquet."""
    choices = ("table", "json", "csv", "parquet", "jsonl") if table else ("json", "csv", "parquet", "jsonl")
    command.add_argument("--format", choices=choices, default=None,
                         help="output format (default: table, or from --out's extension)")
    command.add_argument("--out", default=None, metavar="FILE", help="write the rows to FILE (.parquet, .csv, .jsonl)")


def _query_values_attached(argv: Sequence[str]) -> list[str]:
    """``-q -client:Cursor`` as ``--query=-client:Cursor``: argparse would take a value that starts
    with '-' (a negated search term) for an option."""
    out: list[str] = []
    items = iter(argv)
    for item in items:
        value = next(items, None) if item in ("-q", "--query") else None
        out.append(item if value is None else f"--query={value}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(_query_values_attached(sys.argv[1:] if argv is None else argv))
    try:
        if args.command == "import":
            return _import(args)
        if args.command == "prune":
            return _prune(args)
        if args.command == "copy-to-sqlite":
            return _copy_to_sqlite(args)
        if args.command == "export-dataset":
            return _export_dataset(args)
        if args.command == "help":
            from . import search_help

            print(search_help())
            return 0
        return _READS[args.command](args)
    except AibridgeStoreError as e:
        if getattr(args, "json", False):
            _print_json(e.to_response())
        print(f"aibridge-store: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        kept = {"import": "; nothing of the current import was kept", "prune": "; nothing was deleted"}
        print(f"aibridge-store: interrupted{kept.get(args.command, '')}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _prune(args: argparse.Namespace) -> int:
    if not os.path.exists(args.db):
        raise StorageError(f"no store at {args.db!r}")
    with _open(args, read_only=False) as store:
        deleted = store.delete_before(args.before)
    rows = [(name, n) for name, n in deleted.items()]
    print(_table(("table", "deleted"), rows, right={1}))
    return 0


def _copy_to_sqlite(args: argparse.Namespace) -> int:
    if not os.path.exists(args.db):
        raise StorageError(f"no store at {args.db!r}")
    started = time.perf_counter()
    with _open(args, read_only=True) as store:
        written = store.copy_to_sqlite(args.out, replace=args.replace)
    print(f"wrote {written['aibridge_interceptions']:,} interceptions ({sum(written.values()):,} rows in all) "
          f"to {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


def _export_dataset(args: argparse.Namespace) -> int:
    if not os.path.exists(args.db):
        raise StorageError(f"no store at {args.db!r}")
    started = time.perf_counter()
    with _open(args, read_only=True) as store:
        done = store.export_dataset(args.out)
    print(f"{args.out}: {len(done.days_written):,} day(s) written, {len(done.days_removed):,} removed, "
          f"{done.days_unchanged:,} unchanged; {done.rows.get('aibridge_interceptions', 0):,} interceptions "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


def _import(args: argparse.Namespace) -> int:
    """Import every argument in order: runs of files in one transaction, each database in its own."""
    groups: list[list[str]] = []
    for path in args.paths:
        if _is_database(path) or not groups or _is_database(groups[-1][0]):
            groups.append([path])
        else:
            groups[-1].append(path)
    with _open(args, read_only=False) as store:
        for group in groups:
            database = _is_database(group[0])
            bar = _ProgressBar(sys.stderr, "rows" if database else "MB") if not args.quiet else None
            started = time.perf_counter()
            try:
                if database:
                    summary = store.import_postgres(group[0], progress=bar, full=args.full)
                else:
                    summary = store.import_path(*group, progress=bar)
            finally:
                if bar is not None:
                    bar.close()
            if not args.quiet:
                print(render_summary(summary, time.perf_counter() - started))
    return 0


def _reader(args: argparse.Namespace) -> Store:
    """The store, read-only: a read never creates or changes one."""
    if not os.path.exists(args.db):
        raise StorageError(f"no store at {args.db!r}: import into it first, or give --db the right file")
    return _open(args, read_only=True)


def _open(args: argparse.Namespace, read_only: bool) -> Store:
    from . import Store

    def waiting(holder: str) -> None:
        print(f"aibridge-store: {args.db} is in use by {holder}; waiting up to {args.wait:g} s", file=sys.stderr)

    return Store.open(args.db, read_only=read_only, memory_limit=args.memory_limit, timeout=args.wait,
                      on_wait=waiting, engine=args.engine)


def _actor(store: Store, args: argparse.Namespace) -> Actor | None:
    """Who the read runs as: --as USER (a username or id) with --role; else the local administrator."""
    if args.as_user is None:
        return None
    return store.actor(args.as_user, role=args.role)


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


_ROWS = {"InterceptionsPage": "results", "SessionsPage": "sessions", "SessionThreads": "threads"}
"""The list of rows in each page model."""


def _show(args: argparse.Namespace, page: Any, render: Callable[[Any], str]) -> int:
    if args.format in ("json", "jsonl") and not args.out:
        # One API object a line, exactly as --json writes them.
        for item in getattr(page, _ROWS[type(page).__name__]):
            print(json.dumps(item.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")))
        return 0
    if args.out or args.format:
        _write_rows(args, page.to_arrow())
        return 0
    if args.json:
        _print_json(page.model_dump(mode="json"))
    else:
        print(render(page))
    return 0


def _interceptions(args: argparse.Namespace) -> int:
    with _reader(args) as store:
        page = store.list_interceptions(
            args.query, limit=args.limit, offset=args.offset, after_id=args.after_id, actor=_actor(store, args),
            strict=args.strict,
        )
    return _show(args, page, lambda p: render_interceptions(p, int(args.offset or 0)))


def _sessions(args: argparse.Namespace) -> int:
    with _reader(args) as store:
        page = store.list_sessions(
            args.query, limit=args.limit, offset=args.offset, after_session_id=args.after_session_id,
            after_initiator_id=args.after_initiator, actor=_actor(store, args), strict=args.strict,
        )
    return _show(args, page, lambda p: render_sessions(p, int(args.offset or 0)))


def _session(args: argparse.Namespace) -> int:
    with _reader(args) as store:
        actor = _actor(store, args)
        page = store.get_session_threads(
            args.session_id, after_id=args.after_id, before_id=args.before_id, limit=args.limit, actor=actor
        )
        more = bool(page.threads) and bool(
            store.get_session_threads(args.session_id, after_id=page.threads[-1].id, limit=1, actor=actor).threads
        )
    return _show(args, page, lambda p: render_threads(p, more))


def _sql(args: argparse.Namespace) -> int:
    with _reader(args) as store:
        relation = store.sql(args.query)
        if args.out or args.format not in (None, "table"):
            _write_rows(args, relation)
        else:
            table = relation.to_arrow_table()
            print(render_rows(table))
    return 0


def _report(args: argparse.Namespace) -> int:
    with _reader(args) as store:
        store.load_prices(args.prices)
        actor = _actor(store, args)
        window = {"since": args.since, "until": args.until, "actor": actor, "strict": args.strict}
        priced = {"reprice": args.reprice}
        if args.report == "html":
            path = store.html_report(args.out, args.query, tz=args.tz, **window, **priced)
            print(f"wrote {path}")
            return 0
        if args.report in ("usage", "cost"):
            by = tuple(b.strip() for b in args.by.split(",") if b.strip())
            read = store.usage if args.report == "usage" else store.cost
            report = read(args.query, by=by, bucket=args.bucket, tz=args.tz, **window, **priced)
        elif args.report == "tools":
            report = store.tools(args.query, by=args.by, **window)
        elif args.report == "sessions":
            report = store.top_sessions(args.query, limit=args.limit, **window, **priced)
        else:
            report = store.user_activity(args.query, tz=args.tz, **window, **priced)
    if args.out or args.format not in (None, "table"):
        _write_rows(args, report.to_arrow())
    else:
        print(render_rows(report.to_arrow()))
    return 0


def _write_rows(args: argparse.Namespace, rows: Any) -> None:
    """Rows (a table, a relation) to --out (format from --format or the extension), or to standard
    output as JSON lines or CSV; Parquet needs a file."""
    from . import write_rows

    fmt = None if args.format in (None, "table") else ("jsonl" if args.format == "json" else args.format)
    if args.out:
        write_rows(rows, args.out, fmt)
        return
    if fmt == "parquet":
        raise ReportError("--format parquet writes a file: give --out FILE")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"rows.{fmt}")
        write_rows(rows, path, fmt)
        with open(path, encoding="utf-8") as written:
            for line in written:
                sys.stdout.write(line)


def render_rows(table: Any, width: int | None = None) -> str:
    """An Arrow table for a terminal: as many columns as fit ``width`` (the terminal's), the rest
    named below."""
    width = width or shutil.get_terminal_size((80, 24)).columns
    names = list(table.column_names)
    if "username" in names:  # the name says who; the ids stay in the other formats
        names = [n for n in names if n not in ("user_id", "session_initiator_id")]
    rows = table.to_pylist()
    cells = {name: [_cell(row[name]) for row in rows] for name in names}
    shown: list[str] = []
    used = 0
    for name in names:
        column = max([len(name), *(len(c) for c in cells[name])])
        if shown and used + 2 + column > width:
            break
        shown.append(name)
        used += column + (2 if used else 0)
    numeric = {i for i, name in enumerate(shown) if all(_is_number(row[name]) for row in rows)}
    text = _table(shown, [[cells[name][r] for name in shown] for r in range(len(rows))], right=numeric)
    hidden = [n for n in names if n not in shown]
    text += f"\n{len(rows)} row(s)"
    if hidden:
        text += f"; not shown here: {', '.join(hidden)} (see --format csv or json)"
    return text


def _is_number(value: object) -> bool:
    return value is None or (isinstance(value, (int, float, Decimal)) and not isinstance(value, bool))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,.4f}"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, datetime):
        return go_time_text(value)
    return _short(str(value), 40)


def _catalog(args: argparse.Namespace) -> int:
    with _reader(args) as store:
        listing = store.list_models if args.command == "models" else store.list_clients
        values = listing(args.query, limit=args.limit, offset=args.offset, actor=_actor(store, args))
    if args.json:
        _print_json(values)
    else:
        print("\n".join(v if v else '""' for v in values) if values else f"no {args.command}")
    return 0


_READS = {
    "interceptions": _interceptions,
    "sessions": _sessions,
    "session": _session,
    "models": _catalog,
    "clients": _catalog,
    "sql": _sql,
    "report": _report,
}


__all__ = ["main"]


if __name__ == "__main__":
    raise SystemExit(main())
