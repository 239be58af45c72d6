"""The inbox: which events a consumer has applied, written in the same transaction as their effect."""

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import Column, DateTime, MetaData, Table, Text, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.metrics import EVENTS_DUPLICATE


def processed_events_table(metadata: MetaData) -> Table:
    return Table(
        "processed_events",
        metadata,
        Column("event_id", Text, primary_key=True),
        Column("topic", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
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
