"""The register's 6-year retention period, day by day, leap years included."""

from datetime import UTC, date, datetime, timedelta

from attendance_shared.clock import add_years
from attendance_shared.erasure import removal_segments
from attendance_shared.events import Event, PupilDeletedV1, PupilRecordsRemovedV1, make_event, pupil_key
from attendance_shared.rules.retention import (
    REGISTER_ENTRIES,
    Period,
    oldest_register_date_kept,
    register_entry_kept,
    start_of_day_in_england,
)
from tests.factories import make_upn

UPN = make_upn(serial=1)


def test_an_entry_is_kept_for_six_years_from_the_day_it_was_made_the_anniversary_included() -> None:
    assert register_entry_kept(date(2026, 12, 4), date(2032, 12, 4))
    assert not register_entry_kept(date(2026, 12, 4), date(2032, 12, 5))
    assert register_entry_kept(date(2026, 12, 5), date(2032, 12, 5))


def test_29_february_ends_its_period_on_28_february() -> None:
    assert add_years(date(2028, 2, 29), 6) == date(2034, 2, 28)
    assert register_entry_kept(date(2028, 2, 29), date(2034, 2, 28))
    assert not register_entry_kept(date(2028, 2, 29), date(2034, 3, 1))
    # On a 29 February, entries of the 28th six years before are a day past their period.
    assert oldest_register_date_kept(date(2032, 2, 29)) == date(2026, 3, 1)


def test_the_oldest_date_kept_splits_kept_from_removed_on_every_day_of_a_leap_cycle() -> None:
    today = date(2030, 1, 1)
    while today < date(2034, 12, 31):
        kept_from = oldest_register_date_kept(today)
        assert register_entry_kept(kept_from, today)
        assert not register_entry_kept(kept_from - timedelta(days=1), today)
        today += timedelta(days=1)


def test_a_day_starts_at_midnight_in_england_in_summer_and_in_winter() -> None:
    assert start_of_day_in_england(date(2026, 7, 1)) == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
    assert start_of_day_in_england(date(2026, 12, 1)) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert REGISTER_ENTRIES.oldest_date_kept(date(2032, 12, 5)) == date(2026, 12, 5)
    assert REGISTER_ENTRIES.kept_from(date(2032, 12, 5)) == datetime(2026, 12, 5, tzinfo=UTC)
    assert Period(days=30).oldest_date_kept(date(2026, 12, 31)) == date(2026, 12, 1)


def test_a_batch_is_cut_at_its_removals_and_keeps_its_order() -> None:
    def event(payload) -> tuple[str, Event]:
        return ("attendance.pupils.v1", make_event(payload, source="/tests", subject=pupil_key("100001", payload.upn)))

    removed = PupilRecordsRemovedV1(
        school_urn="100001", la_code="201", upn=UPN, last_entry_on=date(2026, 12, 3), removed_on=date(2032, 12, 4)
    )
    deleted = PupilDeletedV1(school_urn="100001", la_code="201", upn=UPN, left_on=date(2026, 12, 3), ground="a")
    before, removal, after = event(deleted), event(removed), event(deleted)
    assert list(removal_segments([before])) == [([before], [])]
    assert list(removal_segments([before, removal, removal, after])) == [
        ([before], [("100001", UPN)] * 2),
        ([after], []),
    ]
    assert list(removal_segments([removal])) == [([], [("100001", UPN)])]
    assert list(removal_segments([])) == []
