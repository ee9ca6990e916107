"""Fuzzing: damaged copies of every input format either import or fail with our error, and a
failed import leaves the store as it was. ``AIBRIDGE_FUZZ_EXAMPLES`` sets how hard (CI runs a short
version; ``-m fuzz`` with a large number is the long one). Also the inputs that once pinned a core
or took gigabytes (issue 9)."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aibridge_store import AibridgeStoreError, ImportDataError, Store
from tests.helpers.logrecords import end, envelope, start, token
from tests.helpers.rows import export_dir, interception, prompt, snapshot, uid

EXAMPLES = int(os.environ.get("AIBRIDGE_FUZZ_EXAMPLES", "25"))


def _csv(root: Path) -> tuple[str, bytes]:
    folder = export_dir(root / "csv", [interception(n) for n in range(1, 6)], prompts=[prompt(1, 1, "a, \"b\"\nc")])
    return "aibridge_interceptions.csv", (folder / "aibridge_interceptions.csv").read_bytes()


def _jsonl(root: Path) -> tuple[str, bytes]:
    lines = [json.dumps(interception(n)) for n in range(1, 6)]
    return "aibridge_interceptions.jsonl", ("\n".join(lines) + "\n").encode()


def _gzip(root: Path) -> tuple[str, bytes]:
    name, data = _csv(root)
    return name + ".gz", gzip.compress(data)


def _log(root: Path) -> tuple[str, bytes]:
    lines = [envelope(start(uid(1), 0)), envelope(token(uid(1), "m", 1, 3, 4)), envelope(end(uid(1), 2))]
    return "coderd.log", ("\n".join(lines) + "\n").encode()


def _api(root: Path) -> tuple[str, bytes]:
    with Store.open() as store:
        store.import_path(export_dir(root / "api", [interception(n) for n in range(1, 4)]))
        body = store.list_interceptions().model_dump(mode="json")
    return "page.json", json.dumps(body).encode()


FORMATS: dict[str, Callable[[Path], tuple[str, bytes]]] = {
    "csv": _csv, "jsonl": _jsonl, "gzip": _gzip, "log": _log, "api": _api,
}


@pytest.mark.fuzz
@pytest.mark.parametrize("fmt", sorted(FORMATS))
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_inputs_import_or_fail_cleanly(tmp_path_factory: pytest.TempPathFactory, fmt: str,
                                               data: st.DataObject) -> None:
    root = tmp_path_factory.mktemp(fmt)
    name, original = FORMATS[fmt](root)
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        at = data.draw(st.integers(0, max(0, len(damaged) - 1)), label="at")
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]), label="action")
        if action == "flip" and damaged:
            damaged[at] = data.draw(st.sampled_from(list(b'\x00\xff",{}[]:\n\\x')), label="byte")
        elif action == "cut":
            del damaged[at:at + data.draw(st.integers(1, 50), label="length")]
        else:
            damaged[at:at] = data.draw(st.binary(max_size=20), label="inserted")
    path = root / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(bytes(damaged))
    with Store.open() as store:
        store.import_path(export_dir(root / "base", [interception(40)]))
        before = snapshot(store)
        try:
            store.import_path(path.parent)
        except AibridgeStoreError:
            assert snapshot(store) == before
        else:
            store.list_interceptions(limit=1000).model_dump(mode="json")
            for session in store.list_sessions(limit=1000).sessions:
                if session.id:
                    store.get_session_threads(session.id).model_dump(mode="json")


@pytest.mark.slow
def test_a_compressed_line_without_end_is_refused_at_the_line_limit(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "aibridge_interceptions.jsonl.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        for _ in range(160):
            out.write(b"x" * (1 << 20))  # 160 MiB in one line, a few hundred KB compressed
    with pytest.raises(ImportDataError, match="a line is longer than 128 MiB") as caught:
        store.import_path(path)
    assert caught.value.source == str(path)


@pytest.mark.slow
def test_a_saved_response_over_the_size_limit_is_refused(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "page.json.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(b'{"count": 1, "results": "')
        for _ in range(260):
            out.write(b"y" * (1 << 20))
        out.write(b'"}')
    with pytest.raises(ImportDataError, match="larger than 256 MiB"):
        store.import_path(path)
