"""What the store accepts it must read back, and Coder's PostgreSQL must be able to hold: checks
that refuse, at import, the values that would make every page holding their row fail (timestamps
beyond year 9999, NUL characters, JSON nested without end)."""

from __future__ import annotations

import re

from .._schema import Kind

EARLIEST, LATEST = "0001-01-01 00:00:00+00", "9999-12-31 23:59:59.999999+00"
"""The instants every read can write back (years 1 to 9999); infinity and beyond are refused."""
MAX_JSON_DEPTH = 64
"""How deeply JSON values may nest: far beyond any metadata Coder writes, well within what every
reader (pydantic, Python's json) can walk."""
JSON_DEPTH_FUNCTION = "aibridge_json_depth"
"""A Python function the import run registers: the nesting depth of a JSON text."""


def _readable_time(typed: str, shown: str) -> list[tuple[str, str]]:
    return [(
        f"{typed} NOT BETWEEN TIMESTAMPTZ '{EARLIEST}' AND TIMESTAMPTZ '{LATEST}'",
        f"'is outside the years 1 to 9999 that the store can read back: ' || {shown}",
    )]


def _readable_text(typed: str, shown: str) -> list[tuple[str, str]]:
    return [(f"strpos({typed}, chr(0)) > 0", "'holds a NUL character, which PostgreSQL refuses in text'")]


def _readable_json(typed: str, shown: str) -> list[tuple[str, str]]:
    text = f"CAST({typed} AS VARCHAR)"
    brackets = f"length({text}) - length(replace(replace({text}, '{{', ''), '[', ''))"
    return [
        (f"strpos({text}, '\\u0000') > 0 OR strpos({text}, chr(0)) > 0",
         "'holds a NUL character (\\u0000), which PostgreSQL refuses in JSON'"),
        # Cheapest test first: nesting past the limit takes more than twice as many characters.
        (f"length({text}) > {2 * MAX_JSON_DEPTH} AND {brackets} > {MAX_JSON_DEPTH} "
         f"AND {JSON_DEPTH_FUNCTION}({text}) > {MAX_JSON_DEPTH}",
         f"'nests deeper than {MAX_JSON_DEPTH} levels'"),
    ]


def _nothing(typed: str, shown: str) -> list[tuple[str, str]]:
    return []


def readable_checks(kind: Kind, typed: str, shown: str) -> list[tuple[str, str]]:
    """(condition, SQL message) pairs refusing the values of ``kind`` the store could not read back."""
    return _READABLE[kind](typed, shown)


_READABLE = {
    Kind.TIMESTAMPTZ: _readable_time,
    Kind.TEXT: _readable_text,
    Kind.JSON: _readable_json,
    Kind.UUID: _nothing,
    Kind.COUNT: _nothing,
    Kind.BOOL: _nothing,
}


_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_BRACKETS = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """How deeply a JSON text nests (strings left out); the import run registers it in DuckDB."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest
