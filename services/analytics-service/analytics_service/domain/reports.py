"""Figures for any period, cohort, week or pattern, from year matrices. Pure: no I/O."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from analytics_service.domain.encoding import (
    AUTHORISED,
    CATEGORY_OF_BYTE,
    NO_MARK,
    SLOTS,
    STORED_CODES,
    UNAUTHORISED,
    byte_set,
)
from analytics_service.domain.school_year import SchoolYear
from analytics_service.domain.year_matrix import YearMatrix, category_counts, upn_of
from attendance_shared.rules.codes import LATE_CODES
from attendance_shared.rules.figures import AttendanceFigures, academic_year_of, academic_year_start
from attendance_shared.rules.thresholds import PERSISTENT_ABSENCE_PERCENT, SEVERE_ABSENCE_PERCENT

LATE_BYTES = byte_set(LATE_CODES)
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def year_slices(start: date, end: date) -> list[tuple[int, int, int]]:
    """(academic year, first slot, end slot) for each academic year the dates touch."""
    slices = []
    for year in range(academic_year_of(start), academic_year_of(end) + 1):
        first = academic_year_start(year)
        lo = max(start, first)
        hi = min(end, academic_year_start(year + 1) - timedelta(days=1))
        slices.append((year, 2 * (lo - first).days, 2 * ((hi - first).days + 1)))
    return slices


@dataclass
class Tally:
    """Running totals of one group: sessions by category and code, and each pupil's counts.

    `rows` holds one line per pupil with a possible session: lates in column 0 (category 0,
    "not counted", is never reported) and sessions by category number 1-4 in columns 1-4."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(5, dtype=np.int64))
    codes: np.ndarray = field(default_factory=lambda: np.zeros(len(STORED_CODES), dtype=np.int64))
    upns: list[str] = field(default_factory=list)
    rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 5), dtype=np.int64))

    def add(self, upns: Sequence[str], codes: np.ndarray) -> None:
        per_pupil = category_counts(_categories(codes))
        per_pupil[:, 0] = np.count_nonzero(LATE_BYTES[codes], axis=1)
        self.counts += per_pupil.sum(axis=0)
        self.codes += np.bincount(codes.ravel(), minlength=len(STORED_CODES))[: len(STORED_CODES)]
        counted = np.flatnonzero(per_pupil[:, 1:].any(axis=1))
        self._append([upns[i] for i in counted.tolist()], per_pupil[counted])

    def _append(self, upns: list[str], rows: np.ndarray) -> None:
        if not self.upns:
            self.upns, self.rows = list(upns), rows.astype(np.int64)
            return
        # A pupil seen before (a period over two academic years) adds to their own line.
        index = {upn: i for i, upn in enumerate(self.upns)}
        fresh = []
        for upn, row in zip(upns, rows, strict=True):
            if upn in index:
                self.rows[index[upn]] += row
            else:
                fresh.append((upn, row))
        if fresh:
            self.upns += [upn for upn, _ in fresh]
            self.rows = np.vstack([self.rows, np.array([row for _, row in fresh])])

    def merge(self, other: "Tally", *, prefix: str) -> None:
        """Add another tally, keeping its pupils apart (one pupil at two schools is two enrolments)."""
        self.counts += other.counts
        self.codes += other.codes
        if len(other.upns):
            self.upns += [prefix + upn for upn in other.upns]
            self.rows = np.vstack([self.rows, other.rows])

    @property
    def figures(self) -> AttendanceFigures:
        return _figures(self.counts)

    @property
    def pupils(self) -> int:
        return len(self.upns)

    def persistent_and_severe(self) -> tuple[int, int]:
        """Pupils at 10% or more and at 50% or more absence, compared in whole numbers."""
        possible = self.rows[:, 1:5].sum(axis=1)
        absent = self.rows[:, 3] + self.rows[:, 4]
        counted = possible > 0
        persistent = counted & (absent * 100 >= PERSISTENT_ABSENCE_PERCENT * possible)
        severe = counted & (absent * 100 >= SEVERE_ABSENCE_PERCENT * possible)
        return int(np.count_nonzero(persistent)), int(np.count_nonzero(severe))

    def pupil_rows(self) -> dict[str, np.ndarray]:
        return dict(zip(self.upns, self.rows, strict=True))

    def code_counts(self) -> dict[str, int]:
        return {STORED_CODES[i]: int(n) for i, n in enumerate(self.codes) if i != NO_MARK and n}


def _categories(codes: np.ndarray) -> np.ndarray:
    return CATEGORY_OF_BYTE[codes]


def _figures(counts: np.ndarray) -> AttendanceFigures:
    present, aea, auth, unauth = (int(x) for x in counts[1:5])
    return AttendanceFigures(present + aea + auth + unauth, present, aea, auth, unauth)


def tally(upns: Sequence[str], matrix: YearMatrix, start_slot: int, end_slot: int, into: Tally | None = None) -> Tally:
    into = into or Tally()
    if len(upns):
        into.add(upns, matrix.codes[:, start_slot:end_slot])
    return into


# A cohort label for each pupil-day: who the pupil was on that date.
Labeller = Callable[[object], str]


def cohort_tallies(
    upns: Sequence[str],
    matrix: YearMatrix,
    versions: dict[str, list],
    label_of: Labeller,
    start_slot: int,
    end_slot: int,
    into: dict[str, Tally] | None = None,
) -> dict[str, Tally]:
    """Tallies per cohort value, each session counted under the attributes in force on its
    date; before the first recorded version the first one applies."""
    into = into if into is not None else {}
    first = academic_year_start(matrix.academic_year)
    labels: list[str] = []
    label_index = np.zeros((len(upns), SLOTS), dtype=np.int16)
    for row, upn in enumerate(upns):
        history = versions.get(upn_of(upn)) or []
        if not history:
            label_index[row, :] = _index(labels, "unknown")
            continue
        label_index[row, :] = _index(labels, label_of(history[0]))
        for version in history[1:]:
            slot = 2 * (version.effective_from - first).days
            if slot < SLOTS:
                label_index[row, max(slot, 0) :] = _index(labels, label_of(version))
    codes = matrix.codes[:, start_slot:end_slot]
    window = label_index[:, start_slot:end_slot]
    for index, label in enumerate(labels):
        masked = np.where(window == index, codes, NO_MARK).astype(np.uint8)
        into.setdefault(label, Tally()).add(upns, masked)
    return into


def _index(labels: list[str], label: str) -> int:
    if label not in labels:
        labels.append(label)
    return labels.index(label)


@dataclass(frozen=True, slots=True)
class WeekFigures:
    week_start: date
    figures: AttendanceFigures


def weekly(matrix: YearMatrix, year: SchoolYear, start_slot: int, end_slot: int) -> list[WeekFigures]:
    """Figures per school week (Monday to Sunday) with a possible session in the window."""
    categories = _categories(matrix.codes)
    slot_week = np.repeat(year.week_of_day, 2)
    weeks = sorted(set(year.school_weeks.tolist()) & set(slot_week[start_slot:end_slot].tolist()))
    result = []
    for week in weeks:
        in_week = slot_week == week
        in_week[:start_slot] = False
        in_week[end_slot:] = False
        counts = np.array([(categories[:, in_week] == k).sum() for k in range(5)])
        if counts[1:].any():  # weeks not yet reached, or with nothing possible, are left out
            result.append(WeekFigures(year.week_monday(int(week)), _figures(counts)))
    return result


def pupil_weeks(
    matrix: YearMatrix, year: SchoolYear, start_slot: int, end_slot: int
) -> tuple[list[date], np.ndarray, np.ndarray]:
    """Each pupil's possible and attended sessions in each school week of the window: the
    week's Mondays, and two arrays of pupils x weeks. One pass for a whole school."""
    categories = _categories(matrix.codes[:, start_slot:end_slot])
    slot_week = np.repeat(year.week_of_day, 2)[start_slot:end_slot]
    weeks = np.array(sorted(set(year.school_weeks.tolist()) & set(slot_week.tolist())), dtype=slot_week.dtype)
    in_school_week = np.isin(slot_week, weeks)
    # One column per week; a slot adds to its week's column (slots of no school week to none).
    one_hot = (slot_week[:, None] == weeks[None, :]) & in_school_week[:, None]
    possible = ((categories >= 1) & (categories <= 4)).astype(np.int32) @ one_hot.astype(np.int32)
    attended = ((categories == 1) | (categories == 2)).astype(np.int32) @ one_hot.astype(np.int32)
    return [year.week_monday(int(w)) for w in weeks], possible, attended


@dataclass(frozen=True, slots=True)
class SessionPattern:
    weekday: str
    session: str
    possible: int
    absent: int
    unauthorised: int


def patterns(matrix: YearMatrix, year: SchoolYear, start_slot: int, end_slot: int) -> list[SessionPattern]:
    """Absence by day of the week and by morning or afternoon."""
    categories = _categories(matrix.codes[:, start_slot:end_slot])
    days = np.arange(start_slot, end_slot) // 2
    weekday = (days + year.first_day.weekday()) % 7
    session = np.arange(start_slot, end_slot) % 2
    possible = (categories != 0).sum(axis=0)
    absent = ((categories == AUTHORISED) | (categories == UNAUTHORISED)).sum(axis=0)
    unauthorised = (categories == UNAUTHORISED).sum(axis=0)
    result = []
    for day in range(7):
        for half in (0, 1):
            where = (weekday == day) & (session == half)
            if possible[where].sum():
                result.append(
                    SessionPattern(
                        WEEKDAY_NAMES[day],
                        ("am", "pm")[half],
                        int(possible[where].sum()),
                        int(absent[where].sum()),
                        int(unauthorised[where].sum()),
                    )
                )
    return result


# How many of a pupil's latest school days `pupil_habits` reports lateness for: enough for a
# parent's summary to say "late on 4 of the last 10 school days".
RECENT_SCHOOL_DAYS = 10


def pupil_habits(matrix: YearMatrix, start_slot: int, end_slot: int) -> tuple[np.ndarray, list[list[bool]]]:
    """Each row's absent sessions Monday to Friday (rows x 5), and whether they were late on
    each of their last RECENT_SCHOOL_DAYS days with a possible session, oldest first: the
    patterns a parent's summary may mention (`attendance_shared.rules.parent_summary`)."""
    codes = matrix.codes[:, start_slot:end_slot]
    categories = _categories(codes)
    absent = (categories == AUTHORISED) | (categories == UNAUTHORISED)
    weekday = (np.arange(start_slot, end_slot) // 2 + academic_year_start(matrix.academic_year).weekday()) % 7
    by_weekday = np.stack([absent[:, weekday == day].sum(axis=1) for day in range(5)], axis=1)
    width = (end_slot - start_slot) // 2 * 2
    possible_day = (categories[:, :width] != 0).reshape(len(codes), -1, 2).any(axis=2)
    late_day = LATE_BYTES[codes[:, :width]].reshape(len(codes), -1, 2).any(axis=2)
    recent = [late_day[row, possible_day[row]][-RECENT_SCHOOL_DAYS:].tolist() for row in range(len(codes))]
    return by_weekday, recent
