"""Property: every row the store accepts it reads back, through every endpoint; every row it
refuses leaves the store as it was (issue 9)."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aibridge_store import Actor, ImportDataError, Store
from tests.conftest import ENGINES
from tests.helpers.rows import USER_A, USER_B, interception, snapshot, token, uid

EXAMPLES = int(os.environ.get("AIBRIDGE_FUZZ_EXAMPLES", "40"))

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=80,
)
moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC))


def _deep(value: Any, levels: int) -> Any:
    for _ in range(levels):
        value = {"n": value}
    return value


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 50))
    started = draw(moments)
    started_text = draw(st.sampled_from([started.isoformat()] * 8 + ["infinity", "99999-01-01T00:00:00+00:00"]))
    metadata = draw(st.one_of(json_values, st.builds(_deep, json_values, st.integers(0, 80))))
    return interception(
        n,
        initiator_id=str(draw(st.sampled_from([USER_A, USER_B]))),
        provider=draw(text),
        model=draw(text.filter(bool)),
        client=draw(st.none() | text.map(lambda t: t[:64])),
        client_session_id=draw(st.none() | text),
        metadata=json.dumps(metadata, ensure_ascii=False),
        started_at=started_text,
        ended_at=draw(st.none() | st.just((started + timedelta(seconds=1)).isoformat())),
    )


def _read_everything(store: Store) -> None:
    for actor in (None, Actor.member(USER_A)):
        page = store.list_interceptions(limit=1000, actor=actor)
        page.model_dump(mode="json")
        sessions = store.list_sessions(limit=1000, actor=actor)
        sessions.model_dump(mode="json")
        for session in sessions.sessions:
            if session.id:  # an empty session id is "Missing session_id path parameter.", as in Coder
                store.get_session_threads(session.id, limit=200, actor=actor).model_dump(mode="json")
        store.list_models(actor=actor)
        store.list_clients(actor=actor)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.lists(rows(), min_size=1, max_size=6))
def test_whatever_is_accepted_reads_back_everywhere(batch: list[dict[str, Any]], engine: str) -> None:
    with tempfile.TemporaryDirectory() as folder, Store.open(
        None if engine == "duckdb" else Path(folder) / "s.sqlite", engine=engine
    ) as store:
        before = snapshot(store)
        try:
            store.import_arrow("aibridge_interceptions", pa.Table.from_pylist(batch))
            store.import_arrow("aibridge_token_usages", pa.Table.from_pylist(
                [token(i, int(r["id"][-12:]), metadata=r["metadata"]) for i, r in enumerate(batch, start=1)]
            ))
        except ImportDataError:
            assert snapshot(store) == before
            return
        ended = {r["id"] for r in batch if r["ended_at"] is not None}
        assert {str(r.id) for r in store.list_interceptions(limit=1000).results} == ended
        _read_everything(store)


@pytest.mark.parametrize("levels", [64, 65])
def test_the_depth_limit_is_exact(levels: int, store: Store) -> None:
    row = interception(1, metadata=json.dumps(_deep(1, levels)))
    if levels > 64:
        with pytest.raises(ImportDataError, match="nests deeper than 64 levels"):
            store.import_arrow("aibridge_interceptions", pa.Table.from_pylist([row]))
    else:
        store.import_arrow("aibridge_interceptions", pa.Table.from_pylist([row]))
        assert store.list_interceptions().results[0].id == uid(1)
