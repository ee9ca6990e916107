"""Code comments cite the project's own docs by section title: every citation names a real section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CITATION = re.compile(r'docs/([a-z]+\.md)((?:[,;]?\s*(?:and\s+|#\s+)?"[^"\n]+")+)')


def _headings(doc: str) -> set[str]:
    text = (REPO / "docs" / doc).read_text(encoding="utf-8")
    return {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")}


def _citations() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted([*REPO.glob("src/**/*.py"), *REPO.glob("tests/**/*.py")]):
        text = re.sub(r"\s*\n\s*(#\s*)?", " ", path.read_text(encoding="utf-8"))
        for doc, titles in CITATION.findall(text):
            found += [(path.name, doc, title) for title in re.findall(r'"([^"]+)"', titles)]
    return found


def test_the_code_cites_the_docs() -> None:
    assert len(_citations()) >= 15


@pytest.mark.parametrize(("source", "doc", "title"), _citations())
def test_every_citation_names_a_section(source: str, doc: str, title: str) -> None:
    assert title in _headings(doc), f"{source} cites a section {doc} does not have"


def test_no_comment_cites_a_document_outside_the_repository() -> None:
    outside = re.compile(r"coder-semantics|input-formats|§\s*\d")
    offenders = [p.name for p in [*REPO.glob("src/**/*.py"), *REPO.glob("tests/**/*.py")]
                 if p.name != "test_docs.py" and outside.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
