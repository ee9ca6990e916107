"""Every endpoint's JSON for a generated dataset, one case a line: the before/after check of a refactor.

    python benchmarks/endpoints.py OUT.jsonl [--interceptions 20000] [--seed 7] [--format csv]

The dataset comes from ``generate.py`` (seeded, so the same arguments always give the same store).
Each line is ``{"case": ..., "body": ...}`` with the body exactly as ``model_dump(mode="json")``
gives it, or the error body for a call that fails. Two runs compare with ``cmp``: a change that
keeps every answer leaves the file byte-identical. Only the public API is used.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate
from aibridge_store import Actor, AibridgeStoreError, Store
from run import DATA, dataset

QUERIES = (
    "",
    "provider:anthropic",
    "provider:openai",
    "provider_name:azure-openai",
    "model:gpt-5",
    'client:"Claude Code"',
    "client:Unknown",
    'started_after:"2026-01-15T00:00:00Z"',
    'started_before:"2026-02-01T00:00:00Z" provider:copilot',
    "initiator:user1",
)


def _body(call: Callable[[], Any]) -> Any:
    try:
        result = call()
    except AibridgeStoreError as e:
        return {"error": e.to_response()}
    return result.model_dump(mode="json") if hasattr(result, "model_dump") else result


def _walk(read: Callable[..., Any], cursor: Callable[[Any], Any], pages: int) -> Iterator[Any]:
    """Up to ``pages`` pages, each after the cursor the previous one ends with."""
    after = None
    for _ in range(pages):
        try:
            page = read(after_id=after)
        except AibridgeStoreError as e:
            yield {"error": e.to_response()}
            return
        yield page.model_dump(mode="json")
        after = cursor(page)
        if after is None:
            return


def cases(store: Store) -> Iterator[tuple[str, Any]]:
    members = [Actor.member(str(store.list_interceptions(limit=1).results[0].initiator.id))]
    for actor_name, actor in [("admin", None)] + [(f"member{i}", a) for i, a in enumerate(members)]:
        for q in QUERIES:
            yield from _listing_cases(store, actor_name, actor, q)
        yield f"{actor_name} models", store.list_models(actor=actor)
        yield f"{actor_name} models gpt", store.list_models("gpt", actor=actor)
        yield f"{actor_name} clients", store.list_clients(actor=actor)
        sessions = store.list_sessions(limit=25, actor=actor).sessions
        for session in sessions:
            walk = _walk(
                partial(store.get_session_threads, session.id, limit=7, actor=actor),
                lambda page: page.threads[-1].id if page.threads else None,
                4,
            )
            for n, body in enumerate(walk):
                yield f"{actor_name} threads {session.id} {n}", body
        biggest = max(sessions, key=lambda s: s.threads)
        threads = partial(store.get_session_threads, biggest.id, limit=200, actor=actor)
        yield f"{actor_name} threads biggest", _body(threads)


def _listing_cases(store: Store, actor_name: str, actor: Actor | None, q: str) -> Iterator[tuple[str, Any]]:
    yield f"{actor_name} interceptions {q!r}", _body(partial(store.list_interceptions, q, actor=actor))
    offset = partial(store.list_interceptions, q, limit=7, offset=5000, actor=actor)
    yield f"{actor_name} interceptions offset {q!r}", _body(offset)
    walk = _walk(
        partial(store.list_interceptions, q, limit=37, actor=actor),
        lambda page: page.results[-1].id if page.results else None,
        5,
    )
    for n, body in enumerate(walk):
        yield f"{actor_name} interceptions walk {n} {q!r}", body
    if "initiator" in q:
        return
    yield f"{actor_name} sessions {q!r}", _body(partial(store.list_sessions, q, actor=actor))
    yield f"{actor_name} sessions offset {q!r}", _body(partial(store.list_sessions, q, limit=9, offset=40, actor=actor))


def _data(interceptions: int, fmt: str, seed: int) -> Path:
    if fmt != "log":
        return dataset(interceptions, fmt, seed)
    path = DATA / f"log-{interceptions}-seed{seed}"
    if not (path / "coderd.log").exists():
        generate.generate(path, interceptions, seed, fmt)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--interceptions", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", choices=("csv", "parquet", "jsonl", "log"), default="csv")
    args = parser.parse_args(argv)
    data = _data(args.interceptions, args.format, args.seed)
    with tempfile.TemporaryDirectory() as work, Store.open(Path(work) / "store.duckdb") as store:
        store.import_path(data)
        written = 0
        with args.out.open("w", encoding="utf-8") as out:
            for case, body in cases(store):
                out.write(json.dumps({"case": case, "body": body}, sort_keys=True) + "\n")
                written += 1
    print(f"{written} cases from {args.interceptions} interceptions -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
