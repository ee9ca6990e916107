"""Go's time.Parse(time.RFC3339Nano, ...) as Coder uses it, errors included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aibridge_store._gocompat import GoTimeError, parse_rfc3339

LAYOUT = '"2006-01-02T15:04:05.999999999Z07:00"'


def _micros(text: str) -> int:
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return round((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2025-01-01T00:00:00Z", "2025-01-01T00:00:00+00:00"),
        ("2025-01-01T00:00:00.5Z", "2025-01-01T00:00:00.500000+00:00"),
        ("2025-01-01T02:00:00+02:00", "2025-01-01T00:00:00+00:00"),
        ("2024-12-31T19:30:00-04:30", "2025-01-01T00:00:00+00:00"),
        ("2025-01-01T00:00:00,25Z", "2025-01-01T00:00:00.250000+00:00"),
        ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00+00:00"),
        ("2025-01-01T1:02:03Z", "2025-01-01T01:02:03+00:00"),
    ],
)
def test_parses(value: str, iso: str) -> None:
    assert parse_rfc3339(value).micros == _micros(iso)


def test_nanoseconds_are_kept_and_truncated_to_micros() -> None:
    parsed = parse_rfc3339("2025-01-01T00:00:00.123456789Z")
    assert parsed.nanos % 1_000_000_000 == 123_456_789
    assert parsed.micros % 1_000_000 == 123_456


def test_more_than_nine_fraction_digits_are_ignored() -> None:
    assert parse_rfc3339("2025-01-01T00:00:00.1234567891234Z").nanos % 10**9 == 123_456_789


def test_zero_time_is_recognised() -> None:
    assert parse_rfc3339("0001-01-01T00:00:00Z").is_zero
    assert not parse_rfc3339("0001-01-01T00:00:01Z").is_zero


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("INVALID", f'parsing time "INVALID" as {LAYOUT}: cannot parse "INVALID" as "2006"'),
        ("2025-01-01", f'parsing time "2025-01-01" as {LAYOUT}: cannot parse "" as "T"'),
        ("2025-01-01 00:00:00Z", f'parsing time "2025-01-01 00:00:00Z" as {LAYOUT}: cannot parse " 00:00:00Z" as "T"'),
        ("2025-01-01T00:00:00", f'parsing time "2025-01-01T00:00:00" as {LAYOUT}: cannot parse "" as "Z07:00"'),
        ("2025-1-01T00:00:00Z", f'parsing time "2025-1-01T00:00:00Z" as {LAYOUT}: cannot parse "1-01T00:00:00Z" as "01"'),
        ("2025-13-01T00:00:00Z", 'parsing time "2025-13-01T00:00:00Z": month out of range'),
        ("2025-02-29T00:00:00Z", 'parsing time "2025-02-29T00:00:00Z": day out of range'),
        ("2025-01-32T00:00:00Z", 'parsing time "2025-01-32T00:00:00Z": day out of range'),
        ("2025-01-01T24:00:00Z", 'parsing time "2025-01-01T24:00:00Z": hour out of range'),
        ("2025-01-01T00:60:00Z", 'parsing time "2025-01-01T00:60:00Z": minute out of range'),
        ("2025-01-01T00:00:60Z", 'parsing time "2025-01-01T00:00:60Z": second out of range'),
        ("2025-01-01T00:00:00ZZ", 'parsing time "2025-01-01T00:00:00ZZ": extra text: "Z"'),
        ("2025-01-01T00:00:00+25:00", 'parsing time "2025-01-01T00:00:00+25:00": time zone offset hour out of range'),
        ("2025-01-01T00:00:00X01:00", f'parsing time "2025-01-01T00:00:00X01:00" as {LAYOUT}: cannot parse "X01:00" as "Z07:00"'),
        ("2025-01-01T00:00:00+0100", f'parsing time "2025-01-01T00:00:00+0100" as {LAYOUT}: cannot parse "+0100" as "Z07:00"'),
        ('2025"é', f'parsing time "2025\\"\\xc3\\xa9" as {LAYOUT}: cannot parse "\\"\\xc3\\xa9" as "-"'),
    ],
)
def test_errors(value: str, message: str) -> None:
    with pytest.raises(GoTimeError) as caught:
        parse_rfc3339(value)
    assert str(caught.value) == message
