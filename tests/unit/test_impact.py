"""The impact arithmetic: before and after windows of school weeks, the change, the comparison
group's change, and the aggregates with and without a comparison group."""

from datetime import date, timedelta

from support_service.domain.impact import (
    METHOD,
    Intervention,
    Series,
    Unmeasured,
    band_of,
    measure,
    summarise,
    week_index,
    year_starts,
)

WEEKS = [date(2026, 9, 7) + timedelta(weeks=w) for w in range(12) if w != 7]  # week 8 is half-term
N = 3


def series(rates: list[int]) -> Series:
    """Ten possible sessions a week, `rate` of them attended."""
    return Series(possible=[10] * len(rates), attended=rates)


def started(upn: str, week: int, kind: str = "home_visit") -> Intervention:
    return Intervention(
        kind=kind, school_urn="140001", upn=upn, started_on=WEEKS[week] + timedelta(days=2), case_id="c"
    )


def run(intervention: Intervention, pupils: dict[str, Series], *, busy: dict | None = None, now: int = 11):
    unmeasured = Unmeasured()
    result = measure(
        intervention,
        weeks=WEEKS,
        year_start_of=year_starts(WEEKS),
        series=pupils,
        same_kind_windows=busy or {},
        n=N,
        current_week=now,
        unmeasured=unmeasured,
    )
    return result, unmeasured


def test_windows_are_school_weeks_either_side_of_the_start_skipping_half_term() -> None:
    assert week_index(WEEKS, date(2026, 10, 28)) == 7  # in half-term: the first school week after it
    assert week_index(WEEKS, date(2026, 11, 4)) == 7
    # Started in week 6; before = weeks 3, 4, 5; after = weeks 6, 7 (after half-term), 8.
    pupil = series([6, 6, 6, 6, 6, 6, 9, 9, 10, 10, 10])
    measured, _ = run(started("A", 6), {"A": pupil})
    assert measured is not None
    assert (measured.before, measured.after) == (60.0, 90.0 + 10 * 1 / 3)
    assert round(measured.change, 2) == 33.33


def test_a_change_without_comparable_pupils_has_no_comparison() -> None:
    measured, _ = run(started("A", 6), {"A": series([6] * 6 + [9] * 5), "B": series([10] * 11)})
    assert (measured is not None and measured.band == "severe") or measured.band == "persistent"
    assert (measured.comparison_change, measured.comparison_pupils) == (None, 0)
    summary = summarise("home_visit", [measured], Unmeasured())
    assert (summary.measured, summary.compared, summary.comparison_mean_change, summary.mean_difference) == (
        1,
        0,
        None,
        None,
    )


def test_comparable_pupils_in_the_same_band_without_the_intervention_give_the_expected_change() -> None:
    pupils = {
        "A": series([7] * 6 + [10] * 5),  # visited: 70% -> 100%, +30
        "G": series([7] * 6 + [8] * 5),  # visited: 70% -> 80%, +10
        "C": series([7] * 6 + [8] * 5),  # same band, no visit: +10
        "D": series([8] * 6 + [6] * 5),  # same band, no visit: 80% -> 60%, -20
        "E": series([7] * 6 + [10] * 5),  # same band, visited in those weeks for another reason: left out
        "F": series([10] * 11),  # under 5% absent at the start: not comparable
    }
    visited = {"A": [(6, 7)], "G": [(6, 7)], "E": [(5, 7)]}
    a, _ = run(started("A", 6), pupils, busy=visited)
    g, _ = run(started("G", 6), pupils, busy=visited)
    assert a is not None and g is not None and a.band == g.band == "persistent"
    assert (a.comparison_pupils, round(a.comparison_change, 2)) == (2, -5.0)  # C and D
    summary = summarise("home_visit", [a, g], Unmeasured(too_recent=1))
    assert (summary.measured, summary.mean_before, summary.mean_after) == (2, 70.0, 90.0)
    assert (summary.mean_change, summary.share_improved, summary.too_recent) == (20.0, 100.0, 1)
    # Without the comparison +20 looks like the visits' effect; pupils like them moved -5 anyway.
    assert (summary.compared, summary.compared_mean_change, summary.comparison_pupils) == (2, 20.0, 4)
    assert summary.comparison_mean_change == -5.0
    assert summary.mean_difference == 25.0


def test_an_intervention_is_measured_once_its_after_window_is_over() -> None:
    measured, unmeasured = run(started("A", 9), {"A": series([8] * 11)}, now=11)
    assert measured is None and (unmeasured.too_recent, unmeasured.no_sessions) == (1, 0)
    early, unmeasured = run(started("A", 1), {"A": series([8] * 11)})
    assert early is None and unmeasured.no_sessions == 1  # not N weeks of the year before it


def test_bands_follow_the_dfe_thresholds() -> None:
    assert [band_of(r) for r in (None, 4.99, 5, 9.99, 10, 49.99, 50)] == [
        None,
        None,
        "at_risk",
        "at_risk",
        "persistent",
        "persistent",
        "severe",
    ]
    assert "regression to the mean" in METHOD and METHOD.startswith("- Windows:")
