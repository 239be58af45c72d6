"""The rules behind the views leaders, governors and LAs use: bands at their edges, spells
across weekends and half-terms, the "sessions needed" arithmetic, tiers, reasons, ranks."""

from datetime import date, timedelta

import numpy as np
import pytest

from analytics_service.domain.encoding import BYTE_OF_CODE, CATEGORY_OF_BYTE, SLOTS, slot_of
from analytics_service.domain.school_year import school_year
from analytics_service.domain.spells import persistent_absence_risk, spells_of
from analytics_service.service.views import _months, _same_school_day, rank
from attendance_shared.rules.bands import (
    MIN_POSSIBLE_SESSIONS_FOR_BANDS,
    band_index,
    band_indices,
    band_of_key,
    bands,
)
from attendance_shared.rules.calendar import SchoolCalendar, Term, calendar_from_values
from attendance_shared.rules.codes import ATTENDANCE_CODES
from attendance_shared.rules.explained import (
    explain,
    plain_time_missed,
    sessions_to_fall_below,
    sessions_to_reach,
    year_end_attendance,
)
from attendance_shared.rules.national_benchmarks import latest_reason_rates
from attendance_shared.rules.reasons import REASON_OF_CODE, REASONS
from attendance_shared.rules.tiers import DEFAULT_TIERS, Tier, tier_of, tier_problems
from tests.factories import calendar_body

# --- bands ------------------------------------------------------------------------------


def test_bands_are_ten_of_five_points_then_fifty_and_over() -> None:
    keys = [b.key for b in bands()]
    assert keys == ["0-5", "5-10", "10-15", "15-20", "20-25", "25-30", "30-35", "35-40", "40-45", "45-50", "50+"]
    assert [b.key for b in bands(10)] == ["0-10", "10-20", "20-30", "30-40", "40-50", "50+"]
    assert band_of_key("50+") == 10 and band_of_key("10-15") == 2
    assert band_of_key("10-20") is None and band_of_key("10-20", 10) == 1
    with pytest.raises(ValueError):
        bands(3)


@pytest.mark.parametrize(
    ("absent", "possible", "band"),
    [
        (0, 20, "0-5"),
        (1, 21, "0-5"),  # 4.76%
        (1, 20, "5-10"),  # exactly 5% opens the next band
        (2, 20, "10-15"),  # exactly 10%: persistent absence, and its band
        (19, 200, "5-10"),  # 9.5%
        (10, 20, "50+"),  # exactly 50%
        (9, 19, None),  # 19 possible sessions: not counted, whatever the rate
        (20, 20, "50+"),
        (99, 200, "45-50"),
    ],
)
def test_a_pupil_at_a_bound_is_in_the_band_it_opens(absent: int, possible: int, band: str | None) -> None:
    index = band_index(absent, possible)
    assert (bands()[index].key if index is not None else None) == band
    many = band_indices(np.array([absent]), np.array([possible]))
    assert int(many[0]) == (index if index is not None else -1)


def test_twenty_possible_sessions_is_the_first_that_counts() -> None:
    assert MIN_POSSIBLE_SESSIONS_FOR_BANDS == 20
    assert band_index(0, 19) is None and band_index(0, 20) == 0


# --- spells -----------------------------------------------------------------------------

AUTUMN = SchoolCalendar(
    academic_year=2026,
    terms=(Term("autumn", date(2026, 9, 3), date(2026, 12, 18), date(2026, 10, 26), date(2026, 10, 30)),),
)


def _pupil(absent: dict[date, str], calendar=AUTUMN, until: date = date(2026, 12, 18)) -> np.ndarray:
    """Category numbers of a pupil present at every session the school holds up to `until`,
    except the days given (a code for both sessions)."""
    year = school_year(calendar, 2026)
    codes = np.zeros(SLOTS, dtype=np.uint8)
    last = slot_of(until, "pm") + 1
    codes[:last][year.open_slots[:last]] = BYTE_OF_CODE["/"]
    for day, code in absent.items():
        for session in ("am", "pm"):
            codes[slot_of(day, session)] = BYTE_OF_CODE[code]
    return CATEGORY_OF_BYTE[codes]


def _days(first: date, last: date) -> list[date]:
    return [
        first + timedelta(days=n) for n in range((last - first).days + 1) if (first + timedelta(days=n)).weekday() < 5
    ]


def test_a_spell_runs_over_a_weekend() -> None:
    # FFT's example: absent Monday 9 to Tuesday 17 November is one spell of 14 sessions.
    days = _days(date(2026, 11, 9), date(2026, 11, 17))
    found = spells_of(_pupil({d: "I" for d in days}))
    assert (found.count, found.longest, found.sessions) == (1, 14, 14)


def test_days_at_another_school_neither_end_nor_lengthen_a_spell() -> None:
    days = _days(date(2026, 11, 9), date(2026, 11, 17))
    codes = {d: "O" for d in days} | {date(2026, 11, 11): "D", date(2026, 11, 12): "D"}
    found = spells_of(_pupil(codes))
    assert (found.count, found.longest) == (1, 10)


def test_a_spell_runs_over_half_term_and_an_inset_day_is_skipped() -> None:
    # Absent the Friday before half-term and the Monday after it: one spell of four sessions.
    found = spells_of(_pupil({date(2026, 10, 23): "I", date(2026, 11, 2): "I"}))
    assert (found.count, found.longest) == (1, 4)
    # INSET on 20 November (no sessions): absent Thursday 19th and Monday 23rd is one spell.
    body = calendar_body()
    inset = calendar_from_values(2026, body["terms"], body["closures"])
    assert spells_of(_pupil({date(2026, 11, 19): "N", date(2026, 11, 23): "N"}, inset)).count == 1
    # Where the Friday is a school day the pupil attended, the two are separate spells.
    assert spells_of(_pupil({date(2026, 11, 19): "N", date(2026, 11, 23): "N"})).count == 2


def test_attending_one_session_ends_a_spell_and_late_is_attendance() -> None:
    monday, tuesday = date(2026, 11, 9), date(2026, 11, 10)
    categories = _pupil({monday: "I", tuesday: "I"})
    categories[slot_of(tuesday, "am")] = CATEGORY_OF_BYTE[BYTE_OF_CODE["L"]]
    found = spells_of(categories)
    assert (found.count, found.longest, found.sessions) == (2, 2, 3)
    assert spells_of(_pupil({})).count == 0


def test_risk_reads_rate_and_spells_together() -> None:
    assert persistent_absence_risk(1, 19, 1) == "unknown"
    assert persistent_absence_risk(10, 100, 1) == "persistent"
    assert persistent_absence_risk(7, 100, 1) == "high"
    assert persistent_absence_risk(5, 100, 5) == "high"  # 5% with a spell every 20 sessions
    assert persistent_absence_risk(5, 100, 4) == "moderate"
    assert persistent_absence_risk(2, 100, 5) == "moderate"  # short, frequent spells
    assert persistent_absence_risk(2, 100, 2) == "low"


# --- sessions needed, year end, days and lessons ----------------------------------------


def test_sessions_needed_to_drop_below_ten_percent() -> None:
    assert sessions_to_fall_below(24, 143, 10) == 98
    assert 24 * 100 < 10 * (143 + 98) and not 24 * 100 < 10 * (143 + 97)
    assert sessions_to_fall_below(2, 20, 10) == 1  # exactly 10%: one more attended session is enough
    assert sessions_to_fall_below(1, 20, 10) == 0
    assert sessions_to_fall_below(10, 20, 50) == 1
    assert sessions_to_fall_below(0, 0, 10) == 0


def test_sessions_missed_in_a_row_to_reach_ten_percent() -> None:
    assert sessions_to_reach(13, 143, 10) == 2  # 15 of 145 is 10.3%; 14 of 144 is 9.7%
    assert sessions_to_reach(2, 20, 10) == 0
    assert sessions_to_reach(0, 9, 10) == 1  # 1 of 10


def test_the_helpdesk_example_ends_the_year_at_95_79() -> None:
    # 16 of 40 sessions absent is 40%; with no more absence the year ends at 364 of 380.
    assert year_end_attendance(16, 40, 340) == 95.79
    words = explain(16, 40, 340)
    assert "16 of 40 possible sessions missed: 40.0% (8 days, about 40 lessons)" in words.text
    assert "364 of 380: 95.79% attendance" in words.text
    assert words.persistent_absence and not words.severe_absence


def test_the_issue_example_in_words() -> None:
    words = explain(24, 143, 0)
    assert words.text.startswith("24 of 143 possible sessions missed: 16.8% (12 days, about 60 lessons).")
    assert "the next 98 sessions in a row would bring it below 10%" in words.text
    assert words.year_end_attendance_if_no_more_absence == round(100 * 119 / 143, 2)


def test_below_the_line_says_how_close_it_is() -> None:
    words = explain(13, 143, 0)
    assert "below the 10% of persistent absence: 2 more sessions missed in a row would reach it" in words.text
    assert not explain(0, 0, 0).persistent_absence
    assert explain(10, 20, 0).severe_absence


def test_time_missed_in_plain_words() -> None:
    assert plain_time_missed(24) == "12 days, about 60 lessons"
    assert plain_time_missed(1) == "0.5 days, about 2 lessons"
    assert plain_time_missed(2) == "1 day, about 5 lessons"


# --- tiers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attended", "possible", "tier"),
    [
        (97, 100, "excellent"),
        (96, 100, "expected"),  # exactly 96%: the tier that starts above 96 is the next one up
        (91, 100, "expected"),
        (90, 100, "persistent_absence"),  # exactly 90% is persistent absence, and so is its tier
        (50, 100, "severe_absence"),  # exactly 50% is severe absence
        (0, 100, "severe_absence"),
        (0, 0, None),
    ],
)
def test_tiers_agree_with_persistent_and_severe_absence(attended: int, possible: int, tier: str | None) -> None:
    assert tier_of(attended, possible, DEFAULT_TIERS) == tier


def test_tier_lists_that_cannot_be_used_are_refused() -> None:
    assert tier_problems(DEFAULT_TIERS) == []
    assert tier_problems([Tier("a", 90), Tier("b", 95), Tier("c", 0)])[0][:2] == (1, "above_percent")
    assert tier_problems([Tier("a", 90), Tier("a", 0)])[0][:2] == (1, "name")
    assert tier_problems([Tier("a", 90)]) == [
        (0, "above_percent", "the last tier must start above 0, to hold everyone")
    ]
    assert tier_problems([])[0][1] == "tiers"


# --- reasons, ranks, months, the same school day ----------------------------------------


def test_every_absence_code_has_one_reason() -> None:
    absence = {c for c, v in ATTENDANCE_CODES.items() if v.category.counts_as_absence}
    assert set(REASON_OF_CODE) == absence
    assert sum(len(r.codes) for r in REASONS) == len(absence)
    assert latest_reason_rates("primary")["illness"].rate == 3.38
    assert "holiday_not_granted" not in latest_reason_rates()  # not stated in a stored release: unknown


def test_equal_schools_share_a_position_and_percentiles_run_from_best() -> None:
    ranks = rank([95.0, 93.0, 95.0, None, 90.0], higher_is_better=True)
    assert [r.position for r in ranks] == [1, 3, 1, None, 4]
    assert [r.percentile for r in ranks] == [100.0, 33.3, 100.0, None, 0.0]
    lower = rank([12.0, 20.0], higher_is_better=False)
    assert [r.position for r in lower] == [1, 2] and lower[0].of == 2
    assert rank([5.0], higher_is_better=True)[0].percentile == 100.0


def test_months_of_a_period() -> None:
    assert _months(date(2026, 9, 3), date(2026, 11, 10)) == [
        (date(2026, 9, 3), date(2026, 9, 30)),
        (date(2026, 10, 1), date(2026, 10, 31)),
        (date(2026, 11, 1), date(2026, 11, 10)),
    ]


def test_last_year_is_cut_at_the_same_school_day() -> None:
    school_day = np.array([False, True, True, False, True, True])
    first, last = date(2025, 8, 1), date(2025, 8, 6)
    assert _same_school_day(3, school_day, first, last) == date(2025, 8, 5)  # the third school day
    assert _same_school_day(9, school_day, first, last) == last  # fewer school days last year
    assert _same_school_day(0, school_day, first, last) == first
