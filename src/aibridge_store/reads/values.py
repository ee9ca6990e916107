"""Stored values → the values Coder's server puts in its JSON."""

from __future__ import annotations

import json
import math
from typing import Any


def _go_number(text: str) -> int | float:
    # Go decodes JSON numbers into float64 and writes integral ones without a fraction.
    number = float(text)
    if math.isinf(number):
        raise ValueError("number out of float64 range")
    if number.is_integer() and abs(number) < 1e21:
        return int(number)
    return number


def _reject_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def go_metadata(text: str | None) -> dict[str, Any] | None:
    """A jsonb column as Coder returns it: NULL → None, malformed or not an object → {}."""
    if text is None:
        return None
    try:
        value = json.loads(text, parse_int=_go_number, parse_float=_go_number, parse_constant=_reject_constant)
    except ValueError:
        return {}
    if value is None:
        return None
    return value if isinstance(value, dict) else {}
