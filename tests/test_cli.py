"""The command line: import with a summary, interceptions as a table or Coder's JSON, clean errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aibridge_store.cli import main
from tests.helpers.rows import USER_A, USER_B, export_dir, interception, prompt, token, uid


@pytest.fixture
def db(tmp_path: Path) -> Path:
    export_dir(tmp_path / "export", [interception(n) for n in range(1, 6)], tokens=[token(1, 5)],
               prompts=[prompt(1, 5, "fix the\nflaky test")])
    path = tmp_path / "a.duckdb"
    assert main(["--db", str(path), "import", str(tmp_path / "export")]) == 0
    return path


def test_import_prints_a_summary_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export_dir(tmp_path / "export", [interception(1), interception(2)])
    assert main(["--db", str(tmp_path / "a.duckdb"), "import", str(tmp_path / "export")]) == 0
    out = capsys.readouterr().out
    assert "aibridge_interceptions" in out and "total" in out
    line = next(row for row in out.splitlines() if row.startswith("aibridge_interceptions"))
    assert line.split()[1:] == ["2", "0", "0", "0", "0"]  # inserted, updated, merged, already stored, repeated
    source = str(tmp_path / "export" / "aibridge_interceptions.csv")
    section = out.split(source, 1)[1].splitlines()
    assert section[1].split() == ["table", "inserted", "updated", "merged", "already", "stored", "repeated"]
    assert section[3].split() == ["aibridge_interceptions", "2", "0", "0", "0", "0"]


def test_interceptions_table(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["--db", str(db), "interceptions", "--limit", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["started_at", "id", "initiator"]
    assert str(uid(5)) in out[2] and "fix the flaky test" in out[2]
    assert out[-1] == f"1-2 of 5 interception(s); next page: --after-id {uid(4)}"


def test_interceptions_json_is_the_api_body(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from aibridge_store import Store

    capsys.readouterr()
    assert main(["--db", str(db), "interceptions", "-q", "provider:anthropic", "--after-id", str(uid(4)), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    with Store.open(db, read_only=True) as store:
        expected = store.list_interceptions("provider:anthropic", after_id=uid(4)).model_dump(mode="json")
    assert printed == expected and printed["count"] == 5 and len(printed["results"]) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["interceptions", "-q", "a:b:c"], "Query element \"a:b:c\" can only contain 1 ':'"),
        (["interceptions", "--limit", "5000"], "Pagination limit must be in range (0, 1000]"),
        (["interceptions", "--after-id", "x"], 'Query param "after_id" must be a valid uuid'),
        (["import", "/no/such/dir"], "no such file or directory"),
    ],
)
def test_bad_input_exits_non_zero_with_our_message(db: Path, capsys: pytest.CaptureFixture[str],
                                                    args: list[str], message: str) -> None:
    capsys.readouterr()
    assert main(["--db", str(db), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("aibridge-store: error: ") and message in err and "Traceback" not in err


def test_the_installed_command_runs(db: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aibridge_store.cli", "--db", str(db), "interceptions", "--limit", "1", "--json"],
        capture_output=True, text=True, check=True,
    )
    assert json.loads(result.stdout)["count"] == 5


def test_bad_row_error_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export_dir(tmp_path / "export", [interception(1), interception(2, started_at="soon")])
    assert main(["--db", str(tmp_path / "a.duckdb"), "import", "--quiet", str(tmp_path / "export")]) == 1
    err = capsys.readouterr().err
    assert "aibridge_interceptions.csv, row 2, column 'started_at': cannot read 'soon'" in err


@pytest.fixture
def sessions_db(tmp_path: Path) -> Path:
    rows = [interception(1, client_session_id="s-1"), interception(2, client_session_id="s-1", thread_root_id=str(uid(1))),
            interception(3, client_session_id="s-2", client=None, model="gpt-5")]
    export_dir(tmp_path / "export", rows, prompts=[prompt(1, 1, "hello there")], tokens=[token(1, 2)])
    path = tmp_path / "s.duckdb"
    assert main(["--db", str(path), "import", "--quiet", str(tmp_path / "export")]) == 0
    return path


def test_sessions_table_and_json(sessions_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from aibridge_store import Store

    assert main(["--db", str(sessions_db), "sessions", "--limit", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["last_active_at", "session", "initiator"]
    assert out[2].split()[1] == "s-2"
    assert out[-1] == f"1-1 of 2 session(s); next page: --after-session-id s-2 --after-initiator {USER_A}"
    hint = out[-1].split("next page: ")[1].split()
    assert main(["--db", str(sessions_db), "sessions", "--limit", "1", *hint]) == 0
    assert capsys.readouterr().out.splitlines()[2].split()[1] == "s-1"
    assert main(["--db", str(sessions_db), "sessions", "-q", "model:gpt-5", "--json"]) == 0
    with Store.open(sessions_db, read_only=True) as store:
        assert json.loads(capsys.readouterr().out) == store.list_sessions("model:gpt-5").model_dump(mode="json")


def test_session_threads_table_and_json(sessions_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from aibridge_store import Store

    assert main(["--db", str(sessions_db), "session", "s-1"]) == 0
    out = capsys.readouterr().out
    assert "session s-1 by alice" in out and "hello there" in out and str(uid(1)) in out
    assert main(["--db", str(sessions_db), "session", str(uid(2)), "--json"]) == 0
    with Store.open(sessions_db, read_only=True) as store:
        assert json.loads(capsys.readouterr().out) == store.get_session_threads("s-1").model_dump(mode="json")
    assert main(["--db", str(sessions_db), "session", "nope"]) == 1
    assert "Session not found." in capsys.readouterr().err


def test_models_and_clients(sessions_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(sessions_db), "models"]) == 0
    assert capsys.readouterr().out.split() == ["claude-opus-4-5", "gpt-5"]
    assert main(["--db", str(sessions_db), "clients", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == ["Claude Code", "Unknown"]
    assert main(["--db", str(sessions_db), "models", "-q", "nothing"]) == 0
    assert capsys.readouterr().out.strip() == "no models"


def test_memory_limit_option(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["--db", str(db), "--memory-limit", "1GB", "interceptions", "--limit", "1"]) == 0
    assert main(["--db", str(db), "--memory-limit", "plenty", "interceptions"]) == 1
    assert "invalid memory limit 'plenty'" in capsys.readouterr().err


def test_import_summary_reports_what_a_response_could_not_hold(db: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from aibridge_store import Store

    with Store.open(db, read_only=True) as store:
        page = store.list_sessions().model_dump(mode="json")
    path = tmp_path / "sessions.json"
    path.write_text(json.dumps(page))
    capsys.readouterr()
    assert main(["--db", str(tmp_path / "b.duckdb"), "import", str(path)]) == 0
    assert "a sessions page holds no interceptions" in capsys.readouterr().out


def test_a_read_never_creates_a_store_issue_9(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "typo.duckdb"
    assert main(["--db", str(missing), "interceptions"]) == 1
    assert "no store at" in capsys.readouterr().err
    assert not missing.exists()


def test_json_errors_are_coders_error_body(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "interceptions", "-q", "bogus:1", "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {
        "message": "Invalid workspace search query.",
        "validations": [{"field": "bogus", "detail": 'Query param "bogus" is not a valid query param'}],
    }
    assert captured.err.startswith("aibridge-store: error:")


def test_version_and_module_entry_point(db: Path) -> None:
    from aibridge_store import __version__

    for command in ([sys.executable, "-m", "aibridge_store", "--version"],):
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        assert done.stdout.strip() == f"aibridge-store {__version__}"
    done = subprocess.run([sys.executable, "-m", "aibridge_store", "--db", str(db), "models"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "claude-opus-4-5"


def test_piping_into_head_ends_quietly(tmp_path: Path) -> None:
    export_dir(tmp_path / "export", [interception(n) for n in range(1, 1000)])
    db = tmp_path / "big.duckdb"
    assert main(["--db", str(db), "import", "--quiet", str(tmp_path / "export")]) == 0
    pipeline = subprocess.run(
        f'"{sys.executable}" -m aibridge_store --db "{db}" interceptions --limit 1000 --json | head -c 100',
        shell=True, capture_output=True, text=True, check=True,
    )
    assert len(pipeline.stdout) == 100
    assert "Error" not in pipeline.stderr and "Traceback" not in pipeline.stderr


def test_as_a_user_initiator_me_means_them(sessions_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(sessions_db), "--as", "alice", "interceptions", "-q", "initiator:me", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["count"] == 3 and {r["initiator"]["username"] for r in body["results"]} == {"alice"}
    assert main(["--db", str(sessions_db), "--as", "nobody", "interceptions"]) == 1
    assert "no user named 'nobody'" in capsys.readouterr().err


def test_a_member_cannot_tell_another_users_name_from_a_missing_one(tmp_path: Path) -> None:
    from aibridge_store import Actor, QueryValidationError, Store

    rows = [interception(1), interception(2, initiator_id=str(USER_B))]
    with Store.open() as store:
        store.import_path(export_dir(tmp_path, rows))
        member = Actor.member(USER_B)
        answers = []
        for name in ("alice", "nobody"):
            with pytest.raises(QueryValidationError) as caught:
                store.list_interceptions(f"initiator:{name}", actor=member)
            answers.append(caught.value.to_response()["validations"])
        assert answers[0] == [{**answers[1][0], "detail": answers[1][0]["detail"].replace("nobody", "alice")}]
        assert store.list_interceptions("initiator:Bob", actor=member).count == 1


def test_the_threads_hint_is_offered_only_when_more_threads_follow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [interception(n, client_session_id="s") for n in range(1, 4)]
    export_dir(tmp_path / "export", rows)
    db = tmp_path / "t.duckdb"
    assert main(["--db", str(db), "import", "--quiet", str(tmp_path / "export")]) == 0
    assert main(["--db", str(db), "session", "s", "--limit", "2"]) == 0
    hint = capsys.readouterr().out.splitlines()[-1]
    assert hint == f"2 thread(s); next page: --after-id {uid(2)}"
    assert main(["--db", str(db), "session", "s", "--limit", "2", "--after-id", str(uid(2))]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 thread(s)"
    assert main(["--db", str(db), "session", "s", "--limit", "3"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "3 thread(s)"


_LOADED = """
import sys
from aibridge_store.cli import main
if len(sys.argv) > 1:
    main(sys.argv[1:])
print(" ".join(sorted(m for m in ("pyarrow", "pandas", "numpy", "duckdb", "pydantic", "lark") if m in sys.modules)))
"""


def _loaded(*argv: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _LOADED, *argv], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()[-1].split()


def test_the_command_line_loads_only_what_a_command_needs(db: Path) -> None:
    assert _loaded() == []  # importing the CLI, as --help does
    assert _loaded("--db", str(db), "models") == ["duckdb", "lark", "pydantic"]  # a read: no Arrow
