"""Fixtures shared by every test; the helpers they use live in :mod:`tests.helpers`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aibridge_store import Store


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open() as s:
        yield s
