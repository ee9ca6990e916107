"""What reads remember between calls while the store stays the same (docs/decisions.md,
"Remembered counts").

A page's total count does not change while the store does not, so a walk through the pages of one
query counts once; the bound filters of a query, the position of the row a cursor names and the
JSON of each initiator, likewise. The :class:`~aibridge_store.Store` makes it forget whenever
anything may have written: every import and retention run, every
:meth:`~aibridge_store.Store.transaction`, every use of the raw connection. Reads inside a
transaction neither use nor fill the memo.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

_MAX_ENTRIES = 4096
"""Per kind; a full memo starts again empty rather than tracking use."""


class ReadMemo:
    """Values computed by reads, valid until :meth:`changed`."""

    def __init__(self, *, counts_table: bool) -> None:
        self.counts_table = counts_table
        """Whether counts may be read from the interception counts table: it exists (a store of
        schema version 2 opened read-only has none) and no write bypassed the import pipeline
        that keeps it exact since it was last computed."""
        self._kinds: dict[str, dict[Hashable, object]] = {}

    def changed(self, *, counts_exact: bool | None = None) -> None:
        """The store may have changed: forget everything. ``counts_exact`` says whether the
        counts table is exact now (False after raw SQL, True after an import recomputed it)."""
        self._kinds.clear()
        if counts_exact is not None:
            self.counts_table = counts_exact

    def get(self, kind: str, key: Hashable, compute: Callable[[], T]) -> T:
        """The remembered value of ``key``, computed on first use."""
        entries = self._kinds.setdefault(kind, {})
        if key in entries:
            return entries[key]  # type: ignore[return-value]
        value = compute()
        if len(entries) >= _MAX_ENTRIES:
            entries.clear()
        entries[key] = value
        return value

    def put(self, kind: str, key: Hashable, value: object) -> None:
        entries = self._kinds.setdefault(kind, {})
        if len(entries) >= _MAX_ENTRIES:
            entries.clear()
        entries[key] = value

    def known(self, kind: str, keys: list[Hashable]) -> dict[Hashable, object]:
        """The remembered values among ``keys``."""
        entries = self._kinds.get(kind, {})
        return {key: entries[key] for key in keys if key in entries}
