"""Which risk flags each pupil's year calls for, with the evidence. Pure: no I/O.

Flags that look back over time (the penalty-notice window, continuous absence, overdue N,
falling attendance) are judged as of the pupil's latest register, not the wall clock, so
replaying the same events always gives the same flags.

Continuous absence and long sickness are the rules of `attendance_shared.rules.absence_runs`
(analytics' `absence-runs`, which the LA returns read, applies them as written there; unit
tests hold these array versions to them): school days on which every possible session was
unauthorised (G, N, O, U), where a day with an attended or authorised session ends the run
and a day with no possible session (not yet marked, or coded D, X, Q, Y, Z or #) neither ends
nor extends it; and the year's illness sessions reaching 30 (two sessions to a school day).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from analytics_service.domain.encoding import (
    AEA,
    BYTE_OF_CODE,
    DAYS_IN_LAYOUT,
    PRESENT,
    SLOTS,
    UNAUTHORISED,
)
from analytics_service.domain.school_year import SchoolYear
from analytics_service.domain.year_matrix import YearMatrix, absent_and_possible, prefix_sums, window_sums
from attendance_shared.events import RiskFlagType
from attendance_shared.rules.absence_runs import LONG_SICKNESS_SESSIONS
from attendance_shared.rules.codes import ILLNESS_CODE, UNEXPLAINED_CODE
from attendance_shared.rules.figures import AttendanceFigures
from attendance_shared.rules.thresholds import (
    AT_RISK_LOWER_PERCENT,
    AT_RISK_TREND_SCHOOL_WEEKS,
    CONTINUOUS_ABSENCE_DELETION_SCHOOL_DAYS,
    CONTINUOUS_ABSENCE_RETURN_SCHOOL_DAYS,
    DEFAULT_MIN_POSSIBLE_SESSIONS_FOR_RATE_FLAGS,
    PENALTY_NOTICE_SCHOOL_WEEKS,
    PENALTY_NOTICE_SESSIONS,
    PERSISTENT_ABSENCE_PERCENT,
    SEVERE_ABSENCE_PERCENT,
    UNEXPLAINED_ABSENCE_MAX_SCHOOL_DAYS,
)


@dataclass(frozen=True, slots=True)
class FlagRules:
    min_possible_sessions: int = DEFAULT_MIN_POSSIBLE_SESSIONS_FOR_RATE_FLAGS
    unexplained_absence_days: int = UNEXPLAINED_ABSENCE_MAX_SCHOOL_DAYS
    at_risk_lower_percent: float = AT_RISK_LOWER_PERCENT
    at_risk_trend_weeks: int = AT_RISK_TREND_SCHOOL_WEEKS


@dataclass(frozen=True, slots=True)
class Evidence:
    count: int
    unit: str  # "sessions" or "school_days"
    since: date
    until: date
    # The penalty-notice threshold: the day the count last rose to it (None when it was
    # reached last year and has held since).
    reached_on: date | None = None


# Active flags of one pupil-year; rate-based flags carry no evidence beyond the year's figures.
PupilFlags = dict[RiskFlagType, Evidence | None]


@dataclass(frozen=True, slots=True)
class WithheldFlags:
    """Rate flags a pupil's figures for the year reach but that wait for enough possible
    sessions: the minimum stops every pupil being flagged in the first days of September,
    and also keeps a late joiner unflagged while their own figures say persistent."""

    flags: tuple[RiskFlagType, ...]
    possible_sessions: int
    needed: int

    @property
    def reason(self) -> str:
        return (
            f"the pupil's absence reaches {' and '.join(f.replace('_', ' ') for f in self.flags)}, but rate "
            f"flags wait until a pupil has {self.needed} possible sessions in the year; this pupil has "
            f"{self.possible_sessions}"
        )


def withheld_rate_flags(absent: int, possible: int, rules: FlagRules) -> WithheldFlags | None:
    """The rate flags withheld from a pupil with `absent` of `possible` sessions this year,
    by the same thresholds as the school's figures (`AttendanceFigures`), or None."""
    if possible >= rules.min_possible_sessions:
        return None
    figures = AttendanceFigures(possible=possible, authorised=absent)
    reached: tuple[RiskFlagType, ...] = tuple(
        flag
        for flag, reaches in (
            ("persistent_absence", figures.is_persistent_absence),
            ("severe_absence", figures.is_severe_absence),
        )
        if reaches
    )
    return WithheldFlags(reached, possible, rules.min_possible_sessions) if reached else None


FLAG_BITS: dict[RiskFlagType, int] = {
    "persistent_absence": 1,
    "severe_absence": 2,
    "at_risk_of_persistent_absence": 4,
    "penalty_notice_threshold": 8,
    "long_sickness": 16,
    "unexplained_absence_overdue": 32,
    "continuous_absence_10_days": 64,
    "continuous_absence_20_days": 128,
    "part_time_review_overdue": 256,
    "part_time_past_end": 512,
}


@dataclass(frozen=True, slots=True)
class TimetableState:
    """A part-time timetable as its latest version stands (register-service's events)."""

    status: str
    start_date: date
    end_date: date
    next_review_on: date | None


def timetable_flags(timetables: Sequence[TimetableState], as_of: date | None) -> PupilFlags:
    """A timetable running on `as_of` (the pupil's latest register) whose review date has
    passed, or whose end date has: time-limited and reviewed is what the guidance requires."""
    flags: PupilFlags = {}
    if as_of is None:
        return flags
    for timetable in timetables:
        if timetable.status != "active" or timetable.start_date > as_of:
            continue
        if timetable.next_review_on is not None and timetable.next_review_on < as_of:
            flags["part_time_review_overdue"] = None
        if timetable.end_date < as_of:
            flags["part_time_past_end"] = None
    return flags


def flags_to_bits(flags: PupilFlags | set[RiskFlagType]) -> int:
    return sum(FLAG_BITS[f] for f in flags)


def bits_to_flags(bits: int) -> set[RiskFlagType]:
    return {flag for flag, bit in FLAG_BITS.items() if bits & bit}


@dataclass(eq=False)
class PreviousYear:
    """Last year's rows for the same pupils (zeros where a pupil has none): the penalty window
    and a continuous absence may reach back over the summer."""

    matrix: YearMatrix
    calendar: SchoolYear


def _positions_in_school_weeks(year: SchoolYear, latest_day: np.ndarray) -> np.ndarray:
    """Index into year.school_weeks of the school week holding (or last before) each day."""
    weeks = year.week_of_day[np.clip(latest_day, 0, DAYS_IN_LAYOUT - 1)]
    return np.searchsorted(year.school_weeks, weeks, side="right") - 1


def _week_start_slots(year: SchoolYear, positions: np.ndarray) -> np.ndarray:
    weeks = year.school_weeks[np.clip(positions, 0, max(len(year.school_weeks) - 1, 0))]
    offset = year.first_day.weekday()
    return np.maximum(0, 2 * (7 * weeks - offset))


def _day(year: SchoolYear, day_index: int) -> date:
    return year.first_day + timedelta(days=int(day_index))


def _day_runs(categories: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pupil-day: (every possible session unauthorised, some possible session not)."""
    am, pm = categories[:, 0::2], categories[:, 1::2]
    possible = (am != 0).view(np.int8) + (pm != 0).view(np.int8)
    unauthorised = (am == UNAUTHORISED).view(np.int8) + (pm == UNAUTHORISED).view(np.int8)
    return (possible > 0) & (unauthorised == possible), (possible > 0) & (unauthorised < possible)


def _current_runs(qualifying: np.ndarray, breaking: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(length of the run of qualifying days after the last breaking day, index of the last
    breaking day or -1)."""
    index = np.arange(qualifying.shape[1])
    last_break = np.where(breaking, index, -1).max(axis=1)
    after = qualifying & (index[None, :] > last_break[:, None])
    return np.count_nonzero(after, axis=1), last_break


def reaches_previous_year(matrix: YearMatrix, year: SchoolYear) -> bool:
    """Whether any pupil's penalty-notice window starts before this academic year did."""
    latest = matrix.latest_slot()
    if not len(latest) or latest.max() < 0:
        return False
    positions = _positions_in_school_weeks(year, np.maximum(latest, 0) // 2)
    return bool((positions[latest >= 0] < PENALTY_NOTICE_SCHOOL_WEEKS - 1).any())


def evaluate_flags(
    matrix: YearMatrix, year: SchoolYear, rules: FlagRules, previous: PreviousYear | None = None
) -> list[PupilFlags]:
    """Every flag due for each pupil row of `matrix` (one school, one academic year)."""
    pupils = matrix.codes.shape[0]
    if pupils == 0:
        return []
    matrix = matrix.up_to_latest()
    categories = matrix.categories
    absent, possible = absent_and_possible(categories)
    latest = matrix.latest_slot()
    latest_day = np.maximum(latest, 0) // 2
    has_marks = latest >= 0
    enough = possible >= rules.min_possible_sessions
    persistent = enough & (absent * 100 >= PERSISTENT_ABSENCE_PERCENT * possible)
    severe = enough & (absent * 100 >= SEVERE_ABSENCE_PERCENT * possible)
    at_risk = enough & ~persistent & (absent * 100 >= rules.at_risk_lower_percent * possible)
    at_risk &= _attendance_falling(categories, year, latest_day, rules.at_risk_trend_weeks) & has_marks

    penalty = _penalty_window(categories, year, latest, previous)
    illness = matrix.codes == BYTE_OF_CODE[ILLNESS_CODE]
    illness_count = np.count_nonzero(illness, axis=1)
    overdue = _overdue_unexplained(matrix, year, latest_day, rules.unexplained_absence_days) & has_marks[:, None]
    overdue_count = np.count_nonzero(overdue, axis=1)
    # An N left standing last year (in July, say) is overdue now too, counted in school days
    # over the summer from both calendars, as the register's own list counts them.
    overdue_before = None
    if previous is not None:
        overdue_before = _overdue_last_year(previous, year, latest_day, rules.unexplained_absence_days)
        overdue_before &= has_marks[:, None]
        overdue_count = overdue_count + np.count_nonzero(overdue_before, axis=1)

    qualifying, breaking = _day_runs(categories)
    run, last_break = _current_runs(qualifying, breaking)
    if previous is not None:
        prev_qualifying, prev_breaking = _day_runs(previous.matrix.categories)
        prev_run, _ = _current_runs(prev_qualifying, prev_breaking)
        run = run + np.where(last_break < 0, prev_run, 0)

    flagged = (
        persistent
        | severe
        | at_risk
        | (penalty.count >= PENALTY_NOTICE_SESSIONS)
        | (illness_count >= LONG_SICKNESS_SESSIONS)
        | (overdue_count > 0)
        | (run >= CONTINUOUS_ABSENCE_RETURN_SCHOOL_DAYS)
    )
    results: list[PupilFlags] = [{} for _ in range(pupils)]
    # Most pupils have no flag at all: only the flagged rows are looked at one by one.
    for i in np.flatnonzero(flagged).tolist():
        flags = results[i]
        if persistent[i]:
            flags["persistent_absence"] = None
        if severe[i]:
            flags["severe_absence"] = None
        if at_risk[i]:
            flags["at_risk_of_persistent_absence"] = None
        until = _day(year, latest_day[i])
        if penalty.count[i] >= PENALTY_NOTICE_SESSIONS:
            since = penalty.first_session(categories, i, year, previous)
            reached = penalty_threshold_days(categories[i], year, int(latest_day[i]), previous_row(previous, i))
            flags["penalty_notice_threshold"] = Evidence(
                int(penalty.count[i]), "sessions", since, until, reached.reached_on[-1] if reached.reached_on else None
            )
        if illness_count[i] >= LONG_SICKNESS_SESSIONS:
            slots = np.flatnonzero(illness[i])
            flags["long_sickness"] = Evidence(
                int(illness_count[i]), "sessions", _day(year, slots[0] // 2), _day(year, slots[-1] // 2)
            )
        if overdue_count[i]:
            days = [_day(year, int(slot) // 2) for slot in np.flatnonzero(overdue[i])]
            if previous is not None and overdue_before is not None:
                days = [_day(previous.calendar, int(slot) // 2) for slot in np.flatnonzero(overdue_before[i])] + days
            flags["unexplained_absence_overdue"] = Evidence(int(overdue_count[i]), "sessions", days[0], days[-1])
        if run[i] >= CONTINUOUS_ABSENCE_RETURN_SCHOOL_DAYS:
            since = _run_start(qualifying[i], last_break[i], year, previous, i)
            evidence = Evidence(int(run[i]), "school_days", since, until)
            flags["continuous_absence_10_days"] = evidence
            if run[i] >= CONTINUOUS_ABSENCE_DELETION_SCHOOL_DAYS:
                flags["continuous_absence_20_days"] = evidence
    return results


def _attendance_falling(categories: np.ndarray, year: SchoolYear, latest_day: np.ndarray, weeks: int) -> np.ndarray:
    """Attendance over the latest `weeks` school weeks is below the `weeks` before them."""
    position = _positions_in_school_weeks(year, latest_day)
    recent_start = _week_start_slots(year, position - weeks + 1)
    earlier_start = _week_start_slots(year, position - 2 * weeks + 1)
    end = 2 * latest_day + 2
    attended = prefix_sums((categories == PRESENT) | (categories == AEA))
    possible = prefix_sums(categories != 0)
    recent_attended, recent_possible = (
        window_sums(attended, recent_start, end),
        window_sums(possible, recent_start, end),
    )
    earlier_attended = window_sums(attended, earlier_start, recent_start)
    earlier_possible = window_sums(possible, earlier_start, recent_start)
    complete = (position - 2 * weeks + 1 >= 0) & (recent_possible > 0) & (earlier_possible > 0)
    # recent/earlier rates compared by cross-multiplying whole numbers: no rounding at the edge.
    return complete & (recent_attended * earlier_possible < earlier_attended * recent_possible)


@dataclass(frozen=True, slots=True)
class _Window:
    count: np.ndarray  # unauthorised sessions in each pupil's window
    start: np.ndarray  # first slot of the window this year
    previous_start: np.ndarray | None  # first slot last year, where the window reaches back

    def first_session(
        self, categories: np.ndarray, row: int, year: SchoolYear, previous: "PreviousYear | None"
    ) -> date:
        """The date of the earliest unauthorised session the window counted."""
        if previous is not None and self.previous_start is not None and self.previous_start[row] < SLOTS:
            earlier = np.flatnonzero(previous.matrix.categories[row, self.previous_start[row] :] == UNAUTHORISED)
            if len(earlier):
                return _day(previous.calendar, (self.previous_start[row] + earlier[0]) // 2)
        found = np.flatnonzero(categories[row, self.start[row] :] == UNAUTHORISED)
        return _day(year, (self.start[row] + found[0]) // 2) if len(found) else year.first_day


def previous_row(previous: PreviousYear | None, row: int) -> PreviousYear | None:
    """One pupil's row of last year, alone."""
    if previous is None:
        return None
    alone = YearMatrix(previous.matrix.academic_year, previous.matrix.codes[row : row + 1])
    return PreviousYear(alone, previous.calendar)


@dataclass(frozen=True, slots=True)
class PenaltyHistory:
    reached_on: list[date]  # each day the count rose to the threshold
    sessions_now: int  # the count in the window ending with the latest day


def penalty_threshold_days(
    categories: np.ndarray, year: SchoolYear, latest_day: int, previous: PreviousYear | None
) -> PenaltyHistory:
    """Every day of the year, up to `latest_day`, on which one pupil's count of unauthorised
    sessions in the rolling 10 school weeks rose to the threshold: the framework says a
    penalty notice must be *considered* then, so each such day is kept even after the count
    falls back. The window is judged ending with each day in turn, exactly as the flag judges
    it ending with the latest register; a count already over on 1 August was reached last
    year. `categories` is the pupil's row; `previous` holds last year's row alone. Cheap
    enough for every flagged pupil of a batch: one running total and a lookup per day."""
    days = np.arange(max(latest_day, 0) + 1)
    # The one row judged once per day: its running totals are summed once, not per day.
    count = _penalty_window(categories[None, :], year, 2 * days + 1, previous, rows=np.zeros_like(days)).count
    over = count >= PENALTY_NOTICE_SESSIONS
    rose = np.flatnonzero(over[1:] & ~over[:-1]) + 1
    return PenaltyHistory([_day(year, int(d)) for d in rose], int(count[-1]))


def _penalty_window(
    categories: np.ndarray,
    year: SchoolYear,
    latest: np.ndarray,
    previous: PreviousYear | None,
    rows: np.ndarray | None = None,
) -> _Window:
    """Unauthorised sessions in the rolling window of school weeks ending with each pupil's
    latest register, reaching into last year when this year has fewer school weeks so far.
    `rows` says which row (of this year's and last year's) each entry of `latest` is judged
    on; by default, row i for entry i."""
    latest_day = np.maximum(latest, 0) // 2
    first_position = _positions_in_school_weeks(year, latest_day) - PENALTY_NOTICE_SCHOOL_WEEKS + 1
    start = _week_start_slots(year, first_position)
    unauthorised = prefix_sums(categories == UNAUTHORISED)
    count = np.where(latest >= 0, window_sums(unauthorised, start, np.maximum(latest, 0) + 1, rows), 0)
    missing = np.where(first_position < 0, -first_position, 0)
    if previous is None or not missing.any() or not len(previous.calendar.school_weeks):
        return _Window(count, start, None)
    prev_year = previous.calendar
    prev_start = _week_start_slots(prev_year, np.maximum(len(prev_year.school_weeks) - missing, 0))
    prev_start = np.where(missing > 0, prev_start, SLOTS)
    prev_sums = prefix_sums(previous.matrix.categories == UNAUTHORISED)
    count = count + window_sums(prev_sums, prev_start, np.full_like(prev_start, SLOTS), rows)
    return _Window(count, start, prev_start)


def _overdue_unexplained(matrix: YearMatrix, year: SchoolYear, latest_day: np.ndarray, limit: int) -> np.ndarray:
    """bool[P, SLOTS]: N marks with at least `limit` school days passed since, by the pupil's
    latest register: the same cut-off as the register's own overdue list."""
    unexplained = matrix.codes == BYTE_OF_CODE[UNEXPLAINED_CODE]
    passed_by_latest = year.school_days_before[latest_day]
    slot_days_before = np.repeat(year.school_days_before, 2)[: matrix.codes.shape[1]]
    return unexplained & (passed_by_latest[:, None] - slot_days_before[None, :] >= limit)


def _overdue_last_year(previous: PreviousYear, year: SchoolYear, latest_day: np.ndarray, limit: int) -> np.ndarray:
    """bool[P, SLOTS] of last year's N marks with at least `limit` school days passed since by
    each pupil's latest register this year: the rest of last year's, then this year's."""
    before = previous.calendar
    in_last_year = int(before.school_days_before[-1]) + int(before.school_day[-1])
    unexplained = previous.matrix.codes == BYTE_OF_CODE[UNEXPLAINED_CODE]
    left_of_last_year = in_last_year - np.repeat(before.school_days_before, 2)[: unexplained.shape[1]]
    passed = left_of_last_year[None, :] + year.school_days_before[latest_day][:, None]
    return unexplained & (passed >= limit)


def _run_start(
    qualifying: np.ndarray, last_break: int, year: SchoolYear, previous: PreviousYear | None, row: int
) -> date:
    days = np.flatnonzero(qualifying[last_break + 1 :]) + last_break + 1
    if last_break < 0 and previous is not None:
        prev_qualifying, prev_breaking = _day_runs(previous.matrix.categories[row : row + 1])
        _, prev_last_break = _current_runs(prev_qualifying, prev_breaking)
        prev_days = np.flatnonzero(prev_qualifying[0, prev_last_break[0] + 1 :]) + prev_last_break[0] + 1
        if len(prev_days):
            return _day(previous.calendar, prev_days[0])
    return _day(year, days[0]) if len(days) else _day(year, 0)
