"""Removing what the law no longer keeps: register entries 6 years after the day they were
made, and a pupil none of whose entries is still kept (attendance_shared.rules.retention).

A removed pupil's `PupilRecordsRemovedV1` goes to the outbox in the batch's transaction:
every service that keeps anything of the pupil removes it when it reads the event.
"""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attendance_shared import topics
from attendance_shared.clock import SCHOOL_TIME_ZONE
from attendance_shared.events import PupilRecordsRemovedV1
from attendance_shared.retention import RetentionReport, RetentionRule, published, retention_job, say
from attendance_shared.rules.retention import REGISTER_ENTRIES
from register_service.models import marks, outbox, register_checks, retention_runs
from register_service.repository import retention as repository
from register_service.service.events import publish_pupil_events

RULES = (
    RetentionRule(
        marks,
        marks.c.recorded_at,
        REGISTER_ENTRIES,
        why="an attendance register entry (each amendment its own) is kept 6 years from the day it was made",
    ),
    RetentionRule(
        register_checks,
        register_checks.c.checked_at,
        REGISTER_ENTRIES,
        why="whether a register was taken is part of the register's record; it names no pupil",
    ),
    RetentionRule(
        outbox,
        outbox.c.created_at,
        REGISTER_ENTRIES,
        only=published(outbox),
        why="the events copy register entries, and analytics' rebuild replays them: kept as the entries are",
    ),
)


async def remove_pupils(sessionmaker: async_sessionmaker[AsyncSession], report: RetentionReport, batch: int) -> None:
    """Pupils off roll none of whose entries is kept: counted in a dry run, else removed."""
    kept_from = REGISTER_ENTRIES.kept_from(report.today)
    if report.dry_run:
        async with sessionmaker() as session, session.begin():
            report.pupils_removed = await repository.count_pupils_past_retention(
                session, today=report.today, kept_from=kept_from
            )
        return
    while True:
        async with sessionmaker() as session, session.begin():
            pupils = await repository.lock_pupils_past_retention(
                session, today=report.today, kept_from=kept_from, limit=batch
            )
            if not pupils:
                return
            report.removed.update(await repository.remove_pupils(session, pupils))
            events = [
                PupilRecordsRemovedV1(
                    school_urn=pupil.school_urn,
                    la_code=pupil.la_code,
                    upn=pupil.upn,
                    last_entry_on=pupil.last_entry_at.astimezone(SCHOOL_TIME_ZONE).date(),
                    removed_on=report.today,
                )
                for pupil in pupils
            ]
            await publish_pupil_events(session, topics.PUPILS, events)
        report.pupils_removed += len(pupils)
        say(f"pupils: removed {report.pupils_removed:,} whose every register entry is past its period")


run_retention = retention_job(RULES, retention_runs, pupils=remove_pupils)
