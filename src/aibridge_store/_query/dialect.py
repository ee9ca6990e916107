"""How filter SQL is spelled in each engine: the seam that lets one filter tree run elsewhere.

A dialect quotes identifiers, writes parameter placeholders and converts the few typed values
(UUIDs, instants) to what its driver binds. The compiler asks; it never writes engine syntax itself.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from .._gocompat import GoTime


class Dialect:
    """The DuckDB spelling, and the base the others adjust."""

    name = "duckdb"
    true = "TRUE"
    false = "FALSE"
    probes_index = False
    """Whether a term on the totals or the child rows is tested by probing their index once per
    row (a correlated ``EXISTS``) rather than as the set of every matching interception id. Terms
    on the totals (a row per interception) always probe; terms on child rows probe when other
    terms narrow the rows too, and are a set when they alone choose (a scan of the child rows)."""
    materialized = "MATERIALIZED "
    """How a CTE is asked to be computed once (Spark decides that itself)."""
    escape = "'\\'"
    """The backslash as a string literal (LIKE's escape character)."""

    def ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def placeholder(self, index: int) -> str:
        return f"${index}"

    def bind(self, value: object) -> object:
        if isinstance(value, GoTime):
            return value.micros
        return value

    def typed(self, placeholder: str, value: object) -> str:
        """SQL reading a bound value back as the column's type."""
        if isinstance(value, GoTime):
            return f"make_timestamptz({placeholder})"
        return placeholder

    def coalesce(self, *args: str) -> str:
        return f"COALESCE({', '.join(args)})"

    def starts_with(self, subject: str, prefix: str) -> str:
        return f"starts_with({subject}, {prefix})"

    def glob(self, subject: str, pattern: str, bind: Callable[[str], str]) -> str:
        """SQL testing ``subject`` against a search ``pattern`` (``*`` is any text, every other
        character is itself), binding values with ``bind``. A prefix, a suffix or a middle is
        tested as one, which engines answer faster than a LIKE with an escape character."""
        lead, *middle, tail = pattern.split("*")
        if not middle and lead and not tail:
            return self.starts_with(subject, bind(lead))
        if not middle and tail and not lead:
            return self.ends_with(subject, bind(tail))
        if len(middle) == 1 and middle[0] and not lead and not tail:
            return self.has_text(subject, bind(middle[0]))
        escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"{subject} LIKE {bind(escaped.replace('*', '%'))} ESCAPE {self.escape}"

    def ends_with(self, subject: str, suffix: str) -> str:
        return f"ends_with({subject}, {suffix})"

    def has_text(self, subject: str, text: str) -> str:
        """Whether ``subject`` holds ``text`` (case counts)."""
        return f"contains({subject}, {text})"

    def contains_pattern(self, text: str) -> str:
        """The bound value :meth:`contains` matches: ``text`` anywhere, ``%``, ``_`` and the
        escape character taken literally."""
        return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"

    def contains(self, subject: str, pattern: str) -> str:
        return f"{subject} ILIKE {pattern} ESCAPE '\\'"

    def micros_between(self, start: str, end: str) -> str:
        return f"(epoch_us({end}) - epoch_us({start}))"

    # What the reads ask for, besides filters.

    def text(self, column: str) -> str:
        """A UUID or JSON column as text."""
        return f"CAST({column} AS VARCHAR)"

    def go_time(self, column: str) -> str:
        """An instant as RFC 3339 text in UTC with six decimals (the models trim trailing zeros)."""
        return f"strftime({column}, '%Y-%m-%dT%H:%M:%S.%fZ')"

    def micros(self, instant: str) -> str:
        """An instant's microseconds since 1970."""
        return f"epoch_us({instant})"

    def id_list(self, ids: Sequence[str]) -> str:
        """The value :meth:`in_ids` binds for ``ids`` (UUID text)."""
        return ",".join(ids)

    def in_ids(self, column: str, placeholder: str) -> str:
        """Whether a UUID ``column`` is one of the bound :meth:`id_list`."""
        return f"list_contains(CAST(string_split({placeholder}, ',') AS UUID[]), {column})"


def iso_instant(micros: int) -> str:
    """An instant as SQLite stores it: ISO 8601 in UTC with six decimals, so that text order is
    time order (an instant before the year 1 reads as the first text of all)."""
    if micros < _FIRST_INSTANT_US:
        return "0000-01-01T00:00:00.000000Z"
    moment = datetime(1, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros - _FIRST_INSTANT_US)
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
            f"{moment.second:02d}.{moment.microsecond:06d}Z")


_FIRST_INSTANT_US = -62135596800 * 1_000_000
"""0001-01-01T00:00:00Z in microseconds since 1970."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} has no time zone")
    return (moment - _EPOCH) // timedelta(microseconds=1)


class SQLiteDialect(Dialect):
    """SQLite: instants stored as ISO 8601 text (:func:`iso_instant`), UUIDs as lower-case text."""

    name = "sqlite"
    true = "1"
    false = "0"
    probes_index = True  # B-tree probes; a set of a million text ids is a large temporary B-tree

    def placeholder(self, index: int) -> str:
        return f"?{index}"

    def bind(self, value: object) -> object:
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, GoTime):
            return iso_instant(value.micros)
        if isinstance(value, datetime):
            return iso_instant(_micros(value))
        if isinstance(value, Decimal):
            return str(value)  # compared with a REAL column, SQLite reads it as a number
        return super().bind(value)

    def typed(self, placeholder: str, value: object) -> str:
        return placeholder

    def text(self, column: str) -> str:
        return column

    def go_time(self, column: str) -> str:
        return column  # stored in exactly that form

    def id_list(self, ids: Sequence[str]) -> str:
        return json.dumps(list(ids))

    def in_ids(self, column: str, placeholder: str) -> str:
        return f"{column} IN (SELECT value FROM json_each({placeholder}))"

    def starts_with(self, subject: str, prefix: str) -> str:
        return f"substr({subject}, 1, length({prefix})) = {prefix}"

    def glob(self, subject: str, pattern: str, bind: Callable[[str], str]) -> str:
        """SQLite's LIKE ignores ASCII case; its GLOB does not: ``*`` stays, and the characters
        GLOB reads specially are put in brackets."""
        special = {"?": "[?]", "[": "[[]"}
        return f"{subject} GLOB {bind(''.join(special.get(c, c) for c in pattern))}"

    def contains(self, subject: str, pattern: str) -> str:
        """SQLite's LIKE folds the case of ASCII letters only: text with any other character, in
        the row or the pattern, is tested again by :data:`UNICODE_LIKE`, which folds them all."""
        def wide(text: str) -> str:
            return f"length(CAST({text} AS BLOB)) <> length({text})"

        return (f"({subject} LIKE {pattern} ESCAPE '\\' OR (({wide(subject)} OR {wide(pattern)}) "
                f"AND {UNICODE_LIKE}({subject}, {pattern})))")

    def micros(self, instant: str) -> str:
        """An instant's microseconds since 1970, exactly: integer arithmetic on the text."""
        return f"(unixepoch(substr({instant}, 1, 19)) * 1000000 + CAST(substr({instant}, 21, 6) AS INTEGER))"

    def micros_between(self, start: str, end: str) -> str:
        return f"({self.micros(end)} - {self.micros(start)})"


UNICODE_LIKE = "aibridge_ilike"
"""The SQL function that SQLite connections of the store register (:func:`unicode_like`)."""


def unicode_like(subject: str | None, pattern: str | None) -> bool | None:
    """``subject ILIKE pattern ESCAPE '\\'`` as DuckDB answers it, for every letter: both sides
    lower-cased, ``%`` any text, ``_`` any character, ``\\`` taking the next one literally."""
    if subject is None or pattern is None:
        return None
    return _like_regex(pattern.lower()).fullmatch(subject.lower()) is not None


@lru_cache(maxsize=256)
def _like_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            parts.append({"%": ".*", "_": "."}.get(char) or re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


class SparkDialect(Dialect):
    """Spark SQL over the dataset (UUIDs and JSON as text): backquoted identifiers, named
    parameters, ``timestamp_micros``."""

    name = "spark"
    materialized = ""
    escape = "'\\\\'"  # a backslash escapes the next character in Spark's string literals

    def ident(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def placeholder(self, index: int) -> str:
        return f":p{index}"

    def bind(self, value: object) -> object:
        if isinstance(value, uuid.UUID):
            return str(value)
        return super().bind(value)

    def typed(self, placeholder: str, value: object) -> str:
        if isinstance(value, GoTime):
            return f"timestamp_micros({placeholder})"
        return placeholder

    def starts_with(self, subject: str, prefix: str) -> str:
        return f"startswith({subject}, {prefix})"

    def ends_with(self, subject: str, suffix: str) -> str:
        return f"endswith({subject}, {suffix})"

    def has_text(self, subject: str, text: str) -> str:
        return f"contains({subject}, {text})"

    def contains(self, subject: str, pattern: str) -> str:
        return f"lower({subject}) LIKE lower({pattern}) ESCAPE {self.escape}"

    def micros_between(self, start: str, end: str) -> str:
        return f"(unix_micros({end}) - unix_micros({start}))"

    def text(self, column: str) -> str:
        return column  # the dataset holds UUIDs and JSON as text

    def go_time(self, column: str) -> str:
        return f"concat(date_format({column}, 'yyyy-MM-dd'), 'T', date_format({column}, 'HH:mm:ss.SSSSSS'), 'Z')"

    def micros(self, instant: str) -> str:
        return f"unix_micros({instant})"

    def in_ids(self, column: str, placeholder: str) -> str:
        return f"array_contains(split({placeholder}, ','), {column})"


DUCKDB = Dialect()
SQLITE = SQLiteDialect()
SPARK = SparkDialect()
DIALECTS = {d.name: d for d in (DUCKDB, SQLITE, SPARK)}
