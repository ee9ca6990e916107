"""The README's first screen and its Python example work as written."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_first_screen_has_the_two_commands_and_ci_runs_the_second() -> None:
    first_screen = "\n".join(README.splitlines()[:15])
    assert "python3 dev.py demo" in first_screen and "python3 dev.py test" in first_screen
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [line for line in ci.splitlines() if line and not line.startswith(("#", "set ", "cd "))]
    assert commands == ["python3 dev.py test"]


def test_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.pop(0)
    generate.generate(tmp_path / "exports", 3000, seed=3)
    generate.generate(tmp_path / "logs", 500, seed=4, fmt="log")
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)  # type: ignore[union-attr]
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["summary"].reports[str(Path("logs") / "coderd.log")].kind == "slog JSON log"  # type: ignore[attr-defined]
    page = namespace["page"]
    assert page.count > 0 and page.results  # type: ignore[attr-defined]
    assert all(r.provider == "anthropic" and r.client == "Claude Code" for r in page.results)  # type: ignore[attr-defined]
    store = namespace["store"]
    store.close()  # type: ignore[attr-defined]
    analytics = _block("python", "## Analytics")
    exec(compile(analytics, "README.md", "exec"), namespace)
    assert len(namespace["daily"]) == 0  # type: ignore[arg-type]  # the sample data is older than 30 days
    assert (tmp_path / "daily.parquet").exists() and (tmp_path / "models.csv").read_text().startswith('"model"')
    assert namespace["table"].num_rows == 100  # type: ignore[attr-defined]


def test_the_two_engines_example_runs_and_agrees_with_duckdb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aibridge_store import Store

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.pop(0)
    generate.generate(tmp_path / "exports", 1000, seed=3)
    generate.generate(tmp_path / "logs", 300, seed=4, fmt="log")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"Store": Store}  # imported by the first example
    exec(compile(_block("python", "## Two engines"), "README.md", "exec"), namespace)
    page = namespace["page"]
    with Store.open(tmp_path / "same.duckdb") as duck:
        duck.import_path("exports/", "logs/")
        expected = duck.list_interceptions("provider:anthropic", limit=50)
    assert page.count > 0 and page.model_dump_json() == expected.model_dump_json()  # type: ignore[attr-defined]
    assert (tmp_path / "archive.sqlite").read_bytes()[:16] == b"SQLite format 3\x00"


def _block(language: str, after: str) -> str:
    start = README.index(after)
    match = re.search(rf"```{language}\n(.*?)```", README[start:], re.S)
    assert match is not None
    return match.group(1)


@pytest.mark.slow
def test_the_command_line_examples_run_on_the_demo_store_issue_9(tmp_path: Path) -> None:
    """The demo's data (as `dev.py demo` makes it) answers every read example, and the sample
    listing is exactly what the command prints."""
    import shlex

    from aibridge_store.cli import main

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.pop(0)
    generate.generate(tmp_path / "export", 20000, seed=7)
    db = tmp_path / "aibridge.duckdb"
    assert main(["--db", str(db), "import", "--quiet", str(tmp_path / "export")]) == 0
    for line in _block("sh", "Read commands").splitlines():
        argv = shlex.split(line)[1:]
        argv[argv.index("--db") + 1] = str(db)
        assert main(argv) == 0, line
    for line in _block("sh", "Analytics commands").splitlines():
        argv = shlex.split(line)[1:]
        argv[argv.index("--db") + 1] = str(db)
        assert main(argv) == 0, line
    expected = _block("text", "A sessions listing")
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--db", str(db), "sessions", "--limit", "4"]) == 0
    assert out.getvalue() == expected


def test_the_search_language_section_and_the_help_name_every_key_and_flag(capsys: pytest.CaptureFixture[str]) -> None:
    from aibridge_store._query.fields import FLAGS, INTERCEPTIONS_SEARCH, SESSIONS_SEARCH
    from aibridge_store._query.help import grammar_operators
    from aibridge_store.cli import main

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## The search language"):readme.index("## Layout")]
    keys = {*INTERCEPTIONS_SEARCH.keys, *SESSIONS_SEARCH.keys, *SESSIONS_SEARCH.extended}
    flags = {f"{key}:{name}" for key, names in FLAGS.items() for name in names}
    assert main(["help", "search"]) == 0
    shown = capsys.readouterr().out
    for key in keys:
        assert f"`{key}`" in section, key
        assert f"\n  {key} " in shown, key
    for flag in flags:
        assert f"`{flag}`" in section, flag
        assert flag.split(":")[1] in shown, flag
    assert set(grammar_operators()) == {"_OR", "LPAR", "NOT_LPAR", "RPAR"}
    assert "`OR`" in section and "`-( ... )`" in section
