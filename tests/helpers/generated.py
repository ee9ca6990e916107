"""Stores filled with the benchmarks' seeded generator, for tests that need realistic data."""

from __future__ import annotations

import sys
from pathlib import Path

from aibridge_store import Store

ROOT = Path(__file__).resolve().parents[2]


def generated_store(folder: Path, interceptions: int, seed: int) -> Path:
    """A new store at ``folder/store.duckdb`` holding ``interceptions`` generated interceptions
    (with their child rows and users), imported from Parquet."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.pop(0)
    files = generate.generate(folder / "data", interceptions, seed=seed, fmt="parquet")
    path = folder / "store.duckdb"
    with Store.open(path) as store:
        store.import_path(files[0].parent)
    return path
