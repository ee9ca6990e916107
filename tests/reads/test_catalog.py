"""list_models and list_clients (docs/semantics.md, "Models and clients")."""

from __future__ import annotations

from pathlib import Path

import pytest

from aibridge_store import Actor, PaginationError, QueryValidationError, Store
from tests.helpers.rows import USER_B, export_dir, interception


@pytest.fixture
def loaded(tmp_path: Path, store: Store) -> Store:
    rows = [
        interception(1, model="gpt_5", client=None),
        interception(2, model="gptx5", client="Unknown"),
        interception(3, model="gpt%", client="Cursor"),
        interception(4, model="claude", client="Claude Code", initiator_id=str(USER_B)),
        interception(5, model="in-flight-only", client="Ghost", ended_at=None),
        interception(6, model="Zeta", client="", started_at="2026-01-13 15:01:00+00"),
    ]
    export_dir(tmp_path, rows)
    store.import_path(tmp_path)
    return store


def test_models_are_distinct_sorted_by_bytes_and_ended_only(loaded: Store) -> None:
    assert loaded.list_models() == ["Zeta", "claude", "gpt%", "gpt_5", "gptx5"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [("gpt", ["gpt%", "gpt_5", "gptx5"]), ("model:gpt_", ["gpt_5"]), ("gpt%", ["gpt%"]), ("GPT", []),
     ("nothing", []), ('model:""', ["Zeta", "claude", "gpt%", "gpt_5", "gptx5"])],
)
def test_model_prefix_is_literal_and_case_sensitive(loaded: Store, q: str, expected: list[str]) -> None:
    assert loaded.list_models(q) == expected


def test_clients_have_one_unknown_and_keep_empty_strings(loaded: Store) -> None:
    assert loaded.list_clients() == ["", "Claude Code", "Cursor", "Unknown"]
    assert loaded.list_clients("Unk") == ["Unknown"]
    assert loaded.list_clients("client:Ghost") == []


def test_paging_and_errors(loaded: Store) -> None:
    assert loaded.list_models(limit=2, offset=1) == ["claude", "gpt%"]
    with pytest.raises(PaginationError):
        loaded.list_models(limit=1001)
    with pytest.raises(QueryValidationError) as caught:
        loaded.list_clients("model:x")
    assert caught.value.message == "Invalid AI Bridge clients search query."


def test_members_see_only_their_own(loaded: Store) -> None:
    assert loaded.list_models(actor=Actor.member(USER_B)) == ["claude"]
    assert loaded.list_clients(actor=Actor.member(USER_B)) == ["Claude Code"]


def test_an_interception_that_ends_later_joins_the_lists(tmp_path: Path, loaded: Store) -> None:
    export_dir(tmp_path / "later", [interception(5, model="in-flight-only", client="Ghost")])
    loaded.import_path(tmp_path / "later")
    assert "in-flight-only" in loaded.list_models() and "Ghost" in loaded.list_clients()
