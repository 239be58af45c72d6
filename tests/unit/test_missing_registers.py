"""Which registers were due and which were not taken by the time they closed (issue 23)."""

from datetime import date, datetime, time

from attendance_shared.clock import SCHOOL_TIME_ZONE
from attendance_shared.rules.calendar import Closure, SchoolCalendar, Term
from register_service.domain.missing_registers import (
    DueRegister,
    Membership,
    classes_not_taken_on_time,
    due_registers,
    not_taken_on_time,
)

CALENDAR = SchoolCalendar(
    academic_year=2026,
    terms=(Term("Autumn", date(2026, 9, 3), date(2026, 12, 18), date(2026, 10, 26), date(2026, 10, 30)),),
    closures=(Closure(date(2026, 11, 13), "planned_closure", "pm", "polling station"),),
)
CLOSES = {"am": time(9, 0), "pm": time(13, 30)}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SCHOOL_TIME_ZONE)


def test_a_register_is_due_once_it_has_closed_on_a_day_the_school_meets() -> None:
    friday = date(2026, 11, 13)  # afternoon closed for the polling station
    due = due_registers(CALENDAR, CLOSES, date(2026, 11, 12), friday, at(friday, 15))
    assert [(r.date, r.session) for r in due] == [
        (date(2026, 11, 12), "am"),
        (date(2026, 11, 12), "pm"),
        (friday, "am"),
    ]
    assert [r.session for r in due_registers(CALENDAR, CLOSES, friday, friday, at(friday, 8, 59))] == []
    half_term = due_registers(CALENDAR, CLOSES, date(2026, 10, 26), date(2026, 11, 1), at(date(2026, 11, 2), 8))
    assert half_term == []  # half-term and a weekend: nothing due


def test_taken_by_the_close_is_on_time_later_is_late_and_none_is_missing() -> None:
    day = date(2026, 11, 12)
    due = [DueRegister(day, "am", at(day, 9)), DueRegister(day, "pm", at(day, 13, 30))]
    assert not_taken_on_time(due, {(day, "am"): at(day, 8, 55), (day, "pm"): at(day, 13, 30)}) == []
    late = not_taken_on_time(due, {(day, "am"): at(day, 9, 20)})
    assert [(m.register.session, m.taken_at) for m in late] == [("am", at(day, 9, 20)), ("pm", None)]


def test_a_class_register_is_taken_once_any_of_its_pupils_on_roll_that_day_is_marked() -> None:
    monday, tuesday = date(2026, 11, 9), date(2026, 11, 10)
    due = [DueRegister(day, "am", at(day, 9)) for day in (monday, tuesday)]
    members = {
        "A": Membership(((date(2025, 9, 1), None),), ((date(2025, 9, 1), "5A"),)),
        "B": Membership(((date(2025, 9, 1), None),), ((date(2025, 9, 1), "5B"), (tuesday, "5A"))),  # moves class
        "C": Membership(((date(2025, 9, 1), monday),), ((date(2025, 9, 1), "5C"),)),  # leaves on Monday
        "D": Membership(((date(2025, 9, 1), None),), ((date(2025, 9, 1), None),)),  # no class recorded
    }
    first = {("A", monday, "am"): at(monday, 8, 50), ("C", monday, "am"): at(monday, 9, 10)}
    missing = classes_not_taken_on_time(due, members, first)
    assert [(m.register.date, m.registration_group, m.pupils, m.taken_at) for m in missing] == [
        (monday, "5B", 1, None),
        (monday, "5C", 1, at(monday, 9, 10)),  # taken late
        (monday, None, 1, None),
        (tuesday, "5A", 2, None),
        (tuesday, None, 1, None),
    ]
