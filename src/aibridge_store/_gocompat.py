"""Go's behaviour where Coder's answers depend on it: how Go parses times, UUIDs and integers,
quotes strings in messages, writes times in JSON and decodes JSON numbers, error texts included.
Coder echoes these texts and values to its users, so the store reproduces them exactly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# -- strings ----------------------------------------------------------------------------------

def go_quote(text: str) -> str:
    """Go's ``%q`` for a string: double quotes, with escapes for quotes, backslashes and controls."""
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        elif not char.isprintable():
            out.append(f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def go_trim_quotes(text: str) -> str:
    """Go's ``strings.Trim(s, "\\"")``: every double quote at either end goes."""
    return text.strip('"')


# -- integers ---------------------------------------------------------------------------------

MAX_INT32 = 2**31 - 1


def parse_int32(text: str) -> int:
    """``strconv.ParseInt(text, 10, 32)`` with Go's error text."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isascii() or not body.isdigit():
        raise ValueError(f"strconv.ParseInt: parsing {go_quote(text)}: invalid syntax")
    value = int(text)
    if not -(2**31) <= value <= MAX_INT32:
        raise ValueError(f"strconv.ParseInt: parsing {go_quote(text)}: value out of range")
    return value


# -- UUIDs ------------------------------------------------------------------------------------

_HEX = frozenset("0123456789abcdefABCDEF")


def parse_go_uuid(text: str) -> uuid.UUID | None:
    """The forms Go's ``uuid.Parse`` accepts: canonical, ``{...}``, ``urn:uuid:...`` and 32 hex."""
    if len(text) == 45 and text[:9].lower() == "urn:uuid:":
        text = text[9:]
    elif len(text) == 38 and text[0] == "{" and text[-1] == "}":
        text = text[1:-1]
    if len(text) == 36:
        if any(text[i] != "-" for i in (8, 13, 18, 23)):
            return None
        text = text.replace("-", "")
        if len(text) != 32:
            return None
    if len(text) != 32 or not set(text) <= _HEX:
        return None
    return uuid.UUID(hex=text)


def go_uuid_error(text: str) -> str:
    """The text of the error Go's ``uuid.Parse`` returns for ``text``."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size not in (32, 36, 38, 45):
        return f"invalid UUID length: {size}"
    if size == 45 and text[:9].lower() != "urn:uuid:":
        return f'invalid urn prefix: "{text[:9]}"'
    return "invalid UUID format"


def as_uuid(value: object) -> uuid.UUID | None:
    """An optional UUID argument: None when absent (None or ''), else a UUID, or text in a form
    Go's ``uuid.Parse`` accepts; anything else raises ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, uuid.UUID):
        return value
    parsed = parse_go_uuid(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError(value)
    return parsed


# -- times ------------------------------------------------------------------------------------

LAYOUT = "2006-01-02T15:04:05.999999999Z07:00"


class GoTimeError(ValueError):
    """Carries Go's ``*time.ParseError`` text."""


@dataclass(frozen=True, slots=True)
class GoTime:
    """A parsed instant: nanoseconds since the Unix epoch, UTC (Go years 0000-9999 fit)."""

    nanos: int

    @property
    def micros(self) -> int:
        """Microseconds, truncated towards the past (as pgx encodes a time.Time)."""
        return self.nanos // 1000

    @property
    def is_zero(self) -> bool:
        return self.nanos == ZERO_TIME_NANOS


_DAYS_BEFORE_EPOCH_YEAR1 = 719162  # days from 0001-01-01 to 1970-01-01
ZERO_TIME_NANOS = -_DAYS_BEFORE_EPOCH_YEAR1 * 86400 * 10**9
"""Go's zero ``time.Time`` (0001-01-01T00:00:00Z), which Coder treats as "no filter"."""


def _time_quote(text: str) -> str:
    """The ``quote`` helper of Go's time package (not ``strconv.Quote``)."""
    out = ['"']
    for char in text:
        if ord(char) >= 0x80 or ord(char) < 0x20:
            out.extend(f"\\x{b:02x}" for b in char.encode("utf-8", "surrogatepass"))
        else:
            if char in '"\\':
                out.append("\\")
            out.append(char)
    out.append('"')
    return "".join(out)


def _fail(value: str, layout_elem: str, value_elem: str, message: str = "") -> GoTimeError:
    if message:
        return GoTimeError(f"parsing time {_time_quote(value)}{message}")
    return GoTimeError(
        f"parsing time {_time_quote(value)} as {_time_quote(LAYOUT)}: cannot parse "
        f"{_time_quote(value_elem)} as {_time_quote(layout_elem)}"
    )


def _digit(s: str, i: int) -> bool:
    return i < len(s) and "0" <= s[i] <= "9"


def _getnum(s: str, fixed: bool) -> tuple[int, str] | None:
    if not _digit(s, 0):
        return None
    if not _digit(s, 1):
        return None if fixed else (int(s[0]), s[1:])
    return int(s[:2]), s[2:]


def _skip(value: str, prefix: str) -> str | None:
    return value[len(prefix) :] if value.startswith(prefix) else None


def parse_rfc3339(value: str) -> GoTime:
    """Parse like Go's ``time.Parse(time.RFC3339Nano, value)``; raise :class:`GoTimeError`."""
    (year, month, day, hour, minute, second), rest = _date_and_clock(value)
    nanos, rest = _fraction(rest)
    offset, rest = _zone(value, rest)
    if rest:
        raise _fail(value, "", rest, f": extra text: {_time_quote(rest)}")
    if day < 1 or day > _days_in(month, year):
        raise _fail(value, "", rest, ": day out of range")
    days = _days_from_civil(year, month, day)
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
    return GoTime(seconds * 10**9 + nanos)


_CLOCK = (
    ("-", "01", True, None, "month"),
    ("-", "02", True, None, "day"),
    ("T", "15", False, 24, "hour"),
    (":", "04", True, 60, "minute"),
    (":", "05", True, 60, "second"),
)
"""The layout's elements after the year: (separator, element, fixed width, limit, name)."""


def _date_and_clock(value: str) -> tuple[list[int], str]:
    """Year, month, day, hour, minute and second, in the layout's order, with Go's range checks."""
    rest = value
    if len(rest) < 4 or not _digit(rest, 0) or not rest[:4].isdigit() or not rest[:4].isascii():
        raise _fail(value, "2006", rest)
    numbers, rest = [int(rest[:4])], rest[4:]
    for prefix, elem, fixed, limit, name in _CLOCK:
        skipped = _skip(rest, prefix)
        if skipped is None:
            raise _fail(value, prefix, rest)
        got = _getnum(skipped, fixed)
        if got is None:
            raise _fail(value, elem, skipped)
        number, rest = got
        out_of_range = (
            (name == "month" and not 1 <= number <= 12)
            or (name == "day" and number > 31)
            or (limit is not None and number >= limit)
        )
        if out_of_range:
            raise _fail(value, elem, rest, f": {name} out of range")
        numbers.append(number)
    return numbers, rest


def _fraction(rest: str) -> tuple[int, str]:
    """Nanoseconds of a ``.`` or ``,`` fraction (digits past the ninth are read and dropped)."""
    if not (len(rest) >= 2 and rest[0] in ".," and _digit(rest, 1)):
        return 0, rest
    digits = 0
    while _digit(rest, 1 + digits):
        digits += 1
    return int(rest[1 : 1 + min(digits, 9)].ljust(9, "0")), rest[1 + digits :]


def _zone(value: str, rest: str) -> tuple[int, str]:
    """The offset in seconds east of UTC: ``Z`` or ``±hh:mm``."""
    if rest.startswith("Z"):
        return 0, rest[1:]
    if len(rest) < 6 or rest[3] != ":":
        raise _fail(value, "Z07:00", rest)
    zh = _getnum(rest[1:3], True)
    zm = _getnum(rest[4:6], True) if zh else None
    hours = zh[0] if zh else 0
    minutes = zm[0] if zm else 0
    # Go checks the ranges before the digits' and the sign's validity.
    if hours > 24:
        raise _fail(value, "Z07:00", rest[6:], ": time zone offset hour out of range")
    if minutes > 60:
        raise _fail(value, "Z07:00", rest[6:], ": time zone offset minute out of range")
    if zh is None or zm is None or rest[0] not in "+-":
        raise _fail(value, "Z07:00", rest)
    return (hours * 60 + minutes) * 60 * (-1 if rest[0] == "-" else 1), rest[6:]


def _days_in(month: int, year: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (year 0 included)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def go_time_text(value: datetime) -> str:
    """RFC 3339 in UTC with ``Z`` and the fraction trimmed of trailing zeros, as Go writes it."""
    # isoformat() is C code: this runs once per timestamp of every response the models write.
    text = value.isoformat()
    if text[-6:] != "+00:00":
        text = value.astimezone(UTC).isoformat()
    text = text[:-6]
    return (text.rstrip("0") if len(text) > 19 else text) + "Z"


# -- JSON numbers -----------------------------------------------------------------------------

_EXACT = 2**53


def go_json_value(value: Any) -> Any:
    """A JSON value as Go's ``map[string]any`` decoding leaves it: every number is a float64."""
    kind = type(value)
    if kind is int:
        return value if -_EXACT <= value <= _EXACT else go_json_value(float(value))
    if kind is float:
        return int(value) if value.is_integer() and abs(value) < 1e21 else value
    if kind is dict:
        return {k: go_json_value(v) for k, v in value.items()}
    if kind is list:
        return [go_json_value(v) for v in value]
    return value


def go_metadata(value: dict[str, Any]) -> dict[str, Any]:
    for item in value.values():
        if type(item) is not str:
            return {k: go_json_value(v) for k, v in value.items()}
    return value
