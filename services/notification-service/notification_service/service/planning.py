"""The planner's use case: chases that fall due with the passing school days, from stored state."""

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.clock import SCHOOL_TIME_ZONE
from attendance_shared.metrics import NOTIFICATIONS
from notification_service.domain import rules
from notification_service.domain.rules import PlannedMessage, PupilFacts
from notification_service.repository import store
from notification_service.service import outcomes
from notification_service.service.clock import Clock, utc_now

log = logging.getLogger(__name__)
# How far back the planner looks for an N still standing: longer than any chase stage can
# take, summer holiday included.
OUTSTANDING_WINDOW = timedelta(days=120)


def unknown_pupil(urn: str, upn: str) -> PupilFacts:
    """A pupil whose admission has not reached this service: no one to write to, which the
    stored message says."""
    return PupilFacts(school_urn=urn, upn=upn, forename="your child")


def day_of(moment: datetime) -> date:
    return moment.astimezone(SCHOOL_TIME_ZONE).date()


async def save_planned(session: AsyncSession, planned: Sequence[PlannedMessage], now: datetime) -> int:
    stored = await store.store_messages(session, planned, now)
    for message in stored:
        NOTIFICATIONS.labels(message.status).inc()
    await outcomes.record(session, stored, now)
    return len(stored)


class ChasePlanner:
    """Run periodically from stored state, so a restart loses no chase: every N still standing
    is checked against the school days since it, and what has fallen due is stored."""

    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock

    async def __call__(self, session: AsyncSession) -> int:
        now = self._clock()
        today = day_of(now)
        outstanding = await store.outstanding_unexplained(session, today - OUTSTANDING_WINDOW)
        if not outstanding:
            return 0
        urns = {r.school_urn for r in outstanding}
        schools = await store.school_facts(session, urns)
        calendars = await store.calendars_for(session, urns)
        pupils = await store.pupil_facts(session, {(r.school_urn, r.upn) for r in outstanding})
        planned: list[PlannedMessage] = []
        for r in outstanding:
            pupil = pupils.get((r.school_urn, r.upn)) or unknown_pupil(r.school_urn, r.upn)
            if pupil.left_on and today > pupil.left_on:
                continue
            school = schools[r.school_urn]
            school_days = calendars[r.school_urn].school_days_since(r.date, today)
            stage = rules.chase_stage_due(school.settings, school_days, r.chased)
            if stage is not None:
                planned += rules.chase_messages(school, pupil, r.date, stage, school_days)
            if school_days >= school.lead_after_school_days and not r.lead_told:
                planned.append(rules.unresolved_lead_message(school, pupil, r.date, school_days))
        return await save_planned(session, planned, now)
