"""Analytics' pure rules on small, hand-made years: encoding, calendar arrays, flags, cohorts."""

import random
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from analytics_service.domain.absence_runs import YearRows, runs_of_school
from analytics_service.domain.encoding import BYTE_OF_CODE, SLOTS, STORED_CODES, slot_of
from analytics_service.domain.flags import (
    FlagRules,
    PreviousYear,
    evaluate_flags,
    penalty_threshold_days,
    withheld_rate_flags,
)
from analytics_service.domain.pupil_year import PupilYear
from analytics_service.domain.reports import cohort_tallies, patterns, tally, weekly, year_slices
from analytics_service.domain.school_year import census_terms, easter_sunday, school_year
from analytics_service.domain.year_matrix import YearMatrix, enrolment_mask
from attendance_shared.events import SessionMarkedV1
from attendance_shared.rules.absence_runs import (
    continuous_unauthorised_runs,
    cumulative_sickness,
    reportable,
    sickness_spells,
)
from attendance_shared.rules.calendar import SchoolCalendar, Term, WeekdayCalendar
from attendance_shared.rules.codes import ATTENDANCE_CODES

YEAR = 2025
WEEKDAYS = school_year(WeekdayCalendar(), YEAR)
FIRST_MONDAY = date(2025, 9, 1)


def school_days(count: int, start: date = FIRST_MONDAY) -> list[date]:
    days, day = [], start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def matrix(*pupils: dict[tuple[date, str], str], year: int = YEAR) -> YearMatrix:
    rows = []
    for codes in pupils:
        row = bytearray(SLOTS)
        for (day, session), code in codes.items():
            row[slot_of(day, session)] = BYTE_OF_CODE[code]
        rows.append(bytes(row))
    return YearMatrix.of(year, rows, [enrolment_mask(None, year)] * len(rows))


def sessions(days: list[date], am: str, pm: str | None = None) -> dict[tuple[date, str], str]:
    return {key: code for day in days for key, code in (((day, "am"), am), ((day, "pm"), pm or am))}


def present(days: list[date]) -> dict[tuple[date, str], str]:
    return sessions(days, "/", "\\")


def flags_of(codes: dict, year=WEEKDAYS, rules=FlagRules(), previous=None) -> dict:
    return evaluate_flags(matrix(codes), year, rules, previous)[0]


def test_every_2024_code_has_a_stored_byte_and_none_is_reused() -> None:
    assert set(BYTE_OF_CODE) == set(ATTENDANCE_CODES)
    assert len(set(STORED_CODES)) == len(STORED_CODES) and STORED_CODES[0] == ""


def test_a_mark_is_taken_only_when_its_revision_is_newer() -> None:
    def mark(code: str, revision: int) -> SessionMarkedV1:
        return SessionMarkedV1(
            school_urn="100001", la_code="201", upn="A" + "0" * 12, date=FIRST_MONDAY, session="am",
            code=code, revision=revision, recorded_at="2025-09-01T09:00:00Z",
        )  # fmt: skip

    year = PupilYear()
    assert year.apply(mark("I", 2))  # the amendment overtook the first mark
    assert not year.apply(mark("N", 1))
    assert not year.apply(mark("I", 2))
    stored = PupilYear.stored(bytes(year.codes), year.revisions_bytes(), 0)
    assert stored.apply(mark("M", 3)) and stored.codes[slot_of(FIRST_MONDAY, "am")] == BYTE_OF_CODE["M"]


def test_merging_two_years_of_the_same_pupil_ends_as_applying_every_mark_to_one() -> None:
    """The rebuild folds marks into a year in memory and merges it into a row written before."""

    def mark(day: date, session: str, code: str, revision: int) -> SessionMarkedV1:
        return SessionMarkedV1(
            school_urn="100001", la_code="201", upn="A" + "0" * 12, date=day, session=session,
            code=code, revision=revision, recorded_at="2025-09-01T09:00:00Z",
        )  # fmt: skip

    tuesday = FIRST_MONDAY + timedelta(days=1)
    earlier = [mark(FIRST_MONDAY, "am", "/", 1), mark(FIRST_MONDAY, "pm", "N", 1), mark(tuesday, "am", "I", 3)]
    later = [mark(FIRST_MONDAY, "pm", "M", 2), mark(tuesday, "am", "O", 2), mark(tuesday, "pm", "\\", 1)]
    one = PupilYear()
    for m in earlier + later:
        one.apply(m)
    stored, held = PupilYear(), PupilYear()
    for m in earlier:
        stored.apply(m)
    for m in later:
        held.apply(m)
    stored = PupilYear.stored(bytes(stored.codes), stored.revisions_bytes(), 0)
    stored.merge(held)
    assert stored.codes == one.codes and stored.amended == one.amended
    assert one.amended == {slot_of(FIRST_MONDAY, "pm"): 2, slot_of(tuesday, "am"): 3}
    assert STORED_CODES[stored.codes[slot_of(tuesday, "am")]] == "I"  # revision 3 stands over the later 2


def test_calendar_arrays_know_school_days_weeks_and_half_terms() -> None:
    calendar = SchoolCalendar(
        academic_year=YEAR,
        terms=(Term("Autumn", date(2025, 9, 3), date(2025, 12, 19), date(2025, 10, 27), date(2025, 10, 31)),),
    )
    year = school_year(calendar, YEAR)
    first = (date(2025, 9, 3) - date(2025, 8, 1)).days
    assert year.school_day[first] and not year.school_day[first - 1]
    assert not year.school_day[(date(2025, 10, 28) - date(2025, 8, 1)).days]
    assert [(h.name, h.start, h.end) for h in year.half_terms] == [
        ("Autumn 1", date(2025, 9, 3), date(2025, 10, 26)),
        ("Autumn 2", date(2025, 11, 1), date(2025, 12, 19)),
    ]
    assert len(year.school_weeks) == 15  # 16 calendar weeks, one of them half-term


def test_without_a_calendar_terms_are_the_census_terms() -> None:
    assert easter_sunday(2026) == date(2026, 4, 5) and easter_sunday(2025) == date(2025, 4, 20)
    assert [(t.start, t.end) for t in census_terms(2025)] == [
        (date(2025, 8, 1), date(2025, 12, 31)),
        (date(2026, 1, 1), date(2026, 4, 5)),
        (date(2026, 4, 6), date(2026, 7, 31)),
    ]


def test_rate_flags_wait_for_the_minimum_and_use_whole_numbers() -> None:
    days = school_days(10)
    one_in_ten = {**present(days), (days[0], "am"): "N", (days[1], "am"): "I"}  # 2 of 20 = 10%
    assert set(flags_of(one_in_ten)) >= {"persistent_absence"}
    assert "persistent_absence" not in flags_of(one_in_ten, rules=FlagRules(min_possible_sessions=21))
    half = {**present(days), **sessions(days[:5], "I")}
    assert {"persistent_absence", "severe_absence"} <= set(flags_of(half))


def test_penalty_threshold_counts_g_n_o_u_in_ten_school_weeks() -> None:
    days = school_days(70)
    codes = present(days)
    for day in days[:5]:  # ten sessions in week one: outside the window by week eleven
        codes[(day, "am")], codes[(day, "pm")] = "G", "O"
    assert flags_of({k: v for k, v in codes.items() if k[0] <= days[4]})["penalty_notice_threshold"].count == 10
    assert "penalty_notice_threshold" not in flags_of(codes)
    for day in days[-5:]:
        codes[(day, "am")], codes[(day, "pm")] = "N", "U"
    evidence = flags_of(codes)["penalty_notice_threshold"]
    assert (evidence.count, evidence.since, evidence.until) == (10, days[-5], days[-1])


def test_the_penalty_window_reaches_back_into_last_year() -> None:
    last_year = school_year(WeekdayCalendar(), YEAR - 1)
    july = school_days(5, date(2025, 7, 14))
    previous = PreviousYear(matrix(sessions(july, "G"), year=YEAR - 1), last_year)
    september = school_days(5)
    this_year = {**present(september), (september[0], "am"): "N"}
    flags = flags_of(this_year, previous=previous)
    assert flags["penalty_notice_threshold"].count == 11
    assert flags["penalty_notice_threshold"].since == date(2025, 7, 14)


def test_each_day_the_penalty_threshold_was_reached_is_kept_after_the_flag_clears() -> None:
    """Issue 22: a pupil who reached 10 sessions in October and stopped was unflagged by
    December with nothing left to say the threshold had been met."""
    days = school_days(80)
    codes = {**present(days), **sessions(days[20:25], "N")}  # 10 sessions in the fifth week
    reached_at = flags_of({k: v for k, v in codes.items() if k[0] <= days[24]})["penalty_notice_threshold"]
    assert (reached_at.count, reached_at.reached_on) == (10, days[24])
    assert "penalty_notice_threshold" not in flags_of(codes)  # ten school weeks on, the window is clear
    codes.update(sessions(days[70:75], "O"))  # and reached again in the fifteenth
    history = penalty_threshold_days(matrix(codes).categories[0], WEEKDAYS, slot_of(days[79], "pm") // 2, None)
    assert (history.reached_on, history.sessions_now) == ([days[24], days[74]], 10)
    assert flags_of(codes)["penalty_notice_threshold"].reached_on == days[74]


def test_the_threshold_reached_over_the_summer_is_reached_in_september() -> None:
    last_year = school_year(WeekdayCalendar(), YEAR - 1)
    july = school_days(4, date(2026 - 1, 7, 14))
    previous = PreviousYear(matrix(sessions(july, "G"), year=YEAR - 1), last_year)  # 8 sessions in July
    september = school_days(3)
    codes = {**present(september), (september[1], "am"): "N", (september[2], "pm"): "U"}
    flag = flags_of(codes, previous=previous)["penalty_notice_threshold"]
    assert (flag.count, flag.since, flag.reached_on) == (10, july[0], september[2])


def test_an_n_left_standing_in_july_is_overdue_in_september_as_the_register_counts() -> None:
    """Issue 22: school days count over the summer from both calendars, for the flag as for the
    register's own list: 16-18 July, then 1 and 2 September, make five."""
    summer = SchoolCalendar(academic_year=YEAR - 1, terms=(Term("Summer", date(2025, 4, 22), date(2025, 7, 18)),))
    last_year = school_year(summer, YEAR - 1)
    july = school_days(3, date(2025, 7, 16))
    previous = PreviousYear(matrix({**present(july), (july[0], "am"): "N"}, year=YEAR - 1), last_year)
    autumn = school_year(
        SchoolCalendar(academic_year=YEAR, terms=(Term("Autumn", FIRST_MONDAY, date(2025, 12, 19)),)), YEAR
    )
    september = school_days(3)
    assert "unexplained_absence_overdue" not in flags_of(present(september[:2]), autumn, previous=previous)
    flag = flags_of(present(september), autumn, previous=previous)["unexplained_absence_overdue"]
    assert (flag.count, flag.since, flag.until) == (1, july[0], july[0])
    resolved = PreviousYear(matrix({**present(july), (july[0], "am"): "O"}, year=YEAR - 1), last_year)
    assert "unexplained_absence_overdue" not in flags_of(present(september), autumn, previous=resolved)


def test_long_sickness_at_fifteen_school_days_of_illness() -> None:
    days = school_days(40)
    codes = {**present(days), **sessions(days[3:17], "I")}  # 14 days
    assert "long_sickness" not in flags_of(codes)
    codes.update(sessions(days[30:31], "I"))  # a 15th day, later: cumulative counts
    evidence = flags_of(codes)["long_sickness"]
    assert (evidence.count, evidence.since, evidence.until) == (30, days[3], days[30])


def test_an_n_is_overdue_after_five_school_days() -> None:
    days = school_days(6)
    codes = {**present(days[:5]), (days[0], "am"): "N"}
    assert "unexplained_absence_overdue" not in flags_of(codes)
    codes.update(present(days[5:6]))
    assert flags_of(codes)["unexplained_absence_overdue"].since == days[0]


def test_continuous_absence_skips_days_with_no_possible_session() -> None:
    days = school_days(25)
    codes = {**present(days[:2]), **sessions(days[2:], "N", "O")}
    codes.update(sessions(days[7:8], "#"))  # a closure neither breaks nor extends the run
    flags = flags_of(codes)
    assert flags["continuous_absence_10_days"].count == 22 and "continuous_absence_20_days" in flags
    assert flags["continuous_absence_10_days"].since == days[2]
    codes.update({(days[-3], "pm"): "I"})  # an authorised session breaks it
    assert "continuous_absence_10_days" not in flags_of(codes)


def test_at_risk_needs_the_band_and_a_falling_trend() -> None:
    days = school_days(40)
    codes = present(days)
    for day in days[-10:-3:2]:  # four mornings missed in the last weeks: 4 of 80 = 5%
        codes[(day, "am")] = "I"
    assert "at_risk_of_persistent_absence" in flags_of(codes)
    for day in days[:4]:  # the same absence spread to the start: no longer falling
        codes[(day, "am")] = "I"
    for day in days[-10:-3:2]:
        codes[(day, "am")] = "/"
    assert "at_risk_of_persistent_absence" not in flags_of(codes)


def test_sessions_outside_enrolment_count_nowhere() -> None:
    days = school_days(10)
    mask = enrolment_mask([(days[5], days[8])], YEAR)
    assert mask == [(slot_of(days[5], "am"), slot_of(days[8], "pm") + 1)]
    row = bytearray(SLOTS)
    for day in days:
        row[slot_of(day, "am")] = BYTE_OF_CODE["N"]
    m = YearMatrix.of(YEAR, [bytes(row)], [mask])
    assert tally(["p"], m, 0, SLOTS).figures.possible == 4


@dataclass
class Version:
    effective_from: date
    fsm_eligible: bool


def test_cohorts_use_the_attributes_in_force_on_each_date() -> None:
    days = school_days(10)
    m = matrix({**present(days), **sessions(days[6:], "N")})
    versions = {"p": [Version(days[0], False), Version(days[5], True)]}
    groups = cohort_tallies(["p"], m, versions, lambda v: "yes" if v.fsm_eligible else "no", 0, SLOTS)
    assert groups["no"].figures.possible == 10 and groups["no"].figures.absent == 0
    assert groups["yes"].figures.possible == 10 and groups["yes"].figures.absent == 8


def test_weeks_and_weekday_patterns() -> None:
    days = school_days(10)
    m = matrix({**present(days), (days[0], "am"): "N", (days[5], "am"): "N"})  # two Monday mornings
    weeks = weekly(m, WEEKDAYS, 0, SLOTS)
    assert [(w.week_start, w.figures.possible, w.figures.absent) for w in weeks] == [
        (date(2025, 9, 1), 10, 1),
        (date(2025, 9, 8), 10, 1),
    ]
    monday_am = next(p for p in patterns(m, WEEKDAYS, 0, SLOTS) if (p.weekday, p.session) == ("monday", "am"))
    assert (monday_am.possible, monday_am.absent) == (2, 2)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2025, 9, 1), date(2025, 9, 1), [(2025, 62, 64)]),
        (date(2025, 7, 31), date(2025, 8, 1), [(2024, 728, 730), (2025, 0, 2)]),
    ],
)
def test_year_slices(start: date, end: date, expected: list) -> None:
    assert year_slices(start, end) == expected


@pytest.mark.parametrize("seed", range(40))
def test_continuous_absence_flags_follow_the_shared_rule(seed: int) -> None:
    """Analytics judges runs over arrays; `absence_runs` is the rule written plainly (the LA
    attendance return uses it). On random years they must agree on the current run."""
    rng = random.Random(seed)
    days = school_days(rng.randint(5, 60))
    choices = ["/", "\\", "N", "O", "G", "U", "I", "M", "#", "D"]
    weights = [30, 30, 20, 10, 5, 5, 5, 3, 2, 2] if seed % 2 else [5, 5, 40, 20, 10, 5, 5, 3, 2, 2]
    codes = {(day, s): rng.choices(choices, weights)[0] for day in days for s in ("am", "pm") if rng.random() > 0.05}
    marked_days = sorted({day for day, _ in codes})
    plain = continuous_unauthorised_runs(
        (day, [codes[(day, s)] for s in ("am", "pm") if (day, s) in codes]) for day in marked_days
    )
    current = plain[-1].school_days if plain and plain[-1].ongoing else 0
    flags = flags_of(codes)
    got = flags["continuous_absence_10_days"].count if "continuous_absence_10_days" in flags else 0
    assert got == (current if current >= 10 else 0)
    if current >= 10:
        assert flags["continuous_absence_10_days"].since == plain[-1].start


def _random_codes(seed: int, days: list[date]) -> dict[tuple[date, str], str]:
    rng = random.Random(seed)
    choices = ["/", "\\", "N", "O", "G", "U", "I", "M", "#", "D"]
    weights = [30, 30, 20, 10, 5, 5, 15, 3, 2, 2] if seed % 2 else [5, 5, 30, 20, 10, 5, 25, 3, 2, 2]
    return {(day, s): rng.choices(choices, weights)[0] for day in days for s in ("am", "pm") if rng.random() > 0.05}


def _marked(codes: dict[tuple[date, str], str]) -> list[tuple[date, list[str]]]:
    return [
        (day, [codes[(day, s)] for s in ("am", "pm") if (day, s) in codes]) for day in sorted({day for day, _ in codes})
    ]


@pytest.mark.parametrize("seed", range(30))
def test_the_flag_and_the_sickness_return_count_illness_alike(seed: int) -> None:
    """Issue 22: seven pupils had a sickness return row and no long_sickness flag. With one
    definition (two illness sessions to a day), a pupil has the flag exactly when the year's
    illness reaches 15 days, and every spell that reaches 15 days is inside that total."""
    days = school_days(random.Random(seed).randint(10, 80))
    codes = _random_codes(seed, days)
    marked = _marked(codes)
    total = cumulative_sickness(marked)
    reached = total is not None and total.reached_on is not None
    assert ("long_sickness" in flags_of(codes)) == reached
    if reportable(sickness_spells(marked), days[0]):
        assert reached


@pytest.mark.parametrize("seed", range(20))
def test_a_schools_runs_are_the_shared_rule_on_each_pupils_marked_days(seed: int) -> None:
    """Analytics' `absence-runs` (which the LA returns read) reads each pupil's marked sessions
    out of the stored year and applies the shared rule to them, nothing more."""
    days = school_days(random.Random(seed).randint(10, 80))
    pupils = [_random_codes(seed * 7 + i, days) for i in range(4)]
    years = [YearRows(YEAR, [f"P{i}" for i in range(4)], matrix(*pupils), SLOTS)]
    for asked in ("continuous_unauthorised", "sickness"):
        found, _ = runs_of_school(years, asked, days[0], None, 100)
        for i, codes in enumerate(pupils):
            marked = _marked(codes)
            if asked == "continuous_unauthorised":
                want = reportable(continuous_unauthorised_runs(marked), days[0])
            else:
                want = reportable([*sickness_spells(marked), cumulative_sickness(marked)], days[0])
            got = [run for upn, _, run in found if upn == f"P{i}"]
            assert sorted(got, key=repr) == sorted(want, key=repr)


@pytest.mark.parametrize(
    ("absent", "possible", "withheld"),
    [
        (4, 16, ("persistent_absence",)),  # the late joiner: 25% absent
        (9, 16, ("persistent_absence", "severe_absence")),
        (1, 16, None),  # 6%: nothing to withhold
        (4, 20, None),  # enough sessions: the flag itself is raised
        (0, 0, None),
    ],
)
def test_a_rate_flag_withheld_for_too_few_sessions_is_named_with_why(absent, possible, withheld) -> None:
    found = withheld_rate_flags(absent, possible, FlagRules())
    if withheld is None:
        assert found is None
        return
    assert found is not None and found.flags == withheld
    assert (found.possible_sessions, found.needed) == (possible, 20)
    assert "20 possible sessions" in found.reason and f"has {possible}" in found.reason
