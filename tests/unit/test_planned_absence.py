"""Planned marks and the sessions a plan covers (issue 23): which register rows a planned mark
refuses, which it lets replace it, and how leave and part-time timetables expand over a
calendar with half-term, INSET days and closures. Pure rules, no database."""

import uuid
from datetime import date

from analytics_service.domain.flags import TimetableState, timetable_flags
from attendance_shared.rules.calendar import Closure, SchoolCalendar, Term
from attendance_shared.rules.codes import ATTENDANCE_CODES, ATTENDED_CODES, Category
from attendance_shared.rules.leave import (
    LEAVE_GROUNDS,
    PART_TIME_CODE,
    leave_sessions,
    school_weeks_end,
    timetable_absences,
    week_session,
)
from register_service.domain.planned_marks import Planned, may_replace, reconcile
from register_service.domain.register_rules import MarkRow

CALENDAR = SchoolCalendar(
    academic_year=2026,
    terms=(
        Term("Autumn", date(2026, 9, 3), date(2026, 12, 18), date(2026, 10, 26), date(2026, 10, 30)),
        Term("Spring", date(2027, 1, 5), date(2027, 3, 26), date(2027, 2, 15), date(2027, 2, 19)),
    ),
    closures=(
        Closure(date(2026, 11, 20), "inset"),
        Closure(date(2026, 11, 13), "planned_closure", "pm", "polling station"),
    ),
)
LEAVE = Planned("A", "M", leave_request_id=uuid.UUID(int=1))
PART_TIME = Planned("B", "C2", timetable_id=uuid.UUID(int=2))


def test_a_planned_mark_stands_for_a_pupil_the_register_leaves_out_or_marks_with_its_code() -> None:
    rows = [MarkRow("B", "C2"), MarkRow("C", "/")]
    outcome = reconcile(rows, {"A": LEAVE, "B": PART_TIME}, marked=set(), on_roll={"A", "B", "C"})
    assert outcome.errors == []
    assert outcome.stand == [LEAVE, PART_TIME]
    assert outcome.replaced == {}


def test_only_a_pupil_coming_in_replaces_a_planned_mark() -> None:
    rows = [MarkRow("A", "L", minutes_late=5), MarkRow("B", "N"), MarkRow("C", "/")]
    outcome = reconcile(rows, {"A": LEAVE, "B": PART_TIME}, marked=set(), on_roll={"A", "B", "C"})
    [error] = outcome.errors
    assert (error.index, error.field) == (1, "code")
    assert "planned C2" in error.message and str(PART_TIME.timetable_id) in error.message
    replaced = f"the pupil came in: replaces the planned M of leave request {LEAVE.leave_request_id}"
    assert outcome.replaced == {"A": replaced}
    for code in ATTENDANCE_CODES:
        assert may_replace(LEAVE, code) == (code in {"M", "/", "\\", "L", "U", "#"}), code
    assert {"/", "\\", "L", "U"} == ATTENDED_CODES


def test_a_plan_already_on_the_register_or_of_a_pupil_who_left_does_not_stand_again() -> None:
    outcome = reconcile([MarkRow("C", "/")], {"A": LEAVE, "B": PART_TIME}, marked={"A"}, on_roll={"A", "C"})
    assert outcome.stand == []


def test_a_session_the_school_closed_after_the_plan_was_made_takes_its_closure_not_the_plan() -> None:
    rows = [MarkRow("A", "#", note="boiler failed"), MarkRow("C", "#", note="boiler failed")]
    outcome = reconcile(rows, {"A": LEAVE, "B": PART_TIME}, marked=set(), on_roll={"A", "B", "C"}, session_open=False)
    assert (outcome.errors, outcome.stand) == ([], [])
    assert outcome.replaced == {
        "A": f"the school was closed: replaces the planned M of leave request {LEAVE.leave_request_id}"
    }


def test_leave_covers_only_the_sessions_the_school_meets() -> None:
    # Thursday 12 to Monday 23 November: a weekend, a closed Friday afternoon, an INSET day.
    sessions = leave_sessions(CALENDAR, date(2026, 11, 12), date(2026, 11, 23), "both")
    days = sorted({d for d, _ in sessions})
    assert date(2026, 11, 14) not in days and date(2026, 11, 20) not in days
    assert (date(2026, 11, 13), "am") in sessions and (date(2026, 11, 13), "pm") not in sessions
    assert len(sessions) == 2 + 1 + 2 * 4 + 2  # Thu, Fri am, Mon to Thu, Mon 23
    mornings = leave_sessions(CALENDAR, date(2026, 11, 12), date(2026, 11, 13), "am")
    assert mornings == [(date(2026, 11, 12), "am"), (date(2026, 11, 13), "am")]
    assert leave_sessions(CALENDAR, date(2026, 10, 26), date(2026, 10, 30), "both") == []  # half-term


def test_a_part_time_timetable_plans_c2_for_every_open_session_the_pupil_is_not_timetabled() -> None:
    attended = ["mon_am", "tue_am", "wed_am", "thu_am", "fri_am"]  # mornings only
    absences = timetable_absences(CALENDAR, date(2026, 10, 22), date(2026, 11, 13), attended)
    assert all(session == "pm" for _, session in absences)
    days = [d for d, _ in absences]
    assert date(2026, 10, 27) not in days  # half-term
    assert date(2026, 11, 13) not in days  # the afternoon the school is closed
    assert days[:2] == [date(2026, 10, 22), date(2026, 10, 23)]
    assert len(absences) == 2 + 5 + 4
    assert week_session(date(2026, 11, 9), "pm") == "mon_pm" and week_session(date(2026, 11, 14), "am") is None
    assert ATTENDANCE_CODES[PART_TIME_CODE].category is Category.AUTHORISED_ABSENCE


def test_school_weeks_skip_half_term_and_the_holidays() -> None:
    # From Wednesday 21 October: that week, then half-term (no school), then 2 to 6 November.
    assert school_weeks_end(CALENDAR, date(2026, 10, 21), 2) == date(2026, 11, 6)
    # Six school weeks from Monday 30 November run past Christmas into January.
    assert school_weeks_end(CALENDAR, date(2026, 11, 30), 6) == date(2027, 1, 22)
    assert school_weeks_end(CALENDAR, date(2026, 11, 9), 1) == date(2026, 11, 13)


def test_every_ground_but_a_holiday_maps_to_a_2024_authorised_code() -> None:
    for ground in LEAVE_GROUNDS.values():
        if ground.reason == "family_holiday":
            assert ground.code is None
        else:
            assert ATTENDANCE_CODES[ground.code].category is Category.AUTHORISED_ABSENCE, ground


def test_a_running_timetable_past_its_review_or_end_is_flagged_and_an_ended_one_is_not() -> None:
    running = TimetableState("active", date(2026, 11, 9), date(2026, 12, 18), date(2026, 11, 19))
    assert timetable_flags([running], date(2026, 11, 19)) == {}  # the review day itself is not late
    assert timetable_flags([running], date(2026, 11, 20)) == {"part_time_review_overdue": None}
    assert set(timetable_flags([running], date(2027, 1, 5))) == {"part_time_review_overdue", "part_time_past_end"}
    ended = TimetableState("ended", date(2026, 11, 9), date(2026, 12, 18), date(2026, 11, 19))
    assert timetable_flags([ended], date(2027, 1, 5)) == {}
    later = TimetableState("active", date(2027, 1, 5), date(2027, 2, 12), date(2026, 12, 1))
    assert timetable_flags([later], date(2026, 12, 10)) == {}  # not begun by the latest register
    assert timetable_flags([running], None) == {}
