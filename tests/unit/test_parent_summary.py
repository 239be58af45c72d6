"""Choosing a parent summary's wording: compulsory school age, what a rate means in days, the
patterns worth saying, and a tone that fits the child's circumstances (issue 26)."""

from datetime import date

import pytest

from attendance_shared.rules.calendar import SchoolCalendar, calendar_from_values
from attendance_shared.rules.parent_summary import (
    Circumstances,
    Tone,
    choose_tone,
    compulsory_school_age_ends,
    compulsory_school_age_starts,
    days_missed_sentence,
    lateness_pattern,
    of_compulsory_school_age,
    period_due,
    summary_periods,
    weekday_pattern,
    what_it_means,
)
from attendance_shared.rules.tiers import DEFAULT_TIERS
from tests.factories import calendar_body

TIERS = [t.name for t in DEFAULT_TIERS]


@pytest.mark.parametrize(
    ("born", "starts"),
    [
        (date(2019, 2, 10), date(2024, 3, 31)),  # IPSEA's example: 5 on 10 February, of age on 31 March
        (date(2019, 3, 31), date(2024, 3, 31)),  # a fifth birthday on a prescribed day is that day
        (date(2019, 9, 1), date(2024, 12, 31)),
        (date(2019, 12, 31), date(2024, 12, 31)),
        (date(2020, 1, 1), date(2025, 3, 31)),
        (date(2020, 2, 29), date(2025, 3, 31)),  # a leap-day birthday falls on 1 March
    ],
)
def test_compulsory_school_age_begins_on_the_prescribed_day_after_the_fifth_birthday(born: date, starts: date) -> None:
    assert compulsory_school_age_starts(born) == starts
    assert not of_compulsory_school_age(born, starts.replace(day=starts.day - 1))
    assert of_compulsory_school_age(born, starts)


def test_compulsory_school_age_ends_on_the_last_friday_of_june_in_the_year_they_turn_16() -> None:
    assert compulsory_school_age_ends(date(2007, 9, 23)) == date(2024, 6, 28)  # IPSEA's example
    assert compulsory_school_age_ends(date(2008, 8, 31)) == date(2024, 6, 28)
    assert not of_compulsory_school_age(date(2007, 9, 23), date(2024, 6, 29))
    assert of_compulsory_school_age(None, date(2026, 9, 1))


def test_a_rate_said_as_time_missed() -> None:
    assert what_it_means(90) == "90% is half a day every week, about 19 days over a school year"
    assert what_it_means(95) == "95% is a quarter of a day every week, about 10 days over a school year"
    assert what_it_means(80) == "80% is a day every week, about 38 days over a school year"
    assert what_it_means(99.5) == "99.5% is less than a quarter of a day every week, about 1 day over a school year"
    assert what_it_means(100) == "100% is every day in school: no days missed over a school year"
    assert what_it_means(50) == "50% is about 2.5 days every week, about 95 days over a school year"


def test_patterns_worth_saying() -> None:
    assert weekday_pattern([3, 1, 0, 0, 1]) == "most absences are on Mondays (3 of 5 sessions missed)"
    assert weekday_pattern([2, 1, 1, 0, 1]) is None  # 2 of 5 is not most
    assert weekday_pattern([2, 0, 0, 0, 0]) is None  # too few to be a pattern
    assert lateness_pattern([True] * 5 + [False] * 8 + [True] * 3) == "late on 3 of the last 10 school days"
    assert lateness_pattern([True, True] + [False] * 10) is None


@pytest.mark.parametrize(
    ("circumstances", "tier", "before", "tone"),
    [
        (Circumstances(of_compulsory_school_age=False, ehcp=True), "severe_absence", None, Tone.NO_ABSENCE_PRESSURE),
        (Circumstances(of_compulsory_school_age=True, ehcp=True), "severe_absence", None, Tone.SUPPORTIVE),
        (Circumstances(of_compulsory_school_age=True, long_sickness=True), "persistent_absence", None, Tone.SUPPORTIVE),
        (Circumstances(of_compulsory_school_age=True, open_support_case=True), "expected", None, Tone.SUPPORTIVE),
        (Circumstances(of_compulsory_school_age=True), "excellent", None, Tone.PRAISE),
        (Circumstances(of_compulsory_school_age=True), "expected", None, Tone.ENCOURAGING),
        (Circumstances(of_compulsory_school_age=True), "persistent_absence", None, Tone.CONCERN),
        (Circumstances(of_compulsory_school_age=True), "persistent_absence", 80.0, Tone.PRAISE),  # up 5 points
        (Circumstances(of_compulsory_school_age=True), "persistent_absence", 84.5, Tone.CONCERN),  # up 0.5
    ],
)
def test_the_tone_fits_the_child_before_the_figures(
    circumstances: Circumstances, tier: str, before: float | None, tone: Tone
) -> None:
    assert (
        choose_tone(circumstances, tier=tier, tier_names=TIERS, attendance_now=85.0, attendance_before=before) == tone
    )


def test_days_missed_in_words() -> None:
    assert days_missed_sentence(2.5, 4, "autumn") == "2.5 days missed this autumn term and 4 days this school year"
    assert days_missed_sentence(1, 1, None) == "1 day missed this term, the whole of this school year so far"


def test_no_days_missed_is_said_plainly() -> None:
    assert days_missed_sentence(0, 0, "autumn") == "no days missed this school year"
    assert days_missed_sentence(0, 3, "spring") == "no days missed this spring term, and 3 days this school year"


def _calendar() -> SchoolCalendar:
    body = calendar_body()
    return calendar_from_values(body["academic_year"], body["terms"], body["closures"])


def test_half_termly_periods_are_the_halves_of_each_term() -> None:
    periods = summary_periods(_calendar(), "half_termly")
    assert [(p.key, p.start, p.end) for p in periods[:2]] == [
        ("2026-autumn-1", date(2026, 9, 3), date(2026, 10, 25)),  # to the day before half-term
        ("2026-autumn-2", date(2026, 10, 31), date(2026, 12, 18)),
    ]
    assert periods[0].label == "the first half of the autumn term"
    assert len(periods) == 6 and all(p.term.name in p.key for p in periods)


def test_a_term_named_as_schools_name_them_makes_a_plain_key() -> None:
    calendar = calendar_from_values(2025, [{"name": "Autumn 2025", "start": "2025-09-01", "end": "2025-12-19"}], [])
    assert [(p.key, p.label) for p in summary_periods(calendar, "half_termly")] == [
        ("2025-autumn-2025", "the Autumn 2025 term")  # no half-term given: the whole term
    ]


def test_termly_and_monthly_periods() -> None:
    calendar = _calendar()
    assert [p.key for p in summary_periods(calendar, "termly")] == ["2026-autumn", "2026-spring", "2026-summer"]
    months = summary_periods(calendar, "monthly")
    assert months[0].key == "2026-09" and months[0].start == date(2026, 9, 3)  # the year's first term day
    december = next(p for p in months if p.key == "2026-12")
    assert december.end == date(2026, 12, 18)  # due when the term ends, not on the 31st
    assert months[-1].key == "2027-07" and months[-1].end == date(2027, 7, 21)
    assert "2027-08" not in {p.key for p in months}  # no term day in August


def test_a_period_is_due_once_ended_and_only_for_a_few_days() -> None:
    periods = summary_periods(_calendar(), "half_termly")
    assert period_due(periods, date(2026, 10, 25), 7) is None  # the last day: not yet ended
    assert period_due(periods, date(2026, 10, 26), 7).key == "2026-autumn-1"
    assert period_due(periods, date(2026, 11, 1), 7).key == "2026-autumn-1"
    assert period_due(periods, date(2026, 11, 2), 7) is None  # a service started late sends no old batch
    assert period_due(periods, date(2026, 9, 10), 7) is None
