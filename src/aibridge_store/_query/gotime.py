"""Go's ``time.Parse(time.RFC3339Nano, value)``, error messages included.

Coder parses ``started_after``/``started_before`` with Go's layout
``2006-01-02T15:04:05.999999999Z07:00`` and echoes Go's error text to the user, so this module
walks the layout element by element exactly as Go's ``time.parse`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def _go_quote(text: str) -> str:
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
        return GoTimeError(f"parsing time {_go_quote(value)}{message}")
    return GoTimeError(
        f"parsing time {_go_quote(value)} as {_go_quote(LAYOUT)}: cannot parse "
        f"{_go_quote(value_elem)} as {_go_quote(layout_elem)}"
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
    rest = value
    # year "2006"
    if len(rest) < 4 or not _digit(rest, 0) or not rest[:4].isdigit() or not rest[:4].isascii():
        raise _fail(value, "2006", rest)
    year, rest = int(rest[:4]), rest[4:]
    numbers: list[int] = []
    for prefix, elem, fixed, limit, name in (
        ("-", "01", True, None, "month"),
        ("-", "02", True, None, "day"),
        ("T", "15", False, 24, "hour"),
        (":", "04", True, 60, "minute"),
        (":", "05", True, 60, "second"),
    ):
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
    month, day, hour, minute, second = numbers
    nanos = 0
    if len(rest) >= 2 and rest[0] in ".," and _digit(rest, 1):
        digits = 0
        while _digit(rest, 1 + digits):
            digits += 1
        nanos = int(rest[1 : 1 + min(digits, 9)].ljust(9, "0"))
        rest = rest[1 + digits :]
    offset = 0
    if rest.startswith("Z"):
        rest = rest[1:]
    else:
        hold = rest
        if len(rest) < 6 or rest[3] != ":":
            raise _fail(value, "Z07:00", hold)
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
            raise _fail(value, "Z07:00", hold)
        offset = (hours * 60 + minutes) * 60 * (-1 if rest[0] == "-" else 1)
        rest = rest[6:]
    if rest:
        raise _fail(value, "", rest, f": extra text: {_go_quote(rest)}")
    if day < 1 or day > _days_in(month, year):
        raise _fail(value, "", rest, ": day out of range")
    days = _days_from_civil(year, month, day)
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
    return GoTime(seconds * 10**9 + nanos)


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
