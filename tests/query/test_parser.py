"""Text → syntax tree, as Coder splits the q string (docs/semantics.md, "Search queries")."""

from __future__ import annotations

import pytest

from aibridge_store._query import BareTerm, KeyTerm, Query, parse_query


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("", ()),
        ("   ", ()),
        ("provider:openai", (KeyTerm("provider", "openai"),)),
        ("  provider:openai  ", (KeyTerm("provider", "openai"),)),
        ("Provider:OpenAI", (KeyTerm("Provider", "OpenAI"),)),
        ('model:"gpt 5"', (KeyTerm("model", "gpt 5"),)),
        ('started_after:"2025-01-01T00:00:00Z"', (KeyTerm("started_after", "2025-01-01T00:00:00Z"),)),
        ('"model":x', (KeyTerm("model", "x"),)),
        ("a::b", (KeyTerm("a", "b"),)),  # Go's FieldsFunc drops the empty part
        ('model:""', (KeyTerm("model", ""),)),
        ('model:"', (KeyTerm("model", ""),)),
        ('model:"a"b"c"', (KeyTerm("model", 'a"b"c'),)),
        ('model:"abc provider:x', (KeyTerm("model", "abc provider:x"),)),  # unterminated quote runs on
        ("foo bar provider:x", (BareTerm("foo"), BareTerm("bar"), KeyTerm("provider", "x"))),
        ('"a:b"', (BareTerm('"a:b"'),)),
        ("tab\there:x", (KeyTerm("tab\there", "x"),)),
        ("a:b  c:d", (KeyTerm("a", "b"), KeyTerm("c", "d"))),
        ("émoji:✓", (KeyTerm("émoji", "✓"),)),
    ],
)
def test_parse_terms(text: str, terms: tuple[object, ...]) -> None:
    assert parse_query(text) == Query(terms)


def test_spans_point_at_the_source() -> None:
    query = parse_query('x provider:"a b"')
    bare, key = query.terms
    assert (bare.span.start, bare.span.end) == (0, 1)  # type: ignore[union-attr]
    assert (key.span.start, key.span.end) == (2, 16)  # type: ignore[union-attr]


def test_spans_do_not_take_part_in_equality() -> None:
    assert parse_query("  model:x") == parse_query("model:x")
