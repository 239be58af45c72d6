"""An LA's own choices: first-day reception pupils in new-pupil returns, and its schedule."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from la_returns_service.repository import store
from la_returns_service.schemas import LASettings, LASettingsIn, Schedule, ScheduleEntry


def _settings_of(la_code: str, opted_in_at: datetime | None) -> LASettings:
    return LASettings(la_code=la_code, include_reception_first_day=opted_in_at is not None, opted_in_at=opted_in_at)


async def get_la_settings(session: AsyncSession, la_code: str) -> LASettings:
    row = await store.get_la_settings(session, la_code)
    return _settings_of(la_code, row.reception_first_day_opted_in_at if row else None)


async def put_la_settings(session: AsyncSession, la_code: str, body: LASettingsIn) -> LASettings:
    current = await store.get_la_settings(session, la_code)
    opted_in_at = current.reception_first_day_opted_in_at if current else None
    if body.include_reception_first_day and opted_in_at is None:
        opted_in_at = datetime.now(UTC)  # asking again keeps the first request's moment
    elif not body.include_reception_first_day:
        opted_in_at = None
    row = await store.put_la_settings(session, la_code, opted_in_at)
    return _settings_of(la_code, row.reception_first_day_opted_in_at)


async def get_schedule(session: AsyncSession, la_code: str) -> Schedule:
    rows = await store.get_schedule(session, la_code)
    return Schedule(entries=[ScheduleEntry(kind=r.kind, frequency=r.frequency) for r in rows])


async def put_schedule(session: AsyncSession, la_code: str, body: Schedule) -> Schedule:
    await store.put_schedule(session, la_code, [e.model_dump() for e in body.entries])
    return body
