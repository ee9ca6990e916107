"""Reading a dataset's files back (with DuckDB), to compare two datasets table by table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from aibridge_store._dataset import DAY, PARTITIONED, columns

BASE_TABLES = (
    "aibridge_interceptions", "aibridge_token_usages", "aibridge_user_prompts", "aibridge_tool_usages",
    "aibridge_model_thoughts", "users",
)


def dataset_rows(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the dataset at ``root``: its rows (with their day folder), sorted."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    found = {}
    for table, cols in columns().items():
        names = ", ".join(f'"{c}"' for c, _ in cols)
        if table in PARTITIONED:
            files = list((root / table).glob(f"{DAY}=*/*.parquet"))
            sql = (f"SELECT {names}, CAST({DAY} AS VARCHAR) FROM read_parquet('{root / table}/{DAY}=*/*.parquet', "
                   f"hive_partitioning = true)") if files else None
        else:
            sql = f"SELECT {names} FROM read_parquet('{root / table}/*.parquet')"
        found[table] = sorted(con.execute(sql).fetchall(), key=repr) if sql else []
    con.close()
    return found


def files_of(root: Path) -> dict[str, tuple[int, int]]:
    """Every data file of a dataset: relative path → (inode, modification time in ns)."""
    return {str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*.parquet"))}
