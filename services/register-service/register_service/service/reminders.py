"""A register still not taken a set time after it closed: an event, once per school, day and
session, so notification-service can remind the attendance lead while the day is still on."""

from datetime import date, datetime, timedelta

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.clock import SCHOOL_TIME_ZONE
from attendance_shared.events import RegisterMissingV1
from register_service.repository import register_checks as check_repository
from register_service.service.events import publish_school_event
from register_service.service.schools import calendars_on

# Checks are kept this long: enough to see what was reminded lately; older ones are dropped.
KEEP_CHECKS_DAYS = 31
# Registers checked per run: at 09:30 a country's schools all fall due at once, and each run
# is one transaction; the rest are checked on the next runs, a minute apart.
CHECKS_PER_RUN = 2000


async def remind_missing_registers(session: AsyncSession, *, after: timedelta, now: datetime) -> int:
    """Check the registers of today that closed at least `after` ago and were not checked yet;
    publish `RegisterMissingV1` for each the calendar opened that still has no mark, and for
    each class (registration group) of a register that was taken whose pupils have none: a
    school whose teachers take registers class by class has one class's still missing. Returns
    how many were missing."""
    local = now.astimezone(SCHOOL_TIME_ZONE)
    cutoff = local - after
    if cutoff.date() != local.date():
        return 0  # just after midnight: nothing of today has closed yet
    day = local.date()
    candidates = await check_repository.unchecked_closed_by(session, day, cutoff.time(), limit=CHECKS_PER_RUN)
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
    of = {(c.urn, c.session): c for c in candidates}
    missing = [c for c in candidates if (c.urn, c.session) in (due - taken) & stored_first]
    classes = await check_repository.classes_unmarked(session, day, sorted(taken & stored_first))
    for c in missing:
        await publish_school_event(session, _missing(c, day, now), c.urn)
    for group in classes:
        register = of[(group.school_urn, group.session)]
        event = _missing(register, day, now, group=group.registration_group, pupils=group.pupils)
        await publish_school_event(session, event, register.urn)
    await check_repository.forget_before(session, day - timedelta(days=KEEP_CHECKS_DAYS))
    return len(missing) + len(classes)


def _missing(
    register: Row, day: date, now: datetime, *, group: str | None = None, pupils: int | None = None
) -> RegisterMissingV1:
    return RegisterMissingV1(
        school_urn=register.urn,
        la_code=register.la_code,
        date=day,
        session=register.session,
        closes_at=datetime.combine(day, register.closes, tzinfo=SCHOOL_TIME_ZONE),
        checked_at=now,
        registration_group=group,
        pupils=pupils,
    )
