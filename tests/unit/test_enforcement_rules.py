"""The rules of the legal stages: the 3-year limit on penalty notices, their amounts, the
sessions a notice may rely on, a Notice to Improve's judgement, and how long an education
supervision order may last."""

from datetime import date, timedelta

import pytest

from attendance_shared.rules.calendar import WeekdayCalendar, calendar_from_values
from attendance_shared.rules.enforcement import (
    EarlierNotice,
    ImprovementCriterion,
    NoticeSession,
    eso_extension_problem,
    improvement_weeks_problem,
    judge_improvement,
    limit_refusal,
    notice_amounts,
    rolling_window_start,
    session_problems,
)

ISSUED = date(2026, 11, 20)


def test_a_first_notice_is_80_within_21_days_and_160_within_28() -> None:
    amounts = notice_amounts([], ISSUED)
    assert (amounts.lower, amounts.full) == (80, 160)
    assert amounts.payable(ISSUED, ISSUED + timedelta(days=21)) == 80
    assert amounts.payable(ISSUED, ISSUED + timedelta(days=22)) == 160
    assert amounts.payable(ISSUED, ISSUED + timedelta(days=28)) == 160
    assert amounts.payable(ISSUED, ISSUED + timedelta(days=29)) is None  # unpaid: prosecution is considered


def test_a_second_notice_within_three_years_is_160_flat() -> None:
    amounts = notice_amounts([EarlierNotice(date(2024, 12, 1), withdrawn=False)], ISSUED)
    assert (amounts.lower, amounts.full) == (None, 160)
    assert amounts.payable(ISSUED, ISSUED + timedelta(days=3)) == 160


def test_a_notice_over_three_years_old_or_withdrawn_does_not_count() -> None:
    old = EarlierNotice(date(2023, 11, 20), withdrawn=False)  # exactly 3 years before: out
    withdrawn = EarlierNotice(date(2026, 1, 10), withdrawn=True)
    assert notice_amounts([old, withdrawn], ISSUED).lower == 80
    assert limit_refusal([old, withdrawn, EarlierNotice(date(2025, 3, 1), withdrawn=False)], ISSUED) is None


def test_a_third_notice_in_a_rolling_three_years_is_refused_naming_the_other_tools() -> None:
    earlier = [EarlierNotice(date(2024, 1, 15), withdrawn=False), EarlierNotice(date(2025, 6, 3), withdrawn=False)]
    why = limit_refusal(earlier, ISSUED)
    assert why is not None
    assert "at most 2 penalty notices" in why and "2024-01-15 and 2025-06-03" in why
    assert all(tool in why for tool in ("prosecution", "attendance contract", "education supervision order"))
    # The first rolls out of the window on its third anniversary.
    assert limit_refusal(earlier, date(2027, 1, 16)) is None


def test_the_rolling_window_skips_weeks_without_a_school_day() -> None:
    calendar = calendar_from_values(
        2026,
        [
            {"name": "autumn", "start": "2026-09-03", "end": "2026-12-18",
             "half_term_start": "2026-10-26", "half_term_end": "2026-10-30"},
        ],
        [],
    )  # fmt: skip
    # Ten school weeks back from Friday 20 November: the week of 16 Nov back to that of 7 Sep,
    # the half-term week skipped; counting every week, the tenth back is that of 14 Sep.
    assert rolling_window_start(calendar, ISSUED) == date(2026, 9, 7)
    assert rolling_window_start(WeekdayCalendar(), ISSUED) == date(2026, 9, 14)


def ten_sessions(start: date) -> list[NoticeSession]:
    return [NoticeSession(start + timedelta(days=d), s) for d in range(5) for s in ("am", "pm")]


def test_a_notice_relies_on_ten_unauthorised_sessions_in_the_window_each_used_once() -> None:
    sessions = ten_sessions(date(2026, 11, 9))
    codes = {(s.day, s.session): "G" for s in sessions}
    assert session_problems(sessions, codes=codes, used=set(), window_start=date(2026, 9, 14), issued_on=ISSUED) == []
    codes[(sessions[3].day, sessions[3].session)] = "I"
    used = {(sessions[5].day, sessions[5].session)}
    problems = session_problems(
        [*sessions, sessions[0]], codes=codes, used=used, window_start=date(2026, 11, 10), issued_on=ISSUED
    )
    fields = [field for field, _ in problems]
    assert fields == ["sessions[0]", "sessions[1]", "sessions[3]", "sessions[5]", "sessions[10]", "sessions[10]"]
    assert "outside the rolling 10 school weeks" in problems[0][1]
    assert "marked 'I'" in problems[2][1] and "already grounds another" in problems[3][1]
    assert "listed twice" in problems[4][1]


def test_fewer_than_ten_sessions_cannot_ground_a_notice() -> None:
    sessions = ten_sessions(date(2026, 11, 9))[:9]
    codes = {(s.day, s.session): "O" for s in sessions}
    problems = session_problems(sessions, codes=codes, used=set(), window_start=date(2026, 9, 14), issued_on=ISSUED)
    assert problems == [("sessions", "a notice needs at least 10 sessions of unauthorised absence, not 9")]


def test_no_unauthorised_absence_breaks_at_the_first_one() -> None:
    criterion = ImprovementCriterion("no_unauthorised_absence")
    running = judge_improvement(criterion, ["/", "\\", "I", "/"], period_over=False)
    assert (running.status, running.possible, running.attended) == ("on_track", 4, 3)
    broken = judge_improvement(criterion, ["/", "O", "/"], period_over=False)
    assert broken.status == "not_met" and broken.why == "1 session(s) of unauthorised absence in the period"
    assert judge_improvement(criterion, ["/", "\\"], period_over=True).status == "met"


def test_an_attendance_target_is_judged_on_the_sessions_so_far_then_on_the_period() -> None:
    criterion = ImprovementCriterion("attendance_at_least", 90)
    codes = ["/"] * 9 + ["I"]  # 90.0%
    assert judge_improvement(criterion, codes, period_over=False).status == "on_track"
    assert judge_improvement(criterion, [*codes, "N"], period_over=False).status == "off_track"
    final = judge_improvement(criterion, [*codes, "N"], period_over=True)
    assert final.status == "not_met" and final.attendance_percent == 81.82
    assert "81.82% against a target of 90%" in final.why
    assert judge_improvement(criterion, ["#", "X"], period_over=False).attendance_percent is None


@pytest.mark.parametrize(("weeks", "ok"), [(2, False), (3, True), (6, True), (7, False)])
def test_the_improvement_period_stays_within_the_las_bounds(weeks: int, ok: bool) -> None:
    assert (improvement_weeks_problem(weeks, minimum=3, maximum=6) is None) is ok


def test_an_education_supervision_order_lasts_at_most_three_years() -> None:
    made = date(2026, 2, 1)
    assert eso_extension_problem(made, date(2027, 2, 1), date(2028, 2, 1)) is None
    assert "at most 3 years" in (eso_extension_problem(made, date(2027, 2, 1), date(2029, 2, 2)) or "")
    assert "after the order's current expiry" in (eso_extension_problem(made, date(2027, 2, 1), date(2027, 1, 1)) or "")
