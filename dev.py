#!/usr/bin/env python3
"""Set up and run aibridge_store on a machine with nothing but Python 3.11+.

    python3 dev.py demo    # sample data -> sample/aibridge.duckdb, then first pages of interceptions and sessions
    python3 dev.py test    # ruff, mypy and the whole suite (starts PostgreSQL; installs Chromium, Java if missing)
    python3 dev.py test --fast   # the same without the slow tests (as a plain `pytest` in .venv)
    python3 dev.py bench [--interceptions N ...]   # the benchmarks (see benchmarks/README.md)
    python3 dev.py bench-sources [--interceptions N ...]   # coderd log and live PostgreSQL imports
    python3 dev.py bench-pages [--interceptions N]   # point reads beside bare SQL and PostgreSQL
    python3 dev.py bench-reports [--interceptions N]   # reports and the SQL views beside plain DuckDB SQL
    python3 dev.py bench-search [--interceptions N]   # the extended search language beside unfiltered pages
    python3 dev.py bench-sqlite [--interceptions N]   # a SQLite copy of the store beside a Parquet export
    python3 dev.py bench-engines [--interceptions N]  # imports and every read on a DuckDB and a SQLite store
    python3 dev.py bench-scale [--interceptions N ...]  # DuckDB store, DuckDB over a dataset, Spark local[2]

Each command first makes .venv/ and installs the project into it (editable, with the test extras);
the install is redone only when pyproject.toml changes.
"""

from __future__ import annotations

import atexit
import glob
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed"


def run(*command: object, env: dict[str, str] | None = None) -> None:
    printable = " ".join(str(c) for c in command)
    print(f"+ {printable}", file=sys.stderr, flush=True)
    result = subprocess.run([str(c) for c in command], cwd=ROOT, env={**os.environ, **(env or {})})
    if result.returncode:
        raise SystemExit(result.returncode)


def ensure_env() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"+ creating {VENV}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[test]")
    STAMP.write_text(wanted)


def demo(args: list[str]) -> None:
    sample = ROOT / "sample"
    db = sample / "aibridge.duckdb"
    data = sample / "export"
    if not data.exists():
        run(PYTHON, "benchmarks/generate.py", data, "--interceptions", "20000")
    run(BIN / "aibridge-store", "--db", db, "import", data)
    run(BIN / "aibridge-store", "--db", db, "interceptions", "--limit", "10", *args)
    run(BIN / "aibridge-store", "--db", db, "sessions", "--limit", "5")


def _postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _apt_install(*packages: str, why: str) -> None:
    """Install Debian packages (as root, through apt-get), or say what to do instead."""
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(why)
    quiet = {"DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=quiet)
    run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages, env=quiet)


def _install_postgres() -> Path:
    _apt_install("postgresql", why=(
        "the live-database tests need PostgreSQL: install it (Debian: apt-get install postgresql), "
        "point AIBRIDGE_TEST_POSTGRES at a server you own, or set AIBRIDGE_SKIP_POSTGRES=1"
    ))
    bindir = _postgres_bindir()
    if bindir is None:
        raise SystemExit("apt-get installed postgresql but no pg_ctl was found under /usr/lib/postgresql")
    return bindir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_for_tests() -> dict[str, str]:
    """A throwaway PostgreSQL cluster for the test run (stopped and deleted at exit).

    Installs Debian's postgresql package when the machine has none (as root, through apt-get).
    Returns the environment that tells the tests where it is."""
    if os.environ.get("AIBRIDGE_TEST_POSTGRES") or os.environ.get("AIBRIDGE_SKIP_POSTGRES") == "1":
        return {}
    bindir = _postgres_bindir() or _install_postgres()
    home = Path(tempfile.mkdtemp(prefix="aibridge-pg-"))
    as_owner: list[str] = []
    user = os.environ.get("USER") or "postgres"
    if os.geteuid() == 0:  # initdb refuses to run as root: the package's postgres user owns the cluster
        user = "postgres"
        shutil.chown(home, user="postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = home / "data", _free_port()
    run(*as_owner, bindir / "initdb", "-D", data, "-A", "trust", "-U", user, "--no-sync", "-E", "UTF8")
    options = f"-k {home} -p {port} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
    run(*as_owner, bindir / "pg_ctl", "-D", data, "-o", options, "-l", home / "server.log", "-w", "start")

    def stop() -> None:
        subprocess.run([*as_owner, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)

    atexit.register(stop)
    return {"AIBRIDGE_TEST_POSTGRES": f"postgresql://{user}@/postgres?host={home}&port={port}"}


def browser_for_tests() -> dict[str, str]:
    """Debian's chromium for the HTML report's tests (installed when missing, with a font), or
    nothing when AIBRIDGE_SKIP_BROWSER=1."""
    if os.environ.get("AIBRIDGE_SKIP_BROWSER") == "1":
        return {}
    found = shutil.which("chromium")
    if found is None:
        _apt_install("chromium", "fonts-dejavu-core", why=(
            "the HTML report's tests need a headless Chromium: install it (Debian: apt-get install chromium), "
            "point AIBRIDGE_CHROMIUM at one, or set AIBRIDGE_SKIP_BROWSER=1"
        ))
        found = shutil.which("chromium")
        if found is None:
            raise SystemExit("apt-get installed chromium but no chromium command was found")
    return {"AIBRIDGE_CHROMIUM": found}


def _java_version(java: str) -> int:
    """The major version of a ``java`` command (0 when it does not run)."""
    found = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', found.stderr + found.stdout)
    return int(match.group(1)) if match else 0


def java_for_tests() -> dict[str, str]:
    """A Java runtime for the Spark tests (pyspark 4 needs 17 or newer): Debian's
    default-jre-headless when the machine has none, or nothing when AIBRIDGE_SKIP_SPARK=1."""
    if os.environ.get("AIBRIDGE_SKIP_SPARK") == "1":
        return {}
    java = shutil.which("java")
    if java is None or _java_version(java) < 17:
        _apt_install("default-jre-headless", why=(
            "the Spark tests need Java 17 or newer: install it (Debian: apt-get install default-jre-headless), "
            "or set AIBRIDGE_SKIP_SPARK=1"
        ))
        java = shutil.which("java")
        if java is None or _java_version(java) < 17:
            raise SystemExit("apt-get installed default-jre-headless but no java 17 or newer was found")
    home = Path(os.path.realpath(java)).parent.parent
    return {"JAVA_HOME": str(home), "PYSPARK_PYTHON": str(PYTHON)}


def test(args: list[str]) -> None:
    run(BIN / "ruff", "check", "src", "tests", "benchmarks", "dev.py")
    run(PYTHON, "-m", "mypy")
    fast = "--fast" in args
    args = [a for a in args if a != "--fast"]
    markers = ["-m", "not slow"] if fast else ["-m", "slow or not slow"]
    run(PYTHON, "-m", "pytest", *markers, *args,
        env={**postgres_for_tests(), **browser_for_tests(), **java_for_tests()})


def bench(args: list[str]) -> None:
    run(PYTHON, "benchmarks/run.py", *args)


def bench_sources(args: list[str]) -> None:
    run(PYTHON, "benchmarks/sources.py", *args)


def bench_pages(args: list[str]) -> None:
    run(PYTHON, "benchmarks/pages.py", *args)


def bench_reports(args: list[str]) -> None:
    run(PYTHON, "benchmarks/reports.py", *args)


def bench_search(args: list[str]) -> None:
    run(PYTHON, "benchmarks/search.py", *args)


def bench_sqlite(args: list[str]) -> None:
    run(PYTHON, "benchmarks/sqlite_copy.py", *args)


def bench_engines(args: list[str]) -> None:
    run(PYTHON, "benchmarks/engines.py", *args)


def bench_scale(args: list[str]) -> None:
    run(PYTHON, "benchmarks/scale.py", *args, env=java_for_tests())


COMMANDS = {"demo": demo, "test": test, "bench": bench, "bench-sources": bench_sources, "bench-pages": bench_pages,
            "bench-reports": bench_reports, "bench-search": bench_search, "bench-sqlite": bench_sqlite,
            "bench-engines": bench_engines, "bench-scale": bench_scale}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        raise SystemExit(__doc__)
    ensure_env()
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
