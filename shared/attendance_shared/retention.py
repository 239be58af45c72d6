"""The retention job every service runs: `python -m <service>_service.retention`.

Each service lists its `RetentionRule`s: a table, the column saying when a row was made, how
long a row is kept and why (deploy/README.md, "How long records are kept", is the same list
for people). A run removes what is past its period in batches, each its own short
transaction, so the service's own writes never wait behind it; `--dry-run` counts instead.
Every run, dry or not, is a row of the service's `retention_runs`: when, as on which day, and
how many rows of each table (counts, never who).
"""

import argparse
import asyncio
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    MetaData,
    Table,
    delete,
    exists,
    func,
    insert,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attendance_shared.clock import today_in_england
from attendance_shared.db import make_engine, make_sessionmaker
from attendance_shared.rules.retention import Period
from attendance_shared.settings import CommonSettings


def retention_runs_table(metadata: MetaData) -> Table:
    return Table(
        "retention_runs",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("started_at", DateTime(timezone=True), nullable=False),
        Column("finished_at", DateTime(timezone=True), nullable=False),
        Column("run_on", Date, nullable=False),
        Column("dry_run", Boolean, nullable=False),
        Column("pupils_removed", Integer, nullable=False),
        Column("removed", JSONB, nullable=False),
    )


@dataclass(frozen=True)
class RetentionRule:
    """Rows of `table` made (`made_at`) longer ago than `period` are removed, with their
    `dependents` (a child table and its column referring to the table's key)."""

    table: Table
    made_at: Column
    period: Period
    why: str
    only: Callable[[], ColumnElement[bool]] | None = None  # a further condition, such as "published"
    dependents: tuple[tuple[Table, Column], ...] = ()

    @property
    def _key(self) -> list[Column]:
        return list(self.table.primary_key.columns)

    def _past(self, today: date) -> list[ColumnElement[bool]]:
        conditions = [self.made_at < self.period.kept_from(today)]
        if self.only is not None:
            conditions.append(self.only())
        return conditions

    async def count(self, session: AsyncSession, today: date) -> dict[str, int]:
        past = self._past(today)
        counts = {self.table.name: await session.scalar(select(func.count()).select_from(self.table).where(*past))}
        for child, refers in self.dependents:
            parents = select(self._key[0]).where(*past)
            counts[child.name] = await session.scalar(select(func.count()).where(refers.in_(parents)))
        return counts  # type: ignore[return-value]

    async def remove_batch(self, session: AsyncSession, today: date, limit: int) -> dict[str, int]:
        """Up to `limit` rows past their period, their dependents first."""
        key = self._key
        rows = (await session.execute(select(*key).where(*self._past(today)).limit(limit))).all()
        removed = {}
        if len(key) == 1:
            ids = [row[0] for row in rows]
            for child, refers in self.dependents:
                removed[child.name] = (await session.execute(delete(child).where(refers.in_(ids)))).rowcount
            these = key[0].in_(ids)
        else:  # keyed by several columns (no dependents refer to such a table here)
            these = tuple_(*key).in_([tuple(row) for row in rows])
        removed[self.table.name] = (await session.execute(delete(self.table).where(these))).rowcount if rows else 0
        return removed


# A published event's outbox row, in a service whose outbox is not the record anyone replays:
# kept a month, past the topics' 14 days and any redelivery, for the runbook's "publish again".
PUBLISHED_EVENTS = Period(days=30)


def published(outbox: Table) -> Callable[[], ColumnElement[bool]]:
    """Outbox rows the broker has acknowledged: none still queued in `outbox_pending`."""
    pending = outbox.metadata.tables[f"{outbox.schema}.outbox_pending"]
    return lambda: ~exists().where(pending.c.id == outbox.c.id)


def published_events(outbox: Table, *, record: str) -> RetentionRule:
    """The rule for a service whose outbox no one replays: `record` is what is kept instead."""
    return RetentionRule(
        outbox,
        outbox.c.created_at,
        PUBLISHED_EVENTS,
        only=published(outbox),
        why=f"its events reach the topics within seconds; {record} are the record",
    )


@dataclass
class RetentionReport:
    today: date
    dry_run: bool
    pupils_removed: int = 0
    removed: Counter[str] = field(default_factory=Counter)
    # Each rule's table: what made its rows past their period, and why that period.
    reasons: dict[str, str] = field(default_factory=dict)

    def lines(self, service: str) -> list[str]:
        verb = "would remove" if self.dry_run else "removed"
        rows = [
            f"  {table}: {count:,}" + (f" ({self.reasons[table]})" if table in self.reasons else "")
            for table, count in sorted(self.removed.items())
        ]
        return [f"{service}-service retention as on {self.today}: {verb} {self.pupils_removed:,} pupils", *rows]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def apply_rules(
    sessionmaker: async_sessionmaker[AsyncSession],
    rules: Sequence[RetentionRule],
    report: RetentionReport,
    *,
    batch_size: int,
) -> None:
    """Each rule in turn: counted in a dry run, otherwise removed batch by batch."""
    for rule in rules:
        oldest = rule.period.oldest_date_kept(report.today)
        report.reasons[rule.table.name] = f"made before {oldest}: {rule.why}"
        if report.dry_run:
            async with sessionmaker() as session, session.begin():
                report.removed.update(await rule.count(session, report.today))
            continue
        while True:
            async with sessionmaker() as session, session.begin():
                removed = await rule.remove_batch(session, report.today, batch_size)
            report.removed.update(removed)
            if removed[rule.table.name]:
                say(f"{rule.table.name}: removed {report.removed[rule.table.name]:,} rows past their period so far")
            if removed[rule.table.name] < batch_size:
                break


async def record_run(session: AsyncSession, runs: Table, report: RetentionReport, *, started_at: datetime) -> None:
    await session.execute(
        insert(runs).values(
            started_at=started_at,
            finished_at=func.now(),
            run_on=report.today,
            dry_run=report.dry_run,
            pupils_removed=report.pupils_removed,
            removed=dict(report.removed),
        )
    )


PupilStep = Callable[[async_sessionmaker[AsyncSession], RetentionReport, int], Awaitable[None]]


async def run_job(
    sessionmaker: async_sessionmaker[AsyncSession],
    today: date,
    dry_run: bool,
    batch_size: int,
    *,
    rules: Sequence[RetentionRule],
    runs: Table,
    pupils: PupilStep | None = None,
) -> RetentionReport:
    """A whole run: the pupils first where the service removes them itself (register), then
    each rule, then the run's record."""
    started_at = datetime.now(UTC)
    report = RetentionReport(today=today, dry_run=dry_run)
    if pupils is not None:
        await pupils(sessionmaker, report, max(1, batch_size // 10))
    await apply_rules(sessionmaker, rules, report, batch_size=batch_size)
    async with sessionmaker() as session, session.begin():
        await record_run(session, runs, report, started_at=started_at)
    return report


class RetentionJob(Protocol):
    def __call__(
        self, sessionmaker: async_sessionmaker[AsyncSession], today: date, dry_run: bool, batch_size: int = 5000
    ) -> Awaitable[RetentionReport]: ...


def retention_job(rules: Sequence[RetentionRule], runs: Table, pupils: PupilStep | None = None) -> RetentionJob:
    """A service's whole run, for its command and its tests."""

    def run(
        sessionmaker: async_sessionmaker[AsyncSession], today: date, dry_run: bool, batch_size: int = 5000
    ) -> Awaitable[RetentionReport]:
        return run_job(sessionmaker, today, dry_run, batch_size, rules=rules, runs=runs, pupils=pupils)

    return run


def retention_main(service: str, settings_type: type[CommonSettings], job: RetentionJob, doc: str) -> None:
    """The command line of a service's retention job."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="count what would be removed; remove nothing")
    parser.add_argument("--batch-size", type=int, default=5000, help="rows a transaction (pupils: a tenth)")
    parser.add_argument(
        "--on",
        type=date.fromisoformat,
        default=None,
        help="run as on this day (YYYY-MM-DD) instead of today; a later day is refused in production",
    )
    args = parser.parse_args()
    settings = settings_type()
    today = today_in_england()
    on = args.on or today
    if on > today and settings.environment == "production":
        parser.error(f"--on {on} is after today: it would remove entries the law still keeps")
    if not 10 <= args.batch_size <= 10_000:  # a batch's keys are one statement's parameters
        parser.error("--batch-size must be from 10 to 10000")

    async def run() -> RetentionReport:
        engine = make_engine(settings.database_url, service=f"{service}-retention")
        try:
            return await job(make_sessionmaker(engine), on, args.dry_run, args.batch_size)
        finally:
            await engine.dispose()

    print("\n".join(asyncio.run(run()).lines(service)))
