"""A register still not taken a set time after it closed: an event, once per school, day and
session, so notification-service can remind the attendance lead while the day is still on."""

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.clock import SCHOOL_TIME_ZONE
from attendance_shared.events import RegisterMissingV1
from register_service.repository import register_checks as check_repository
from register_service.service.events import publish_school_event
from register_service.service.schools import calendars_on

# Checks are kept this long: enough to see what was reminded lately; older ones are dropped.
KEEP_CHECKS_DAYS = 31


async def remind_missing_registers(session: AsyncSession, *, after: timedelta, now: datetime) -> int:
    """Check every register of today that closed at least `after` ago and was not checked yet;
    publish `RegisterMissingV1` for each the calendar opened that still has no mark. Returns
    how many were missing."""
    local = now.astimezone(SCHOOL_TIME_ZONE)
    cutoff = local - after
    if cutoff.date() != local.date():
        return 0  # just after midnight: nothing of today has closed yet
    day = local.date()
    candidates = await check_repository.unchecked_closed_by(session, day, cutoff.time())
    if not candidates:
        return 0
    calendars = await calendars_on(session, sorted({c.urn for c in candidates}), day)
    due = {(c.urn, c.session) for c in candidates if c.session in calendars[c.urn].open_sessions(day)}
    taken = await check_repository.taken(session, day, sorted(due))
    rows = [
        {
            "school_urn": c.urn,
            "date": day,
            "session": c.session,
            "due": (c.urn, c.session) in due,
            "missing": (c.urn, c.session) in due - taken,
        }
        for c in candidates
    ]
    stored_first = await check_repository.record(session, rows)
    missing = [c for c in candidates if (c.urn, c.session) in (due - taken) & stored_first]
    for c in missing:
        closes_at = datetime.combine(day, c.closes, tzinfo=SCHOOL_TIME_ZONE)
        event = RegisterMissingV1(
            school_urn=c.urn, la_code=c.la_code, date=day, session=c.session, closes_at=closes_at, checked_at=now
        )
        await publish_school_event(session, event, c.urn)
    await check_repository.forget_before(session, day - timedelta(days=KEEP_CHECKS_DAYS))
    return len(missing)
