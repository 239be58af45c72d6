"""Scheduled returns: each LA's kinds compiled for the last complete period, once each."""

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.clock import today_in_england
from attendance_shared.errors import NotFound
from la_returns_service.clients.analytics import AnalyticsClient
from la_returns_service.domain.periods import last_complete_period
from la_returns_service.repository import store
from la_returns_service.service import returns

log = logging.getLogger(__name__)


async def compile_one_due(session: AsyncSession, analytics: AnalyticsClient, *, concurrency: int) -> str | None:
    """Compile the first scheduled return that is due and not yet compiled, in this
    transaction; one per run, so one failing LA delays the rest by a run at most. Two
    replicas, or a restart, never compile the same one twice: an advisory lock per LA, kind
    and period while compiling, and a unique index on scheduled returns behind it."""
    today = today_in_england()
    for entry in await store.all_schedules(session):
        start, end = last_complete_period(entry.frequency, today)
        if await store.scheduled_return_exists(session, entry.la_code, entry.kind, start, end):
            continue
        if not await store.try_lock(session, f"schedule:{entry.la_code}:{entry.kind}:{start}:{end}"):
            continue  # another replica is compiling it now
        if await store.scheduled_return_exists(session, entry.la_code, entry.kind, start, end):
            continue  # it committed between our look and our lock
        try:
            summary = await returns.compile_return(
                session,
                analytics,
                la_code=entry.la_code,
                kind=entry.kind,
                start=start,
                end=end,
                today=today,
                concurrency=concurrency,
                trigger="schedule",
            )
        except NotFound:
            log.info("no schools yet for a scheduled return", extra={"la_code": entry.la_code, "kind": entry.kind})
            continue
        return str(summary.id)
    return None
