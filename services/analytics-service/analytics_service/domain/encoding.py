"""How a pupil's academic year of sessions is stored: one byte per session, in date order.

Slot `2 * day + session` holds the code of that session, where `day` counts from 1 August
and the morning is session 0. Every read (a school summary, a week, a cohort, a flag) slices
and counts these arrays, so a year of 380 possible sessions is one row, not 380.

`STORED_CODES` is a storage format: a code's byte is its position here, so entries are only
ever appended, never reordered or removed.
"""

from datetime import date, timedelta

import numpy as np

from attendance_shared.rules.codes import Category, category_of
from attendance_shared.rules.figures import academic_year_of, academic_year_start

NO_MARK = 0
STORED_CODES: tuple[str, ...] = (
    "",  # no mark taken (yet)
    "/", "\\", "L", "K", "V", "P", "W", "B", "D", "C1", "M", "J1", "S", "X", "C2", "C", "E", "I",
    "R", "T", "Q", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7", "G", "N", "O", "U", "Z", "#",
)  # fmt: skip
BYTE_OF_CODE: dict[str, int] = {code: index for index, code in enumerate(STORED_CODES) if code}

DAYS_IN_LAYOUT = 366  # every academic year gets room for a leap year's 29 February
SLOTS = 2 * DAYS_IN_LAYOUT
SESSION_INDEX = {"am": 0, "pm": 1}

# Category numbers used in arrays; 0 is "not a possible session" (or no mark).
NOT_COUNTED, PRESENT, AEA, AUTHORISED, UNAUTHORISED = range(5)
_CATEGORY_NUMBER = {
    Category.NOT_POSSIBLE: NOT_COUNTED,
    Category.PRESENT: PRESENT,
    Category.APPROVED_EDUCATIONAL_ACTIVITY: AEA,
    Category.AUTHORISED_ABSENCE: AUTHORISED,
    Category.UNAUTHORISED_ABSENCE: UNAUTHORISED,
}
# Byte -> category number, applied to whole arrays at once with numpy indexing.
CATEGORY_OF_BYTE = np.zeros(256, dtype=np.uint8)
for _code, _byte in BYTE_OF_CODE.items():
    CATEGORY_OF_BYTE[_byte] = _CATEGORY_NUMBER[category_of(_code)]


def byte_set(codes: frozenset[str] | set[str]) -> np.ndarray:
    """A 256-entry truth table of the bytes of `codes`, for `table[array]` membership tests."""
    table = np.zeros(256, dtype=bool)
    for code in codes:
        table[BYTE_OF_CODE[code]] = True
    return table


def slot_of(day: date, session: str) -> int:
    return 2 * (day - academic_year_start(academic_year_of(day))).days + SESSION_INDEX[session]


def day_of_slot(academic_year: int, slot: int) -> date:
    return academic_year_start(academic_year) + timedelta(days=slot // 2)
