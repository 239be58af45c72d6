"""Attendance figures by the DfE "pupil absence statistics" methodology.

Possible sessions are those coded present, approved educational activity, authorised or
unauthorised absence; codes that are not possible sessions count nowhere. Threshold
tests compare whole numbers, so 10.0% is persistent absence with no rounding doubt.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from attendance_shared.rules.codes import Category, category_of
from attendance_shared.rules.thresholds import PERSISTENT_ABSENCE_PERCENT, SEVERE_ABSENCE_PERCENT


@dataclass(frozen=True, slots=True)
class AttendanceFigures:
    possible: int = 0
    present: int = 0
    approved_educational_activity: int = 0
    authorised: int = 0
    unauthorised: int = 0

    @classmethod
    def from_codes(cls, codes: Iterable[str]) -> "AttendanceFigures":
        counts = dict.fromkeys(Category, 0)
        for code in codes:
            counts[category_of(code)] += 1
        return cls.from_category_counts(counts)

    @classmethod
    def from_category_counts(cls, counts: dict[Category, int]) -> "AttendanceFigures":
        present = counts.get(Category.PRESENT, 0)
        aea = counts.get(Category.APPROVED_EDUCATIONAL_ACTIVITY, 0)
        auth = counts.get(Category.AUTHORISED_ABSENCE, 0)
        unauth = counts.get(Category.UNAUTHORISED_ABSENCE, 0)
        return cls(present + aea + auth + unauth, present, aea, auth, unauth)

    def __add__(self, other: "AttendanceFigures") -> "AttendanceFigures":
        return AttendanceFigures(
            self.possible + other.possible,
            self.present + other.present,
            self.approved_educational_activity + other.approved_educational_activity,
            self.authorised + other.authorised,
            self.unauthorised + other.unauthorised,
        )

    @property
    def attended(self) -> int:
        return self.present + self.approved_educational_activity

    @property
    def absent(self) -> int:
        return self.authorised + self.unauthorised

    def _percent(self, part: int) -> float | None:
        return round(100 * part / self.possible, 2) if self.possible else None

    @property
    def attendance_rate(self) -> float | None:
        return self._percent(self.attended)

    @property
    def overall_absence_rate(self) -> float | None:
        return self._percent(self.absent)

    @property
    def authorised_absence_rate(self) -> float | None:
        return self._percent(self.authorised)

    @property
    def unauthorised_absence_rate(self) -> float | None:
        return self._percent(self.unauthorised)

    @property
    def is_persistent_absence(self) -> bool:
        return self.possible > 0 and self.absent * 100 >= PERSISTENT_ABSENCE_PERCENT * self.possible

    @property
    def is_severe_absence(self) -> bool:
        return self.possible > 0 and self.absent * 100 >= SEVERE_ABSENCE_PERCENT * self.possible


def academic_year_of(day: date) -> int:
    """The calendar year in which the academic year starts (1 August to 31 July)."""
    return day.year if day.month >= 8 else day.year - 1


def academic_year_start(year: int) -> date:
    return date(year, 8, 1)
