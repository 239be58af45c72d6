"""Many pupils' years of one school as one matrix, and the counts every figure is made of.
Pure: no I/O. Rows are pupils, columns are the slots of `encoding`."""

from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np

from analytics_service.domain.encoding import (
    AUTHORISED,
    BYTE_OF_CODE,
    CATEGORY_OF_BYTE,
    DAYS_IN_LAYOUT,
    NO_MARK,
    SLOTS,
    UNAUTHORISED,
    slot_of,
)
from attendance_shared.rules.codes import UNEXPLAINED_CODE
from attendance_shared.rules.figures import academic_year_start

Enrolment = tuple[date, date | None]  # admitted on, left on (inclusive; None while on roll)


# The slots a pupil was on roll, as [start, end) ranges; None: every slot of the year.
OnRoll = list[tuple[int, int]] | None


def enrolment_mask(enrolments: list[Enrolment] | None, academic_year: int) -> OnRoll:
    """The sessions on which the pupil was on roll. With no admission known yet (its event
    not arrived) every session counts, so marks are never lost to ordering. A pupil admitted
    once and still on roll needs no mask: the register refuses marks before admission."""
    if enrolments is None or (len(enrolments) == 1 and enrolments[0][1] is None):
        return None
    return stay_slots(enrolments, academic_year)


def stay_slots(enrolments: list[Enrolment], academic_year: int) -> list[tuple[int, int]]:
    """The slots of the year inside these enrolments, as [start, end) ranges."""
    first = academic_year_start(academic_year)
    ranges = []
    for admitted, left in enrolments:
        start = 0 if admitted < first else slot_of(admitted, "am")
        end_day = (left - first).days + 1 if left is not None else DAYS_IN_LAYOUT
        ranges.append((start, max(0, min(2 * end_day, SLOTS))))
    return ranges


# A pupil with two stays at the school in one academic year (deleted, then admitted again)
# is two enrolments, as the DfE counts them: each has its own row, labelled with the day it
# began. A pupil with one stay is labelled by their UPN alone.
STAY = "@"


def stay_label(upn: str, admitted: date) -> str:
    return f"{upn}{STAY}{admitted.isoformat()}"


def upn_of(label: str) -> str:
    return label.partition(STAY)[0]


def admitted_of(label: str) -> date | None:
    _, _, admitted = label.partition(STAY)
    return date.fromisoformat(admitted) if admitted else None


def stays_in_year(enrolments: list[Enrolment] | None, academic_year: int) -> list[Enrolment]:
    """The enrolments that overlap the academic year."""
    first = academic_year_start(academic_year)
    last = academic_year_start(academic_year + 1)
    return [(a, left) for a, left in enrolments or [] if a < last and (left is None or left >= first)]


@dataclass(eq=False)
class YearMatrix:
    """Rows: pupils of one school; values: stored code bytes, zero outside enrolment."""

    academic_year: int
    codes: np.ndarray  # uint8[P, SLOTS], already masked to enrolment

    @classmethod
    def of(cls, academic_year: int, rows: list[bytes | bytearray], on_roll: list[OnRoll]) -> "YearMatrix":
        if not rows:
            return cls(academic_year, np.zeros((0, SLOTS), dtype=np.uint8))
        codes = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), SLOTS).copy()
        # One enrolment in the year (a September intake, a joiner, a leaver): masked for all such
        # pupils at once; a pupil who left and came back is masked on their own.
        single = [(i, r[0]) for i, r in enumerate(on_roll) if r is not None and len(r) == 1]
        if single:
            index = np.array([i for i, _ in single])
            bounds = np.array([b for _, b in single])
            slots = np.arange(SLOTS)
            outside = (slots[None, :] < bounds[:, :1]) | (slots[None, :] >= bounds[:, 1:])
            codes[index] = np.where(outside, NO_MARK, codes[index])
        for i, ranges in enumerate(on_roll):
            if ranges is not None and len(ranges) != 1:
                mask = np.zeros(SLOTS, dtype=bool)
                for start, end in ranges:
                    mask[start:end] = True
                codes[i, ~mask] = NO_MARK
        return cls(academic_year, codes)

    def up_to_latest(self) -> "YearMatrix":
        """The same rows without the sessions after the last one marked (none of them hold a
        mark): early in the year most of the layout is still empty."""
        latest = self.latest_slot()
        width = 2 * (int(latest.max()) // 2 + 1) if len(latest) and latest.max() >= 0 else 2
        if width == self.codes.shape[1]:
            return self
        return YearMatrix(self.academic_year, np.ascontiguousarray(self.codes[:, :width]))

    @cached_property
    def categories(self) -> np.ndarray:
        """Computed once: the flags read it several times, and per flagged pupil. The codes
        are never changed once the matrix is built."""
        return CATEGORY_OF_BYTE[self.codes]

    def latest_slot(self) -> np.ndarray:
        """int[P]: the last marked session of each pupil, -1 for none."""
        marked = self.codes != NO_MARK
        last = marked.shape[1] - 1 - np.argmax(marked[:, ::-1], axis=1)
        return np.where(marked.any(axis=1), last, -1)


def category_counts(categories: np.ndarray) -> np.ndarray:
    """int[P, 5]: sessions per category number (column 0 counts nothing useful)."""
    return np.stack([np.count_nonzero(categories == k, axis=1) for k in range(5)], axis=1)


def absent_and_possible(categories: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    possible = np.count_nonzero(categories, axis=1)
    absent = np.count_nonzero((categories == AUTHORISED) | (categories == UNAUTHORISED), axis=1)
    return absent, possible


def unexplained_counts(matrix: YearMatrix) -> np.ndarray:
    """N (reason not yet established) sessions in each row."""
    return np.count_nonzero(matrix.codes == BYTE_OF_CODE[UNEXPLAINED_CODE], axis=1)


def prefix_sums(indicator: np.ndarray) -> np.ndarray:
    """int[P, SLOTS + 1] running totals with a leading zero, for O(1) window sums."""
    sums = np.zeros((indicator.shape[0], indicator.shape[1] + 1), dtype=np.int32)
    np.cumsum(indicator, axis=1, out=sums[:, 1:])
    return sums


def window_sums(sums: np.ndarray, start: np.ndarray, end: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """The total over slots [start, end): per row, or for each entry of `rows`, of that row."""
    rows = np.arange(sums.shape[0]) if rows is None else rows
    return sums[rows, end] - sums[rows, start]
