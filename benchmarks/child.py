"""Run a measured step in a fresh interpreter (shared by the benchmark scripts)."""

from __future__ import annotations

import json
import subprocess
import sys

_PEAK = (
    "\nimport json as _json, resource as _resource"
    "\nprint(_json.dumps(_resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss))"
)


def run_child(code: str, *args: str) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter; return the JSON object it prints last, plus its own
    peak RSS in MB (``peak_rss_mb``)."""
    out = subprocess.run([sys.executable, "-c", code + _PEAK, *args], check=True, capture_output=True, text=True)
    *_, result_line, peak_line = out.stdout.strip().splitlines()
    result = json.loads(result_line)
    result["peak_rss_mb"] = int(peak_line) / 1024
    return result


_IMPORT = """
import json, sys, time
from aibridge_store import Store
started = time.perf_counter()
with Store.open(sys.argv[1]) as store:
    store.import_path(sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def import_store(db: str, data: str) -> float:
    """Import ``data`` into a new store at ``db`` in a fresh interpreter; the seconds it took."""
    return run_child(_IMPORT, db, data)["seconds"]
