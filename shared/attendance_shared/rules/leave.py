"""Absence planned before the session: leave of absence (reg 11) and part-time timetables.
The grounds a parent may ask on, the code each gives, and the sessions a plan covers. Pure.

A family holiday is listed because parents ask for one, but it is not a ground: since
19 August 2024 term-time holiday cannot be authorised (code H was removed), so such a
request can only be refused.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from attendance_shared.rules.calendar import SESSIONS, Calendar, Session

LeaveReason = Literal[
    "medical",
    "interview",
    "performance",
    "study_leave",
    "religious_observance",
    "exceptional_circumstances",
    "family_holiday",
]
LeaveSessions = Literal["am", "pm", "both"]
LeaveOutcome = Literal["agreed", "partly_agreed", "refused", "cancelled"]
PartTimeReason = Literal["medical", "reintegration", "other"]
# The code a part-time timetable writes into each session the pupil is not timetabled for.
PART_TIME_CODE = "C2"


@dataclass(frozen=True, slots=True)
class LeaveGround:
    reason: LeaveReason
    code: str | None  # None: cannot be authorised
    meaning: str


LEAVE_GROUNDS: dict[str, LeaveGround] = {
    g.reason: g
    for g in (
        LeaveGround("medical", "M", "a medical or dental appointment"),
        LeaveGround("interview", "J1", "an interview"),
        LeaveGround("performance", "C1", "a regulated performance or regulated employment abroad"),
        LeaveGround("study_leave", "S", "study leave"),
        LeaveGround("religious_observance", "R", "a day set apart for religious observance"),
        LeaveGround("exceptional_circumstances", "C", "exceptional circumstances"),
        LeaveGround("family_holiday", None, "a family holiday, which cannot be authorised in term time"),
    )
}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
# Each session of the school week, as a part-time timetable names the ones the pupil attends.
WEEK_SESSIONS = tuple(f"{day}_{session}" for day in WEEKDAYS for session in SESSIONS)
WeekSession = Literal[
    "mon_am", "mon_pm", "tue_am", "tue_pm", "wed_am", "wed_pm", "thu_am", "thu_pm", "fri_am", "fri_pm"
]


def week_session(day: date, session: Session) -> str | None:
    """`mon_am` … `fri_pm` for a weekday session; None at a weekend."""
    weekday = day.weekday()
    return f"{WEEKDAYS[weekday]}_{session}" if weekday < len(WEEKDAYS) else None


def _days(start: date, end: date) -> Iterable[date]:
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


def open_sessions_between(calendar: Calendar, start: date, end: date) -> list[tuple[date, Session]]:
    """Every session the calendar opens from `start` to `end`: no weekend, holiday, INSET day
    or closure, and only the open half of a partly closed day."""
    return [(day, s) for day in _days(start, end) for s in SESSIONS if s in calendar.open_sessions(day)]


def leave_sessions(calendar: Calendar, start: date, end: date, sessions: LeaveSessions) -> list[tuple[date, Session]]:
    """The school sessions a leave request from `start` to `end` covers."""
    return [(d, s) for d, s in open_sessions_between(calendar, start, end) if sessions in ("both", s)]


def timetable_absences(
    calendar: Calendar, start: date, end: date, attended: Iterable[str]
) -> list[tuple[date, Session]]:
    """The school sessions from `start` to `end` a pupil on a part-time timetable is not
    timetabled for: each becomes a planned C2."""
    attends = frozenset(attended)
    return [(d, s) for d, s in open_sessions_between(calendar, start, end) if week_session(d, s) not in attends]


def school_weeks_end(calendar: Calendar, start: date, weeks: int, *, horizon_days: int = 400) -> date | None:
    """The last school day of the `weeks`-th school week counted from `start` (its own week
    first). A school week is any week with at least one school day, as in the penalty-notice
    framework, so half-term does not use one up. None if the calendar has no school day."""
    seen: list[tuple[int, int]] = []
    last: date | None = None
    for day in _days(start, start + timedelta(days=horizon_days)):
        if not calendar.is_school_day(day):
            continue
        iso = day.isocalendar()
        week = (iso.year, iso.week)
        if not seen or seen[-1] != week:
            if len(seen) == weeks:
                return last
            seen.append(week)
        last = day
    return last
