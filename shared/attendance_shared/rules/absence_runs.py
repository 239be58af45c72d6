"""Continuous unauthorised absence and sickness spells, from a pupil's marks in school-day
order. Pure: no I/O.

Input is one entry per school day on which the school took a register while the pupil was on
roll: the codes of the sessions taken that day (a session taken with no absence mark stored
for the pupil means the pupil attended it; see the marks projection).

Continuous unauthorised absence (attendance return, reg 13), the same rule as analytics'
`continuous_absence_10_days` flag: a day on which every possible session is unauthorised
(G, N, O, U) extends the run; a day with an attended or authorised possible session ends it;
a day with no possible session (D, X, Q, Y, Z, # ...) neither ends nor extends it.

Sickness spell (sickness return, reg 13): a day with an illness (I) session and no attended
session extends the spell; a day with an attended session (present or approved educational
activity) ends it; any other day (absent for another reason, or no possible session) neither
ends nor extends it, so a spell carries over a medical appointment or a closure but not over a
day in school. A spell counts once it holds 15 illness days, and gives one entry.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from attendance_shared.rules.codes import ILLNESS_CODE, Category, category_of
from attendance_shared.rules.thresholds import CONTINUOUS_ABSENCE_RETURN_SCHOOL_DAYS, LONG_SICKNESS_SCHOOL_DAYS

SchoolDay = tuple[date, Sequence[str]]


@dataclass(frozen=True, slots=True)
class Run:
    """A run of qualifying school days: first and last qualifying day, how many, and (for a
    spell) the illness sessions in it and the day it reached the threshold."""

    start: date
    end: date
    school_days: int
    sessions: int
    reached_on: date | None
    ongoing: bool  # nothing has ended it by the last day looked at


def _runs(days: Iterable[tuple[date, bool, bool, int]], threshold: int) -> list[Run]:
    """Runs from (day, qualifies, breaks, sessions) in school-day order."""
    runs: list[Run] = []
    start: date | None = None
    end: date | None = None
    count = sessions = 0
    reached: date | None = None

    def close(ongoing: bool) -> None:
        if start is not None and end is not None:
            runs.append(Run(start, end, count, sessions, reached, ongoing))

    for day, qualifies, breaks, day_sessions in days:
        if breaks:
            close(ongoing=False)
            start = end = reached = None
            count = sessions = 0
        elif qualifies:
            start = start or day
            end = day
            count += 1
            sessions += day_sessions
            if count == threshold:
                reached = day
    close(ongoing=True)
    return runs


def continuous_unauthorised_runs(days: Iterable[SchoolDay]) -> list[Run]:
    """Every run of continuous unauthorised absence, in order (short ones too)."""

    def judged(day: date, codes: Sequence[str]) -> tuple[date, bool, bool, int]:
        possible = [c for c in map(category_of, codes) if c.is_possible_session]
        unauthorised = sum(c is Category.UNAUTHORISED_ABSENCE for c in possible)
        return day, bool(possible) and unauthorised == len(possible), unauthorised < len(possible), unauthorised

    return _runs((judged(day, codes) for day, codes in days), CONTINUOUS_ABSENCE_RETURN_SCHOOL_DAYS)


def sickness_spells(days: Iterable[SchoolDay]) -> list[Run]:
    """Every spell of illness, in order (short ones too)."""

    def judged(day: date, codes: Sequence[str]) -> tuple[date, bool, bool, int]:
        attended = any(category_of(c).counts_as_attendance for c in codes)
        illness = sum(c == ILLNESS_CODE for c in codes)
        return day, illness > 0 and not attended, attended, illness

    return _runs((judged(day, codes) for day, codes in days), LONG_SICKNESS_SCHOOL_DAYS)


def reportable(runs: Iterable[Run], period_start: date) -> list[Run]:
    """The runs that reached their threshold and reach into the period (their last
    qualifying day is on or after its first day)."""
    return [run for run in runs if run.reached_on is not None and run.end >= period_start]


# A session the school registered with no absence mark stored for the pupil was attended.
ATTENDED = "/"


def school_days_of(
    register: Mapping[date, Sequence[str]],
    marks: Mapping[tuple[date, str], str],
    on_roll_from: date | None,
    on_roll_to: date | None,
) -> list[SchoolDay]:
    """The pupil's school days in order: each day the school took a register while the pupil
    was on roll, with the pupil's code for each session taken."""
    return [
        (day, [marks.get((day, session), ATTENDED) for session in sessions])
        for day, sessions in sorted(register.items())
        if (on_roll_from is None or on_roll_from <= day) and (on_roll_to is None or day <= on_roll_to)
    ]
