"""The HTML report, opened in a real headless Chromium with no network: it loads without errors,
every chart draws, and every chart's data equals the report it comes from, computed here through
the store's own API; tables escape what the data holds."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from aibridge_store import ReportError, Store
from aibridge_store.cli import main
from tests.helpers.rows import USER_A, USER_B, interception, prompt, token, tool, users_rows

START = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
HOSTILE = '</script><script>window.__owned = 1</script><img src=x onerror="window.__owned = 2">'
CHARTS = {"interceptions-over-time", "cost-over-time", "tokens-by-user", "top-models", "top-clients", "latency",
          "session-lengths", "session-sizes", "top-tools"}

# Chromium runs as root here: without the sandbox. The proxy and resolver rules make sure that
# nothing could be fetched even if the page asked.
_CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=http://127.0.0.1:9",
                   "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=20000"]

_HEAD = """<script>
window.__errors = [];
window.addEventListener("error", function (e) { window.__errors.push(String(e.message)); });
(function () { var original = console.error; console.error = function () {
  window.__errors.push(Array.prototype.join.call(arguments, " ")); original.apply(console, arguments); }; })();
</script>"""
_TAIL = """<script>
window.addEventListener("load", function () { setTimeout(function () {
  var out = {errors: window.__errors, owned: window.__owned || null,
             resources: performance.getEntriesByType("resource").map(function (r) { return r.name; }), charts: {}};
  document.querySelectorAll(".chart").forEach(function (div) {
    out.charts[div.id] = {svg: div.querySelectorAll("svg.main-svg").length,
                          bars: div.querySelectorAll("g.trace.bars path").length,
                          data: (div.data || []).map(function (t) { return {name: t.name, x: t.x, y: t.y}; })};
  });
  var pre = document.createElement("pre"); pre.id = "harness"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 500); });
</script>"""


def chromium() -> str:
    """Debian's chromium, which `python3 dev.py test` installs; never skipped silently."""
    found = os.environ.get("AIBRIDGE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("AIBRIDGE_SKIP_BROWSER") == "1":
        pytest.skip("AIBRIDGE_SKIP_BROWSER=1: no browser for this run")
    pytest.fail("no chromium: run the tests through `python3 dev.py test`, which installs Debian's chromium, "
                "or set AIBRIDGE_SKIP_BROWSER=1")


def _load(store: Store) -> None:
    interceptions, tokens, prompts, tools = [], [], [], []
    plan = [  # user, model, client, minutes after START, seconds long (None: in flight), session
        (USER_A, "claude-sonnet-4-6", "Claude Code", 0, 40, "s1"),
        (USER_A, "claude-sonnet-4-6", "Claude Code", 5, 300, "s1"),
        (USER_A, "gpt-5", "Cursor", 70, 12, "s2"),
        (USER_B, "gpt-5", "Cursor", 130, 7, None),
        (USER_B, "claude-mystery-9", "", 200, 2000, "s3"),
        (USER_B, "claude-sonnet-4-6", None, 260, None, "s3"),
    ]
    for n, (user, model, client, minutes, seconds, session) in enumerate(plan, start=1):
        started = START + timedelta(minutes=minutes)
        ended = None if seconds is None else started + timedelta(seconds=seconds)
        interceptions.append(interception(n, initiator_id=str(user), model=model, client=client,
                                          provider="openai" if model.startswith("gpt") else "anthropic",
                                          provider_name="openai" if model.startswith("gpt") else "anthropic",
                                          client_session_id=session, started_at=started.isoformat(),
                                          ended_at=None if ended is None else ended.isoformat()))
        tokens.append(token(n, n, input_tokens=1000 * n, output_tokens=100 * n, cache_read_input_tokens=50 * n,
                            cache_write_input_tokens=10 * n, created_at=started.isoformat(), metadata="{}"))
        prompts.append(prompt(n, n, HOSTILE if n == 2 else f"task {n}: fix the flaky test",
                              created_at=started.isoformat()))
        tools += [tool(n * 10 + k, n, tool=("Bash", "Read", "github_search")[k % 3],
                       server_url="https://mcp.github.example/v1" if k == 2 else None,
                       invocation_error="exit status 1" if (n + k) % 3 == 0 else None,
                       created_at=(started + timedelta(seconds=k)).isoformat()) for k in range(n % 4)]
    for table, data in (("users", users_rows()), ("aibridge_interceptions", interceptions),
                        ("aibridge_token_usages", tokens), ("aibridge_user_prompts", prompts),
                        ("aibridge_tool_usages", tools)):
        store.import_arrow(table, pa.Table.from_pylist(data))


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "s.duckdb"
    with Store.open(path) as store:
        _load(store)
    return path


def _open_in_chromium(page: Path) -> dict[str, Any]:
    """Load the page (with the harness around it) offline in Chromium; what the harness saw."""
    text = page.read_text(encoding="utf-8")
    probe = page.with_name("probe.html")
    probe.write_text(text.replace("<head>", "<head>" + _HEAD, 1).replace("</body>", _TAIL + "</body>", 1),
                     encoding="utf-8")
    done = subprocess.run([chromium(), *_CHROMIUM_FLAGS, "--dump-dom", probe.as_uri()], capture_output=True,
                          text=True, timeout=180, check=False)
    found = re.search(r'<pre id="harness">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the page did not finish loading in Chromium: {done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    result["dom"] = done.stdout
    return result


@pytest.fixture(scope="module")
def report(loaded: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("page") / "report.html"
    with Store.open(loaded, read_only=True) as store:
        assert store.html_report(out, tz="Europe/Paris") == out
    return {"path": out, "seen": _open_in_chromium(out)}


def test_the_page_is_one_file_that_fetches_nothing(report: dict[str, Any]) -> None:
    text = report["path"].read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|@import|<iframe", text)
    seen = report["seen"]
    assert seen["resources"] == []  # nothing requested: no CDN, no font, no image
    assert seen["errors"] == []


def test_every_chart_draws(report: dict[str, Any]) -> None:
    charts = report["seen"]["charts"]
    assert set(charts) == CHARTS
    for name, chart in charts.items():
        assert chart["svg"] >= 1 and chart["bars"] >= 1, name


def test_hostile_text_stays_text(report: dict[str, Any]) -> None:
    seen = report["seen"]
    assert seen["owned"] is None
    assert html.escape(HOSTILE, quote=False) in seen["dom"]


def _series(chart: dict[str, Any]) -> dict[str, dict[Any, Any]]:
    return {trace["name"]: dict(zip(trace["x"], trace["y"], strict=True)) for trace in chart["data"]}


def test_each_chart_shows_what_its_report_says(report: dict[str, Any], loaded: Path) -> None:
    charts = report["seen"]["charts"]
    paris = "Europe/Paris"
    with Store.open(loaded, read_only=True) as store:
        names = {row["user_id"]: row["username"] for row in store.usage(by=["user"]).to_pylist()}
        per_hour: dict[str, dict[str, int]] = defaultdict(dict)
        for row in store.usage(by=["user"], bucket="hour", tz=paris).to_pylist():
            per_hour[names[row["user_id"]]][_paris_hour(row["bucket"])] = row["interceptions"]
        cost_per_hour: dict[str, dict[str, float]] = defaultdict(dict)
        for row in store.cost(by=["model"], bucket="hour", tz=paris).to_pylist():
            cost_per_hour[row["model"]][_paris_hour(row["bucket"])] = float(row["cost_usd"] or 0)
        by_model = store.usage(by=["model"]).to_pylist()
        by_client = store.usage(by=["client"]).to_pylist()
        by_user = store.usage(by=["user"]).to_pylist()
        tools = store.tools().to_pylist()
        sessions = store.top_sessions().to_pylist()
    assert _present(_series(charts["interceptions-over-time"])) == per_hour
    assert _present(_series(charts["cost-over-time"])) == _present(cost_per_hour)
    models = charts["top-models"]["data"][0]
    assert dict(zip(models["y"], models["x"], strict=True)) == {r["model"]: r["interceptions"] for r in by_model}
    clients = charts["top-clients"]["data"][0]
    assert dict(zip(clients["y"], clients["x"], strict=True)) == {
        (r["client"] or "(empty)"): r["interceptions"] for r in by_client}
    tokens = {trace["name"]: dict(zip(trace["y"], trace["x"], strict=True)) for trace in charts["tokens-by-user"]["data"]}
    assert tokens["input"] == {r["username"]: r["input_tokens"] for r in by_user}
    assert tokens["cache write"] == {r["username"]: r["cache_write_input_tokens"] for r in by_user}
    latency = _series(charts["latency"])
    assert latency["p50"] == {r["model"]: r["duration_p50_s"] for r in by_model}
    assert latency["p99"] == {r["model"]: r["duration_p99_s"] for r in by_model}
    lengths = _series(charts["session-lengths"])["sessions"]
    ended = [(r["ended_at"] - r["started_at"]).total_seconds() for r in sessions if r["ended_at"] is not None]
    assert lengths["< 1 min"] == sum(s < 60 for s in ended) and lengths["5-15 min"] == sum(300 <= s < 900 for s in ended)
    assert sum(lengths.values()) == len(ended)
    sizes = _series(charts["session-sizes"])["sessions"]
    assert sizes["1"] == sum(r["interceptions"] == 1 for r in sessions)
    assert sizes["2"] == sum(r["interceptions"] == 2 for r in sessions) and sum(sizes.values()) == len(sessions)
    calls = {trace["name"]: dict(zip(trace["y"], trace["x"], strict=True)) for trace in charts["top-tools"]["data"]}
    labels = {(r["tool"], r["server_url"]): r["tool"] + (" (mcp.github.example)" if r["server_url"] else "")
              for r in tools}
    assert calls["failed"] == {labels[(r["tool"], r["server_url"])]: r["errors"] for r in tools}
    assert calls["succeeded"] == {labels[(r["tool"], r["server_url"])]: r["calls"] - r["errors"] for r in tools}


def _paris_hour(moment: datetime) -> str:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d %H:%M")


def _present(series: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A stacked chart's series without its zero bars (buckets where the series had nothing)."""
    return {name: {x: y for x, y in values.items() if y} for name, values in series.items()}


def test_the_tables_show_the_cost_and_highlight_failed_calls(report: dict[str, Any], loaded: Path) -> None:
    dom = report["seen"]["dom"]
    with Store.open(loaded, read_only=True) as store:
        (total,) = store.usage().to_pylist()
        failed = [r for r in store.sql("SELECT invocation_error FROM tool_usages").fetchall() if r[0]]
    footer = re.search(r'<table id="t-cost">.*?<tfoot>(.*?)</tfoot>', dom, re.S)
    cost = Decimal(total["cost_usd"])
    assert footer and (f"${cost:,.2f}" if cost >= 1 else f"${cost:,.4f}") in footer.group(1)
    calls = re.search(r'<table id="t-calls">(.*?)</table>', dom, re.S)
    assert calls and calls.group(1).count('<tr class="failed">') == len(failed) > 0
    assert "claude-mystery-9" in dom and "unpriced" in dom


def test_the_command_line_writes_the_page(loaded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    assert main(["--db", str(loaded), "report", "html", "--out", str(out), "--since", "2026-02-10",
                 "-q", "provider:openai"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert "provider:openai" in text and "Plotly" in text
    assert not list(tmp_path.glob("*.partial"))


def test_a_page_that_cannot_be_written_is_our_error(loaded: Path, tmp_path: Path) -> None:
    with Store.open(loaded, read_only=True) as store, pytest.raises(ReportError, match="cannot write"):
        store.html_report(tmp_path / "missing" / "r.html")
