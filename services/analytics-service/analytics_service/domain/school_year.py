"""A school's academic year as arrays: which sessions are open, school days, school weeks,
terms and half-terms. Built once per calendar from the shared calendar rules. Pure: no I/O."""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from analytics_service.domain.encoding import DAYS_IN_LAYOUT, SESSION_INDEX, SLOTS
from attendance_shared.rules.calendar import Calendar, SchoolCalendar, WeekdayCalendar
from attendance_shared.rules.figures import academic_year_start


@dataclass(frozen=True, slots=True)
class Span:
    """A named run of dates, inclusive, as slots [start_slot, end_slot)."""

    name: str
    start: date
    end: date


@dataclass(frozen=True, eq=False)
class SchoolYear:
    academic_year: int
    open_slots: np.ndarray  # bool[SLOTS]: the school holds this session
    school_day: np.ndarray  # bool[DAYS]: at least one session open
    school_days_before: np.ndarray  # int[DAYS]: school days strictly before each day
    week_of_day: np.ndarray  # int[DAYS]: Monday-based week number within the year
    school_weeks: np.ndarray  # int[]: week numbers holding at least one school day, ascending
    terms: tuple[Span, ...]
    half_terms: tuple[Span, ...]

    @property
    def first_day(self) -> date:
        return academic_year_start(self.academic_year)

    def week_monday(self, week: int) -> date:
        return self.first_day + timedelta(days=7 * week - self.first_day.weekday())


def _spans(calendar: Calendar, academic_year: int) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    if not isinstance(calendar, SchoolCalendar):
        return census_terms(academic_year), ()
    terms = tuple(Span(t.name, t.start, t.end) for t in sorted(calendar.terms, key=lambda t: t.start))
    halves: list[Span] = []
    for term in sorted(calendar.terms, key=lambda t: t.start):
        if term.half_term_start and term.half_term_end:
            halves.append(Span(f"{term.name} 1", term.start, term.half_term_start - timedelta(days=1)))
            halves.append(Span(f"{term.name} 2", term.half_term_end + timedelta(days=1), term.end))
        else:
            halves.append(Span(term.name, term.start, term.end))
    return terms, tuple(halves)


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous algorithm): the census splits spring from summer there."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def census_terms(academic_year: int) -> tuple[Span, ...]:
    """The DfE census terms, used for a school that has not sent its calendar: autumn 1 August
    to 31 December, spring 1 January to Easter Sunday, summer Easter Monday to 31 July."""
    easter = easter_sunday(academic_year + 1)
    return (
        Span("Autumn", date(academic_year, 8, 1), date(academic_year, 12, 31)),
        Span("Spring", date(academic_year + 1, 1, 1), easter),
        Span("Summer", easter + timedelta(days=1), date(academic_year + 1, 7, 31)),
    )


@lru_cache(maxsize=4096)
def school_year(calendar: Calendar, academic_year: int) -> SchoolYear:
    """Calendars are frozen values, so the arrays are built once per distinct calendar."""
    first = academic_year_start(academic_year)
    last = academic_year_start(academic_year + 1)
    open_slots = np.zeros(SLOTS, dtype=bool)
    for index in range((last - first).days):
        day = first + timedelta(days=index)
        for session in calendar.open_sessions(day):
            open_slots[2 * index + SESSION_INDEX[session]] = True
    school_day = open_slots.reshape(DAYS_IN_LAYOUT, 2).any(axis=1)
    school_days_before = np.concatenate(([0], np.cumsum(school_day)[:-1])).astype(np.int32)
    week_of_day = (np.arange(DAYS_IN_LAYOUT) + first.weekday()) // 7
    school_weeks = np.unique(week_of_day[school_day])
    terms, half_terms = _spans(calendar, academic_year)
    return SchoolYear(
        academic_year=academic_year,
        open_slots=open_slots,
        school_day=school_day,
        school_days_before=school_days_before,
        week_of_day=week_of_day,
        school_weeks=school_weeks,
        terms=terms,
        half_terms=half_terms,
    )


WEEKDAYS_ONLY = WeekdayCalendar()
