"""A pupil's figure that explains itself: why they are (not) persistently or severely absent,
how many sessions in a row would bring them below the line, where the year ends if they miss
nothing more, and the time missed in days and lessons. Staff screens and parents' summaries
both say it this way. Pure: no I/O.

"Why is this pupil (not) persistently absent?" is the standing MIS helpdesk question: the
denominator is the pupil's possible sessions so far, so the same absences weigh more early in
the year (16 of 40 sessions is 40%; with nothing more missed the year ends at 364 of 380).
"""

from dataclasses import dataclass

from attendance_shared.rules.thresholds import (
    PERSISTENT_ABSENCE_PERCENT,
    SESSIONS_PER_SCHOOL_DAY,
    SEVERE_ABSENCE_PERCENT,
)

# "12 days, about 60 lessons": five lessons a day, the common secondary timetable (primary
# days are not split into lessons the same way, so the figure says "about").
LESSONS_PER_SCHOOL_DAY = 5


def sessions_to_fall_below(absent: int, possible: int, percent: int) -> int:
    """How many more sessions, all attended, bring absence below `percent` (0 if already):
    the least n with absent * 100 < percent * (possible + n)."""
    if absent == 0 or absent * 100 < percent * possible:
        return 0
    return (absent * 100) // percent - possible + 1


def sessions_to_reach(absent: int, possible: int, percent: int) -> int:
    """How many more sessions, all missed, bring absence to `percent` (0 if already there):
    the least k with (absent + k) * 100 >= percent * (possible + k)."""
    shortfall = percent * possible - absent * 100
    return 0 if shortfall <= 0 else -(-shortfall // (100 - percent))


def year_end_attendance(absent: int, possible: int, remaining: int) -> float | None:
    """Attendance at the end of the year if every one of the `remaining` sessions is attended."""
    total = possible + remaining
    return round(100 * (total - absent) / total, 2) if total else None


def days_missed(absent_sessions: int) -> float:
    return absent_sessions / SESSIONS_PER_SCHOOL_DAY


def plain_time_missed(absent_sessions: int) -> str:
    """`12 days, about 60 lessons`; half days shown as `.5`."""
    days = days_missed(absent_sessions)
    days_text = f"{days:g} day" + ("" if days == 1 else "s")
    lessons = round(days * LESSONS_PER_SCHOOL_DAY)
    return f"{days_text}, about {lessons} lesson" + ("" if lessons == 1 else "s")


def _sessions(n: int) -> str:
    return "1 session" if n == 1 else f"{n} sessions"


def _percent(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%"


@dataclass(frozen=True, slots=True)
class Explanation:
    absent_sessions: int
    possible_sessions: int
    persistent_absence: bool
    severe_absence: bool
    sessions_to_leave_persistent_absence: int
    sessions_to_leave_severe_absence: int
    remaining_possible_sessions: int
    year_end_attendance_if_no_more_absence: float | None
    days_missed: float
    lessons_missed_about: int
    time_missed: str
    text: str


def explain(absent: int, possible: int, remaining: int) -> Explanation:
    """`remaining`: the school's sessions left in the year after those counted, inside the
    pupil's enrolment, that the pupil is expected at."""
    persistent = possible > 0 and absent * 100 >= PERSISTENT_ABSENCE_PERCENT * possible
    severe = possible > 0 and absent * 100 >= SEVERE_ABSENCE_PERCENT * possible
    to_leave_pa = sessions_to_fall_below(absent, possible, PERSISTENT_ABSENCE_PERCENT)
    to_leave_sa = sessions_to_fall_below(absent, possible, SEVERE_ABSENCE_PERCENT)
    year_end = year_end_attendance(absent, possible, remaining)
    time_missed = plain_time_missed(absent)
    if not possible:
        text = "No possible sessions yet in this period, so there is no absence rate."
    else:
        sentences = [f"{absent} of {possible} possible sessions missed: {_percent(absent, possible)} ({time_missed})."]
        if severe:
            sentences.append(
                f"That is severe absence ({SEVERE_ABSENCE_PERCENT}% or more). Attending the next "
                f"{_sessions(to_leave_sa)} in a row would bring it below {SEVERE_ABSENCE_PERCENT}%, and the next "
                f"{_sessions(to_leave_pa)} below {PERSISTENT_ABSENCE_PERCENT}%, if nothing else is missed."
            )
        elif persistent:
            sentences.append(
                f"That is persistent absence ({PERSISTENT_ABSENCE_PERCENT}% or more). Attending the next "
                f"{_sessions(to_leave_pa)} in a row would bring it below {PERSISTENT_ABSENCE_PERCENT}%, if nothing "
                "else is missed."
            )
        else:
            reach = sessions_to_reach(absent, possible, PERSISTENT_ABSENCE_PERCENT)
            sentences.append(
                f"That is below the {PERSISTENT_ABSENCE_PERCENT}% of persistent absence: {reach} more "
                f"session{'' if reach == 1 else 's'} missed in a row would reach it."
            )
        if year_end is not None and remaining:
            sentences.append(
                f"If no more sessions are missed, the year ends at {possible + remaining - absent} of "
                f"{possible + remaining}: {year_end:.2f}% attendance."
            )
        text = " ".join(sentences)
    return Explanation(
        absent_sessions=absent,
        possible_sessions=possible,
        persistent_absence=persistent,
        severe_absence=severe,
        sessions_to_leave_persistent_absence=to_leave_pa,
        sessions_to_leave_severe_absence=to_leave_sa,
        remaining_possible_sessions=remaining,
        year_end_attendance_if_no_more_absence=year_end,
        days_missed=days_missed(absent),
        lessons_missed_about=round(days_missed(absent) * LESSONS_PER_SCHOOL_DAY),
        time_missed=time_missed,
        text=text,
    )
