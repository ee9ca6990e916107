"""The HTML report: one self-contained page of charts and tables over a selection (README,
"The HTML report").

Every figure comes from the store's own reports (:mod:`.usage`), computed once for the page; the
charts are drawn by plotly.js, whose bundle (from the ``plotly`` package) is written into the
page, so that it opens with no network. Every value on the page is escaped (tables) or JSON with
``</`` escaped (charts): nothing from the data can end a tag or a script.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.metadata import version
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import numpy

from .. import _auth
from ..errors import NotFoundError

if TYPE_CHECKING:
    from .._store import Store

TOP_SESSIONS = 10
"""Sessions shown with their threads."""
RECENT = 200
"""Newest prompts and tool calls listed."""
STACKED = 8
"""Series drawn one by one in a stacked chart; the rest are summed as "others"."""
SESSION_SECONDS = ((60, "< 1 min"), (300, "1-5 min"), (900, "5-15 min"), (3600, "15-60 min"), (4 * 3600, "1-4 h"),
                   (24 * 3600, "4-24 h"), (None, "> 1 day"))
SESSION_SIZES = ((1, "1"), (2, "2"), (5, "3-5"), (10, "6-10"), (25, "11-25"), (100, "26-100"), (None, "> 100"))


@dataclass
class Page:
    """What the page shows: its charts (plotly figures as JSON-ready dicts, by element id) and
    its HTML sections, in order."""

    title: str
    subtitle: str
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)


def bucket_for(first: datetime | None, last: datetime | None) -> str:
    """The time bucket of the page's charts: hours over two days at most, days up to four
    months, weeks up to two years, months beyond."""
    if first is None or last is None:
        return "day"
    days = (last - first) / timedelta(days=1)
    return "hour" if days <= 2 else "day" if days <= 124 else "week" if days <= 731 else "month"


def build(
    store: Store, q: str = "", *, since: datetime | None = None, until: datetime | None = None, tz: str = "UTC",
    actor: _auth.Actor | None = None, reprice: bool = False, now: datetime | None = None, strict: bool = False,
) -> str:
    """The page, as HTML text."""
    from .usage import recent, session_shapes, span

    zone = ZoneInfo(tz)
    with store._reporting(since, until) as (con, window):  # one window for every panel
        first, last = span(con, q, window=window, actor=actor, totals=store._totals, strict=strict)
    bucket = bucket_for(first, last)
    common: dict[str, Any] = {"since": since, "until": until, "actor": actor, "strict": strict}
    priced = {**common, "reprice": reprice}
    total = store.usage(q, tz=tz, **priced).to_pylist()[0]
    by_user = store.usage(q, by=["user"], **priced).to_pylist()
    by_model = store.usage(q, by=["model"], **priced).to_pylist()
    by_client = store.usage(q, by=["client"], **priced).to_pylist()
    over_time = store.usage(q, by=["user"], bucket=bucket, tz=tz, **priced).to_pylist()
    cost_over_time = store.cost(q, by=["model"], bucket=bucket, tz=tz, **priced).to_pylist()
    cost_table = store.cost(q, by=["provider", "model"], **priced).to_pylist()
    top = store.top_sessions(q, limit=TOP_SESSIONS, **priced).to_pylist()
    tools = store.tools(q, **common).to_pylist()
    servers = [row for row in store.tools(q, by="server", **common).to_pylist() if row["server_url"]]
    with store._reporting(since, until) as (con, window):
        found: dict[str, Any] = {"window": window, "actor": actor, "totals": store._totals, "strict": strict}
        prompts = recent(con, q, "prompts", limit=RECENT, **found).to_pylist()
        calls = recent(con, q, "tool_calls", limit=RECENT, **found).to_pylist()
        shapes = session_shapes(con, q, **found).to_arrow()
    threads = {(row["session_id"], row["user_id"]): _threads(store, row, actor) for row in top}

    names = {row["user_id"]: row["username"] or row["user_id"] for row in by_user}
    local = _local_time(zone, bucket)
    page = Page(
        title="AI Bridge usage",
        subtitle=_subtitle(q, since, until, tz, first, last, now or datetime.now(UTC), zone, total),
    )
    page.sections.append(_tiles(total))
    page.charts["interceptions-over-time"] = _stacked(
        over_time, "user_id", "interceptions", local, names.get, f"Interceptions per {bucket}, by user",
        "interceptions")
    page.charts["cost-over-time"] = _stacked(
        cost_over_time, "model", "cost_usd", local, str, f"Cost per {bucket}, by model (USD)", "USD")
    page.sections.append(_charts("Over time", ["interceptions-over-time", "cost-over-time"]))
    page.charts["tokens-by-user"] = _tokens_by_user(by_user, names)
    page.sections.append(_charts("Who", ["tokens-by-user"]))
    page.sections.append(_leaderboard(by_user))
    page.charts["top-models"] = _bars(by_model, "model", "interceptions", "Top models by interceptions")
    page.charts["top-clients"] = _bars(by_client, "client", "interceptions", "Top clients by interceptions")
    page.sections.append(_charts("What", ["top-models", "top-clients"]))
    page.sections.append(_cost_table(cost_table))
    page.charts["latency"] = _latency(by_model)
    durations, sizes = _session_shapes(shapes)
    page.charts["session-lengths"] = _histogram(durations, "Sessions by length (first start to last end)")
    page.charts["session-sizes"] = _histogram(sizes, "Sessions by interceptions")
    page.sections.append(_charts("How long", ["latency", "session-lengths", "session-sizes"]))
    page.sections.append(_top_sessions(top, threads, zone))
    page.charts["top-tools"] = _tools_chart(tools)
    page.sections.append(_charts("Tools", ["top-tools"]))
    page.sections.append(_servers(servers))
    page.sections.append(_prompts(prompts, zone))
    page.sections.append(_calls(calls, zone))
    return render(page)


def _threads(store: Store, session: dict[str, Any], actor: _auth.Actor | None) -> list[dict[str, Any]]:
    """The session's first threads (those of its ended interceptions), as the threads endpoint
    gives them, read as the session's own user unless the report is scoped to another actor."""
    reader = actor or _auth.Actor.member(session["user_id"])
    try:
        page = store.get_session_threads(session["session_id"], limit=20, actor=reader)
    except NotFoundError:
        return []
    return [thread.model_dump(mode="json") for thread in page.threads]


def _local_time(zone: ZoneInfo, bucket: str) -> Callable[[datetime], str]:
    shape = "%Y-%m-%d %H:%M" if bucket == "hour" else "%Y-%m-%d"

    def local(moment: datetime) -> str:
        return moment.astimezone(zone).strftime(shape)

    return local


def _stacked(
    rows: list[dict[str, Any]], series: str, measure: str, x_of: Callable[[datetime], str],
    label: Callable[[Any], Any], title: str, unit: str,
) -> dict[str, Any]:
    """Bars per time bucket, stacked by ``series``: the biggest ones one by one, the rest as
    "others"."""
    totals: dict[Any, float] = {}
    for row in rows:
        totals[row[series]] = totals.get(row[series], 0) + float(row[measure] or 0)
    named = sorted(totals, key=lambda key: (-totals[key], str(key)))[:STACKED]
    buckets = sorted({row["bucket"] for row in rows})
    x = [x_of(b) for b in buckets]
    traces = []
    for key in [*named, None] if len(totals) > len(named) else named:
        values: dict[datetime, float] = {}
        for row in rows:
            if (row[series] in named) == (key is not None) and (key is None or row[series] == key):
                values[row["bucket"]] = values.get(row["bucket"], 0) + float(row[measure] or 0)
        traces.append({"type": "bar", "name": "others" if key is None else str(label(key)), "x": x,
                       "y": [values.get(b, 0) for b in buckets]})
    return _figure(traces, title, {"barmode": "stack", "yaxis": {"title": {"text": unit}}})


def _bars(rows: list[dict[str, Any]], key: str, measure: str, title: str) -> dict[str, Any]:
    ordered = sorted(rows, key=lambda row: (-row[measure], row[key]))
    trace = {"type": "bar", "orientation": "h", "y": [_label(row[key]) for row in ordered],
             "x": [row[measure] for row in ordered], "name": measure}
    return _figure([trace], title, {"yaxis": {"autorange": "reversed", "automargin": True}})


_TOKEN_KINDS = (("input_tokens", "input"), ("output_tokens", "output"), ("cache_read_input_tokens", "cache read"),
                ("cache_write_input_tokens", "cache write"))


def _total_tokens(row: dict[str, Any]) -> int:
    return sum(int(row[kind]) for kind, _ in _TOKEN_KINDS)


def _tokens_by_user(rows: list[dict[str, Any]], names: dict[Any, Any]) -> dict[str, Any]:
    """Each user's tokens by kind, the 25 biggest users."""
    top = sorted(rows, key=lambda row: (-_total_tokens(row), str(names[row["user_id"]])))[:25]
    users = [str(names[row["user_id"]]) for row in top]
    traces = [{"type": "bar", "orientation": "h", "name": label, "y": users, "x": [row[kind] for row in top]}
              for kind, label in _TOKEN_KINDS]
    return _figure(traces, "Tokens by user (the 25 with the most)",
                   {"barmode": "stack", "yaxis": {"autorange": "reversed", "automargin": True}})


def _latency(rows: list[dict[str, Any]]) -> dict[str, Any]:
    models = sorted(row["model"] for row in rows)
    by_model = {row["model"]: row for row in rows}
    traces = [{"type": "bar", "name": p, "x": models, "y": [by_model[m][f"duration_{p}_s"] for m in models]}
              for p in ("p50", "p90", "p95", "p99")]
    return _figure(traces, "Interception duration percentiles by model (seconds, ended interceptions)",
                   {"barmode": "group", "yaxis": {"title": {"text": "seconds"}}})


def _session_shapes(shapes: Any) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """How many sessions fall in each length bin (ended ones) and each size bin."""
    durations = shapes.column("duration_us").drop_null().to_numpy() / 1e6
    sizes = shapes.column("interceptions").to_numpy()
    return _binned(durations, SESSION_SECONDS, "right"), _binned(sizes, SESSION_SIZES, "left")


def _binned(
    values: Any, bins: Sequence[tuple[int | None, str]], side: Literal["left", "right"]
) -> list[tuple[str, int]]:
    """Counts of ``values`` per bin; a bin holds values below its bound (``side="right"``) or
    up to it (``"left"``), the last one everything above."""
    bounds = numpy.array([bound for bound, _ in bins[:-1]])
    counts = numpy.bincount(numpy.searchsorted(bounds, values, side=side), minlength=len(bins))
    return [(label, int(n)) for (_, label), n in zip(bins, counts, strict=True)]


def _histogram(bins: Sequence[tuple[str, int]], title: str) -> dict[str, Any]:
    trace = {"type": "bar", "x": [label for label, _ in bins], "y": [n for _, n in bins], "name": "sessions"}
    return _figure([trace], title, {"yaxis": {"title": {"text": "sessions"}}})


def _tools_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    top = rows[:20]
    labels = [_tool_label(row) for row in top]
    traces = [
        {"type": "bar", "orientation": "h", "name": "succeeded", "y": labels,
         "x": [row["calls"] - row["errors"] for row in top], "marker": {"color": "#4c78a8"}},
        {"type": "bar", "orientation": "h", "name": "failed", "y": labels, "x": [row["errors"] for row in top],
         "marker": {"color": "#e45756"}},
    ]
    return _figure(traces, "Top tools by calls (failed calls in red)",
                   {"barmode": "stack", "yaxis": {"autorange": "reversed", "automargin": True}})


def _label(value: Any) -> str:
    """A chart's name for a value; the empty string (a client that sent an empty name) shows."""
    return "(empty)" if value == "" else str(value)


def _tool_label(row: dict[str, Any]) -> str:
    return f"{row['tool']} ({_host(row['server_url'])})" if row["server_url"] else str(row["tool"])


def _host(url: str) -> str:
    return url.split("//", 1)[-1].split("/", 1)[0] or url


def _figure(traces: list[dict[str, Any]], title: str, layout: dict[str, Any]) -> dict[str, Any]:
    base = {"title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
            "margin": {"l": 60, "r": 20, "t": 70, "b": 50}, "legend": {"orientation": "h"}, "height": 380,
            "xaxis": {"automargin": True}}
    return {"data": traces, "layout": {**base, **layout}}


# -- HTML sections -------------------------------------------------------------------------

def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _int(value: Any) -> str:
    return "" if value is None else f"{int(value):,}"


def _usd(value: Any) -> str:
    if value is None:
        return "unpriced"
    amount = Decimal(value)
    return f"${amount:,.2f}" if abs(amount) >= 1 or amount == 0 else f"${amount:,.4f}"


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _subtitle(q: str, since: datetime | None, until: datetime | None, tz: str, first: datetime | None,
              last: datetime | None, now: datetime, zone: ZoneInfo, total: dict[str, Any]) -> str:
    parts = [f"query: <code>{_e(q) or '(all)'}</code>",
             f"started from {_e(_when(since, zone) or 'the beginning')} to {_e(_when(until, zone) or 'now')}",
             f"times in {_e(tz)}"]
    if first is not None:
        parts.append(f"first interception {_e(_when(first, zone))}, last {_e(_when(last, zone))}")
    parts.append(f"prices: {_e(total['priced_by'] or 'none needed')}")
    parts.append(f"made {_e(_when(now, zone))} by aibridge_store {_e(version('aibridge_store'))}")
    return " · ".join(parts)


def _tiles(total: dict[str, Any]) -> str:
    tiles = [
        ("Interceptions", _int(total["interceptions"]), f"{_int(total['in_flight'])} in flight"),
        ("Users", _int(total["users"]), ""),
        ("Sessions", _int(total["sessions"]), ""),
        ("Cost", _usd(total["cost_usd"]),
         f"{_int(total['unpriced_tokens'])} tokens unpriced" if total["unpriced_tokens"] else "every token priced"),
        ("Input tokens", _int(total["input_tokens"]), ""),
        ("Output tokens", _int(total["output_tokens"]), ""),
        ("Cache read tokens", _int(total["cache_read_input_tokens"]), ""),
        ("Cache write tokens", _int(total["cache_write_input_tokens"]), ""),
        ("Prompts", _int(total["prompts"]), ""),
        ("Tool calls", _int(total["tool_calls"]), f"{_int(total['injected_tool_calls'])} injected"),
        ("Tool errors", _int(total["tool_errors"]), ""),
    ]
    cells = "".join(f'<div class="tile"><div class="label">{_e(label)}</div>'
                    f'<div class="value" title="{value}">{_compact(value)}</div>'
                    f'<div class="note">{note}</div></div>' for label, value, note in tiles)
    return f'<section id="totals"><h2>Totals</h2><div class="tiles">{cells}</div></section>'


def _compact(shown: str) -> str:
    """A tile's figure short enough for its tile: 14,988,819,160 becomes 14.99 B (the exact
    figure is the tile's tooltip)."""
    digits = shown.replace(",", "")
    if len(shown) <= 11 or not digits.isdigit():
        return shown
    value = int(digits)
    for size, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M")):
        if value >= size:
            return f"{value / size:.2f} {unit}"
    return shown


def _charts(title: str, ids: list[str]) -> str:
    divs = "".join(f'<div class="chart" id="{_e(i)}"></div>' for i in ids)
    return f'<section><h2>{_e(title)}</h2><div class="charts">{divs}</div></section>'


def _table(table_id: str, headers: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[int] = (),
           footer: Sequence[str] | None = None, row_classes: Sequence[str] | None = None,
           filterable: bool = False) -> str:
    """A table of already escaped cells; ``numeric`` columns are right-aligned."""
    def cells(values: Sequence[str], tag: str) -> str:
        return "".join(f'<{tag}{" class=num" if n in numeric else ""}>{v}</{tag}>' for n, v in enumerate(values))

    head = f"<thead><tr>{cells([_e(h) for h in headers], 'th')}</tr></thead>"
    classes = row_classes or [""] * len(rows)
    body = "".join(f'<tr class="{c}">{cells(r, "td")}</tr>' for r, c in zip(rows, classes, strict=True))
    foot = f"<tfoot><tr>{cells(footer, 'td')}</tr></tfoot>" if footer else ""
    search = (f'<input class="filter" type="search" placeholder="Filter rows" data-table="{_e(table_id)}">'
              if filterable else "")
    return f'{search}<div class="scroll"><table id="{_e(table_id)}">{head}<tbody>{body}</tbody>{foot}</table></div>'


def _leaderboard(rows: list[dict[str, Any]]) -> str:
    ordered = sorted(rows, key=lambda row: (-_total_tokens(row), str(row["username"])))
    table = _table(
        "t-users", ["User", "Interceptions", "Sessions", "Input", "Output", "Cache read", "Cache write", "Prompts",
                    "Tool calls", "Cost"],
        [[_e(row["username"] or row["user_id"]), _int(row["interceptions"]), _int(row["sessions"]),
          _int(row["input_tokens"]), _int(row["output_tokens"]), _int(row["cache_read_input_tokens"]),
          _int(row["cache_write_input_tokens"]), _int(row["prompts"]), _int(row["tool_calls"]),
          _usd(row["cost_usd"])] for row in ordered],
        numeric=range(1, 10), filterable=True)
    return f'<section><h2>Users by tokens</h2>{table}</section>'


_PARTS = ("input_cost_usd", "output_cost_usd", "cache_read_cost_usd", "cache_write_cost_usd", "request_cost_usd",
          "recorded_cost_usd")


def _cost_table(rows: list[dict[str, Any]]) -> str:
    ordered = sorted(rows, key=lambda row: (-(row["cost_usd"] or 0), row["provider"], row["model"]))

    def total(name: str) -> str:
        values = [row[name] for row in rows if row[name] is not None]
        return _usd(sum(values, Decimal(0))) if values else ""

    table = _table(
        "t-cost", ["Provider", "Model", "Input", "Output", "Cache read", "Cache write", "Per request",
                   "Recorded by Coder", "Total", "Unpriced tokens", "Priced by"],
        [[_e(row["provider"]), _e(row["model"]), *(_usd(row[p]) if row["cost_usd"] is not None else "" for p in _PARTS),
          _usd(row["cost_usd"]), _int(row["unpriced_tokens"]), _e(row["priced_by"])] for row in ordered],
        numeric=range(2, 10),
        footer=["Total", "", *(total(p) for p in _PARTS), total("cost_usd"),
                _int(sum(row["unpriced_tokens"] for row in rows)), ""])
    note = ("<p class=note>Each token usage is priced at the prices of its own day. \"Recorded by Coder\" is the "
            "cost Coder itself recorded, which has no parts; \"unpriced\" means no price is known, not $0.</p>")
    return f'<section><h2>Cost by provider and model</h2>{table}{note}</section>'


def _top_sessions(top: list[dict[str, Any]], threads: dict[Any, list[dict[str, Any]]], zone: ZoneInfo) -> str:
    blocks = []
    for n, row in enumerate(top, start=1):
        rows = [[_e(_when(datetime.fromisoformat(t["started_at"]), zone)), _e(t["model"]),
                 _e(_clip(t.get("prompt"), 160)),
                 _int(t["token_usage"]["input_tokens"]), _int(t["token_usage"]["output_tokens"]),
                 _int(sum(len(a["tool_calls"]) for a in t["agentic_actions"]))]
                for t in threads[(row["session_id"], row["user_id"])]]
        inner = (_table(f"t-session-{n}", ["Started", "Model", "Prompt", "Input", "Output", "Tool calls"], rows,
                        numeric=(3, 4, 5)) if rows else "<p class=note>No ended threads.</p>")
        summary = (f"<b>{_e(row['username'] or row['user_id'])}</b> · session <code>{_e(row['session_id'])}</code> · "
                   f"{_int(row['total_tokens'])} tokens · {_usd(row['cost_usd'])} · {_int(row['interceptions'])} "
                   f"interceptions · {_e(_when(row['started_at'], zone))}")
        opened = " open" if n == 1 else ""
        blocks.append(f'<details class="session"{opened}><summary>{summary}</summary>{inner}</details>')
    body = "".join(blocks) or "<p class=note>No sessions.</p>"
    return f'<section id="top-sessions"><h2>Top sessions by tokens, with their threads</h2>{body}</section>'


def _clip(text: Any, size: int) -> str:
    value = "" if text is None else " ".join(str(text).split())
    return value if len(value) <= size else value[: size - 1] + "…"


def _servers(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    table = _table("t-servers", ["MCP server", "Calls", "Injected", "Errors", "Error rate"],
                   [[_e(row["server_url"]), _int(row["calls"]), _int(row["injected_calls"]), _int(row["errors"]),
                     f"{row['error_rate']:.1%}"] for row in rows], numeric=(1, 2, 3, 4))
    return f"<section><h2>MCP servers</h2>{table}</section>"


def _prompts(rows: list[dict[str, Any]], zone: ZoneInfo) -> str:
    table = _table("t-prompts", ["When", "User", "Client", "Model", "Prompt"],
                   [[_e(_when(row["created_at"], zone)), _e(row["username"] or row["user_id"]), _e(row["client"]),
                     _e(row["model"]), f'<span title="{_e(_clip(row["prompt"], 2000))}">{_e(_clip(row["prompt"], 240))}'
                     "</span>"] for row in rows], filterable=True)
    return f'<section><h2>Newest prompts ({len(rows)})</h2>{table}</section>'


def _calls(rows: list[dict[str, Any]], zone: ZoneInfo) -> str:
    table = _table("t-calls", ["When", "User", "Model", "Tool", "Server", "Input", "Error"],
                   [[_e(_when(row["created_at"], zone)), _e(row["username"] or row["user_id"]), _e(row["model"]),
                     _e(row["tool"]) + (" <small>(injected)</small>" if row["injected"] else ""),
                     _e(_host(row["server_url"])) if row["server_url"] else "", _e(_clip(row["input"], 160)),
                     _e(_clip(row["invocation_error"], 200))] for row in rows],
                   row_classes=["failed" if row["invocation_error"] else "" for row in rows], filterable=True)
    return f'<section><h2>Newest tool calls ({len(rows)}; failed ones in red)</h2>{table}</section>'


# -- the page ------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1d232b;
background:#f5f6f8}
header{background:#1d232b;color:#fff;padding:18px 28px}header h1{margin:0 0 6px;font-size:22px}
header p{margin:0;color:#c9d1db;font-size:13px}header code{color:#fff}
main{padding:8px 28px 40px;max-width:1500px;margin:auto}section{margin-top:22px}h2{font-size:17px;margin:0 0 10px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
.tile{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px #0002}
.tile .label{color:#5b6573;font-size:12px}.tile .value{font-size:22px;font-weight:600}
.tile .note{color:#5b6573;font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:12px}
.chart{background:#fff;border-radius:8px;box-shadow:0 1px 2px #0002;min-height:380px}
.scroll{overflow:auto;max-height:560px;background:#fff;border-radius:8px;box-shadow:0 1px 2px #0002}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:5px 9px;border-bottom:1px solid #e6e9ee;
text-align:left;vertical-align:top}th{position:sticky;top:0;background:#eef1f5}td.num,th.num{text-align:right;
font-variant-numeric:tabular-nums}tfoot td{font-weight:600;background:#eef1f5}tr.failed td{background:#fde8e8;
color:#8a1c1c}.note{color:#5b6573;font-size:12px}details.session{background:#fff;border-radius:8px;margin:8px 0;
padding:8px 12px;box-shadow:0 1px 2px #0002}details.session summary{cursor:pointer}details .scroll{box-shadow:none}
input.filter{margin:0 0 8px;padding:5px 8px;width:280px;border:1px solid #c9d1db;border-radius:6px}
"""

_SCRIPT = """
(function () {
  var charts = JSON.parse(document.getElementById("aibridge-charts").textContent);
  Object.keys(charts).forEach(function (id) {
    var figure = charts[id];
    Plotly.newPlot(id, figure.data, figure.layout, {displaylogo: false, responsive: true, displayModeBar: "hover"});
  });
  document.querySelectorAll("input.filter").forEach(function (input) {
    input.addEventListener("input", function () {
      var needle = input.value.toLowerCase();
      document.querySelectorAll("#" + input.dataset.table + " tbody tr").forEach(function (row) {
        row.style.display = row.textContent.toLowerCase().indexOf(needle) === -1 ? "none" : "";
      });
    });
  });
})();
"""


def _script_json(value: Any) -> str:
    """JSON for a ``<script>`` element: ``</`` (and ``<!--``) cannot end or open anything there."""
    return json.dumps(value, separators=(",", ":"), default=str).replace("</", "<\\/").replace("<!--", "<\\!--")


def render(page: Page) -> str:
    """The page as one HTML document with plotly.js inside."""
    from plotly.offline import get_plotlyjs

    plotly_js = get_plotlyjs().replace("</script", "<\\/script")
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{_e(page.title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{_e(page.title)}</h1><p>{page.subtitle}</p></header><main>{''.join(page.sections)}</main>"
        f'<script type="application/json" id="aibridge-charts">{_script_json(page.charts)}</script>'
        f"<script>{plotly_js}</script><script>{_SCRIPT}</script></body></html>\n"
    )
