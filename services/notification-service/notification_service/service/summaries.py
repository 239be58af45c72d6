"""Regular attendance summaries: which period is due, every pupil's figures from analytics,
and the batch stored a slice of pupils at a time.

A batch is recorded before it is planned and marked finished after; a batch left unfinished
(the process stopped) is planned again by the next pass. Every message's idempotency key
names the pupil, the period and the recipient, so planning again stores only what is not
yet stored, and nothing is sent twice. An advisory lock keeps two replicas off one batch.
"""

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attendance_shared.errors import Conflict, Unprocessable
from attendance_shared.rules.calendar import SchoolCalendar
from attendance_shared.rules.parent_summary import (
    SUMMARY_FREQUENCIES,
    Circumstances,
    SummaryPeriod,
    of_compulsory_school_age,
    period_due,
    summary_periods,
)
from notification_service.clients.analytics import AnalyticsClient
from notification_service.domain import rules
from notification_service.domain.policy import SchoolNotificationSettings
from notification_service.domain.rules import PlannedMessage, SummaryFigures
from notification_service.repository import store
from notification_service.service.clock import Clock, utc_now
from notification_service.service.planning import day_of, save_planned
from notification_service.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LocatedPeriod:
    period: SummaryPeriod
    year_start: date
    previous: SummaryPeriod | None


@dataclass(frozen=True, slots=True)
class PlannedBatch:
    located: LocatedPeriod
    pupils: int
    without_sessions: int  # on roll but with no possible session yet: nothing to tell
    messages: list[PlannedMessage]


def locate(calendars: Sequence[SchoolCalendar], key: str) -> LocatedPeriod | None:
    """A period by its key, in whichever frequency names it."""
    for calendar in calendars:
        for frequency in SUMMARY_FREQUENCIES:
            periods = summary_periods(calendar, frequency)
            for index, period in enumerate(periods):
                if period.key == key:
                    year_start = min(t.start for t in calendar.terms)
                    return LocatedPeriod(period, year_start, periods[index - 1] if index else None)
    return None


def due_period(calendars: Sequence[SchoolCalendar], frequency: str, today: date, catch_up_days: int) -> str | None:
    periods = sorted(
        (p for calendar in calendars for p in summary_periods(calendar, frequency)),  # type: ignore[arg-type]
        key=lambda p: p.end,
    )
    due = period_due(periods, today, catch_up_days)
    return due.key if due else None


async def located_period(session: AsyncSession, urn: str, key: str, today: date) -> LocatedPeriod:
    """The period `key` of the school's calendar, refused (naming `period`) when the calendar
    has no such period or it has not ended."""
    calendars = await store.school_calendars_of(session, urn)
    found = locate(calendars, key)
    if found is None:
        known = [p.key for c in calendars for f in SUMMARY_FREQUENCIES for p in summary_periods(c, f)]
        hint = f"; this school's are {', '.join(known[:30])}" if known else "; the school has no calendar here yet"
        raise Unprocessable.of_field("period", f"{key!r} is not a period of the school's calendar{hint}")
    if found.period.end >= today:
        raise Unprocessable.of_field("period", f"{key} ends on {found.period.end}: summaries go once it has ended")
    return found


async def _figures_by_pupil(
    analytics: AnalyticsClient, urn: str, start: date, end: date, *, habits: bool = False
) -> dict[str, dict]:
    """Each pupil's possible and attended sessions (two stays in one period added together)."""
    found: dict[str, dict] = defaultdict(lambda: {"possible": 0, "attended": 0})
    async for row in analytics.pupil_figures(urn, start, end, habits=habits):
        pupil = found[row["upn"]]
        pupil["possible"] += row["figures"]["possible_sessions"]
        pupil["attended"] += row["figures"]["attended_sessions"]
        if habits:
            pupil["weekdays"] = tuple(row.get("absent_sessions_by_weekday") or ())
            pupil["lates"] = tuple(row.get("late_on_recent_school_days") or ())
    return found


async def fetch_figures(analytics: AnalyticsClient, urn: str, located: LocatedPeriod) -> dict[str, SummaryFigures]:
    period = located.period
    year, term, previous = await asyncio.gather(
        _figures_by_pupil(analytics, urn, located.year_start, period.end),
        _figures_by_pupil(analytics, urn, max(period.term.start, located.year_start), period.end, habits=True),
        _figures_by_pupil(analytics, urn, located.previous.start, located.previous.end)
        if located.previous
        else asyncio.sleep(0, {}),
    )
    figures = {}
    for upn, y in year.items():
        t = term.get(upn, {})
        p = previous.get(upn)
        figures[upn] = SummaryFigures(
            year_possible=y["possible"],
            year_attended=y["attended"],
            term_possible=t.get("possible", 0),
            term_attended=t.get("attended", 0),
            previous_possible=p["possible"] if p else None,
            previous_attended=p["attended"] if p else None,
            absent_by_weekday=t.get("weekdays", ()),
            late_on_recent_days=t.get("lates", ()),
        )
    return figures


async def plan_batch(
    session: AsyncSession, analytics: AnalyticsClient, urn: str, located: LocatedPeriod
) -> PlannedBatch:
    """The summaries of every pupil on roll at the period's end, not stored: for a preview,
    or to store. Analytics is asked before the database, so no transaction waits on it."""
    figures = await fetch_figures(analytics, urn, located)
    tiers = await analytics.tiers(urn)
    period = located.period
    school = (await store.school_facts(session, {urn}))[urn]
    upns = await store.pupils_on_roll(session, urn, period.end)
    pupils = await store.pupil_facts(session, {(urn, upn) for upn in upns})
    circumstances = await store.circumstances_of(session, urn)
    messages: list[PlannedMessage] = []
    without = 0
    for upn in upns:
        pupil, found = pupils[(urn, upn)], figures.get(upn)
        if found is None or found.year_possible == 0:
            without += 1
            continue
        known = circumstances.get(upn)
        situation = Circumstances(
            of_compulsory_school_age=of_compulsory_school_age(pupil.date_of_birth, period.end),
            ehcp=pupil.sen_status == "ehcp",
            long_sickness=bool(known and known.long_sickness),
            open_support_case=bool(known and known.support_case_open),
        )
        messages += rules.summary_messages(school, pupil, period, found, situation, tiers)
    return PlannedBatch(located, len(upns) - without, without, messages)


async def store_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    urn: str,
    batch: PlannedBatch,
    *,
    pupils_per_commit: int,
    now: datetime,
) -> int:
    """Store the batch a slice of pupils at a time, each slice its own transaction, then mark
    the batch finished. Returns how many messages were newly stored."""
    by_pupil: dict[str | None, list[PlannedMessage]] = defaultdict(list)
    for message in batch.messages:
        by_pupil[message.upn].append(message)
    upns = list(by_pupil)
    stored = 0
    step = max(1, pupils_per_commit)
    for start in range(0, len(upns), step):
        async with sessionmaker.begin() as session:
            stored += await save_planned(session, [m for upn in upns[start : start + step] for m in by_pupil[upn]], now)
    async with sessionmaker.begin() as session:
        total = await store.stored_summaries(session, urn, batch.located.period.key)
        await store.finish_summary_batch(session, urn, batch.located.period.key, batch.pupils, total)
    return stored


class SummaryScheduler:
    """Plans each school's summaries once its period has ended (the school's frequency, its
    calendar), and finishes any batch a stopped process left unfinished."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        analytics: AnalyticsClient,
        settings: Settings,
        clock: Clock = utc_now,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._analytics = analytics
        self._settings = settings
        self._clock = clock
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("summary planning failed; will try again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._settings.summary_interval_s)
        await self._analytics.close()

    async def run_once(self) -> int:
        """Plan what is due; returns how many messages were stored."""
        today = day_of(self._clock())
        catch_up = self._settings.summary_catch_up_days
        # One read of every school's calendars, settings and recent batches a pass: a school
        # whose due period was already begun costs nothing more.
        async with self._sessionmaker.begin() as session:
            unfinished = [(b.school_urn, b.period) for b in await store.unfinished_summary_batches(session)]
            calendars = await store.all_calendars(session)
            settings = await store.all_school_settings(session)
            begun = await store.batches_since(session, today - timedelta(days=catch_up + 1))
        stored = 0
        for urn, key in unfinished:
            stored += await self._one_school(urn, key, today, resume=True)
        default = SchoolNotificationSettings().summaries
        for urn, years in calendars.items():
            summary = settings[urn].summaries if urn in settings else default
            key = due_period(years, summary.frequency, today, catch_up) if summary.enabled else None
            if key is not None and (urn, key) not in begun:
                stored += await self._one_school(urn, key, today)
        return stored

    async def _one_school(self, urn: str, key: str, today: date, *, resume: bool = False) -> int:
        """One school's batch; its failure (analytics down, say) is logged and tried again next
        pass, and never holds up the other schools."""
        try:
            return await self.plan_and_store(urn, key, today, resume=resume)
        except Exception:
            log.exception("summaries of %s for %s failed; will try again", urn, key)
            return 0

    async def plan_and_store(
        self, urn: str, key: str, today: date, *, resume: bool = False, requested_by: str | None = None
    ) -> int:
        """Plan and store one school's batch for a period, unless another replica holds it;
        a batch already started is only planned again as a resume."""
        async with self._sessionmaker() as lock_session, lock_session.begin():
            held = await lock_session.scalar(
                text("SELECT pg_try_advisory_xact_lock(hashtext(:key))"), {"key": f"summaries:{urn}:{key}"}
            )
            if not held:
                return 0
            async with self._sessionmaker.begin() as session:
                located = await located_period(session, urn, key, today)
                started = await store.start_summary_batch(
                    session, urn, key, located.period.start, located.period.end, requested_by
                )
            if not started and not resume:
                return 0
            async with self._sessionmaker.begin() as session:
                batch = await plan_batch(session, self._analytics, urn, located)
            stored = await store_batch(
                self._sessionmaker,
                urn,
                batch,
                pupils_per_commit=self._settings.summary_pupils_per_commit,
                now=self._clock(),
            )
        log.info("summaries of %s for %s: %d stored", urn, key, stored)
        return stored


async def send_now(
    scheduler: SummaryScheduler, session: AsyncSession, urn: str, key: str, today: date, actor: str
) -> LocatedPeriod:
    """Staff send a period's batch themselves (before the schedule would): refused once it was
    planned, so the batch still goes once. A batch whose planning stopped part-way (analytics
    did not answer, say) is finished instead, so a retry after a 503 completes it."""
    located = await located_period(session, urn, key, today)
    existing = await store.summary_batch(session, urn, key)
    if existing is not None and existing.finished_at is not None:
        raise Conflict(f"the summaries for {key} were already planned on {existing.started_at:%Y-%m-%d %H:%M}")
    await scheduler.plan_and_store(urn, key, today, resume=existing is not None, requested_by=actor)
    return located
