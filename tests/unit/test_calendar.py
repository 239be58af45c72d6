"""The school calendar as pure rules, on a realistic 2026/27 year."""

from dataclasses import replace
from datetime import date

import pytest

from attendance_shared.rules import calendar as calendar_module
from attendance_shared.rules import figures
from attendance_shared.rules.calendar import (
    SESSIONS,
    Calendar,
    CalendarError,
    CalendarYears,
    Closure,
    DayKind,
    SchoolCalendar,
    Session,
    Term,
    WeekdayCalendar,
    academic_year_of,
    check_mark_day,
    validate_calendar,
)

D = date.fromisoformat

AUTUMN = Term("Autumn", D("2026-09-03"), D("2026-12-18"), D("2026-10-26"), D("2026-10-30"))
SPRING = Term("Spring", D("2027-01-05"), D("2027-03-26"), D("2027-02-15"), D("2027-02-19"))
SUMMER = Term("Summer", D("2027-04-12"), D("2027-07-21"), D("2027-05-31"), D("2027-06-04"))
CLOSURES = (
    Closure(D("2026-09-03"), "inset"),
    Closure(D("2026-11-20"), "inset", reason="Safeguarding training"),
    Closure(D("2026-12-18"), "planned_closure", session="pm", reason="Closes at lunchtime for Christmas"),
    Closure(D("2027-01-05"), "inset", session="am"),
    Closure(D("2027-05-03"), "planned_closure", reason="Early May bank holiday"),
)
YEAR = SchoolCalendar(2026, (AUTUMN, SPRING, SUMMER), CLOSURES)
BOTH = frozenset(SESSIONS)


def with_terms(*terms: Term, academic_year: int = 2026) -> SchoolCalendar:
    return SchoolCalendar(academic_year, terms)


def with_closures(*closures: Closure) -> SchoolCalendar:
    return SchoolCalendar(2026, (AUTUMN, SPRING, SUMMER), closures)


def with_closures_and_summer_end(end: str) -> SchoolCalendar:
    return SchoolCalendar(2026, (AUTUMN, SPRING, replace(SUMMER, end=D(end))), CLOSURES)


def errors_of(calendar: SchoolCalendar) -> dict[str, str]:
    errors = validate_calendar(calendar)
    found = {error.field: error.message for error in errors}
    assert len(found) == len(errors), f"one error per field expected: {errors}"
    return found


# Academic year


def test_the_academic_year_rule_is_the_shared_one() -> None:
    assert academic_year_of is figures.academic_year_of
    assert calendar_module.academic_year_of is figures.academic_year_of


@pytest.mark.parametrize(
    ("day", "year"),
    [("2026-07-31", 2025), ("2026-08-01", 2026), ("2026-12-31", 2026), ("2027-07-31", 2026), ("2027-08-01", 2027)],
)
def test_the_academic_year_starts_on_1_august(day: str, year: int) -> None:
    assert academic_year_of(D(day)) == year


@pytest.mark.parametrize(
    ("day", "covered"),
    [("2026-07-31", False), ("2026-08-01", True), ("2027-01-01", True), ("2027-07-31", True), ("2027-08-01", False)],
)
def test_a_calendar_covers_1_august_to_31_july(day: str, covered: bool) -> None:
    assert YEAR.covers(D(day)) is covered


# Day kinds and open sessions


def test_a_weekday_in_term_is_a_school_day_with_both_sessions() -> None:
    day = D("2026-09-07")
    assert YEAR.day_kind(day) is DayKind.SCHOOL_DAY
    assert YEAR.open_sessions(day) == BOTH
    assert YEAR.is_school_day(day)


@pytest.mark.parametrize("day", ["2026-09-05", "2026-09-06", "2027-03-20", "2027-07-18"])
def test_a_weekend_inside_a_term_is_a_weekend(day: str) -> None:
    assert YEAR.day_kind(D(day)) is DayKind.WEEKEND
    assert YEAR.open_sessions(D(day)) == frozenset()
    assert not YEAR.is_school_day(D(day))


@pytest.mark.parametrize("day", ["2026-10-24", "2026-10-31", "2026-08-01", "2026-12-26"])
def test_a_weekend_in_a_holiday_is_a_weekend_not_a_holiday(day: str) -> None:
    assert YEAR.day_kind(D(day)) is DayKind.WEEKEND


def test_the_weekend_wins_over_a_closure_that_falls_on_it() -> None:
    day = D("2026-09-12")
    calendar = with_closures(Closure(day, "inset"))
    assert calendar.day_kind(day) is DayKind.WEEKEND


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        ("2026-10-23", DayKind.SCHOOL_DAY),  # Friday before half-term
        ("2026-10-26", DayKind.HOLIDAY),  # first day of half-term
        ("2026-10-28", DayKind.HOLIDAY),
        ("2026-10-30", DayKind.HOLIDAY),  # last day of half-term
        ("2026-11-02", DayKind.SCHOOL_DAY),  # Monday after half-term
        ("2027-02-15", DayKind.HOLIDAY),
        ("2027-02-19", DayKind.HOLIDAY),
        ("2027-02-22", DayKind.SCHOOL_DAY),
        ("2027-05-31", DayKind.HOLIDAY),
        ("2027-06-04", DayKind.HOLIDAY),
        ("2027-06-07", DayKind.SCHOOL_DAY),
    ],
)
def test_half_term_dates_are_inclusive_holidays(day: str, kind: DayKind) -> None:
    assert YEAR.day_kind(D(day)) is kind


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        ("2026-08-03", DayKind.HOLIDAY),  # summer holiday before the first term
        ("2026-09-02", DayKind.HOLIDAY),  # the day before the autumn term
        ("2026-12-21", DayKind.HOLIDAY),  # Christmas holiday
        ("2027-01-04", DayKind.HOLIDAY),
        ("2027-03-26", DayKind.SCHOOL_DAY),  # last day of the spring term
        ("2027-03-29", DayKind.HOLIDAY),  # Easter holiday
        ("2027-04-09", DayKind.HOLIDAY),
        ("2027-04-12", DayKind.SCHOOL_DAY),  # first day of the summer term
        ("2027-07-21", DayKind.SCHOOL_DAY),  # last day of the summer term
        ("2027-07-22", DayKind.HOLIDAY),
        ("2028-01-10", DayKind.HOLIDAY),  # a weekday in another academic year
    ],
)
def test_days_outside_every_term_are_holidays_and_term_ends_are_inclusive(day: str, kind: DayKind) -> None:
    assert YEAR.day_kind(D(day)) is kind
    assert YEAR.is_school_day(D(day)) is (kind is DayKind.SCHOOL_DAY)


@pytest.mark.parametrize(
    ("day", "kind"),
    [("2026-09-03", DayKind.INSET), ("2026-11-20", DayKind.INSET), ("2027-05-03", DayKind.PLANNED_CLOSURE)],
)
def test_a_whole_day_closure_has_no_sessions_for_pupils(day: str, kind: DayKind) -> None:
    assert YEAR.day_kind(D(day)) is kind
    assert YEAR.open_sessions(D(day)) == frozenset()
    assert not YEAR.is_school_day(D(day))


@pytest.mark.parametrize(("day", "open_session"), [("2026-12-18", "am"), ("2027-01-05", "pm")])
def test_a_partial_closure_closes_only_its_session(day: str, open_session: Session) -> None:
    assert YEAR.day_kind(D(day)) is DayKind.SCHOOL_DAY
    assert YEAR.open_sessions(D(day)) == frozenset({open_session})
    assert YEAR.is_school_day(D(day))


def test_a_day_with_both_sessions_closed_separately_is_not_a_school_day() -> None:
    day = D("2026-11-25")
    calendar = with_closures(Closure(day, "inset", session="am"), Closure(day, "planned_closure", session="pm"))
    assert calendar.day_kind(day) is DayKind.SCHOOL_DAY
    assert calendar.open_sessions(day) == frozenset()
    assert not calendar.is_school_day(day)


def test_a_closure_in_a_holiday_changes_nothing() -> None:
    day = D("2026-10-27")
    assert with_closures(Closure(day, "inset")).day_kind(day) is DayKind.HOLIDAY


# Ranges


def test_school_days_are_inclusive_in_order_and_skip_weekends_half_term_and_closures() -> None:
    assert YEAR.school_days(D("2026-10-22"), D("2026-11-03")) == [
        D("2026-10-22"),
        D("2026-10-23"),
        D("2026-11-02"),
        D("2026-11-03"),
    ]
    assert YEAR.school_days(D("2026-11-18"), D("2026-11-23")) == [D("2026-11-18"), D("2026-11-19"), D("2026-11-23")]


def test_school_days_of_a_single_day_and_an_empty_range() -> None:
    assert YEAR.school_days(D("2026-09-07"), D("2026-09-07")) == [D("2026-09-07")]
    assert YEAR.school_days(D("2026-09-08"), D("2026-09-07")) == []
    assert YEAR.school_days(D("2026-10-24"), D("2026-11-01")) == []


def test_a_partly_closed_day_is_still_a_school_day_in_a_range() -> None:
    assert YEAR.school_days(D("2026-12-17"), D("2026-12-25")) == [D("2026-12-17"), D("2026-12-18")]


def test_possible_sessions_count_open_sessions_only() -> None:
    assert YEAR.possible_session_count(D("2026-12-14"), D("2026-12-18")) == 9  # Friday afternoon closed
    assert YEAR.possible_session_count(D("2026-11-16"), D("2026-11-22")) == 8  # Friday is an INSET day
    assert YEAR.possible_session_count(D("2026-10-24"), D("2026-11-01")) == 0
    assert YEAR.possible_session_count(D("2026-09-08"), D("2026-09-07")) == 0


def test_the_realistic_year_offers_380_sessions() -> None:
    assert YEAR.possible_session_count(D("2026-08-01"), D("2027-07-31")) == 380
    assert len(YEAR.school_days(D("2026-08-01"), D("2027-07-31"))) == 191


# School days before a day


@pytest.mark.parametrize(
    ("day", "count", "expected"),
    [
        ("2026-09-09", 1, "2026-09-08"),  # the day itself is not counted
        ("2026-09-14", 1, "2026-09-11"),  # across a weekend
        ("2026-09-14", 3, "2026-09-09"),
        ("2026-11-02", 1, "2026-10-23"),  # across half-term and both weekends around it
        ("2026-11-03", 3, "2026-10-22"),
        ("2026-10-28", 1, "2026-10-23"),  # from inside half-term
        ("2026-11-23", 1, "2026-11-19"),  # over an INSET day
        ("2026-12-21", 1, "2026-12-18"),  # a half-open day still counts
        ("2027-01-06", 1, "2027-01-05"),
        ("2027-01-06", 2, "2026-12-18"),  # across the Christmas holiday
        ("2027-05-04", 1, "2027-04-30"),  # over a bank-holiday closure and a weekend
        ("2030-01-01", 1, "2027-07-21"),  # long after the calendar ends
    ],
)
def test_school_days_before_counts_back_over_days_without_sessions(day: str, count: int, expected: str) -> None:
    assert YEAR.school_days_before(D(day), count) == D(expected)


def test_school_days_before_is_none_when_the_calendar_runs_out() -> None:
    assert YEAR.school_days_before(D("2026-09-08"), 1) == D("2026-09-07")
    assert YEAR.school_days_before(D("2026-09-08"), 2) == D("2026-09-04")  # 3 September is an INSET day
    assert YEAR.school_days_before(D("2026-09-08"), 3) is None
    assert YEAR.school_days_before(D("2026-09-04"), 1) is None
    assert YEAR.school_days_before(D("2026-08-15"), 1) is None
    assert YEAR.school_days_before(D("2027-07-22"), 191) == D("2026-09-04")
    assert YEAR.school_days_before(D("2027-07-22"), 192) is None


def test_school_days_before_on_a_calendar_without_terms_is_none() -> None:
    assert SchoolCalendar(2026, ()).school_days_before(D("2026-09-08"), 1) is None


@pytest.mark.parametrize("calendar", [YEAR, WeekdayCalendar(), SchoolCalendar(2026, ())])
@pytest.mark.parametrize("count", [0, -1])
def test_school_days_before_needs_a_positive_count(calendar: Calendar, count: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        calendar.school_days_before(D("2026-09-08"), count)


# Schools without a calendar


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        ("2026-10-26", DayKind.SCHOOL_DAY),  # half-term means nothing without a calendar
        ("2026-12-25", DayKind.SCHOOL_DAY),
        ("2026-10-30", DayKind.SCHOOL_DAY),
        ("2026-10-31", DayKind.WEEKEND),
        ("2026-11-01", DayKind.WEEKEND),
    ],
)
def test_without_a_calendar_every_weekday_is_a_school_day(day: str, kind: DayKind) -> None:
    calendar = WeekdayCalendar()

    assert calendar.day_kind(D(day)) is kind
    assert calendar.open_sessions(D(day)) == (BOTH if kind is DayKind.SCHOOL_DAY else frozenset())
    assert calendar.is_school_day(D(day)) is (kind is DayKind.SCHOOL_DAY)


def test_the_weekday_calendar_counts_weekdays() -> None:
    calendar = WeekdayCalendar()
    assert calendar.school_days(D("2026-10-23"), D("2026-10-27")) == [D("2026-10-23"), D("2026-10-26"), D("2026-10-27")]
    assert calendar.school_days_before(D("2026-10-26"), 1) == D("2026-10-23")
    assert calendar.school_days_before(D("2026-10-26"), 6) == D("2026-10-16")
    assert calendar.school_days_before(D("2026-10-25"), 1) == D("2026-10-23")


def test_the_weekday_calendar_runs_out_only_at_the_start_of_time() -> None:
    assert WeekdayCalendar().school_days_before(date(1, 1, 3), 1) == date(1, 1, 2)  # 1 January 0001 is a Monday
    assert WeekdayCalendar().school_days_before(date(1, 1, 3), 2) == date(1, 1, 1)
    assert WeekdayCalendar().school_days_before(date(1, 1, 3), 3) is None


def test_both_calendars_satisfy_the_calendar_protocol() -> None:
    assert isinstance(YEAR, Calendar)
    assert isinstance(WeekdayCalendar(), Calendar)


# Marks against the calendar


@pytest.mark.parametrize("code", ["/", "\\", "L", "I", "N", "#"])
@pytest.mark.parametrize("session", SESSIONS)
def test_any_code_may_be_recorded_in_an_open_session(code: str, session: Session) -> None:
    assert check_mark_day(YEAR, D("2026-09-07"), session, code) is None


@pytest.mark.parametrize("code", ["/", "N", "#"])
def test_nothing_may_be_recorded_at_a_weekend(code: str) -> None:
    assert check_mark_day(YEAR, D("2026-09-05"), "am", code) == "2026-09-05 is a weekend; no register is taken"


@pytest.mark.parametrize("day", ["2026-10-27", "2026-12-21", "2026-09-02"])
@pytest.mark.parametrize("code", ["/", "N", "#"])
def test_nothing_may_be_recorded_in_a_holiday(day: str, code: str) -> None:
    assert check_mark_day(YEAR, D(day), "pm", code) == f"{day} is in a holiday; no register is taken"


@pytest.mark.parametrize("session", SESSIONS)
def test_only_hash_may_be_recorded_on_an_inset_day(session: Session) -> None:
    day = D("2026-11-20")
    message = check_mark_day(YEAR, day, session, "/")
    assert message == f"2026-11-20 {session} is an INSET day; only '#' may be recorded"
    assert check_mark_day(YEAR, day, session, "#") is None


def test_only_hash_may_be_recorded_on_a_planned_closure_day() -> None:
    day = D("2027-05-03")
    assert check_mark_day(YEAR, day, "am", "N") == "2027-05-03 am is a planned closure; only '#' may be recorded"
    assert check_mark_day(YEAR, day, "pm", "#") is None


def test_only_hash_may_be_recorded_in_a_session_closed_by_a_partial_closure() -> None:
    day = D("2026-12-18")
    message = "2026-12-18 pm is closed by a partial closure; only '#' may be recorded"
    assert check_mark_day(YEAR, day, "pm", "/") == message
    assert check_mark_day(YEAR, day, "pm", "#") is None
    assert check_mark_day(YEAR, day, "am", "/") is None
    assert check_mark_day(YEAR, D("2027-01-05"), "am", "L") is not None
    assert check_mark_day(YEAR, D("2027-01-05"), "pm", "L") is None


def test_marks_are_checked_against_weekdays_for_a_school_without_a_calendar() -> None:
    calendar = WeekdayCalendar()
    assert check_mark_day(calendar, D("2026-10-27"), "am", "/") is None
    assert check_mark_day(calendar, D("2026-10-27"), "am", "#") is None
    assert check_mark_day(calendar, D("2026-10-31"), "am", "/") == "2026-10-31 is a weekend; no register is taken"


# Validation


def test_a_realistic_calendar_is_valid() -> None:
    assert validate_calendar(YEAR) == []
    assert validate_calendar(with_terms(AUTUMN)) == []
    assert validate_calendar(with_terms(Term("Whole year", D("2026-09-07"), D("2026-09-11")))) == []


def test_a_calendar_needs_a_term() -> None:
    assert validate_calendar(SchoolCalendar(2026, ())) == [CalendarError("terms", "a calendar needs at least one term")]


def test_an_error_is_given_as_a_field_and_a_message() -> None:
    error = CalendarError("terms[1].end", "something is wrong")
    assert error.as_dict() == {"field": "terms[1].end", "message": "something is wrong"}


def test_a_term_cannot_end_before_it_starts() -> None:
    errors = errors_of(
        with_terms(AUTUMN, replace(SPRING, end=D("2027-01-04"), half_term_start=None, half_term_end=None))
    )
    assert errors == {"terms[1].end": "2027-01-04 is before the term starts on 2027-01-05"}


def test_a_term_starting_on_the_day_another_ends_overlaps_it() -> None:
    errors = errors_of(with_terms(AUTUMN, replace(SPRING, start=D("2026-12-18"))))
    assert errors == {"terms[1].start": "2026-12-18 overlaps terms[0], which ends on 2026-12-18"}


def test_a_term_starting_the_day_after_another_ends_is_fine() -> None:
    assert validate_calendar(with_terms(AUTUMN, replace(SPRING, start=D("2026-12-19")))) == []


def test_terms_must_be_in_date_order() -> None:
    errors = errors_of(with_terms(SPRING, AUTUMN, SUMMER))
    assert list(errors) == ["terms[1].start"]
    assert "date order" in errors["terms[1].start"]


@pytest.mark.parametrize(
    ("terms", "field", "words"),
    [
        (
            (replace(AUTUMN, start=D("2026-07-31")), SPRING, SUMMER),
            "terms[0].start",
            "outside the 2026/27 academic year (2026-08-01 to 2027-07-31)",
        ),
        ((AUTUMN, SPRING, replace(SUMMER, end=D("2027-08-02"))), "terms[2].end", "outside the 2026/27 academic year"),
    ],
)
def test_every_term_lies_in_the_academic_year(terms: tuple[Term, ...], field: str, words: str) -> None:
    errors = errors_of(with_terms(*terms))
    assert field in errors
    assert words in errors[field]


def test_terms_of_another_academic_year_are_refused() -> None:
    errors = errors_of(with_terms(AUTUMN, SPRING, SUMMER, academic_year=2025))
    assert list(errors) == [f"terms[{i}].{end}" for i in range(3) for end in ("start", "end")]
    assert errors["terms[0].start"] == "2026-09-03 is outside the 2025/26 academic year (2025-08-01 to 2026-07-31)"


@pytest.mark.parametrize(
    ("half_term_start", "half_term_end", "field"),
    [
        ("2026-12-14", "2026-12-22", "terms[0].half_term_end"),
        ("2026-08-31", "2026-09-04", "terms[0].half_term_start"),
        ("2027-01-04", "2027-01-08", "terms[0].half_term_start"),
    ],
)
def test_half_term_lies_inside_its_term(half_term_start: str, half_term_end: str, field: str) -> None:
    term = replace(AUTUMN, half_term_start=D(half_term_start), half_term_end=D(half_term_end))
    errors = errors_of(with_terms(term))
    assert field in errors
    assert "outside the term (2026-09-03 to 2026-12-18)" in errors[field]


def test_half_term_may_touch_the_ends_of_its_term() -> None:
    term = replace(AUTUMN, half_term_start=D("2026-09-03"), half_term_end=D("2026-09-04"))
    assert validate_calendar(with_terms(term)) == []


def test_half_term_cannot_end_before_it_starts() -> None:
    term = replace(AUTUMN, half_term_start=D("2026-10-30"), half_term_end=D("2026-10-26"))
    assert errors_of(with_terms(term)) == {
        "terms[0].half_term_end": "2026-10-26 is before half-term starts on 2026-10-30"
    }


@pytest.mark.parametrize(
    ("half_term_start", "half_term_end", "field"),
    [("2026-10-26", None, "terms[0].half_term_end"), (None, "2026-10-30", "terms[0].half_term_start")],
)
def test_half_term_needs_both_dates(half_term_start: str | None, half_term_end: str | None, field: str) -> None:
    term = replace(
        AUTUMN,
        half_term_start=half_term_start and D(half_term_start),
        half_term_end=half_term_end and D(half_term_end),
    )
    errors = errors_of(with_terms(term))
    assert list(errors) == [field]
    assert "needs" in errors[field]
    assert term.in_half_term(D("2026-10-27")) is False  # a half-term with one date closes nothing until fixed


def test_a_closure_cannot_fall_at_a_weekend() -> None:
    errors = errors_of(with_closures(*CLOSURES, Closure(D("2026-09-05"), "inset")))
    assert errors == {"closures[5].day": "2026-09-05 is at a weekend; a closure can only fall on a weekday in term"}


@pytest.mark.parametrize(
    ("day", "words"),
    [
        ("2026-12-21", "not in any term"),
        ("2026-09-02", "not in any term"),
        ("2026-10-26", "Autumn half-term break"),
        ("2027-06-04", "Summer half-term break"),
    ],
)
def test_a_closure_falls_in_term_and_outside_half_term(day: str, words: str) -> None:
    errors = errors_of(with_closures(Closure(D("2026-09-07"), "inset"), Closure(D(day), "planned_closure")))
    assert list(errors) == ["closures[1].day"]
    assert words in errors["closures[1].day"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (None, None),
        ("am", "am"),
        ("pm", "pm"),
        (None, "am"),
        ("pm", None),
    ],
)
def test_two_closures_cannot_close_the_same_session(first: Session | None, second: Session | None) -> None:
    day = D("2026-11-25")
    calendar = with_closures(
        Closure(day, "inset", session=first),
        Closure(D("2026-11-26"), "inset"),
        Closure(day, "planned_closure", session=second),
    )
    errors = errors_of(calendar)
    assert list(errors) == ["closures[2].day"]
    assert errors["closures[2].day"].endswith("is already closed by closures[0]")


def test_closing_the_morning_and_the_afternoon_separately_is_fine() -> None:
    day = D("2026-11-25")
    calendar = with_closures(Closure(day, "inset", session="am"), Closure(day, "planned_closure", session="pm"))
    assert validate_calendar(calendar) == []


def test_a_third_closure_on_a_day_is_reported_once() -> None:
    day = D("2026-11-25")
    calendar = with_closures(Closure(day, "inset"), Closure(day, "inset"), Closure(day, "inset", session="pm"))
    errors = validate_calendar(calendar)
    assert [error.field for error in errors] == ["closures[1].day", "closures[2].day"]


def test_a_year_may_offer_195_school_and_inset_days() -> None:
    # The realistic year has 193 (191 with pupils, 2 INSET); two more weekdays reach the limit.
    assert validate_calendar(with_closures_and_summer_end("2027-07-23")) == []


def test_a_year_offering_more_than_195_school_and_inset_days_is_refused() -> None:
    assert errors_of(with_closures_and_summer_end("2027-07-26")) == {
        "terms": "the terms give 196 school and INSET days; a school year has at most 195"
    }


def test_planned_closures_do_not_count_towards_the_195_days() -> None:
    extra = Closure(D("2027-07-26"), "planned_closure")
    calendar = replace(with_closures_and_summer_end("2027-07-26"), closures=(*CLOSURES, extra))
    assert validate_calendar(calendar) == []


def test_every_error_is_reported_together() -> None:
    calendar = SchoolCalendar(
        2026,
        (replace(AUTUMN, half_term_end=None), replace(SPRING, start=D("2026-12-01"))),
        (Closure(D("2026-09-05"), "inset"), Closure(D("2027-04-01"), "inset")),
    )
    fields = [error.field for error in validate_calendar(calendar)]
    assert fields == ["terms[0].half_term_end", "terms[1].start", "closures[0].day", "closures[1].day"]


def test_school_days_are_counted_across_the_summer_from_both_years_calendars() -> None:
    summer = SchoolCalendar(academic_year=2025, terms=(Term("Summer", date(2026, 4, 13), date(2026, 7, 17)),))
    autumn = SchoolCalendar(academic_year=2026, terms=(Term("Autumn", date(2026, 9, 3), date(2026, 12, 18)),))
    years = CalendarYears.spanning({2025: summer, 2026: autumn}, date(2026, 7, 1))
    assert years.school_days(date(2026, 7, 15), date(2026, 9, 4)) == [
        date(2026, 7, 15), date(2026, 7, 16), date(2026, 7, 17), date(2026, 9, 3), date(2026, 9, 4),
    ]  # fmt: skip
    assert years.school_days_before(date(2026, 9, 4), 3) == date(2026, 7, 16)
    assert years.school_days_before(date(2026, 9, 4), 200) is None  # nothing before 1 August 2025 is walked
    # A year with no calendar of its own counts every weekday, as the register accepts marks then.
    assert CalendarYears.spanning({2026: autumn}, date(2026, 7, 1)).is_school_day(date(2026, 7, 20))
