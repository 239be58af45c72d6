"""Which registers were due, and which of them were not taken by the time they closed. Pure.

A register is due for each session the school's calendar opens on a day (a closed afternoon
is not due), once the time the school's register closes has passed. It was taken on time if
its first mark was recorded by then; a register taken later is listed with when it was taken,
and one with no mark at all is still missing.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from attendance_shared.clock import SCHOOL_TIME_ZONE
from attendance_shared.rules.calendar import SESSIONS, Calendar, Session


@dataclass(frozen=True, slots=True)
class DueRegister:
    date: date
    session: Session
    closes_at: datetime  # in England's time


def due_registers(
    calendar: Calendar, closes: dict[Session, time], start: date, end: date, now: datetime
) -> list[DueRegister]:
    """Every register the calendar opens from `start` to `end` whose closing time is past."""
    due = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        for session in SESSIONS:
            if session not in calendar.open_sessions(day):
                continue
            closes_at = datetime.combine(day, closes[session], tzinfo=SCHOOL_TIME_ZONE)
            if closes_at <= now:
                due.append(DueRegister(day, session, closes_at))
    return due


@dataclass(frozen=True, slots=True)
class MissingRegister:
    register: DueRegister
    taken_at: datetime | None  # the first mark's time, after the register closed; None: no mark yet


def not_taken_on_time(
    due: Iterable[DueRegister], first_marked: dict[tuple[date, str], datetime]
) -> list[MissingRegister]:
    """The due registers with no mark recorded by the time they closed."""
    found = []
    for register in due:
        taken_at = first_marked.get((register.date, register.session))
        if taken_at is None or taken_at > register.closes_at:
            found.append(MissingRegister(register, taken_at))
    return found


@dataclass(frozen=True, slots=True)
class Membership:
    """A pupil's stays and registration groups, to tell which class they were in on a day."""

    stays: tuple[tuple[date, date | None], ...]  # (admitted, left on), oldest first
    groups: tuple[tuple[date, str | None], ...]  # (effective from, group), oldest first

    def on(self, day: date) -> tuple[bool, str | None]:
        on_roll = any(start <= day and (end is None or day <= end) for start, end in self.stays)
        group = None
        for effective_from, name in self.groups:
            if effective_from <= day:
                group = name
        return on_roll, group


@dataclass(frozen=True, slots=True)
class MissingClassRegister:
    register: DueRegister
    registration_group: str | None  # None: pupils with no registration group recorded
    pupils: int
    taken_at: datetime | None


def classes_not_taken_on_time(
    due: Iterable[DueRegister],
    members: dict[str, Membership],
    first_marked: dict[tuple[str, date, str], datetime],
) -> list[MissingClassRegister]:
    """Each class's register of each due session is taken once any of its pupils on roll that
    day has a mark; the classes whose first mark came after the close, or not at all."""
    found = []
    for register in due:
        classes: dict[str | None, list[str]] = {}
        for upn, membership in members.items():
            on_roll, group = membership.on(register.date)
            if on_roll:
                classes.setdefault(group, []).append(upn)
        for group in sorted(classes, key=lambda g: (g is None, g or "")):
            times = [t for u in classes[group] if (t := first_marked.get((u, register.date, register.session)))]
            taken_at = min(times) if times else None
            if taken_at is None or taken_at > register.closes_at:
                found.append(MissingClassRegister(register, group, len(classes[group]), taken_at))
    return found
