"""The inbox: which events a consumer has applied, written in the same transaction as their
effect, and forgotten once those events can no longer be delivered again."""

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from contextlib import suppress
from datetime import timedelta

from sqlalchemy import Column, DateTime, Index, MetaData, Table, Text, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attendance_shared.metrics import EVENTS_DUPLICATE, INBOX_PRUNED

log = logging.getLogger(__name__)

PRUNE_BATCH_ROWS = 5000
PRUNE_INTERVAL_S = 3600.0


def processed_events_table(metadata: MetaData) -> Table:
    return Table(
        "processed_events",
        metadata,
        Column("event_id", Text, primary_key=True),
        Column("topic", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        # For pruning: the oldest rows first, without reading the rest.
        Index("ix_processed_events_processed_at", "processed_at"),
    )


async def claim_new_events(
    session: AsyncSession, table: Table, events: Sequence[tuple[str, str]], *, service: str
) -> set[str]:
    """Record (event id, topic) pairs; return the ids that had not been applied before, and
    count the others in the service's `events_duplicate_total`."""
    if not events:
        return set()
    result = await session.execute(
        insert(table).on_conflict_do_nothing(index_elements=["event_id"]).returning(table.c.event_id),
        [{"event_id": event_id, "topic": topic} for event_id, topic in events],
    )
    fresh = set(result.scalars())
    for topic, count in Counter(topic for event_id, topic in events if event_id not in fresh).items():
        EVENTS_DUPLICATE.labels(service, topic).inc(count)
    return fresh


async def prune_processed_events(
    sessionmaker: async_sessionmaker[AsyncSession],
    table: Table,
    *,
    horizon: timedelta,
    service: str,
    batch_rows: int = PRUNE_BATCH_ROWS,
) -> int:
    """Remove the rows of events applied longer than `horizon` ago (`redelivery_horizon_ms`
    of the topics read): no copy of those events is left to deliver, so there is nothing for
    the rows to catch. A batch a transaction, oldest first, so a consumer's insert never
    waits long. Returns how many were removed."""
    removed = 0
    oldest = (
        select(table.c.event_id)
        .where(table.c.processed_at < func.now() - horizon)
        .order_by(table.c.processed_at)
        .limit(batch_rows)
    )
    while True:
        async with sessionmaker.begin() as session:
            result = await session.execute(delete(table).where(table.c.event_id.in_(oldest.scalar_subquery())))
        removed += result.rowcount
        INBOX_PRUNED.labels(service).inc(result.rowcount)
        if result.rowcount < batch_rows:
            return removed


class InboxPruner:
    """A service's worker that prunes its inbox every `interval_s`: without it the inbox
    keeps a row per event applied, for ever."""

    def __init__(
        self,
        *,
        service: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        table: Table,
        horizon: timedelta,
        interval_s: float = PRUNE_INTERVAL_S,
    ) -> None:
        self.service = service
        self._sessionmaker = sessionmaker
        self._table = table
        self._horizon = horizon
        self._interval_s = interval_s
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                removed = await prune_processed_events(
                    self._sessionmaker, self._table, horizon=self._horizon, service=self.service
                )
                if removed:
                    log.info(
                        "%s-service forgot %d applied events older than %s",
                        self.service,
                        removed,
                        self._horizon,
                        extra={"removed": removed},
                    )
            except Exception:  # housekeeping: tried again next time
                log.exception("pruning %s-service's inbox failed; will try again", self.service)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)

    def stop(self) -> None:
        self._stopping.set()
