from datetime import date, time

from attendance_shared.rules.calendar import SchoolCalendar, Term, check_mark_day
from register_service.domain.admission_rules import check_admission, repeated_pupils
from register_service.domain.register_rules import (
    MarkRow,
    check_lateness,
    check_register_date,
    check_register_rows,
    check_register_times,
)
from tests.factories import make_upn

A, B = make_upn(serial=101), make_upn(serial=102)
OPEN = 20  # minutes the register stays open


def errors_of(rows: list[MarkRow], on_roll: set[str], **kwargs) -> dict[tuple[int, str], str]:
    return {(e.index, e.field): e.message for e in check_register_rows(rows, on_roll, open_minutes=OPEN, **kwargs)}


def test_a_valid_register_has_no_errors() -> None:
    rows = [MarkRow(A, "/"), MarkRow(B, "L", minutes_late=5)]
    assert check_register_rows(rows, on_roll={A, B}, open_minutes=OPEN) == []


def test_every_bad_row_is_named_with_its_index_and_reason() -> None:
    rows = [MarkRow(A, "/"), MarkRow(A, "N"), MarkRow("X123", "/"), MarkRow(B, "H"), MarkRow(make_upn(serial=103), "I")]
    errors = errors_of(rows, on_roll={A, B})
    assert "already marked at row 0" in errors[(1, "upn")]
    assert "13 characters" in errors[(2, "upn")]
    assert "retired" in errors[(3, "code")]
    assert "not on this school's roll" in errors[(4, "upn")]
    assert (0, "upn") not in errors


def test_a_register_cannot_be_taken_for_a_future_date() -> None:
    assert check_register_date(date(2026, 9, 8), today=date(2026, 9, 7)) is not None
    assert check_register_date(date(2026, 9, 7), today=date(2026, 9, 7)) is None


def test_l_is_before_the_register_closes_and_u_after() -> None:
    assert check_lateness("L", 20, OPEN) is None
    assert check_lateness("U", 21, OPEN) is None
    assert "that is U" in check_lateness("L", 21, OPEN)
    assert "that is L" in check_lateness("U", 20, OPEN)
    assert "needs minutes_late" in check_lateness("U", None, OPEN)
    assert "only for L and U" in check_lateness("/", 5, OPEN)


def test_lateness_and_notes_are_checked_per_row() -> None:
    rows = [MarkRow(A, "L"), MarkRow(B, "B")]
    errors = errors_of(rows, on_roll={A, B})
    assert "needs minutes_late" in errors[(0, "minutes_late")]
    assert "needs a note" in errors[(1, "note")]
    assert errors_of([MarkRow(A, "K", note="s19 provision at the hospital school")], on_roll={A}) == {}


def test_a_day_the_calendar_closes_takes_only_the_closure_code() -> None:
    calendar = SchoolCalendar(
        2026, (Term("autumn", date(2026, 9, 3), date(2026, 12, 18), date(2026, 10, 26), date(2026, 10, 30)),)
    )
    half_term = date(2026, 10, 27)
    errors = errors_of(
        [MarkRow(A, "/")], on_roll={A}, day_problem=lambda code: check_mark_day(calendar, half_term, "am", code)
    )
    assert "holiday" in errors[(0, "code")]
    assert check_mark_day(calendar, date(2026, 10, 5), "am", "/") is None


def test_the_register_stays_open_at_most_30_minutes_and_as_long_each_session() -> None:
    assert check_register_times((time(8, 40), time(9, 0)), (time(13, 10), time(13, 30))) == []
    assert check_register_times((time(8, 30), time(9, 5)), (time(13, 0), time(13, 35)))[0][1].endswith("30 minutes")
    assert "as long" in check_register_times((time(8, 40), time(9, 0)), (time(13, 10), time(13, 40)))[0][1]
    assert (
        "after the register opens"
        in check_register_times((time(9, 0), time(8, 40)), (time(13, 10), time(13, 30)))[0][1]
    )


def test_an_admission_is_refused_for_every_reason_at_once() -> None:
    today = date(2026, 11, 2)
    upn = make_upn(serial=104)
    assert check_admission(upn, admission_date=today, date_of_birth=date(2016, 3, 4), today=today) == (upn, [])
    wrong_letter = ("A" if upn[0] != "A" else "B") + upn[1:]
    compact, problems = check_admission(
        wrong_letter, admission_date=date(2026, 11, 3), date_of_birth=date(2026, 12, 1), today=today
    )
    assert compact is None
    assert [field for field, _ in problems] == ["upn", "admission_date", "admission_date"]
    assert "check letter" in problems[0][1]
    assert "before date_of_birth" in problems[1][1] and "first day they attend" in problems[2][1]


def test_a_pupil_named_twice_in_one_batch_is_refused_at_the_second_row() -> None:
    errors = repeated_pupils([A, B, None, A, B, A])
    assert [(e.index, e.message) for e in errors] == [
        (3, "the same pupil as row 0"),
        (4, "the same pupil as row 1"),
        (5, "the same pupil as row 0"),
    ]
