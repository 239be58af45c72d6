"""Reading back the page cursors the APIs give out: a cursor that is not one of ours, or whose
parts are out of range, is a 422 naming the parameter, never a value handed to PostgreSQL
(a number past bigint, a date past the calendar) to fail there as a 500."""

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar

from attendance_shared.bounds import EARLIEST_DAY, EARLIEST_MOMENT, INT64_MAX, LATEST_DAY, LATEST_MOMENT
from attendance_shared.errors import Unprocessable

T = TypeVar("T")


def decode_cursor(cursor: str, parse: Callable[[str], T], *, name: str = "cursor") -> T:
    """`parse(cursor)`, or a 422 about query parameter `name` if it raises ValueError (or the
    cursor holds anything but the printable ASCII every cursor we give out is made of)."""
    try:
        if not (cursor.isascii() and cursor.isprintable()):
            raise ValueError("not printable ASCII")
        return parse(cursor)
    except (ValueError, OverflowError, UnicodeError):
        raise Unprocessable(
            f"`{name}` is malformed: pass the `next_cursor` a listing gave",
            errors=[{"location": ["query", name], "message": "not a cursor this API gave out", "type": "value_error"}],
        ) from None


def int64(text: str) -> int:
    """A non-negative integer that fits PostgreSQL's bigint, written in decimal digits."""
    if not text.isdigit() or len(text) > 19 or int(text) > INT64_MAX:
        raise ValueError(f"{text!r} is not an id")
    return int(text)


def day(text: str) -> date:
    value = date.fromisoformat(text)
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValueError(f"{text!r} is out of range")
    return value


def moment(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None or not EARLIEST_MOMENT <= value <= LATEST_MOMENT:
        raise ValueError(f"{text!r} is out of range or has no offset")
    return value


def uuid_of(text: str) -> uuid.UUID:
    return uuid.UUID(text)
