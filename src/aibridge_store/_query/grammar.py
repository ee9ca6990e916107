"""Finding and compiling the search grammar (lazily, once per process)."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from lark import Lark

GRAMMAR_FILE = "search.lark"


def grammar_text() -> str:
    """The grammar shipped inside the package, or the checkout's ``grammar/`` when editable."""
    packaged = resources.files("aibridge_store").joinpath("grammar", GRAMMAR_FILE)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[3] / "grammar" / GRAMMAR_FILE
    return checkout.read_text(encoding="utf-8")


@functools.cache
def search_parser() -> Lark:
    return Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False,
                start=["start", "extended"])
