"""The SQL and Arrow surface: public views, store.sql(), pages as Arrow, exports that round-trip,
and the command line's sql and report commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from aibridge_store import ReportError, SqlError, Store
from aibridge_store.cli import main, render_rows
from tests.helpers.rows import USER_A, USER_B, export_dir, interception, prompt, token, tool, uid

VIEWS = {
    "interceptions": ["id", "initiator_id", "provider", "provider_name", "model", "client", "session_id",
                      "client_session_id", "thread_root_id", "thread_parent_id", "started_at", "ended_at",
                      "in_flight", "duration_us", "api_key_id", "credential_kind", "credential_hint", "metadata"],
    "token_usages": ["id", "interception_id", "provider_response_id", "input_tokens", "output_tokens",
                     "cache_read_input_tokens", "cache_write_input_tokens", "metadata", "created_at",
                     "input_price_micros", "output_price_micros", "cache_read_price_micros", "cache_write_price_micros",
                     "cost_micros", "priced_model", "effective_group_id"],
    "user_prompts": ["id", "interception_id", "provider_response_id", "prompt", "metadata", "created_at"],
    "tool_usages": ["id", "interception_id", "provider_response_id", "server_url", "tool", "input", "injected",
                    "invocation_error", "provider_tool_call_id", "provider_item_id", "metadata", "created_at"],
    "model_thoughts": ["interception_id", "content", "metadata", "created_at"],
    "sessions": ["session_id", "initiator_id", "started_at", "ended_at", "last_active_at", "threads", "providers",
                 "models", "client", "metadata", "input_tokens", "output_tokens", "cache_read_input_tokens",
                 "cache_write_input_tokens", "last_prompt"],
    "users": ["id", "username", "name", "avatar_url", "email", "deleted"],
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "s.duckdb"
    rows = [interception(1), interception(2, initiator_id=str(USER_B), model="gpt-5", client="Cursor"),
            interception(3, ended_at=None)]
    with Store.open(path) as store:
        store.import_path(export_dir(tmp_path / "x", rows, tokens=[token(1, 1), token(2, 2, input_tokens=7)],
                                     prompts=[prompt(1, 1)], tools=[tool(1, 1, invocation_error="boom")]))
    return path


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    with Store.open(db, read_only=True) as opened:
        yield opened


def test_the_public_views_have_their_documented_columns(store: Store) -> None:
    for view, columns in VIEWS.items():
        assert store.sql(f"SELECT * FROM {view}").columns == columns, view
    flights = store.sql("SELECT id, in_flight, duration_us FROM interceptions ORDER BY id").fetchall()
    assert [(r[1], r[2]) for r in flights] == [(False, 5_000_000), (False, 5_000_000), (True, None)]


def test_sql_takes_parameters_and_returns_a_relation(store: Store) -> None:
    relation = store.sql("SELECT count(*) AS n FROM interceptions WHERE initiator_id = $1", [str(USER_A)])
    assert relation.fetchall() == [(2,)]
    table = store.sql("SELECT model, count(*) AS n FROM interceptions GROUP BY ALL ORDER BY model").to_arrow_table()
    assert table.to_pylist() == [{"model": "claude-opus-4-5", "n": 2}, {"model": "gpt-5", "n": 1}]


def test_a_relation_kept_open_does_not_block_other_reads(store: Store) -> None:
    relation = store.sql("SELECT * FROM range(100000)")
    reader = relation.to_arrow_reader()
    reader.read_next_batch()
    assert store.list_interceptions().count == 2
    assert store.usage().to_pylist()[0]["interceptions"] == 3


@pytest.mark.parametrize(("query", "message"), [
    ("DELETE FROM users", "runs one SELECT; got DELETE"),
    ("SELECT 1; SELECT 2", "runs one SELECT; got SELECT, SELECT"),
    ("SELEC 1", "cannot parse the SQL"),
    ("SELECT * FROM nowhere", "nowhere does not exist"),
    ("ATTACH 'x.db' AS x", "runs one SELECT"),
])
def test_sql_refuses_anything_but_one_select(store: Store, query: str, message: str) -> None:
    with pytest.raises(SqlError, match=message):
        store.sql(query)


def test_a_version_2_store_read_only_gets_the_views_for_sql(db: Path) -> None:
    con = duckdb.connect(str(db))
    for view in VIEWS:
        if view != "users":
            con.execute(f"DROP VIEW {view}")
    con.execute("DROP TABLE aibridge_interception_counts")
    con.execute("UPDATE aibridge_store_meta SET value = '2' WHERE key = 'schema_version'")
    con.close()
    with Store.open(db, read_only=True) as store:
        assert store.sql("SELECT count(*) FROM interceptions").fetchall() == [(3,)]


def test_pages_convert_to_arrow_with_fixed_columns(store: Store) -> None:
    page = store.list_interceptions()
    table = page.to_arrow()
    assert table.num_rows == 2 and table.column("id").to_pylist() == [str(uid(2)), str(uid(1))]
    assert table.schema.field("started_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("token_usages").to_pylist()[1][0]["input_tokens"] == 10
    empty = store.list_interceptions("model:nothing").to_arrow()
    assert (empty.num_rows, empty.schema) == (0, table.schema)
    sessions = store.list_sessions().to_arrow()
    assert sessions.num_rows == 2 and "token_usage_summary" in sessions.column_names
    threads = store.get_session_threads(str(uid(1))).to_arrow()
    assert threads.column("id").to_pylist() == [str(uid(1))]


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_reports_round_trip_through_every_export_format(store: Store, tmp_path: Path, suffix: str) -> None:
    report = store.usage(by=["user", "model"])
    path = tmp_path / f"usage{suffix}"
    report.write(path)
    expected = report.to_pylist()
    if suffix == ".parquet":
        back = pq.read_table(path).to_pylist()
    elif suffix == ".csv":
        # NULL is written as nothing and "" quoted, so both come back apart.
        types = pa_csv.ConvertOptions(column_types=report.to_arrow().schema, strings_can_be_null=True,
                                      quoted_strings_can_be_null=False)
        back = pa_csv.read_csv(path, convert_options=types).to_pylist()
    else:
        back = [json.loads(line, parse_float=Decimal) for line in path.read_text().splitlines()]
        expected = [{k: Decimal(repr(v)) if isinstance(v, float) else v for k, v in row.items()} for row in expected]
    assert back == expected
    assert not list(tmp_path.glob("*.partial"))


def test_an_unknown_export_format_or_a_missing_folder_is_our_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="cannot tell the format"):
        store.usage().write(tmp_path / "usage.xlsx")
    with pytest.raises(ReportError, match="cannot write .*No such file or directory"):
        store.usage().write(tmp_path / "nowhere" / "usage.csv")


def test_command_line_sql_and_reports(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "sql", "SELECT model, count(*) AS n FROM interceptions GROUP BY ALL ORDER BY 1"]) == 0
    out = capsys.readouterr().out
    assert "claude-opus-4-5" in out and "2 row(s)" in out
    assert main(["--db", str(db), "report", "usage", "--by", "user", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith('"user_id","username","interceptions"') and len(lines) == 3
    out_file = tmp_path / "tools.parquet"
    assert main(["--db", str(db), "report", "tools", "--by", "server", "--out", str(out_file)]) == 0
    assert pq.read_table(out_file).to_pylist()[0]["errors"] == 1
    assert main(["--db", str(db), "report", "cost", "--by", "model", "--format", "json"]) == 0
    costs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_model = {c["model"]: c for c in costs}
    assert by_model["claude-opus-4-5"]["priced_by"].startswith("genai-prices")
    assert by_model["claude-opus-4-5"]["cost_usd"] > 0
    # gpt-5 under the provider "anthropic" has no price: unpriced, not $0.
    assert (by_model["gpt-5"]["cost_usd"], by_model["gpt-5"]["unpriced_tokens"]) == (None, 30)
    assert main(["--db", str(db), "interceptions", "--format", "jsonl"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == [str(uid(2)), str(uid(1))] and rows[0]["metadata"] == {}
    assert main(["--db", str(db), "sql", "DROP TABLE users"]) == 1
    assert "runs one SELECT" in capsys.readouterr().err
    assert main(["--db", str(db), "report", "usage", "--by", "team"]) == 1
    assert "cannot group by 'team'" in capsys.readouterr().err


def test_tables_fit_the_terminal_and_name_what_they_leave_out() -> None:
    table = pa.table({"model": ["gpt-5"], "username": ["alice"], "user_id": ["x" * 36],
                      **{f"figure_{n}": [1234567] for n in range(12)}})
    text = render_rows(table, width=80)
    assert all(len(line) <= 80 for line in text.splitlines()[:-1])
    assert "1,234,567" in text and "user_id" not in text.splitlines()[0]
    assert "not shown here: figure_" in text.splitlines()[-1]
