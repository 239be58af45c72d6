"""The bench's generated year: statistical properties of one seeded run (pure data, no timing),
and how the bench groups what it sends."""

from datetime import date

import orjson
import pytest
from attendance_bench.__main__ import ADMISSIONS_PER_REQUEST, admission_calls
from attendance_bench.generator import (
    ACADEMIC_YEAR,
    LA_CODES,
    Admission,
    Summary,
    make_schools,
    school_calendar,
    school_year,
    summarise,
)

from attendance_shared.rules.calendar import DayKind, validate_calendar
from attendance_shared.rules.codes import LATE_CODES, NOTE_REQUIRED_CODES, Category
from attendance_shared.rules.identifiers import validate_upn

SEED = 7


@pytest.fixture(scope="module")
def year() -> Summary:
    # 4 schools × 250 pupils, a whole year: about 1,050 enrolments and 385,000 marks.
    return summarise(school_year(make_schools(4, 250, SEED), SEED))


def test_the_calendar_is_a_valid_190_day_year_with_inset_days_and_a_bank_holiday() -> None:
    calendar = school_calendar()
    assert validate_calendar(calendar) == []
    first, last = calendar.terms[0].start, calendar.terms[-1].end
    assert len(calendar.school_days(first, last)) == 190
    assert calendar.day_kind(date(2025, 9, 1)) is DayKind.INSET
    assert calendar.day_kind(date(2025, 10, 29)) is DayKind.HOLIDAY  # autumn half-term
    assert calendar.day_kind(date(2026, 5, 4)) is DayKind.PLANNED_CLOSURE
    assert calendar.academic_year == ACADEMIC_YEAR


def test_persistent_and_severe_absence_land_near_the_national_rates(year: Summary) -> None:
    assert year.enrolments > 1000
    assert 0.16 <= year.persistent_absence_share <= 0.22  # national 18-20%
    assert 0.01 <= year.severe_absence_share <= 0.035  # national about 2%
    assert 0.055 <= year.overall_absence_rate <= 0.085  # national about 7%
    assert year.above_95_share >= 0.5  # most pupils attend more than 95%


def test_every_code_family_appears(year: Summary) -> None:
    assert year.categories == set(Category)
    for code in ("/", "\\", "L", "U", "I", "M", "N", "O", "G", "C", "E", "V", "W", "K", "B", "D", "#", "S"):
        assert year.codes.get(code, 0) > 0, code
    # Illness dominates authorised absence, as nationally.
    assert year.codes["I"] > sum(year.codes.get(c, 0) for c in ("M", "C", "E", "R", "T", "C2"))


def test_the_year_has_amendments_admissions_and_deletions(year: Summary) -> None:
    assert year.amendments > 0 and year.deletions > 0
    assert year.admissions > 4 * 250 * 0.05 * 0.9  # September starters and mid-year joiners


def test_a_seed_gives_the_same_year_and_another_seed_a_different_one() -> None:
    def first_days(seed: int) -> list:
        days = school_year(make_schools(2, 40, seed), seed)
        return [next(days) for _ in range(8)]

    assert first_days(3) == first_days(3)
    assert first_days(3) != first_days(4)


def test_every_register_is_one_the_register_service_accepts() -> None:
    """Whole-session registers: each pupil on roll once, valid UPNs, minutes only on L and U,
    notes where the rules need them, nothing on a day the calendar has no register."""
    schools = make_schools(2, 60, SEED)
    calendars = {s.urn: s.calendar for s in schools}
    for school_day in school_year(schools, SEED):
        for register in school_day.registers:
            calendar = calendars[register.urn]
            assert calendar.day_kind(register.day) in (DayKind.SCHOOL_DAY, DayKind.PLANNED_CLOSURE)
            upns = [m["upn"] for m in register.marks]
            assert len(upns) == len(set(upns))
            for mark in register.marks:
                assert ("minutes_late" in mark) == (mark["code"] in LATE_CODES)
                if mark["code"] in NOTE_REQUIRED_CODES or mark["code"] == "#":
                    assert mark.get("note")
                if register.session not in calendar.open_sessions(register.day):
                    assert mark["code"] == "#"
        for amendment in school_day.amendments:
            assert amendment.day < school_day.day and amendment.body["code"] != amendment.previous_code
    for school in schools:
        for pupil in school.pupils:
            validate_upn(pupil.upn)
            if pupil.left_on is not None:
                assert pupil.left_on >= pupil.admission_date and pupil.ground


def test_a_schools_admissions_of_a_day_go_in_batches_and_a_lone_joiner_alone() -> None:
    intake = [Admission("100001", f"upn{i}", {"upn": f"upn{i}"}) for i in range(ADMISSIONS_PER_REQUEST + 5)]
    calls = admission_calls([*intake, Admission("100002", "lone", {"upn": "lone"})])
    assert [(c.url, c.pupils) for c in calls] == [
        ("/v1/schools/100001/admissions", ADMISSIONS_PER_REQUEST),
        ("/v1/schools/100001/admissions", 5),
        ("/v1/schools/100002/pupils", 1),
    ]
    assert orjson.loads(calls[1].body) == {"pupils": [a.body for a in intake[-5:]]}


def test_every_school_of_a_large_bench_has_a_real_la_number() -> None:
    schools = make_schools(len(LA_CODES) + 2, 1, seed=1)
    assert len({s.la_code for s in schools}) == len(LA_CODES)
    for school in schools:
        validate_upn(school.pupils[0].upn)  # the UPN carries the LA number: a made-up one is refused
