"""The LA returns' own rules, written out plainly: due dates, exemptions, periods, rows."""

from datetime import UTC, date, datetime

from la_returns_service.domain import admissions
from la_returns_service.domain.attendance_return import (
    ATTENDANCE_COLUMNS,
    FIGURE_COLUMNS,
    attendance_row,
    checksum,
    deletion_row,
    new_pupil_row,
    school_rows,
)
from la_returns_service.domain.periods import last_complete_period, period_problem


def test_new_pupil_return_is_due_by_the_end_of_the_fifth_day_after_entry() -> None:
    assert admissions.new_pupil_due_on(date(2026, 9, 7)) == date(2026, 9, 12)
    assert not admissions.is_overdue(date(2026, 9, 12), today=date(2026, 9, 12))
    assert admissions.is_overdue(date(2026, 9, 12), today=date(2026, 9, 13))


def test_reception_on_the_first_day_is_exempt_unless_the_la_asked_before_entry() -> None:
    first_day = date(2026, 9, 3)
    entered = datetime(2026, 8, 20, tzinfo=UTC)
    common = {
        "admission_date": first_day,
        "recorded_at": entered,
        "junior_year_group": "R",
        "first_day_of_year": first_day,
    }
    no_opt_in = admissions.ReceptionOptIn(None)
    assert admissions.is_first_day_junior_exempt(year_group="R", opt_in=no_opt_in, **common)
    # Not the most junior class, or not the first day: returned.
    assert not admissions.is_first_day_junior_exempt(year_group="3", opt_in=no_opt_in, **common)
    later = {**common, "admission_date": date(2026, 9, 4)}
    assert not admissions.is_first_day_junior_exempt(year_group="R", opt_in=no_opt_in, **later)
    # A school whose lowest year group is 3 (a junior school): its first-day year 3 are exempt.
    junior_school = {**common, "junior_year_group": "3"}
    assert admissions.is_first_day_junior_exempt(year_group="3", opt_in=no_opt_in, **junior_school)
    # The LA opted in: pupils entered after its request are returned, earlier ones are not.
    assert not admissions.is_first_day_junior_exempt(
        year_group="R", opt_in=admissions.ReceptionOptIn(datetime(2026, 8, 1, tzinfo=UTC)), **common
    )
    assert admissions.is_first_day_junior_exempt(
        year_group="R", opt_in=admissions.ReceptionOptIn(datetime(2026, 8, 21, tzinfo=UTC)), **common
    )
    # Without a calendar the first day is unknown: returned.
    unknown = {**common, "first_day_of_year": None}
    assert not admissions.is_first_day_junior_exempt(year_group="R", opt_in=no_opt_in, **unknown)


def test_year_groups_order_from_nursery_to_sixth_form() -> None:
    assert admissions.most_junior(["3", "R", "6", "N2"]) == "N2"
    assert admissions.most_senior(["3", "R", "6", "11"]) == "11"
    assert admissions.most_junior([]) is None


def test_no_deletion_return_for_the_most_senior_class_leaving_at_the_end_of_its_final_year() -> None:
    last_day = date(2027, 7, 21)
    senior = {"senior_year_group": "6", "last_day_of_year": last_day}
    assert admissions.is_deletion_exempt(year_group="6", left_on=last_day, **senior)
    assert not admissions.is_deletion_exempt(year_group="6", left_on=date(2027, 7, 1), **senior)
    assert not admissions.is_deletion_exempt(year_group="5", left_on=last_day, **senior)
    assert not admissions.is_deletion_exempt(
        year_group="6", left_on=last_day, senior_year_group="6", last_day_of_year=None
    )


def test_periods() -> None:
    today = date(2026, 11, 18)  # a Wednesday
    assert period_problem(date(2026, 11, 2), date(2026, 11, 1), today) == "the period ends before it starts"
    assert period_problem(date(2026, 11, 2), date(2026, 11, 19), today) == "the period lies in the future"
    assert period_problem(date(2026, 11, 2), today, today) is None
    assert last_complete_period("daily", today) == (date(2026, 11, 17), date(2026, 11, 17))
    assert last_complete_period("weekly", today) == (date(2026, 11, 9), date(2026, 11, 15))
    assert last_complete_period("monthly", today) == (date(2026, 10, 1), date(2026, 10, 31))
    assert last_complete_period("monthly", date(2027, 1, 1)) == (date(2026, 12, 1), date(2026, 12, 31))


RECORD = {
    "upn": "A123456789012",
    "legal_surname": "Taylor",
    "legal_forename": "Sam",
    "date_of_birth": "2016-03-04",
    "year_group": "5",
    "admission_date": "2026-09-07",
    "address": {"lines": ["12 Orchard Road"], "town": "Leeds", "postcode": "LS6 2AB"},
    "contacts": [{"name": "Alex Taylor", "relationship": "mother", "phone": "0113 496 0000"}, {"name": "Kim"}],
    "social_worker": {"name": "Pat Jones", "email": "pat@la.example"},
}
SCHOOL = {"urn": "100001", "name": "Oak Lane Primary"}


def test_new_pupil_and_deletion_rows_carry_the_register_entry() -> None:
    row = new_pupil_row(SCHOOL, RECORD, due_on="2026-09-12", overdue=True)
    assert row["address"] == "12 Orchard Road, Leeds, LS6 2AB"
    assert row["parents"] == "Alex Taylor (mother) | Kim"
    assert row["emergency_phones"] == "Alex Taylor: 0113 496 0000"
    assert (row["social_worker"], row["status"], row["due_on"]) == (
        "Pat Jones; pat@la.example",
        "overdue",
        "2026-09-12",
    )
    deletion = {"left_on": "2026-10-02", "ground": "a", "destination_school_urn": "100002"}
    gone = deletion_row(SCHOOL, RECORD, deletion)
    assert (gone["ground"], gone["ground_description"], gone["due_on"]) == (
        "a",
        "registered at another school",
        "2026-10-02",
    )
    # The ground met before registers that marked the pupil: due from the day it was met.
    earlier = deletion_row(SCHOOL, RECORD, {**deletion, "ground_met_on": "2026-09-28"})
    assert (earlier["left_on"], earlier["ground_met_on"], earlier["due_on"]) == (
        "2026-10-02",
        "2026-09-28",
        "2026-09-28",
    )


def test_school_lines_sum_each_cohort() -> None:
    base = {
        "possible_sessions": 20,
        "attended_sessions": 18,
        "authorised_absence_sessions": 2,
        "unauthorised_absence_sessions": 0,
        "persistent_absence": True,
        "severe_absence": False,
        "continuous_unauthorised_school_days": 0,
        "social_worker": False,
        "looked_after": False,
        "sen_status": "none",
    }
    lines = school_rows(
        SCHOOL,
        [
            base,
            {
                **base,
                "social_worker": True,
                "persistent_absence": False,
                "attended_sessions": 20,
                "authorised_absence_sessions": 0,
            },
        ],
    )
    by_cohort = {line["cohort"]: line for line in lines}
    assert by_cohort["all"]["pupils"] == 2 and by_cohort["all"]["overall_absence_rate"] == 5.0
    assert by_cohort["social_worker"]["persistent_absence_pupils"] == 0 and by_cohort["sen"]["pupils"] == 0


def test_checksum_pins_rows_and_their_order() -> None:
    assert checksum([{"a": 1}, {"b": 2}]) == checksum([{"a": 1}, {"b": 2}])
    assert checksum([{"a": 1}, {"b": 2}]) != checksum([{"b": 2}, {"a": 1}])


def test_a_period_before_any_register_is_refused() -> None:
    assert "earlier than any register" in (period_problem(date(1, 1, 1), date(2026, 9, 1), date(2026, 11, 1)) or "")


def test_an_attendance_row_carries_the_dfe_cohort_fields_of_the_record() -> None:
    figures = {name: 0 for name in FIGURE_COLUMNS} | {"persistent_absence": False}
    record = {"legal_surname": "Shah", "ethnicity": "APKN", "child_in_need": True, "registration_group": "6B"}
    row = attendance_row({"urn": "100001", "name": "Oak"}, "A201123424001", record, figures, 0, [])
    assert list(row) == list(ATTENDANCE_COLUMNS)
    assert (row["ethnicity"], row["child_in_need"], row["registration_group"]) == ("APKN", True, "6B")
    assert (row["child_protection_plan"], row["previously_looked_after"]) == (False, False)
