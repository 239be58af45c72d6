"""How a regular attendance summary speaks to a parent: time missed in days, what a rate means
over a year, a pattern worth saying, and a tone that fits the child's circumstances. Pure: no I/O.

The DfE's communication toolkit asks for days or lessons missed rather than percentages, and
for any pattern; LAs explain a rate as "90% is half a day every week, about 19 days over a
year" (a 190-day school year). Parents complain of warning letters about children below
compulsory school age, children in hospital and disabled children's appointments, so the
tone is chosen from the child's circumstances before the figures.
"""

import calendar as month_calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Literal

from attendance_shared.rules.calendar import SchoolCalendar, Term

SCHOOL_DAYS_IN_YEAR = 190
SCHOOL_DAYS_IN_WEEK = 5
# Education Act 1996 s.8: compulsory school age begins on the prescribed day on or after the
# fifth birthday (31 December, 31 March or 31 August), and ends on the last Friday in June of
# the school year in which the child turns 16. (`rules.cohorts` has the DfE statistics'
# population instead, 5 to 15 on 31 August: a reception child of four on 1 September is
# outside both, and one who turns five in October is of compulsory age from 31 December.)
PRESCRIBED_DAYS = ((3, 31), (8, 31), (12, 31))
# A weekday pattern is worth saying once there are this many absent sessions and this share
# of them falls on one weekday; lateness once the child was late on this many of the last
# LATE_WINDOW_DAYS school days.
PATTERN_MIN_SESSIONS = 4
PATTERN_MIN_SHARE_PERCENT = 50
LATE_WINDOW_DAYS = 10
LATE_MIN_DAYS = 3
# Attendance up by this many points on the period before counts as improving.
IMPROVING_POINTS = 1.0
WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays")


def _birthday(date_of_birth: date, years: int) -> date:
    try:
        return date_of_birth.replace(year=date_of_birth.year + years)
    except ValueError:  # 29 February: the birthday is taken as 1 March
        return date(date_of_birth.year + years, 3, 1)


def compulsory_school_age_starts(date_of_birth: date) -> date:
    fifth = _birthday(date_of_birth, 5)
    for year in (fifth.year, fifth.year + 1):
        for month, day in PRESCRIBED_DAYS:
            if date(year, month, day) >= fifth:
                return date(year, month, day)
    raise AssertionError("a prescribed day always follows within a year")


def compulsory_school_age_ends(date_of_birth: date) -> date:
    """The last Friday in June of the school year (1 September to 31 August) in which the
    child turns 16."""
    sixteenth = _birthday(date_of_birth, 16)
    june_year = sixteenth.year + (1 if sixteenth.month >= 9 else 0)
    day = date(june_year, 6, 30)
    return day - timedelta(days=(day.weekday() - 4) % 7)


def of_compulsory_school_age(date_of_birth: date | None, on: date) -> bool:
    """Unknown birth dates are taken as of compulsory age: the register requires one, so a
    missing one is rare, and treating the child as under age would hide their absence."""
    if date_of_birth is None:
        return True
    return compulsory_school_age_starts(date_of_birth) <= on <= compulsory_school_age_ends(date_of_birth)


_QUARTERS = {1: "a quarter of a day", 2: "half a day", 3: "three quarters of a day", 4: "a day"}


def what_it_means(attendance_percent: float) -> str:
    """An attendance rate as time missed: "90% is half a day every week, about 19 days over a
    school year"."""
    missed = max(0.0, 100 - attendance_percent) / 100
    per_week = missed * SCHOOL_DAYS_IN_WEEK
    per_year = int(missed * SCHOOL_DAYS_IN_YEAR + 0.5)
    rate = f"{attendance_percent:g}%"
    if missed == 0:
        return f"{rate} is every day in school: no days missed over a school year"
    quarters = int(per_week * 4 + 0.5)
    if quarters == 0:
        weekly = "less than a quarter of a day every week"
    elif quarters in _QUARTERS:
        weekly = f"{_QUARTERS[quarters]} every week"
    else:
        weekly = f"about {quarters / 4:g} days every week"
    days = "day" if per_year == 1 else "days"
    return f"{rate} is {weekly}, about {per_year} {days} over a school year"


def weekday_pattern(absent_sessions_by_weekday: Sequence[int]) -> str | None:
    """Monday to Friday's absent sessions: a sentence when most fall on one weekday."""
    total = sum(absent_sessions_by_weekday)
    if total < PATTERN_MIN_SESSIONS:
        return None
    most = max(range(len(absent_sessions_by_weekday)), key=lambda i: absent_sessions_by_weekday[i])
    count = absent_sessions_by_weekday[most]
    if count * 100 < PATTERN_MIN_SHARE_PERCENT * total:
        return None
    return f"most absences are on {WEEKDAYS[most]} ({count} of {total} sessions missed)"


def lateness_pattern(late_by_school_day: Sequence[bool]) -> str | None:
    """The school days so far, oldest first, and whether the child was late on each: a
    sentence when lateness is becoming a habit."""
    recent = list(late_by_school_day)[-LATE_WINDOW_DAYS:]
    late = sum(recent)
    if late < LATE_MIN_DAYS:
        return None
    return f"late on {late} of the last {len(recent)} school days"


class Tone(StrEnum):
    NO_ABSENCE_PRESSURE = "no_absence_pressure"  # below compulsory school age: figures, no warnings
    SUPPORTIVE = "supportive"  # EHCP, long sickness or an open support case: help, not pressure
    PRAISE = "praise"  # the school's top tier, or clearly improving
    ENCOURAGING = "encouraging"  # the tier below the top
    CONCERN = "concern"  # below that: says what it means and names the contact


@dataclass(frozen=True, slots=True)
class Circumstances:
    of_compulsory_school_age: bool
    ehcp: bool = False
    long_sickness: bool = False
    open_support_case: bool = False


def choose_tone(
    circumstances: Circumstances,
    *,
    tier: str | None,
    tier_names: Sequence[str],
    attendance_now: float | None = None,
    attendance_before: float | None = None,
) -> Tone:
    """The child's circumstances first, then how they are doing: `tier_names` best first (the
    school's tiers), `attendance_before` the same measure for the period before."""
    if not circumstances.of_compulsory_school_age:
        return Tone.NO_ABSENCE_PRESSURE
    if circumstances.ehcp or circumstances.long_sickness or circumstances.open_support_case:
        return Tone.SUPPORTIVE
    improving = (
        attendance_now is not None
        and attendance_before is not None
        and attendance_now - attendance_before >= IMPROVING_POINTS
    )
    if tier is None or (tier_names and tier == tier_names[0]) or improving:
        return Tone.PRAISE
    if len(tier_names) > 1 and tier == tier_names[1]:
        return Tone.ENCOURAGING
    return Tone.CONCERN


def days_missed_sentence(days_this_term: float, days_this_year: float, term_name: str | None) -> str:
    """ "2.5 days missed this autumn term and 4 days this school year"."""

    def days(n: float) -> str:
        return f"{n:g} day" + ("" if n == 1 else "s")

    term = f"this {term_name} term" if term_name else "this term"
    if days_this_year == 0:
        return "no days missed this school year"
    if days_this_term == 0:
        return f"no days missed {term}, and {days(days_this_year)} this school year"
    if days_this_term == days_this_year:
        return f"{days(days_this_term)} missed {term}, the whole of this school year so far"
    return f"{days(days_this_term)} missed {term} and {days(days_this_year)} this school year"


SummaryFrequency = Literal["half_termly", "monthly", "termly"]
SUMMARY_FREQUENCIES: tuple[SummaryFrequency, ...] = ("half_termly", "monthly", "termly")


@dataclass(frozen=True, slots=True)
class SummaryPeriod:
    """One period a regular summary reports on, from a school's calendar. `key` names it in
    idempotency keys and the API ("2026-autumn-1", "2026-autumn", "2026-11"); `term` is the
    term it ends in, whose days missed so far the summary gives."""

    key: str
    label: str
    start: date
    end: date
    term: Term


def _slug(name: str) -> str:
    """A term's name as a key part: "Autumn 2025" is "autumn-2025"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "term"


def summary_periods(calendar: SchoolCalendar, frequency: SummaryFrequency) -> list[SummaryPeriod]:
    """The year's periods in order. Half-termly: each half of a term (a term without a
    half-term is one period); termly: each term; monthly: each calendar month with term days,
    cut to its first and last term days."""
    terms = sorted(calendar.terms, key=lambda t: t.start)
    year = calendar.academic_year
    periods: list[SummaryPeriod] = []
    if frequency == "termly" or frequency == "half_termly":
        for term in terms:
            halves = frequency == "half_termly" and term.half_term_start and term.half_term_end
            if not halves:
                periods.append(
                    SummaryPeriod(f"{year}-{_slug(term.name)}", f"the {term.name} term", term.start, term.end, term)
                )
                continue
            first_end = term.half_term_start - timedelta(days=1)  # type: ignore[operator]
            second_start = term.half_term_end + timedelta(days=1)  # type: ignore[operator]
            periods.append(
                SummaryPeriod(
                    f"{year}-{_slug(term.name)}-1",
                    f"the first half of the {term.name} term",
                    term.start,
                    first_end,
                    term,
                )
            )
            periods.append(
                SummaryPeriod(
                    f"{year}-{_slug(term.name)}-2",
                    f"the second half of the {term.name} term",
                    second_start,
                    term.end,
                    term,
                )
            )
        return periods
    if not terms:
        return []
    first, last = terms[0].start, max(t.end for t in terms)
    month = date(first.year, first.month, 1)
    while month <= last:
        month_end = month.replace(day=month_calendar.monthrange(month.year, month.month)[1])
        start, end = max(month, first), min(month_end, last)
        holding = [t for t in terms if t.start <= end and t.end >= start]
        if holding:
            # A month that ends in the holidays is due when its last term day is over.
            end = min(end, max(t.end for t in holding))
            periods.append(SummaryPeriod(f"{month:%Y-%m}", f"{month:%B %Y}", start, end, holding[-1]))
        month = month_end + timedelta(days=1)
    return periods


def period_due(periods: Sequence[SummaryPeriod], today: date, catch_up_days: int) -> SummaryPeriod | None:
    """The period whose summaries fall due today: the latest that has ended, if it ended no
    more than `catch_up_days` ago (a service started in March does not send autumn's)."""
    ended = [p for p in periods if p.end < today]
    if not ended or (today - ended[-1].end).days > catch_up_days:
        return None
    return ended[-1]
