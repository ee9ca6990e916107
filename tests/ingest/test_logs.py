"""coderd structured interception logs (docs/imports.md, "The structured log"): every wrapper, emitter and
quirk a real deployment produces."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from aibridge_store import ImportDataError, Store
from aibridge_store._ingest import open_stdin
from tests.helpers.logrecords import (
    NIL,
    cri,
    docker,
    end,
    envelope,
    other_line,
    prompt,
    start,
    thought,
    token,
    tool,
)
from tests.helpers.rows import USER_A, USER_B, uid

INTERCEPTIONS = "aibridge_interceptions"


def write_log(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def rows(store: Store, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return store.connection.execute(sql, list(params)).fetchall()


def one_interception(gen: int = 2, **kw: Any) -> list[str]:
    i = uid(1)
    return [
        envelope(start(i, 0, gen=gen, **kw), gen=gen),
        envelope(prompt(i, "msg_1", 0.02, 'fix the "flaky" test,\nthen run it'), gen=gen),
        envelope(token(i, "msg_1", 3, 10, 8, gen=gen, cache_write=53194), gen=gen),
        envelope(token(i, "msg_1", 5, 0, 130, gen=gen), gen=gen),
        envelope(tool(i, "msg_1", 5.5, gen=gen, call_id="toolu_1" if gen > 1 else ""), gen=gen),
        envelope(thought(i, 5.4, "list the files first"), gen=gen),
        envelope(end(i, 6), gen=gen),
    ]


def test_a_g2_log_becomes_the_rows_coder_would_store(tmp_path: Path) -> None:
    path = write_log(tmp_path / "coderd.log", [other_line(1), *one_interception(), other_line(2)])
    with Store.open() as store:
        summary = store.import_path(path)
        (row,) = rows(
            store,
            f"SELECT id, initiator_id, provider, provider_name, model, client, client_session_id, thread_parent_id, "
            f"thread_root_id, session_id, credential_kind, credential_hint, api_key_id, ended_at IS NOT NULL FROM {INTERCEPTIONS}",
        )
        assert row == (
            uid(1), USER_A, "anthropic", "anthropic", "claude-opus-4-5", "Claude Code", None, None, None,
            str(uid(1)), "centralized", "", "vg1sbUv97d", True,
        )
        assert rows(store, "SELECT input_tokens, output_tokens, cache_write_input_tokens FROM aibridge_token_usages "
                           "ORDER BY created_at") == [(10, 8, 53194), (0, 130, 0)]
        assert rows(store, "SELECT prompt FROM aibridge_user_prompts") == [('fix the "flaky" test,\nthen run it',)]
        assert rows(store, "SELECT tool, server_url, invocation_error, injected, provider_tool_call_id, provider_item_id "
                           "FROM aibridge_tool_usages") == [("Bash", None, None, False, "toolu_1", None)]
        assert rows(store, "SELECT content, CAST(metadata AS VARCHAR) FROM aibridge_model_thoughts") == [
            ("list the files first", '{"source":"thinking"}')
        ]
        report = summary.reports[str(path)]
        assert report.passed_over == {"other log lines": 2}
        assert report.kind == "slog JSON log"
        assert report.tables[INTERCEPTIONS].inserted == 1
        page = store.list_interceptions()
        assert page.count == 1
        assert len(page.results[0].token_usages) == 2


def test_log_times_are_rounded_to_the_microsecond_as_postgresql_does(tmp_path: Path) -> None:
    i = uid(1)
    lines = [
        envelope(start(i, 0, nanos=781)),  # .000000781 -> .000001
        envelope(end(i, 1, nanos=499)),  # .000000499 -> .000000
    ]
    with Store.open() as store:
        store.import_path(write_log(tmp_path / "a.log", lines))
        (started, ended), = rows(store, f"SELECT started_at, ended_at FROM {INTERCEPTIONS}")
        assert started.microsecond == 1
        assert ended.microsecond == 0


def test_g1_cache_tokens_come_from_metadata_and_client_is_unknown(tmp_path: Path) -> None:
    i = uid(1)
    lines = [
        envelope(start(i, 0, gen=1), gen=1),
        envelope(token(i, "chatcmpl-1", 1, 2412, 187, gen=1,
                       metadata={"completion_reasoning": 64, "prompt_cached": 1920}), gen=1),
        envelope(token(i, "msg_2", 2, 5, 6, gen=1,
                       metadata={"cache_creation_input": 70, "cache_read_input": 30, "input_cached": 40}), gen=1),
        envelope(end(i, 3), gen=1),
    ]
    with Store.open() as store:
        store.import_path(write_log(tmp_path / "g1.log", lines))
        assert rows(store, "SELECT cache_read_input_tokens, cache_write_input_tokens FROM aibridge_token_usages "
                           "ORDER BY created_at") == [(1920, 0), (40, 70)]
        assert rows(store, f"SELECT client, thread_root_id, record_origin FROM {INTERCEPTIONS}") == [("Unknown", None, 0)]


def test_empty_strings_and_the_nil_uuid_mean_absent(tmp_path: Path) -> None:
    i = uid(1)
    fields = start(i, 0, client="", session="")
    assert fields["thread_root_id"] == NIL
    lines = [envelope(fields), envelope(tool(i, "m", 1, call_id="")), envelope(end(i, 2))]
    with Store.open() as store:
        store.import_path(write_log(tmp_path / "a.log", lines))
        assert rows(store, f"SELECT client, client_session_id, thread_parent_id, thread_root_id, session_id FROM {INTERCEPTIONS}") == [
            (None, None, None, None, str(i))
        ]
        assert rows(store, "SELECT server_url, invocation_error, provider_tool_call_id FROM aibridge_tool_usages") == [
            (None, None, None)
        ]
        assert store.list_clients() == ["Unknown"]


def test_the_stackdriver_sink_keeps_fields_at_the_top_level(tmp_path: Path) -> None:
    lines = [envelope(fields, stackdriver=True) for fields in (start(uid(1), 0), token(uid(1), "m", 1, 3, 4), end(uid(1), 2))]
    with Store.open() as store:
        store.import_path(write_log(tmp_path / "stackdriver.json", lines))
        assert rows(store, f"SELECT id, ended_at IS NOT NULL FROM {INTERCEPTIONS}") == [(uid(1), True)]
        assert rows(store, "SELECT input_tokens FROM aibridge_token_usages") == [(3,)]


def test_g3_lines_with_context_fields_duplicate_keys_and_local_offsets(tmp_path: Path) -> None:
    i = uid(1)
    line = envelope(start(i, 0, gen=3, client="Codex", provider="openai", model="gpt-5-codex"), gen=3)
    assert line.count('"interception_id"') == 2
    assert '"request_id"' in line.split('"record_type"')[0]
    with Store.open() as store:
        store.import_path(write_log(tmp_path / "gw.log", [line, envelope(end(i, 1), gen=3)]))
        (started,), = rows(store, f"SELECT started_at FROM {INTERCEPTIONS}")
        assert started.isoformat() == "2026-04-14T09:12:03+00:00"  # logged as 11:12:03+02:00


def _wrapped(tmp_path: Path, name: str, wrap: Any) -> Path:
    long_prompt = "x" * 40000 + "\nsecond line"
    i = uid(1)
    lines = [
        envelope(start(i, 0)),
        other_line(),
        envelope(prompt(i, "msg", 1, long_prompt)),
        envelope(end(i, 2)),
    ]
    out: list[str] = []
    for line in lines:
        out += wrap(line)
    return write_log(tmp_path / name, out)


@pytest.mark.parametrize(
    ("wrap", "label"),
    [
        (docker, "Docker json-file"),
        (cri, "Kubernetes CRI"),
        (lambda line: ["2026-04-14T09:12:03.521870113Z " + line], "kubectl --timestamps"),
        (lambda line: [json.dumps({"labels": {"app": "coder"}, "line": line, "timestamp": "2026-04-14T09:12:03Z"})],
         "Loki JSON lines"),
    ],
)
def test_transport_wrappers_are_unwrapped_and_partial_chunks_joined(tmp_path: Path, wrap: Any, label: str) -> None:
    path = _wrapped(tmp_path, "container.log", wrap)
    with Store.open() as store:
        summary = store.import_path(path)
        assert summary.reports[str(path)].kind == label + " log"
        (text,), = rows(store, "SELECT prompt FROM aibridge_user_prompts")
        assert text == "x" * 40000 + "\nsecond line"
        assert rows(store, f"SELECT count(*) FROM {INTERCEPTIONS} WHERE ended_at IS NOT NULL") == [(1,)]
        assert summary.reports[str(path)].passed_over == {"other log lines": len(wrap(other_line()))}


def test_small_docker_chunks_join_too(tmp_path: Path) -> None:
    i = uid(1)
    out: list[str] = []
    for line in (envelope(start(i, 0)), envelope(prompt(i, "m", 1, "hello")), envelope(end(i, 2))):
        out += docker(line, chunk=7)
    with Store.open() as store:
        store.import_path(write_log(tmp_path / "docker.log", out))
        assert rows(store, "SELECT prompt FROM aibridge_user_prompts") == [("hello",)]


def test_the_human_format_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "coderd.log"
    path.write_text(
        '2026-04-14 09:12:03.521 [info]  coderd.aibridgedserver: interception log  record_type=interception_start  '
        'interception_id=97461880-4a6c-47c1-8292-3588dd715312\n'
    )
    with Store.open() as store, pytest.raises(ImportDataError, match="--log-json") as info:
        store.import_path(path)
    assert info.value.source == str(path)


def test_compressed_logs_and_directories(tmp_path: Path) -> None:
    import pyarrow as pa

    logs = tmp_path / "logs"
    logs.mkdir()
    lines = "".join(line + "\n" for line in one_interception()).encode()
    (logs / "coderd-1.log.gz").write_bytes(gzip.compress(lines[: len(lines) // 2 + 1]))
    with pa.CompressedOutputStream(str(logs / "coderd-2.log.zst"), "zstd") as out:
        out.write(b"")
    second = b"\n".join(lines.split(b"\n")[4:])
    first = b"\n".join(lines.split(b"\n")[:4]) + b"\n"
    (logs / "coderd-1.log.gz").write_bytes(gzip.compress(first))
    with pa.CompressedOutputStream(str(logs / "coderd-2.log.zst"), "zstd") as out:
        out.write(second)
    (logs / "notes.txt").write_text("nothing to see\n")
    with Store.open() as store:
        summary = store.import_path(logs)
        assert summary.skipped == [str(logs / "notes.txt")]
        assert rows(store, f"SELECT count(*) FROM {INTERCEPTIONS} WHERE ended_at IS NOT NULL") == [(1,)]
        assert rows(store, "SELECT count(*) FROM aibridge_token_usages") == [(2,)]


def test_standard_input_takes_a_log_plain_or_gzipped() -> None:
    data = "".join(line + "\n" for line in one_interception()).encode()
    for raw in (data, gzip.compress(data)):
        opened = open_stdin(stream=io.BufferedReader(io.BytesIO(raw)))  # type: ignore[arg-type]
        assert not isinstance(opened, tuple)
        assert opened.name == "standard input"
        batches = list(opened.batches)
        assert sum(b.num_rows for b in batches) == 7


def test_the_cli_reads_a_log_from_standard_input(tmp_path: Path) -> None:
    data = "".join(line + "\n" for line in [other_line(), *one_interception()])
    db = tmp_path / "s.duckdb"
    result = subprocess.run(
        [sys.executable, "-m", "aibridge_store.cli", "--db", str(db), "import", "-"],
        input=data, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "standard input" in result.stdout
    assert "other log lines: 1" in result.stdout
    with Store.open(db, read_only=True) as store:
        assert store.list_interceptions().count == 1


def test_a_bad_value_names_the_line_and_field_and_keeps_nothing(tmp_path: Path) -> None:
    lines = one_interception()
    bad = json.loads(lines[2])
    bad["fields"]["input_tokens"] = "lots"
    lines[2] = json.dumps(bad)
    path = write_log(tmp_path / "bad.log", [other_line(), *lines])
    with Store.open() as store:
        with pytest.raises(ImportDataError) as info:
            store.import_path(path)
        assert (info.value.source, info.value.row, info.value.column) == (str(path), 4, "input_tokens")
        assert rows(store, f"SELECT count(*) FROM {INTERCEPTIONS}") == [(0,)]


def test_a_missing_required_field_is_an_error(tmp_path: Path) -> None:
    fields = start(uid(1), 0)
    del fields["initiator_id"]
    with Store.open() as store, pytest.raises(ImportDataError) as info:
        store.import_path(write_log(tmp_path / "a.log", [envelope(fields)]))
    assert (info.value.row, info.value.column) == (1, "initiator_id")


def test_truncated_lines_and_unknown_record_types_are_passed_over_and_reported(tmp_path: Path) -> None:
    lines = one_interception()
    future = envelope({"record_type": "cost_record", "interception_id": str(uid(1)), "cost": 3})
    path = write_log(tmp_path / "a.log", [*lines, future, lines[0][:80]])
    with Store.open() as store:
        summary = store.import_path(path)
    assert summary.reports[str(path)].passed_over == {
        "lines that mention an interception log but are not JSON": 1,
        "records of unknown type 'cost_record'": 1,
    }
    assert any("line 9" in note for note in summary.notes)


def test_children_before_their_start_and_an_end_in_a_later_import(tmp_path: Path) -> None:
    lines = one_interception()
    with Store.open() as store:
        store.import_path(write_log(tmp_path / "1.log", [lines[2], lines[6]]))  # a token and the end
        assert rows(store, f"SELECT count(*) FROM {INTERCEPTIONS}") == [(0,)]
        assert rows(store, "SELECT count(*) FROM aibridge_log_pending_ends") == [(1,)]
        store.import_path(write_log(tmp_path / "2.log", [lines[0]]))  # the start
        assert rows(store, f"SELECT ended_at IS NOT NULL FROM {INTERCEPTIONS}") == [(True,)]
        assert rows(store, "SELECT count(*) FROM aibridge_log_pending_ends") == [(0,)]
        assert rows(store, "SELECT interception_started_at IS NOT NULL FROM aibridge_token_usages") == [(True,)]
        sessions = store.list_sessions()
        assert sessions.count == 1
        assert sessions.sessions[0].token_usage_summary.input_tokens == 10


def test_both_emitters_logging_the_same_records_give_one_row_each_and_the_fuller_copy(tmp_path: Path) -> None:
    root, child = uid(1), uid(2)
    coderd = [
        envelope(start(root, 0)),
        envelope(tool(root, "m1", 1, call_id="toolu_1")),
        envelope(token(root, "m1", 1, 10, 5, cache_read=3)),
        envelope(end(root, 2)),
        envelope(start(child, 3, parent=root, root=root, correlating="toolu_1")),
        envelope(end(child, 4)),
    ]
    gateway = [
        envelope(start(root, 0, gen=3), gen=3),
        envelope(tool(root, "m1", 1, gen=3, call_id="toolu_1"), gen=3),
        envelope(token(root, "m1", 1, 10, 5, gen=3, cache_read=3), gen=3),
        envelope(start(child, 3, gen=3, correlating="toolu_1"), gen=3),
    ]
    for order in (gateway + coderd, coderd + gateway):
        with Store.open() as store:
            store.import_path(write_log(tmp_path / "both.log", order))
            assert rows(store, f"SELECT id, thread_parent_id, thread_root_id, record_origin FROM {INTERCEPTIONS} ORDER BY id") == [
                (root, None, None, 1), (child, root, root, 1)
            ]
            assert rows(store, "SELECT count(*), CAST(any_value(metadata) AS VARCHAR) FROM aibridge_token_usages") == [
                (1, '{"cache_creation_input":0,"cache_read_input":3}')
            ]
            assert rows(store, "SELECT count(*) FROM aibridge_tool_usages") == [(1,)]


def test_g3_thread_lineage_is_rebuilt_from_tool_call_ids(tmp_path: Path) -> None:
    a, b, c = uid(1), uid(2), uid(3)
    lines = [
        envelope(start(a, 0, gen=3), gen=3),
        envelope(tool(a, "m1", 1, gen=3, call_id="call_a"), gen=3),
        envelope(end(a, 2), gen=3),
        envelope(start(b, 3, gen=3, correlating="call_a"), gen=3),
        envelope(tool(b, "m2", 4, gen=3, call_id="call_b"), gen=3),
        envelope(end(b, 5), gen=3),
        envelope(start(c, 6, gen=3, correlating="call_b"), gen=3),
        envelope(end(c, 7), gen=3),
    ]
    with Store.open() as store:
        # The grandchild first, its parents a file later: lineage follows once they arrive.
        store.import_path(write_log(tmp_path / "1.log", lines[6:]))
        assert rows(store, f"SELECT thread_parent_id, session_id FROM {INTERCEPTIONS}") == [(None, str(c))]
        store.import_path(write_log(tmp_path / "2.log", lines[:6]))
        assert rows(store, f"SELECT id, thread_parent_id, thread_root_id, session_id FROM {INTERCEPTIONS} ORDER BY id") == [
            (a, None, None, str(a)), (b, a, a, str(a)), (c, b, a, str(a)),
        ]
        sessions = store.list_sessions()
        assert [(s.id, s.threads) for s in sessions.sessions] == [(str(a), 1)]
        assert store.connection.execute(
            "SELECT count(*) FROM aibridge_session_rollup"
        ).fetchone() == (1,)


def test_reimporting_a_g3_log_keeps_its_derived_lineage_and_changes_nothing(tmp_path: Path) -> None:
    a, b = uid(1), uid(2)
    lines = [
        envelope(start(a, 0, gen=3), gen=3),
        envelope(tool(a, "m1", 1, gen=3, call_id="call_a"), gen=3),
        envelope(end(a, 2), gen=3),
        envelope(start(b, 3, gen=3, correlating="call_a"), gen=3),
        envelope(end(b, 4), gen=3),
    ]
    path = write_log(tmp_path / "gw.log", lines)
    with Store.open() as store:
        store.import_path(path)
        again = store.import_path(path)
        assert again.inserted == again.updated == 0
        assert rows(store, f"SELECT thread_root_id FROM {INTERCEPTIONS} WHERE id = ?", b) == [(a,)]


def test_a_log_copy_and_a_table_export_copy_do_not_double_count(tmp_path: Path) -> None:
    from tests.helpers.rows import INTERCEPTION_COLUMNS, interception, write_csv

    i = uid(1)
    lines = [
        envelope(start(i, 0, nanos=500)),
        envelope(token(i, "msg_1", 3, 10, 8, nanos=781)),
        envelope(token(i, "msg_1", 5, 0, 130)),
        envelope(prompt(i, "msg_1", 1, "hi")),
        envelope(tool(i, "msg_1", 4, call_id="toolu_1")),
        envelope(end(i, 6)),
    ]
    log = write_log(tmp_path / "coderd.log", lines)
    export = tmp_path / "export"
    export.mkdir()
    write_csv(export / "aibridge_interceptions.csv", INTERCEPTION_COLUMNS, [interception(
        1, started_at="2026-04-14 09:12:03.000001+00", ended_at="2026-04-14 09:12:09+00",
        provider_name="anthropic-eu", credential_kind="byok", credential_hint="sk-a...efgh", client="Claude Code",
    )])
    token_columns = ["id", "interception_id", "provider_response_id", "input_tokens", "output_tokens", "metadata",
                     "created_at", "cache_read_input_tokens", "cache_write_input_tokens"]
    write_csv(export / "aibridge_token_usages.csv", token_columns, [
        # PostgreSQL rounded .000000781 up; the other copy is a microsecond off (a truncating reader).
        {"id": str(uid(101)), "interception_id": str(i), "provider_response_id": "msg_1", "input_tokens": 10,
         "output_tokens": 8, "metadata": '{"cache_read_input": 0}', "created_at": "2026-04-14 09:12:06.000001+00",
         "cache_read_input_tokens": 0, "cache_write_input_tokens": 0},
        {"id": str(uid(102)), "interception_id": str(i), "provider_response_id": "msg_1", "input_tokens": 0,
         "output_tokens": 130, "metadata": "{}", "created_at": "2026-04-14 09:12:07.999999+00",
         "cache_read_input_tokens": 0, "cache_write_input_tokens": 0},
    ])
    write_csv(export / "aibridge_user_prompts.csv", ["id", "interception_id", "provider_response_id", "prompt",
                                                     "metadata", "created_at"], [
        {"id": str(uid(201)), "interception_id": str(i), "provider_response_id": "msg_1", "prompt": "hi",
         "metadata": "{}", "created_at": "2026-04-14 09:12:04+00"},
    ])
    results = []
    for order in ((log, export), (export, log)):
        with Store.open() as store:
            summaries = [store.import_path(p) for p in order]
            results.append((
                rows(store, f"SELECT provider_name, credential_kind, ended_at, record_origin FROM {INTERCEPTIONS}"),
                rows(store, "SELECT id, input_tokens, output_tokens FROM aibridge_token_usages ORDER BY id"),
                rows(store, "SELECT id FROM aibridge_user_prompts"),
                rows(store, "SELECT count(*) FROM aibridge_tool_usages"),
                store.list_sessions().sessions[0].token_usage_summary.output_tokens,
            ))
            assert summaries[1].merged == 3  # two token usages and one prompt
    assert results[0] == results[1]
    interceptions, tokens, prompts, tools, output = results[0]
    assert interceptions[0][:2] == ("anthropic-eu", "byok")
    assert tokens == [(uid(101), 10, 8), (uid(102), 0, 130)]
    assert prompts == [(uid(201),)]
    assert tools == [(1,)]
    assert output == 138


def test_reimporting_a_log_changes_nothing(tmp_path: Path) -> None:
    path = write_log(tmp_path / "a.log", one_interception())
    with Store.open() as store:
        store.import_path(path)
        again = store.import_path(path)
        assert again.inserted == 0 and again.updated == 0
        assert again.unchanged == 7


def test_a_file_that_is_not_a_log_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "random.log"
    path.write_text("hello\nworld\n")
    with Store.open() as store, pytest.raises(ImportDataError, match="not a coderd JSON log"):
        store.import_path(path)


def test_users_of_two_initiators_stay_apart(tmp_path: Path) -> None:
    lines = [
        envelope(start(uid(1), 0, session="s")), envelope(end(uid(1), 1)),
        envelope(start(uid(2), 2, session="s", initiator=USER_B)), envelope(end(uid(2), 3)),
    ]
    with Store.open() as store:
        store.import_path(write_log(tmp_path / "a.log", lines))
        assert sorted(str(s.initiator.id) for s in store.list_sessions().sessions) == sorted([str(USER_A), str(USER_B)])


def test_invalid_utf8_in_a_record_line_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    line = envelope(prompt(uid(1), "m", 1, "PLACEHOLDER")).encode().replace(b"PLACEHOLDER", b"\xff\xfe")
    path.write_bytes(other_line().encode() + b"\n" + line + b"\n")
    with Store.open() as store, pytest.raises(ImportDataError, match="UTF-8") as info:
        store.import_path(path)
    assert info.value.row == 2


def test_line_numbers_survive_block_boundaries_and_batches_stay_bounded() -> None:
    from aibridge_store._ingest.logs import BATCH_LINES, Wrapper, read_log

    lines = [other_line(n) if n % 3 == 0 else envelope(end(uid(n), 1)) for n in range(1, 3000)]
    blob = "".join(line + "\n" for line in lines).encode()
    log = read_log("x", iter([blob[i : i + 1000] for i in range(0, len(blob), 1000)]), Wrapper.PLAIN)
    numbers = [n for batch in log.batches for n in batch.column(0).to_pylist()]
    assert numbers == [n for n in range(1, 3000) if n % 3]
    assert (log.stats.lines, log.stats.candidates) == (2999, len(numbers))

    wrapped = [part for n in range(BATCH_LINES + 10) for part in docker(envelope(end(uid(n), 1)))]
    blob = "".join(line + "\n" for line in wrapped).encode()
    log = read_log("y", iter([blob[i : i + 4096] for i in range(0, len(blob), 4096)]), Wrapper.DOCKER)
    batches = list(log.batches)
    assert len(batches) == 2 and max(b.num_rows for b in batches) < BATCH_LINES + 100
    assert sum(b.num_rows for b in batches) == BATCH_LINES + 10
    assert batches[1].column(0).to_pylist()[-1] == BATCH_LINES + 10
    assert isinstance(batches[0].column(1), pa.LargeStringArray)


def test_reserialized_lines_and_mixed_envelopes_in_one_file(tmp_path: Path) -> None:
    """A log platform may re-serialise lines (spaces after separators); two sinks may share a file."""
    i = uid(1)
    spaced = json.dumps(json.loads(envelope(start(i, 0))))
    assert '"fields": {' in spaced
    lines = [spaced, envelope(token(i, "m", 1, 3, 4), stackdriver=True), envelope(end(i, 2))]
    with Store.open() as store:
        store.import_path(write_log(tmp_path / "mixed.log", lines))
        assert rows(store, f"SELECT count(*) FROM {INTERCEPTIONS} WHERE ended_at IS NOT NULL") == [(1,)]
        assert rows(store, "SELECT input_tokens FROM aibridge_token_usages") == [(3,)]


def test_a_log_named_json_is_still_a_log_and_an_api_response_is_not(tmp_path: Path) -> None:
    log = write_log(tmp_path / "coderd.json", one_interception())
    api = tmp_path / "page.json"
    api.write_text(json.dumps({"count": 0, "results": []}))
    with Store.open() as store:
        summary = store.import_path(log, api)
        assert summary.reports[str(log)].kind == "slog JSON log"
        assert rows(store, f"SELECT count(*) FROM {INTERCEPTIONS}") == [(1,)]


@pytest.mark.parametrize(
    ("name", "text", "what"),
    [
        ("metrics.txt", "# HELP coder_aibridged_interceptions_total Interceptions.\n"
         "# TYPE coder_aibridged_interceptions_total counter\n"
         'coder_aibridged_interceptions_total{provider="anthropic"} 12\n', "Prometheus"),
        ("traces.json", '{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[]}]}\n', "OpenTelemetry"),
    ],
)
def test_metrics_and_traces_are_refused_with_the_reason(tmp_path: Path, name: str, text: str, what: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with Store.open() as store, pytest.raises(ImportDataError, match=f"{what}.*not AI Bridge records"):
        store.import_path(path)


def test_a_log_whose_first_line_is_longer_than_the_sniffed_head(tmp_path: Path) -> None:
    i = uid(1)
    lines = [envelope(prompt(i, "m", 1, "y" * 100_000)), envelope(start(i, 0)), envelope(end(i, 2))]
    with Store.open() as store:
        store.import_path(write_log(tmp_path / "long.log", lines))
        assert rows(store, "SELECT length(prompt) FROM aibridge_user_prompts") == [(100_000,)]


def test_rebuilt_child_ids_are_marked_and_foreign_version_8_ids_are_left_alone(tmp_path: Path) -> None:
    from tests.helpers.rows import INTERCEPTION_COLUMNS, interception, write_csv

    with Store.open() as store:
        store.import_path(write_log(tmp_path / "a.log", one_interception()))
        ids = [str(r[0]) for r in rows(store, "SELECT id FROM aibridge_token_usages")]
        assert ids and all(i[14] == "8" and i[19:23] == "8a1b" for i in ids)
    export = tmp_path / "export"
    export.mkdir()
    write_csv(export / "aibridge_interceptions.csv", INTERCEPTION_COLUMNS, [interception(2)])
    columns = ["id", "interception_id", "provider_response_id", "input_tokens", "output_tokens", "metadata",
               "created_at"]
    foreign = "0b0c3d4e-1111-8222-8333-944455556666"  # version 8 from some other tool, not ours
    write_csv(export / "aibridge_token_usages.csv", columns, [
        {"id": foreign, "interception_id": str(uid(2)), "provider_response_id": "m", "input_tokens": 1,
         "output_tokens": 2, "metadata": "{}", "created_at": "2026-01-13 15:00:21+00"},
    ])
    with Store.open() as store:
        store.import_path(export)
        again = store.import_path(export)
        assert (again.inserted, again.merged, again.unchanged) == (0, 0, 2)
        assert rows(store, "SELECT CAST(id AS VARCHAR) FROM aibridge_token_usages") == [(foreign,)]
