from datetime import UTC, date, datetime

from analytics_service.domain.flags import rate_flags_due
from analytics_service.domain.session_changes import StoredSession, fold_changes, latest_per_session
from attendance_shared.events import SessionMarkedV1
from attendance_shared.rules.figures import AttendanceFigures
from tests.factories import make_upn

UPN = make_upn(serial=201)
DAY = date(2026, 9, 7)
KEY = ("100001", UPN, DAY, "am")


def mark(code: str, revision: int, previous: str | None = None, day: date = DAY) -> SessionMarkedV1:
    return SessionMarkedV1(
        school_urn="100001",
        la_code="201",
        upn=UPN,
        date=day,
        session="am",
        code=code,
        previous_code=previous,
        revision=revision,
        recorded_at=datetime.now(UTC),
    )


def test_a_first_mark_adds_one_possible_session() -> None:
    applied, deltas = fold_changes(latest_per_session([mark("N", 1)]), stored={})
    assert len(applied) == 1
    assert deltas[("100001", UPN, 2026)] == AttendanceFigures(possible=1, unauthorised=1)


def test_an_amendment_moves_the_session_between_categories() -> None:
    _, deltas = fold_changes(latest_per_session([mark("I", 2, "N")]), stored={KEY: StoredSession("N", 1)})
    assert deltas[("100001", UPN, 2026)] == AttendanceFigures(possible=0, authorised=1, unauthorised=-1)


def test_a_stale_or_duplicate_revision_changes_nothing() -> None:
    stored = {KEY: StoredSession("I", 2)}
    assert fold_changes(latest_per_session([mark("N", 1)]), stored) == ([], {})
    assert fold_changes(latest_per_session([mark("I", 2, "N")]), stored) == ([], {})


def test_reordered_revisions_in_one_batch_keep_the_latest() -> None:
    applied, deltas = fold_changes(latest_per_session([mark("I", 2, "N"), mark("N", 1)]), stored={})
    assert [m.code for m in applied] == ["I"]
    assert deltas[("100001", UPN, 2026)] == AttendanceFigures(possible=1, authorised=1)


def test_a_change_to_a_code_that_is_not_possible_removes_the_session() -> None:
    _, deltas = fold_changes(latest_per_session([mark("Y2", 2, "N")]), stored={KEY: StoredSession("N", 1)})
    assert deltas[("100001", UPN, 2026)] == AttendanceFigures(possible=-1, unauthorised=-1)


def test_rate_flags_wait_for_the_minimum_number_of_sessions() -> None:
    figures = AttendanceFigures.from_codes(["N"] * 2 + ["/"] * 17)
    assert rate_flags_due(figures, min_possible_sessions=20) == set()
    figures = AttendanceFigures.from_codes(["N"] * 2 + ["/"] * 18)
    assert rate_flags_due(figures, min_possible_sessions=20) == {"persistent_absence"}
    figures = AttendanceFigures.from_codes(["N"] * 10 + ["/"] * 10)
    assert rate_flags_due(figures, min_possible_sessions=20) == {"persistent_absence", "severe_absence"}
