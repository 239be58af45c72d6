"""`python -m analytics_service.rebuild`: refill every analytics projection from the topics.

Stop the analytics service first. The command empties the projections, replays the schools,
pupils and marks topics from their beginning to where they ended when it started, through
the same handler the live consumer uses, then commits the offsets it reached for the
service's consumer group so the service, restarted, carries on from there. Flag events raised again during
the replay are dropped unless `--publish-flags` is given: they were published when first
raised, and sending them again would only make downstream services deduplicate them.
"""

import argparse
import asyncio
import sys
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy import delete, func, select

from analytics_service.consumers.events import AnalyticsHandler
from analytics_service.models import outbox
from analytics_service.repository import projections
from analytics_service.settings import SERVICE_NAME, Settings
from attendance_shared import topics
from attendance_shared.db import make_engine, make_sessionmaker
from attendance_shared.events import InvalidEvent, parse_event
from attendance_shared.kafka import ensure_topics

REPLAYED_TOPICS = (topics.SCHOOLS, topics.PUPILS, topics.MARKS)


async def rebuild(settings: Settings, *, group_id: str, publish_flags: bool, batch: int = 5000) -> int:
    engine = make_engine(settings.database_url, service=f"{SERVICE_NAME}-rebuild")
    sessionmaker = make_sessionmaker(engine)
    handler = AnalyticsHandler(rules=settings.flag_rules())
    await ensure_topics(settings.kafka_bootstrap_servers, REPLAYED_TOPICS)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        client_id=f"{SERVICE_NAME}-rebuild",
    )
    await consumer.start()
    applied = skipped = 0
    try:
        partitions = [
            TopicPartition(spec.name, p)
            for spec in REPLAYED_TOPICS
            for p in sorted(consumer.partitions_for_topic(spec.name) or range(spec.partitions))
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        # Done with a partition once its last record before the captured end was handed back
        # to us; the consumer's fetch position runs ahead of that (it prefetches).
        next_offset = await consumer.beginning_offsets(partitions)
        remaining = {tp for tp, end in ends.items() if next_offset[tp] < end}
        total = sum(ends[tp] - next_offset[tp] for tp in partitions)
        async with sessionmaker() as session, session.begin():
            first_new_outbox_id = await session.scalar(select(func.coalesce(func.max(outbox.c.id), 0)))
            await projections.truncate_projections(session)
        started, idle_polls = time.monotonic(), 0
        while remaining:
            records = await consumer.getmany(*remaining, timeout_ms=1000, max_records=batch)
            idle_polls = 0 if records else idle_polls + 1
            if idle_polls > 30:
                raise RuntimeError(f"the broker stopped returning records before the end of {sorted(remaining)}")
            events = []
            for tp, messages in records.items():
                # Records past the captured end are applied too, not skipped: a fetch hands
                # back whole producer batches, and the local broker reports a partition's end
                # inside its last batch. The committed offsets say exactly what was applied.
                for message in messages:
                    try:
                        events.append((message.topic, parse_event(message.value)))
                    except InvalidEvent:
                        skipped += 1  # the live consumer parked it on the dead-letter topic
                if messages:
                    next_offset[tp] = messages[-1].offset + 1
                    if next_offset[tp] >= ends[tp]:
                        remaining.discard(tp)
            if events:
                async with sessionmaker() as session, session.begin():
                    await handler(session, events)
            applied += len(events)
            rate = applied / max(time.monotonic() - started, 1e-6)
            print(f"\rreplayed {applied:,} of {total:,} events ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        if not publish_flags:
            async with sessionmaker() as session, session.begin():
                await session.execute(delete(outbox).where(outbox.c.id > first_new_outbox_id))
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in next_offset.items()})
    finally:
        await consumer.stop()
        await engine.dispose()
    print(f"rebuilt analytics from {applied:,} events ({skipped} that never validated were skipped)")
    return applied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--group-id", default=f"{SERVICE_NAME}-service", help="consumer group to move to the end")
    parser.add_argument("--publish-flags", action="store_true", help="publish the flag events the replay raises")
    args = parser.parse_args()
    asyncio.run(rebuild(Settings(), group_id=args.group_id, publish_flags=args.publish_flags))


if __name__ == "__main__":
    main()
