"""Removing what the law no longer keeps: register entries 6 years after the day they were
made, and a pupil none of whose entries is still kept (attendance_shared.rules.retention).

Each batch is its own short transaction, so registers taken meanwhile never wait behind the
job. A removed pupil's `PupilRecordsRemovedV1` goes to the outbox in the batch's transaction:
every service that keeps anything of the pupil removes it when it reads the event.
"""

import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attendance_shared import topics
from attendance_shared.clock import SCHOOL_TIME_ZONE
from attendance_shared.events import PupilRecordsRemovedV1
from attendance_shared.rules.retention import RetentionCutoff
from register_service.repository import retention as repository
from register_service.service.events import publish_pupil_events


@dataclass
class RetentionReport:
    today: date
    kept_from: date
    dry_run: bool
    pupils_removed: int = 0
    removed: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        verb = "would remove" if self.dry_run else "removed"
        head = f"register entries made before {self.kept_from} are past their 6 years on {self.today}"
        rows = [f"  {table}: {count:,}" for table, count in sorted(self.removed.items())]
        return [head, f"{verb} {self.pupils_removed:,} pupils and these rows:", *rows]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def run_retention(
    sessionmaker: async_sessionmaker[AsyncSession], *, today: date, dry_run: bool, batch_size: int = 500
) -> RetentionReport:
    cutoff = RetentionCutoff.register_entries(today)
    kept_from = cutoff.kept_from_instant
    report = RetentionReport(today=today, kept_from=cutoff.kept_from, dry_run=dry_run)
    started_at = datetime.now(UTC)
    if dry_run:
        async with sessionmaker() as session, session.begin():
            report.pupils_removed = await repository.count_pupils_past_retention(
                session, today=today, kept_from=kept_from
            )
            report.removed["marks"] = await repository.count_marks_past_retention(session, kept_from=kept_from)
            report.removed["outbox"] = await repository.count_outbox_past_retention(session, kept_from=kept_from)
    else:
        await _remove_pupils(sessionmaker, report, today=today, kept_from=kept_from, batch_size=batch_size)
        for table, remove in (
            ("marks", repository.remove_marks_past_retention),
            ("outbox", repository.remove_outbox_past_retention),
        ):
            while True:
                async with sessionmaker() as session, session.begin():
                    count = await remove(session, kept_from=kept_from, limit=batch_size * 10)
                report.removed[table] += count
                if count:
                    _say(f"{table}: removed {report.removed[table]:,} rows past their period so far")
                if count < batch_size * 10:
                    break
    async with sessionmaker() as session, session.begin():
        await repository.record_run(
            session,
            started_at=started_at,
            today=today,
            kept_from=cutoff.kept_from,
            dry_run=dry_run,
            pupils_removed=report.pupils_removed,
            removed=dict(report.removed),
        )
    return report


async def _remove_pupils(
    sessionmaker: async_sessionmaker[AsyncSession],
    report: RetentionReport,
    *,
    today: date,
    kept_from: datetime,
    batch_size: int,
) -> None:
    while True:
        async with sessionmaker() as session, session.begin():
            batch = await repository.lock_pupils_past_retention(
                session, today=today, kept_from=kept_from, limit=batch_size
            )
            if not batch:
                return
            report.removed.update(await repository.remove_pupils(session, batch))
            events = [
                PupilRecordsRemovedV1(
                    school_urn=pupil.school_urn,
                    la_code=pupil.la_code,
                    upn=pupil.upn,
                    last_entry_on=pupil.last_entry_at.astimezone(SCHOOL_TIME_ZONE).date(),
                    removed_on=today,
                )
                for pupil in batch
            ]
            await publish_pupil_events(session, topics.PUPILS, events)
        report.pupils_removed += len(batch)
        _say(f"pupils: removed {report.pupils_removed:,} whose every register entry is past its period")
