"""A consumer batch larger than one statement's 32,767 bind parameters must apply, not stall.
(make bench found analytics retrying such a batch forever.)"""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from analytics_service.consumers.events import AnalyticsHandler
from analytics_service.domain.flags import FlagRules
from attendance_shared.events import SessionMarkedV1, make_event
from tests.factories import make_upn
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
