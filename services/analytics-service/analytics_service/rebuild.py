"""`python -m analytics_service.rebuild`: refill every analytics projection from the register's log.

Stop the analytics service first. The topics keep events for 14 days (attendance_shared.topics),
not for the years a register is kept, so the command does not read them: register-service's
outbox holds every event it published in the 6 years its entries are kept, and `GET /v1/events`
pages through it.

The command notes where the schools, pupils and marks topics end, empties the projections,
replays the whole log through the same handler the live consumer uses, and then commits the
noted ends for the service's consumer group, so the service, restarted, carries on from there.
Events published between the note and the end of the log are applied again by the service,
in order, which changes nothing: marks carry revisions, and everything else is upserted whole.
Flag events raised again during the replay are dropped unless `--publish-flags` is given: they
were published when first raised, and downstream services would only deduplicate them.
"""

import argparse
import asyncio
import sys
import time

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy import delete, func, select

from analytics_service.consumers.events import AnalyticsHandler
from analytics_service.models import outbox
from analytics_service.repository import projections
from analytics_service.settings import SERVICE_NAME, Settings
from attendance_shared import topics
from attendance_shared.auth import ServiceTokenAuth
from attendance_shared.db import make_engine, make_sessionmaker
from attendance_shared.events import InvalidEvent, parse_event
from attendance_shared.kafka import ensure_topics

REPLAYED_TOPICS = (topics.SCHOOLS, topics.PUPILS, topics.MARKS)


async def topic_ends(consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
    partitions = [
        TopicPartition(spec.name, p)
        for spec in REPLAYED_TOPICS
        for p in sorted(consumer.partitions_for_topic(spec.name) or range(spec.partitions))
    ]
    consumer.assign(partitions)  # assigned, not subscribed: it commits for the group without joining it
    return await consumer.end_offsets(partitions)


async def rebuild(
    settings: Settings, *, register_url: str, group_id: str, publish_flags: bool, page_size: int = 5000
) -> int:
    engine = make_engine(settings.database_url, service=f"{SERVICE_NAME}-rebuild")
    sessionmaker = make_sessionmaker(engine)
    handler = AnalyticsHandler(rules=settings.flag_rules())
    kafka = settings.kafka_client(SERVICE_NAME)
    await ensure_topics(kafka, REPLAYED_TOPICS)
    consumer = AIOKafkaConsumer(
        **kafka.options(),
        group_id=group_id,
        enable_auto_commit=False,
        client_id=f"{SERVICE_NAME}-rebuild",
    )
    register = httpx.AsyncClient(
        base_url=register_url, timeout=120, auth=ServiceTokenAuth(settings, f"{SERVICE_NAME}-rebuild")
    )
    await consumer.start()
    applied = skipped = 0
    try:
        # Noted before the log is read: everything published up to here is in the log by then.
        ends = await topic_ends(consumer)
        async with sessionmaker() as session, session.begin():
            first_new_outbox_id = await session.scalar(select(func.coalesce(func.max(outbox.c.id), 0)))
            await projections.truncate_projections(session)
        started, after = time.monotonic(), 0
        params = {"limit": page_size, "topic": [spec.name for spec in REPLAYED_TOPICS]}
        while True:
            response = await register.get("/v1/events", params={**params, "after": after})
            if response.status_code != 200:
                raise RuntimeError(f"register-service answered {response.status_code}: {response.text[:500]}")
            page = orjson.loads(response.content)
            events = []
            for item in page["events"]:
                try:
                    events.append((item["topic"], parse_event(orjson.dumps(item["event"]))))
                except InvalidEvent:
                    skipped += 1  # never published valid, so never applied live either
            if events:
                async with sessionmaker() as session, session.begin():
                    await handler(session, events)
            applied += len(events)
            rate = applied / max(time.monotonic() - started, 1e-6)
            print(f"\rreplayed {applied:,} events ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
            if page["next_after"] is None:
                break
            after = page["next_after"]
        print(file=sys.stderr)
        if not publish_flags:
            async with sessionmaker() as session, session.begin():
                await session.execute(delete(outbox).where(outbox.c.id > first_new_outbox_id))
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in ends.items()})
    finally:
        await consumer.stop()
        await register.aclose()
        await engine.dispose()
    print(f"rebuilt analytics from {applied:,} events ({skipped} that never validated were skipped)")
    return applied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--register-url", default="http://127.0.0.1:8001", help="register-service, whose event log is replayed"
    )
    parser.add_argument(
        "--group-id",
        default=f"{SERVICE_NAME}-service",
        help="consumer group to move to the end; with ACLs, analytics-service or one starting with it",
    )
    parser.add_argument("--publish-flags", action="store_true", help="publish the flag events the replay raises")
    args = parser.parse_args()
    asyncio.run(
        rebuild(Settings(), register_url=args.register_url, group_id=args.group_id, publish_flags=args.publish_flags)
    )


if __name__ == "__main__":
    main()
