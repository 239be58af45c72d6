"""Continuous unauthorised absence and sickness, from a pupil's marks in date order. Pure.

One rule for every service: analytics' flags (`continuous_absence_10_days`, `_20_days`,
`long_sickness`) and the LA's attendance and sickness returns (which la-returns takes from
analytics' `absence-runs`) are all judged by what is written here.

**Input** is one entry per day on which the pupil has at least one marked session while on
roll, with the codes of the sessions marked that day, in date order; it may run across
academic years. A session with no mark (a register not taken yet, or the pupil left off it)
is not known, so it is left out: it neither ends nor extends anything. Counting it as
attended would end a missing child's run on a register nobody filled in; counting it as
absent would invent absence. Weekends, holidays and the summer have no marks and are skipped
the same way, so a run carries over them.

**Continuous unauthorised absence** (attendance return, reg 13; deletion ground reg 9(1)(i)):
a day on which every possible session is unauthorised (G, N, O, U) extends the run; a day
with an attended or authorised possible session ends it; a day with no possible session (D,
X, Q, Y, Z, # ...) neither ends nor extends it. The run reaches the return at 10 such days,
and may start in one academic year and go on in the next.

**A school day missed through sickness** is two illness (I) sessions: a morning or an
afternoon of illness is half a day. The flag, the spell and the cumulative total all count
illness sessions and reach "15 school days" at 30 of them (`LONG_SICKNESS_SESSIONS`).

**Sickness spell** (sickness return, reg 13, "consecutive"): a day with an illness session and
no attended session extends the spell; a day with an attended session (present or approved
educational activity) ends it; any other day neither ends nor extends it, so a spell carries
over a medical appointment or a closure but not over a day in school. Spells are followed
within one school year (the return is "one per continuous period of sickness in a school
year"), and count once they hold 30 illness sessions.

**Cumulative sickness** (reg 13, "cumulative"): the school year's illness sessions, scattered
or not, reaching 30.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from attendance_shared.rules.codes import ILLNESS_CODE, Category, category_of
from attendance_shared.rules.thresholds import (
    CONTINUOUS_ABSENCE_RETURN_SCHOOL_DAYS,
    LONG_SICKNESS_SCHOOL_DAYS,
    SESSIONS_PER_SCHOOL_DAY,
)

MarkedDay = tuple[date, Sequence[str]]  # a day, and the codes of the pupil's sessions marked on it

LONG_SICKNESS_SESSIONS = LONG_SICKNESS_SCHOOL_DAYS * SESSIONS_PER_SCHOOL_DAY


def illness_school_days(illness_sessions: int) -> float:
    """School days missed through sickness: two illness sessions make a day."""
    return illness_sessions / SESSIONS_PER_SCHOOL_DAY


@dataclass(frozen=True, slots=True)
class Run:
    """A run of qualifying days: its first and last qualifying day, how many days qualified,
    the qualifying sessions in it (unauthorised, or illness), the day it reached its
    threshold, and whether anything had ended it by the last day looked at."""

    start: date
    end: date
    school_days: int
    sessions: int
    reached_on: date | None
    ongoing: bool


Judged = tuple[date, bool, bool, int]  # day, qualifies, breaks, qualifying sessions


def _runs(days: Iterable[Judged], reached: Callable[[int, int], bool]) -> list[Run]:
    """Runs from judged days in date order; `reached(days, sessions)` says when one counts."""
    runs: list[Run] = []
    start: date | None = None
    end: date | None = None
    count = sessions = 0
    reached_on: date | None = None

    def close(ongoing: bool) -> None:
        if start is not None and end is not None:
            runs.append(Run(start, end, count, sessions, reached_on, ongoing))

    for day, qualifies, breaks, day_sessions in days:
        if breaks:
            close(ongoing=False)
            start = end = reached_on = None
            count = sessions = 0
        elif qualifies:
            start = start or day
            end = day
            count += 1
            sessions += day_sessions
            if reached_on is None and reached(count, sessions):
                reached_on = day
    close(ongoing=True)
    return runs


def _unauthorised_day(day: date, codes: Sequence[str]) -> Judged:
    possible = [c for c in map(category_of, codes) if c.is_possible_session]
    unauthorised = sum(c is Category.UNAUTHORISED_ABSENCE for c in possible)
    return day, bool(possible) and unauthorised == len(possible), unauthorised < len(possible), unauthorised


def _illness_day(day: date, codes: Sequence[str]) -> Judged:
    attended = any(category_of(c).counts_as_attendance for c in codes)
    illness = sum(c == ILLNESS_CODE for c in codes)
    return day, illness > 0 and not attended, attended, illness


def continuous_unauthorised_runs(days: Iterable[MarkedDay]) -> list[Run]:
    """Every run of continuous unauthorised absence, in order (short ones too)."""
    return _runs(
        (_unauthorised_day(day, codes) for day, codes in days),
        lambda school_days, _: school_days >= CONTINUOUS_ABSENCE_RETURN_SCHOOL_DAYS,
    )


def sickness_spells(days: Iterable[MarkedDay]) -> list[Run]:
    """Every spell of illness in one school year's days, in order (short ones too)."""
    return _runs(
        (_illness_day(day, codes) for day, codes in days), lambda _, sessions: sessions >= LONG_SICKNESS_SESSIONS
    )


def cumulative_sickness(days: Iterable[MarkedDay]) -> Run | None:
    """One school year's illness taken together: from its first illness day to its last,
    reaching the threshold on the day its 30th illness session fell; None without illness.
    `ongoing` is False: a total has no end to wait for."""
    first: date | None = None
    last: date | None = None
    school_days = sessions = 0
    reached_on: date | None = None
    for day, codes in days:
        illness = sum(c == ILLNESS_CODE for c in codes)
        if not illness:
            continue
        first = first or day
        last = day
        school_days += 1
        sessions += illness
        if reached_on is None and sessions >= LONG_SICKNESS_SESSIONS:
            reached_on = day
    if first is None or last is None:
        return None
    return Run(first, last, school_days, sessions, reached_on, ongoing=False)


def reportable(runs: Iterable[Run | None], period_start: date) -> list[Run]:
    """The runs that reached their threshold and reach into the period (their last
    qualifying day is on or after its first day)."""
    return [run for run in runs if run is not None and run.reached_on is not None and run.end >= period_start]
