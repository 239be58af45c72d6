"""Scheduled returns: each LA's kinds compiled for the last complete period, once each."""

import logging
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.clock import today_in_england
from attendance_shared.errors import NotFound, Unprocessable
from la_returns_service.clients.analytics import AnalyticsClient, SupportClient
from la_returns_service.domain.periods import last_complete_period
from la_returns_service.repository import reports as report_store
from la_returns_service.repository import store
from la_returns_service.service import reports, returns

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


def last_ended_term(terms: list[dict], today: date) -> dict | None:
    """The latest term of the school's calendars that ended before today."""
    ended = [t for t in terms if date.fromisoformat(t["end"]) < today]
    return max(ended, key=lambda t: t["end"]) if ended else None


async def compile_one_due_report(
    session: AsyncSession, analytics: AnalyticsClient, support: SupportClient
) -> str | None:
    """Compile the first scheduled report that is due: for each school the schedule covers,
    its kind for the last term ended, once (an advisory lock, then a unique index)."""
    today = today_in_england()
    for entry in await report_store.all_schedules(session):
        urns = (
            [entry.code] if entry.scope == "school" else [s.urn for s in await store.schools_of_la(session, entry.code)]
        )
        for urn in urns:
            term = last_ended_term(await store.school_terms(session, urn), today)
            if term is None:
                continue  # no calendar, or no term ended yet: nothing to report on
            start = date.fromisoformat(term["start"])
            if await report_store.scheduled_exists(session, urn, entry.kind, start):
                continue
            if not await store.try_lock(session, f"report:{urn}:{entry.kind}:{start}"):
                continue
            if await report_store.scheduled_exists(session, urn, entry.kind, start):
                continue
            try:
                summary = await reports.compile_report(
                    session, analytics, support, urn=urn, kind=entry.kind, on=start, today=today, trigger="schedule"
                )
            except (NotFound, Unprocessable) as refused:
                log.info("a scheduled report was not compiled", extra={"urn": urn, "kind": entry.kind,
                                                                       "reason": refused.detail})  # fmt: skip
                continue
            return str(summary.id)
    return None
