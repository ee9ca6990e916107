#!/usr/bin/env python3
"""Set up and run aibridge_store on a machine with nothing but Python 3.11+.

    python3 dev.py demo    # sample data -> sample/aibridge.duckdb, then first pages of interceptions and sessions
    python3 dev.py test    # the whole test suite
    python3 dev.py bench [--interceptions N ...]   # the benchmarks (see benchmarks/README.md)

Each command first makes .venv/ and installs the project into it (editable, with the test extras);
the install is redone only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed"


def run(*command: object) -> None:
    printable = " ".join(str(c) for c in command)
    print(f"+ {printable}", file=sys.stderr, flush=True)
    result = subprocess.run([str(c) for c in command], cwd=ROOT)
    if result.returncode:
        raise SystemExit(result.returncode)


def ensure_env() -> None:
    if sys.version_info < (3, 11):
        raise SystemExit("aibridge_store needs Python 3.11 or newer")
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


def test(args: list[str]) -> None:
    run(PYTHON, "-m", "pytest", *args)


def bench(args: list[str]) -> None:
    run(PYTHON, "benchmarks/run.py", *args)


COMMANDS = {"demo": demo, "test": test, "bench": bench}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        raise SystemExit(__doc__)
    ensure_env()
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
