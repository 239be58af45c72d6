"""A school's calendar: the days and sessions on which a register is taken. Pure: no I/O.

A school day has a morning and an afternoon session. Terms bound the year, half-term breaks are
holidays inside a term, and closures remove a whole day or one session. A closure is still a day
on the register, so the register records it with '#', the code for a planned whole or partial closure.
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

from attendance_shared.rules.codes import CLOSURE_CODE
from attendance_shared.rules.figures import academic_year_of, academic_year_start
from attendance_shared.rules.thresholds import MAX_DAYS_IN_YEAR

__all__ = [
    "SESSIONS",
    "Calendar",
    "CalendarError",
    "CalendarYears",
    "Closure",
    "DayKind",
    "SchoolCalendar",
    "Session",
    "Term",
    "WeekdayCalendar",
    "academic_year_of",
    "calendar_from_values",
    "check_mark_day",
    "validate_calendar",
]

Session = Literal["am", "pm"]
SESSIONS: tuple[Session, ...] = ("am", "pm")


_ONE_DAY = timedelta(days=1)


class DayKind(StrEnum):
    SCHOOL_DAY = "school_day"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"  # outside every term, or inside a half-term break
    INSET = "inset"  # staff training day: no sessions for pupils
    PLANNED_CLOSURE = "planned_closure"  # the whole day


@dataclass(frozen=True, slots=True)
class Term:
    name: str
    start: date
    end: date  # inclusive
    half_term_start: date | None = None
    half_term_end: date | None = None  # inclusive

    def includes(self, day: date) -> bool:
        return self.start <= day <= self.end

    def in_half_term(self, day: date) -> bool:
        # A half-term with only one date is reported by validate_calendar; until fixed it closes nothing.
        if self.half_term_start is None or self.half_term_end is None:
            return False
        return self.half_term_start <= day <= self.half_term_end


@dataclass(frozen=True, slots=True)
class Closure:
    day: date
    kind: Literal["inset", "planned_closure"]
    session: Session | None = None  # None closes the whole day; a session closes only that one
    reason: str | None = None

    @property
    def whole_day(self) -> bool:
        return self.session is None


@runtime_checkable
class Calendar(Protocol):
    """What a register needs of a calendar, so a school without one can fall back to weekdays."""

    def day_kind(self, day: date) -> DayKind: ...

    def open_sessions(self, day: date) -> frozenset[Session]: ...

    def is_school_day(self, day: date) -> bool: ...

    def school_days(self, start: date, end: date) -> list[date]: ...

    def school_days_before(self, day: date, count: int) -> date | None: ...


def _days(start: date, end: date) -> Iterator[date]:
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


def _is_weekend(day: date) -> bool:
    return day.weekday() >= 5


def _school_days(calendar: Calendar, start: date, end: date) -> list[date]:
    return [day for day in _days(start, end) if calendar.is_school_day(day)]


def _school_day_before(calendar: Calendar, day: date, count: int, earliest: date) -> date | None:
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    found = 0
    candidate = day
    while candidate > earliest:
        candidate -= _ONE_DAY
        if calendar.is_school_day(candidate):
            found += 1
            if found == count:
                return candidate
    return None


def _term_of(terms: tuple[Term, ...], day: date) -> Term | None:
    return next((term for term in terms if term.includes(day)), None)


@dataclass(frozen=True, slots=True)
class WeekdayCalendar:
    """For a school that has not given its calendar: refusing a real school day would be worse
    than accepting a mark on a holiday, so every weekday counts."""

    def day_kind(self, day: date) -> DayKind:
        return DayKind.WEEKEND if _is_weekend(day) else DayKind.SCHOOL_DAY

    def open_sessions(self, day: date) -> frozenset[Session]:
        return frozenset(SESSIONS) if self.is_school_day(day) else frozenset()

    def is_school_day(self, day: date) -> bool:
        return not _is_weekend(day)

    def school_days(self, start: date, end: date) -> list[date]:
        return _school_days(self, start, end)

    def school_days_before(self, day: date, count: int) -> date | None:
        return _school_day_before(self, day, count, earliest=date.min)


@dataclass(frozen=True, slots=True)
class SchoolCalendar:
    academic_year: int
    terms: tuple[Term, ...]
    closures: tuple[Closure, ...] = ()

    def day_kind(self, day: date) -> DayKind:
        if _is_weekend(day):
            return DayKind.WEEKEND
        term = _term_of(self.terms, day)
        if term is None or term.in_half_term(day):
            return DayKind.HOLIDAY
        for closure in self.closures:
            if closure.day == day and closure.whole_day:
                return DayKind.INSET if closure.kind == "inset" else DayKind.PLANNED_CLOSURE
        return DayKind.SCHOOL_DAY

    def open_sessions(self, day: date) -> frozenset[Session]:
        if self.day_kind(day) is not DayKind.SCHOOL_DAY:
            return frozenset()
        closed = {closure.session for closure in self.closures if closure.day == day}
        return frozenset(session for session in SESSIONS if session not in closed)

    def is_school_day(self, day: date) -> bool:
        return bool(self.open_sessions(day))

    def school_days(self, start: date, end: date) -> list[date]:
        return _school_days(self, start, end)

    def school_days_before(self, day: date, count: int) -> date | None:
        # No school day lies outside the terms, so the walk back can start after the last term and stop at the first.
        latest = max((term.end for term in self.terms), default=day) + _ONE_DAY
        earliest = min((term.start for term in self.terms), default=day)
        return _school_day_before(self, min(day, latest), count, earliest)

    def possible_session_count(self, start: date, end: date) -> int:
        return sum(len(self.open_sessions(day)) for day in _days(start, end))

    def covers(self, day: date) -> bool:
        return academic_year_of(day) == self.academic_year


@dataclass(frozen=True, slots=True)
class CalendarYears:
    """Several academic years' calendars read as one, so school days are counted across the
    summer: an N from 3 July is 84 school days old in November, not the 71 of the new year
    alone. A year without a calendar of its own counts every weekday, as the register accepts
    marks then. Nothing before `earliest` is walked back over."""

    years: Mapping[int, Calendar]
    earliest: date

    @classmethod
    def spanning(cls, years: Mapping[int, Calendar], first: date) -> "CalendarYears":
        return cls(years, academic_year_start(academic_year_of(first)))

    def _of(self, day: date) -> Calendar:
        return self.years.get(academic_year_of(day)) or WeekdayCalendar()

    def day_kind(self, day: date) -> DayKind:
        return self._of(day).day_kind(day)

    def open_sessions(self, day: date) -> frozenset[Session]:
        return self._of(day).open_sessions(day)

    def is_school_day(self, day: date) -> bool:
        return self._of(day).is_school_day(day)

    def school_days(self, start: date, end: date) -> list[date]:
        return _school_days(self, start, end)

    def school_days_before(self, day: date, count: int) -> date | None:
        return _school_day_before(self, day, count, self.earliest)


def _day(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def calendar_from_values(
    academic_year: int, terms: Iterable[Mapping[str, Any]], closures: Iterable[Mapping[str, Any]]
) -> SchoolCalendar:
    """A calendar from plain values, as an API body, an event or a stored JSON column holds
    them (dates as `date` or ISO strings): every service reads its calendars through here."""
    return SchoolCalendar(
        academic_year=academic_year,
        terms=tuple(
            Term(
                name=t["name"],
                start=_day(t["start"]),  # type: ignore[arg-type]
                end=_day(t["end"]),  # type: ignore[arg-type]
                half_term_start=_day(t.get("half_term_start")),
                half_term_end=_day(t.get("half_term_end")),
            )
            for t in terms
        ),
        closures=tuple(
            Closure(day=_day(c["day"]), kind=c["kind"], session=c.get("session"), reason=c.get("reason"))  # type: ignore[arg-type]
            for c in closures
        ),
    )


@dataclass(frozen=True, slots=True)
class CalendarError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def _half_term_errors(at: str, term: Term) -> list[CalendarError]:
    start, end = term.half_term_start, term.half_term_end
    if start is None and end is None:
        return []
    if start is None:
        return [CalendarError(f"{at}.half_term_start", "a half-term needs a start date as well as an end date")]
    if end is None:
        return [CalendarError(f"{at}.half_term_end", "a half-term needs an end date as well as a start date")]
    errors: list[CalendarError] = []
    if start > end:
        errors.append(CalendarError(f"{at}.half_term_end", f"{end} is before half-term starts on {start}"))
    for name, day in (("half_term_start", start), ("half_term_end", end)):
        if not term.includes(day):
            errors.append(CalendarError(f"{at}.{name}", f"{day} is outside the term ({term.start} to {term.end})"))
    return errors


def _term_errors(calendar: SchoolCalendar) -> list[CalendarError]:
    year = calendar.academic_year
    first, last = academic_year_start(year), academic_year_start(year + 1) - _ONE_DAY
    label = f"{year}/{(year + 1) % 100:02d}"
    if not calendar.terms:
        return [CalendarError("terms", "a calendar needs at least one term")]
    errors: list[CalendarError] = []
    for index, term in enumerate(calendar.terms):
        at = f"terms[{index}]"
        if term.start > term.end:
            errors.append(CalendarError(f"{at}.end", f"{term.end} is before the term starts on {term.start}"))
        for name, day in (("start", term.start), ("end", term.end)):
            if not first <= day <= last:
                message = f"{day} is outside the {label} academic year ({first} to {last})"
                errors.append(CalendarError(f"{at}.{name}", message))
        if index:
            previous = calendar.terms[index - 1]
            if term.start < previous.start:
                message = f"terms must be in date order; this one starts before terms[{index - 1}] ({previous.start})"
                errors.append(CalendarError(f"{at}.start", message))
            elif term.start <= previous.end:
                message = f"{term.start} overlaps terms[{index - 1}], which ends on {previous.end}"
                errors.append(CalendarError(f"{at}.start", message))
        errors.extend(_half_term_errors(at, term))
    return errors


def _closure_errors(calendar: SchoolCalendar) -> list[CalendarError]:
    errors: list[CalendarError] = []
    earlier: dict[date, list[tuple[int, Closure]]] = {}
    for index, closure in enumerate(calendar.closures):
        at, day = f"closures[{index}].day", closure.day
        if _is_weekend(day):
            errors.append(CalendarError(at, f"{day} is at a weekend; a closure can only fall on a weekday in term"))
        term = _term_of(calendar.terms, day)
        if term is None:
            errors.append(CalendarError(at, f"{day} is not in any term"))
        elif term.in_half_term(day):
            errors.append(CalendarError(at, f"{day} is in the {term.name} half-term break"))
        for other_index, other in earlier.get(day, []):
            if closure.whole_day or other.whole_day or closure.session == other.session:
                what = f"{day} {closure.session}" if closure.session else f"{day}"
                errors.append(CalendarError(at, f"{what} is already closed by closures[{other_index}]"))
                break
        earlier.setdefault(day, []).append((index, closure))
    return errors


def _days_in_year_errors(calendar: SchoolCalendar) -> list[CalendarError]:
    # INSET days count: the cap is on the days staff can be asked to work, and they work on those.
    first = academic_year_start(calendar.academic_year)
    last = academic_year_start(calendar.academic_year + 1) - _ONE_DAY
    working = (DayKind.SCHOOL_DAY, DayKind.INSET)
    days = sum(1 for day in _days(first, last) if calendar.day_kind(day) in working)
    if days <= MAX_DAYS_IN_YEAR:
        return []
    message = f"the terms give {days} school and INSET days; a school year has at most {MAX_DAYS_IN_YEAR}"
    return [CalendarError("terms", message)]


def validate_calendar(calendar: SchoolCalendar) -> list[CalendarError]:
    """Every reason the calendar cannot be used, each naming the field at fault."""
    return [*_term_errors(calendar), *_closure_errors(calendar), *_days_in_year_errors(calendar)]


def check_mark_day(calendar: Calendar, day: date, session: Session, code: str) -> str | None:
    """Why a mark with this code cannot be recorded for that day and session, or None if it can.

    '#' is also accepted in an open session: part of the school may be closed while the rest is open.
    """
    kind = calendar.day_kind(day)
    when = day.isoformat()
    if kind is DayKind.WEEKEND:
        return f"{when} is a weekend; no register is taken"
    if kind is DayKind.HOLIDAY:
        return f"{when} is in a holiday; no register is taken"
    if code == CLOSURE_CODE:
        return None
    if kind is DayKind.INSET:
        return f"{when} {session} is an INSET day; only '#' may be recorded"
    if kind is DayKind.PLANNED_CLOSURE:
        return f"{when} {session} is a planned closure; only '#' may be recorded"
    if session not in calendar.open_sessions(day):
        return f"{when} {session} is closed by a partial closure; only '#' may be recorded"
    return None
