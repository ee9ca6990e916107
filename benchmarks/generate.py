"""A seeded generator of realistic AI Bridge data, written as table files (the import layout).

    python benchmarks/generate.py OUT_DIR --interceptions 100000 [--seed 7] [--format csv|parquet|jsonl|log]

The structure (users, sessions of 1-200 interceptions, threads with roots and children, in-flight
rows, ties) is drawn in Python from ``random.Random(seed)``; the wide columns are expanded by DuckDB
from hashes of the row numbers, so the same seed always writes the same files. CSV files look like
PostgreSQL's ``COPY ... (FORMAT csv, HEADER)``: ``+00`` offsets, ``t``/``f``, NULL as an empty
field and ``""`` for empty strings, jsonb text, multi-line prompts, no ``session_id`` column.
``--format log`` writes the same records as one coderd JSON log (``coderd.log``), as coderd's G2
emitter logs them, in time order, with an ordinary log line between every ten records.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa

PROVIDERS = [("anthropic", "anthropic", ["claude-opus-4-5-20251101", "claude-sonnet-4-5", "claude-haiku-4-5"]),
             ("openai", "openai", ["gpt-5", "gpt-5-mini", "o4-mini"]),
             ("openai", "azure-openai", ["gpt-5"]),
             ("copilot", "copilot", ["gpt-4.1", "claude-sonnet-4"])]
CLIENTS = ["Claude Code", "Cursor", "Codex", "Copilot CLI", "Unknown", None, "claude-code", ""]
CLIENT_WEIGHTS = [30, 20, 12, 8, 5, 15, 5, 5]
START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
SPAN_US = 60 * 86_400 * 1_000_000


def _skeleton(interceptions: int, seed: int) -> pa.Table:
    """One row per interception: who, which session and thread, when, with what."""
    rng = random.Random(seed)
    users = max(2, interceptions // 2000)
    cols: dict[str, list] = {k: [] for k in (
        "idx", "user_no", "session_no", "root_idx", "parent_idx", "started_us", "duration_us",
        "in_flight", "client_session", "provider_no", "model_no", "client_no", "tie")}
    idx = 0
    session_no = 0
    shared_session = f"shared-{seed}-session"
    while idx < interceptions:
        size = min(interceptions - idx, rng.choice((1, 1, 2, 3, 5, 8, 13, 30, 60, 120, 200, rng.randint(1, 200))))
        user = rng.randrange(users)
        provider_no = rng.randrange(len(PROVIDERS))
        client_no = rng.choices(range(len(CLIENTS)), CLIENT_WEIGHTS)[0]
        has_client_session = rng.random() < 0.6
        if session_no == 1:
            client_session = shared_session  # two users share one client session id
            user = 0
        elif session_no == 2:
            client_session, user = shared_session, 1
        else:
            client_session = f"cs-{seed}-{session_no}" if has_client_session else None
        t = START_US + rng.randrange(SPAN_US)
        root = -1
        thread_left = 0
        previous = -1
        for _ in range(size):
            if thread_left == 0:
                root, previous = idx, -1
                thread_left = rng.randint(1, 8)
            tie = previous >= 0 and rng.random() < 0.03
            if not tie:
                t += rng.randrange(200_000, 90_000_000)
            cols["idx"].append(idx)
            cols["user_no"].append(user)
            cols["session_no"].append(session_no)
            cols["root_idx"].append(-1 if root == idx else root)
            cols["parent_idx"].append(previous)
            cols["started_us"].append(t)
            cols["duration_us"].append(rng.randrange(300_000, 120_000_000))
            cols["in_flight"].append(rng.random() < 0.03)
            cols["client_session"].append(client_session)
            cols["provider_no"].append(provider_no)
            cols["model_no"].append(rng.randrange(len(PROVIDERS[provider_no][2])))
            cols["client_no"].append(client_no)
            cols["tie"].append(tie)
            previous = idx
            idx += 1
            thread_left -= 1
        session_no += 1
    return pa.table(cols)


def _lookup(name: str, values: list) -> pa.Table:
    return pa.table({"no": list(range(len(values))), name: values})


_UUID = "CAST(md5({salt} || CAST({expr} AS VARCHAR)) AS UUID)"


def build(con: duckdb.DuckDBPyConnection, interceptions: int, seed: int) -> None:
    """Create the six tables in ``con`` (DuckDB types, Coder's columns)."""
    skel = _skeleton(interceptions, seed)
    users = max(2, interceptions // 2000)
    providers = pa.table({
        "no": list(range(len(PROVIDERS))),
        "provider": [p[0] for p in PROVIDERS],
        "provider_name": [p[1] for p in PROVIDERS],
        "models": [p[2] for p in PROVIDERS],
    })
    clients = _lookup("client", CLIENTS)
    con.register("skel", skel)
    con.register("providers", providers)
    con.register("clients", clients)
    s = f"'{seed}-"
    iid = lambda e: _UUID.format(salt=s + "i'", expr=e)  # noqa: E731
    con.execute(f"""
        CREATE OR REPLACE TABLE users AS
        SELECT {_UUID.format(salt=s + "u'", expr="range")} AS id,
               'user' || range AS username,
               CASE WHEN range % 5 = 0 THEN '' ELSE 'User ' || range END AS name,
               CASE WHEN range % 3 = 0 THEN '' ELSE 'https://example.com/avatar/' || range || '.png' END AS avatar_url,
               'user' || range || '@example.com' AS email,
               range = {users - 1} AND range > 1 AS deleted
        FROM range({users})
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE aibridge_interceptions AS
        SELECT {iid("k.idx")} AS id,
               {_UUID.format(salt=s + "u'", expr="k.user_no")} AS initiator_id,
               p.provider, p.models[k.model_no + 1] AS model,
               make_timestamptz(k.started_us) AS started_at,
               CASE WHEN hash(k.idx, 'meta') % 10 = 0 THEN NULL
                    ELSE json_object('request_user_agent', c.client || '/1.' || (k.idx % 7)) END AS metadata,
               CASE WHEN k.in_flight THEN NULL ELSE make_timestamptz(k.started_us + k.duration_us) END AS ended_at,
               'key' || (k.user_no % 97) AS api_key_id,
               c.client,
               CASE WHEN k.parent_idx >= 0 THEN {iid("k.parent_idx")} END AS thread_parent_id,
               CASE WHEN k.root_idx >= 0 THEN {iid("k.root_idx")} END AS thread_root_id,
               k.client_session AS client_session_id,
               p.provider_name,
               CASE WHEN hash(k.idx, 'kind') % 5 = 0 THEN 'byok' ELSE 'centralized' END AS credential_kind,
               CASE hash(k.idx, 'hint') % 4 WHEN 0 THEN '' WHEN 1 THEN 'sk-a...efgh'
                    WHEN 2 THEN 'sk-proj-abc1234' ELSE 's...t' END AS credential_hint,
               k.idx, k.root_idx, k.started_us, k.duration_us
        FROM skel k JOIN providers p ON p.no = k.provider_no JOIN clients c ON c.no = k.client_no
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE aibridge_token_usages AS
        SELECT {_UUID.format(salt=s + "t'", expr="i.idx * 4 + r.range")} AS id,
               i.id AS interception_id,
               'msg_' || substr(md5('m' || i.idx), 1, 24) AS provider_response_id,
               CAST(hash(i.idx, r.range, 'in') % 20000 AS BIGINT) AS input_tokens,
               CAST(hash(i.idx, r.range, 'out') % 4000 AS BIGINT) AS output_tokens,
               json_object('cache_read_input', hash(i.idx, 'cr') % 50000,
                           'cache_creation_input', hash(i.idx, 'cw') % 9000,
                           'web_search_requests', 0) AS metadata,
               make_timestamptz(i.started_us + (r.range + 1) * i.duration_us // 3) AS created_at,
               CAST(hash(i.idx, 'cr') % 50000 AS BIGINT) AS cache_read_input_tokens,
               CAST(hash(i.idx, 'cw') % 9000 AS BIGINT) AS cache_write_input_tokens
        FROM aibridge_interceptions i, range(CAST(1 + hash(i.idx, 'ntok') % 2 AS BIGINT)) r
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE aibridge_user_prompts AS
        SELECT {_UUID.format(salt=s + "p'", expr="i.idx")} AS id,
               i.id AS interception_id,
               'msg_' || substr(md5('m' || i.idx), 1, 24) AS provider_response_id,
               CASE hash(i.idx, 'prompt') % 6
                    WHEN 0 THEN 'fix the "flaky" test,' || chr(10) || 'then run it'
                    WHEN 1 THEN ''
                    ELSE 'task ' || i.idx || ': refactor module ' || (i.idx % 31) END AS prompt,
               '{{}}'::JSON AS metadata,
               make_timestamptz(i.started_us + 1000) AS created_at
        FROM aibridge_interceptions i
        WHERE i.root_idx < 0 AND hash(i.idx, 'hasprompt') % 10 < 9
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE aibridge_tool_usages AS
        SELECT {_UUID.format(salt=s + "x'", expr="i.idx * 8 + r.range")} AS id,
               i.id AS interception_id,
               'msg_' || substr(md5('m' || i.idx), 1, 24) AS provider_response_id,
               CASE WHEN hash(i.idx, r.range, 'inj') % 4 = 0 THEN 'https://mcp.example.com/' END AS server_url,
               (['Bash', 'Read', 'Edit', 'Grep', 'bmcp_github_search'])
                   [CAST(1 + hash(i.idx, r.range, 'tool') % 5 AS BIGINT)] AS tool,
               '{{"command":"ls -la","path":"src/' || (i.idx % 50) || '"}}' AS input,
               hash(i.idx, r.range, 'inj') % 4 = 0 AS injected,
               CASE WHEN hash(i.idx, r.range, 'inj') % 4 = 0 AND hash(i.idx, r.range, 'err') % 5 = 0
                    THEN 'tool failed: timeout' END AS invocation_error,
               '{{}}'::JSON AS metadata,
               make_timestamptz(i.started_us + i.duration_us // 2 + r.range) AS created_at,
               'toolu_' || substr(md5('c' || i.idx || '-' || r.range), 1, 20) AS provider_tool_call_id,
               CAST(NULL AS VARCHAR) AS provider_item_id
        FROM aibridge_interceptions i, range(CAST(hash(i.idx, 'ntool') % 5 AS BIGINT)) r
    """)
    con.execute("""
        CREATE OR REPLACE TABLE aibridge_model_thoughts AS
        SELECT i.id AS interception_id,
               'Considering step ' || (i.idx % 13) || ' of the plan.' AS content,
               json_object('source', 'thinking') AS metadata,
               make_timestamptz(i.started_us + 500 + r.range) AS created_at
        FROM aibridge_interceptions i, range(CAST(hash(i.idx, 'nthink') % 3 AS BIGINT)) r
        WHERE i.provider = 'anthropic'
    """)
    for column in ("idx", "root_idx", "started_us", "duration_us"):
        con.execute(f"ALTER TABLE aibridge_interceptions DROP COLUMN {column}")
    for name in ("skel", "providers", "clients"):
        con.unregister(name)


TABLES = [
    "users",
    "aibridge_interceptions",
    "aibridge_token_usages",
    "aibridge_user_prompts",
    "aibridge_tool_usages",
    "aibridge_model_thoughts",
]


def _pg_text(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A SELECT rendering every column as PostgreSQL's COPY CSV does."""
    columns = con.execute(f"DESCRIBE {table}").fetchall()
    parts = []
    for name, dtype, *_ in columns:
        if dtype.startswith("TIMESTAMP"):
            text = f"rtrim(rtrim(strftime({name}, '%Y-%m-%d %H:%M:%S.%f'), '0'), '.') || '+00'"
            expr = f"CASE WHEN {name} IS NULL THEN NULL ELSE {text} END"
        elif dtype == "BOOLEAN":
            expr = f"CASE WHEN {name} IS NULL THEN NULL WHEN {name} THEN 't' ELSE 'f' END"
        else:
            expr = f"CAST({name} AS VARCHAR)"
        parts.append(f"{expr} AS {name}")
    return f"SELECT {', '.join(parts)} FROM {table}"


def write(con: duckdb.DuckDBPyConnection, out: Path, fmt: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in TABLES:
        if fmt == "csv":
            path = out / f"{table}.csv"
            con.execute(f"COPY ({_pg_text(con, table)}) TO '{path}' (FORMAT csv, HEADER, QUOTE '\"')")
        elif fmt == "parquet":
            path = out / f"{table}.parquet"
            con.execute(f"COPY {table} TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 122880)")
        else:
            path = out / f"{table}.jsonl"
            con.execute(f"COPY {table} TO '{path}' (FORMAT json)")
        paths.append(path)
    return paths


def _go_time(column: str) -> str:
    """RFC 3339 as Go prints it: trailing zeros of the fraction dropped, ``Z``."""
    return f"rtrim(rtrim(strftime({column}, '%Y-%m-%dT%H:%M:%S.%f'), '0'), '.') || 'Z'"


def _nil(column: str) -> str:
    return f"COALESCE(CAST({column} AS VARCHAR), '00000000-0000-0000-0000-000000000000')"


def _log_records(con: duckdb.DuckDBPyConnection) -> str:
    """A SELECT of (moment, record) for every record coderd's G2 emitter would log."""
    t = _go_time
    return f"""
        SELECT started_at AS moment, json_object('record_type', 'interception_start', 'interception_id', id::VARCHAR,
            'initiator_id', initiator_id::VARCHAR, 'api_key_id', api_key_id, 'provider', provider, 'model', model,
            'client', COALESCE(client, ''), 'client_session_id', COALESCE(client_session_id, ''),
            'started_at', {t('started_at')}, 'metadata', COALESCE(metadata, '{{}}'::JSON),
            'correlating_tool_call_id', '', 'thread_parent_id', {_nil('thread_parent_id')},
            'thread_root_id', {_nil('thread_root_id')}) AS record
        FROM aibridge_interceptions
        UNION ALL
        SELECT ended_at, json_object('record_type', 'interception_end', 'interception_id', id::VARCHAR,
            'ended_at', {t('ended_at')}) FROM aibridge_interceptions WHERE ended_at IS NOT NULL
        UNION ALL
        SELECT created_at, json_object('record_type', 'token_usage', 'interception_id', interception_id::VARCHAR,
            'msg_id', provider_response_id, 'input_tokens', input_tokens, 'output_tokens', output_tokens,
            'cache_read_input_tokens', cache_read_input_tokens, 'cache_write_input_tokens', cache_write_input_tokens,
            'created_at', {t('created_at')}, 'metadata', metadata) FROM aibridge_token_usages
        UNION ALL
        SELECT created_at, json_object('record_type', 'prompt_usage', 'interception_id', interception_id::VARCHAR,
            'msg_id', provider_response_id, 'prompt', prompt, 'created_at', {t('created_at')}, 'metadata', metadata)
        FROM aibridge_user_prompts
        UNION ALL
        SELECT created_at, json_object('record_type', 'tool_usage', 'interception_id', interception_id::VARCHAR,
            'msg_id', provider_response_id, 'tool_call_id', provider_tool_call_id, 'item_id', '', 'tool', tool,
            'input', input, 'server_url', COALESCE(server_url, ''), 'injected', injected,
            'invocation_error', COALESCE(invocation_error, ''), 'created_at', {t('created_at')}, 'metadata', metadata)
        FROM aibridge_tool_usages
        UNION ALL
        SELECT created_at, json_object('record_type', 'model_thought', 'interception_id', interception_id::VARCHAR,
            'content', content, 'created_at', {t('created_at')}, 'metadata', metadata) FROM aibridge_model_thoughts
    """


_ENVELOPE = (
    '\'{"ts":"\' || {ts} || \'","level":"INFO","msg":"interception log",'
    '"caller":"/home/runner/work/coder/coder/coderd/aibridgedserver/aibridgedserver.go:172",'
    '"func":"github.com/coder/coder/v2/coderd/aibridgedserver.(*Server).Record",'
    '"logger_names":["coderd","aibridgedserver"],"fields":\' || CAST(record AS VARCHAR) || \'}\''
)
_OTHER = (
    '\'{"ts":"\' || {ts} || \'","level":"INFO","msg":"http request","caller":"coderd/httpmw/logger.go:52",'
    '"fields":{"status":200,"method":"GET","path":"/api/v2/workspaces","latency_ms":12}}\''
)


def write_log(con: duckdb.DuckDBPyConnection, out: Path) -> list[Path]:
    """One coderd JSON log of every record, in time order, one other log line per ten records."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "coderd.log"
    ts = _go_time("moment + INTERVAL 3 MILLISECOND")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE log_records AS SELECT moment, record, row_number() OVER (ORDER BY moment) AS n "
        f"FROM ({_log_records(con)})"
    )
    query = (
        f"SELECT line FROM (SELECT n * 2 AS k, {_ENVELOPE.replace('{ts}', ts)} AS line FROM log_records "
        f"UNION ALL SELECT n * 2 + 1, {_OTHER.replace('{ts}', ts)} FROM log_records WHERE n % 10 = 0) ORDER BY k"
    )
    reader = con.sql(query).to_arrow_reader(1 << 16)
    with open(path, "w", encoding="utf-8") as f:
        for batch in reader:
            f.write("\n".join(batch.column(0).to_pylist()))
            f.write("\n")
    con.execute("DROP TABLE log_records")
    return [path]


def generate(out: Path, interceptions: int, seed: int = 7, fmt: str = "csv") -> list[Path]:
    """Write the dataset to ``out`` as one file per table; return the files."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        build(con, interceptions, seed)
        return write_log(con, out) if fmt == "log" else write(con, out, fmt)
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--interceptions", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", choices=("csv", "parquet", "jsonl", "log"), default="csv")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    paths = generate(args.out, args.interceptions, args.seed, args.format)
    size = sum(p.stat().st_size for p in paths)
    print(
        f"wrote {len(paths)} files, {size / 1e6:.1f} MB, to {args.out} in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
