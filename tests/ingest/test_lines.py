"""The one line splitter every line-based reader uses: exact, linear, and bounded."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aibridge_store import ImportDataError
from aibridge_store._ingest.base import split_lines, whole_lines


def _expected(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    return lines[:-1] if lines[-1] == b"" else lines


@given(data=st.binary(max_size=300).map(lambda b: b.replace(b"\x00", b"\n")), cuts=st.lists(st.integers(0, 300)))
def test_any_split_into_blocks_gives_the_same_lines(data: bytes, cuts: list[int]) -> None:
    points = sorted({min(c, len(data)) for c in cuts})
    blocks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert [line for group in split_lines(blocks, "x") for line in group] == _expected(data)


def test_every_buffer_ends_at_a_line_end() -> None:
    buffers = list(whole_lines([b"ab", b"c\nde", b"f\n", b"", b"g"], "x"))
    assert buffers == [b"abc\n", b"def\n", b"g\n"]


def test_a_long_line_in_many_small_blocks_is_one_line() -> None:
    blocks = [b"x" * 1024] * 16384  # 16 MiB without a newline, in 1 KiB blocks
    (line,) = [line for group in split_lines(blocks, "x") for line in group]
    assert len(line) == 16 << 20 and set(line) == {ord("x")}


def test_a_line_over_the_limit_is_refused_with_the_limit_named() -> None:
    with pytest.raises(ImportDataError, match="longer than 1 MiB") as caught:
        list(split_lines([b"y" * 4096] * 300, "big.jsonl", max_line=1 << 20))
    assert caught.value.source == "big.jsonl"
