"""A consumer batch larger than one statement's 32,767 bind parameters must apply, not stall.
(make bench found analytics retrying such a batch forever.)"""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from analytics_service.consumers.events import AnalyticsHandler
from analytics_service.domain.flags import FlagRules
from attendance_shared.events import SessionMarkedV1, make_event
from tests.factories import make_upn, mark_record
from tests.helpers import scalar

pytestmark = pytest.mark.integration


async def test_analytics_applies_a_batch_of_ten_thousand_marks_in_one_transaction(engine: AsyncEngine) -> None:
    upns = [make_upn(serial=i) for i in range(1000)]
    days = [date(2026, 9, 7) + timedelta(days=d) for d in range(5)]
    now = datetime.now(UTC)
    events = [
        (
            "attendance.marks.v1",
            make_event(
                SessionMarkedV1(
                    school_urn="100001",
                    la_code="201",
                    upn=upn,
                    date=day,
                    session=session,
                    code="/" if session == "am" else "\\",
                    revision=1,
                    recorded_at=now,
                ),
                source="/test",
                subject=f"100001:{upn}",
            ),
        )
        for upn in upns
        for day in days
        for session in ("am", "pm")
    ]
    handler = AnalyticsHandler(rules=FlagRules())
    async with async_sessionmaker(engine)() as session, session.begin():
        await handler(session, events)
    assert await scalar(engine, "SELECT count(*) FROM analytics.pupil_years") == 1000
    assert await scalar(engine, "SELECT sum(possible) FROM analytics.pupil_years") == 10_000


async def test_the_penalty_window_reaches_into_last_year_only_for_pupils_with_marks_there(
    engine: AsyncEngine,
) -> None:
    """Early in a year the rolling ten school weeks reach back into the last one. A pupil with
    unauthorised sessions last July is flagged from them; a pupil with the same September
    but no marks last year is not, and needs no last-year rows at all."""
    carried, new = make_upn(serial=901), make_upn(serial=902)
    july = [date(2026, 7, 13) + timedelta(days=d) for d in range(4)]  # Monday to Thursday
    september = [date(2026, 9, 7), date(2026, 9, 8)]
    handler = AnalyticsHandler(rules=FlagRules())
    last_year = [mark_record(carried, day, s, "G") for day in july for s in ("am", "pm")]
    this_year = [mark_record(upn, day, s, "O") for upn in (carried, new) for day in september for s in ("am", "pm")]
    for events in (last_year, this_year):
        async with async_sessionmaker(engine)() as session, session.begin():
            await handler(session, events)
    flags = (
        "SELECT upn, evidence_count, evidence_since FROM analytics.risk_flags"
        " WHERE flag = 'penalty_notice_threshold' AND active"
    )
    async with engine.connect() as conn:
        rows = (await conn.exec_driver_sql(flags)).all()
    assert [(r.upn, r.evidence_count, r.evidence_since) for r in rows] == [(carried, 12, july[0])]
