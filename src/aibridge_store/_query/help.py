"""``aibridge-store help search``: the search language's keys and forms, written from the field
registry and the grammar's own operators, so that the help cannot drift from what is parsed."""

from __future__ import annotations

import re

from .fields import FIELDS, FLAGS, INTERCEPTIONS_SEARCH, SESSIONS_SEARCH, ValueType
from .grammar import grammar_text

VALUES = {
    ValueType.USER: "me, a UUID or a username; a,b for any of them",
    ValueType.TEXT: "exact text; a,b for any of them; * for any text",
    ValueType.TIME: 'a quoted RFC 3339 time ("2026-01-31T00:00:00Z")',
    ValueType.COUNT: "n, >n, >=n, <n, <=n or a..b",
    ValueType.DURATION: "30s, 1.5m, 2h, 500ms, 1d: alone, >, >=, <, <= or a..b",
    ValueType.WHEN: "2026-01-31, today, yesterday, -7d, a quoted time: alone, a..b, >, >=, <, <=",
    ValueType.CONTAINS: "text found anywhere, ignoring case; a,b for any of them",
    ValueType.USD: "US dollars (1, 0.25, $5): alone, >, >=, <, <= or a..b",
}


def grammar_operators() -> dict[str, str]:
    """The extended grammar's operator terminals, by name, with their patterns."""
    found = re.findall(r'^(_OR|LPAR|NOT_LPAR|RPAR)(?:\.\d+)?: (.+)$', grammar_text(), re.M)
    return dict(found)


def search_help() -> str:
    """What ``aibridge-store help search`` prints: every search key with what it selects and the
    values it takes, and the forms of the extended language."""
    keys = [*dict.fromkeys([*SESSIONS_SEARCH.keys, *INTERCEPTIONS_SEARCH.keys, *SESSIONS_SEARCH.extended])]
    width = max(map(len, keys)) + 2
    lines = ["Search keys (q, -q): key:value terms separated by spaces; quote values with spaces or ':'.", ""]
    for key in keys:
        field = FIELDS[key]
        values = VALUES.get(field.value_type) or "one of " + ", ".join(FLAGS[key])
        lines.append(f"  {key:<{width}}{field.doc}")
        lines.append(f"  {'':<{width}}  {values}")
    forms = {
        "_OR": "  a OR b              either; side by side is AND, which binds tighter",
        "LPAR": "  ( ... )             a group",
        "NOT_LPAR": "  -( ... )            none of the group",
    }
    missing = set(forms) - set(grammar_operators())
    if missing:
        raise RuntimeError(f"the grammar no longer defines {', '.join(sorted(missing))}: update the help")
    lines += [
        "",
        "Forms (not when read strictly: strict=True, --strict):",
        "  -key:value          none of what key:value selects",
        *forms.values(),
        "",
        'Example: (model:claude-* OR model:gpt-5*) -client:Unknown input_tokens:>100000 started:>-7d',
    ]
    return "\n".join(lines)
