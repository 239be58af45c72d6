from datetime import date

import pytest

from attendance_shared.rules.figures import AttendanceFigures, academic_year_of


def test_possible_sessions_exclude_codes_that_are_not_possible() -> None:
    figures = AttendanceFigures.from_codes(["/", "\\", "L", "V", "I", "N", "D", "Y1", "#", "X"])
    assert figures.possible == 6
    assert figures.attended == 4
    assert figures.authorised == 1
    assert figures.unauthorised == 1
    assert figures.attendance_rate == pytest.approx(66.67)
    assert figures.overall_absence_rate == pytest.approx(33.33)


def test_exactly_ten_percent_is_persistent_absence() -> None:
    figures = AttendanceFigures.from_codes(["I"] * 2 + ["/"] * 18)
    assert figures.overall_absence_rate == 10.0
    assert figures.is_persistent_absence
    assert not figures.is_severe_absence


def test_just_under_ten_percent_is_not_persistent_absence() -> None:
    figures = AttendanceFigures.from_codes(["N"] * 99 + ["/"] * 892)  # 9.99%
    assert not figures.is_persistent_absence


def test_half_of_possible_sessions_missed_is_severe_absence() -> None:
    figures = AttendanceFigures.from_codes(["G"] * 10 + ["/"] * 10)
    assert figures.is_severe_absence and figures.is_persistent_absence


def test_no_possible_sessions_gives_no_rates_and_no_flags() -> None:
    figures = AttendanceFigures.from_codes(["D", "#"])
    assert figures.possible == 0
    assert figures.attendance_rate is None
    assert not figures.is_persistent_absence


def test_figures_add_up() -> None:
    a = AttendanceFigures.from_codes(["/", "I"])
    b = AttendanceFigures.from_codes(["N", "V"])
    assert a + b == AttendanceFigures.from_codes(["/", "I", "N", "V"])


@pytest.mark.parametrize(
    ("day", "year"), [(date(2025, 7, 31), 2024), (date(2025, 8, 1), 2025), (date(2026, 1, 5), 2025)]
)
def test_academic_year_runs_from_august(day: date, year: int) -> None:
    assert academic_year_of(day) == year
