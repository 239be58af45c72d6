"""The batch consumer on the real broker and database: at-least-once delivery, exactly-once effect."""

import asyncio
import time
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from prometheus_client import REGISTRY
from sqlalchemy import text

from analytics_service.consumers.events import AnalyticsHandler
from analytics_service.domain.encoding import BYTE_OF_CODE, slot_of
from analytics_service.domain.flags import FlagRules
from attendance_shared import topics
from attendance_shared.consumer import BatchConsumer
from attendance_shared.db import make_engine, make_sessionmaker
from attendance_shared.events import Event, SessionMarkedV1, make_event, pupil_key
from attendance_shared.kafka import KafkaPublisher, partition_of
from attendance_stack.kafka import KafkaCluster
from tests.factories import make_upn
from tests.helpers import CrashBeforeOffsetCommit, SimulatedCrash, read_topic, scalar, wait_until

pytestmark = pytest.mark.integration
UPN = make_upn(serial=500)
FIRST_DAY = date(2026, 9, 7)


def mark_event(day_offset: int, code: str, revision: int = 1, previous: str | None = None) -> Event:
    payload = SessionMarkedV1(
        school_urn="100001",
        la_code="201",
        upn=UPN,
        date=FIRST_DAY + timedelta(days=day_offset),
        session="am",
        code=code,
        previous_code=previous,
        revision=revision,
        recorded_at=datetime.now(UTC),
    )
    return make_event(payload, source="/tests", subject=pupil_key("100001", UPN))


async def publish(broker: KafkaCluster, *items: Event | bytes) -> None:
    publisher = KafkaPublisher(broker.bootstrap_servers, [topics.MARKS], client_id="test")
    key = pupil_key("100001", UPN).encode()
    await publisher.publish([(topics.MARKS.name, key, i.to_bytes() if isinstance(i, Event) else i, []) for i in items])
    await publisher.close()


def analytics_consumer(
    database_url: str, broker: KafkaCluster, cls: type[BatchConsumer] = BatchConsumer
) -> BatchConsumer:
    engine = make_engine(database_url, service="analytics-test")
    return cls(
        service="analytics",
        topics=[topics.MARKS],
        group_id="analytics-service",
        kafka=broker.bootstrap_servers,
        sessionmaker=make_sessionmaker(engine),
        inbox=None,  # analytics needs none: each session keeps the revision it came from
        handler=AnalyticsHandler(rules=FlagRules()),
        session_timeout_ms=6_000,
    )


async def totals(engine) -> tuple:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT possible, present, authorised, unauthorised FROM analytics.pupil_years WHERE upn = :u"),
                {"u": UPN},
            )
        ).first()
    return tuple(row) if row else ()


async def run_until(consumer: BatchConsumer, engine, possible: int) -> None:
    task = asyncio.create_task(consumer.run())
    try:
        await wait_until(lambda: _possible_at_least(engine, possible), what=f"{possible} possible sessions")
    finally:
        consumer.stop()
        await task


async def _possible_at_least(engine, n: int) -> bool:
    found = await totals(engine)
    return bool(found) and found[0] >= n


async def test_a_duplicated_event_is_applied_once(database_url: str, broker: KafkaCluster, engine) -> None:
    first, amended, second = mark_event(0, "N"), mark_event(0, "I", 2, "N"), mark_event(1, "/")
    # Delivered twice, and the amendment before the mark it amends.
    await publish(broker, amended, first, first, second, amended, second)
    consumer = analytics_consumer(database_url, broker)
    sentinel = mark_event(2, "/")
    task = asyncio.create_task(consumer.run())
    await wait_until(lambda: _possible_at_least(engine, 2), what="the first deliveries")
    await publish(broker, first, amended, second, sentinel)  # redelivered in a later batch too
    await wait_until(lambda: _possible_at_least(engine, 3), what="the sentinel")
    consumer.stop()
    await task
    assert await totals(engine) == (3, 2, 1, 0)  # possible, present, authorised, unauthorised
    codes = await scalar(engine, "SELECT codes FROM analytics.pupil_years WHERE upn = :u", u=UPN)
    assert codes[slot_of(FIRST_DAY, "am")] == BYTE_OF_CODE["I"]
    # What the alerts read: a recent poll, the brokers reached, and how fresh the events were.
    service = consumer.service
    assert time.time() - REGISTRY.get_sample_value("consumer_last_poll_timestamp_seconds", {"service": service}) < 60
    assert REGISTRY.get_sample_value("kafka_broker_reachable", {"service": service, "client": "consumer"}) == 1
    age = REGISTRY.get_sample_value("consumer_event_age_seconds", {"service": service, "topic": topics.MARKS.name})
    assert age is not None and 0 <= age < 60


async def test_a_consumer_that_dies_before_committing_offsets_does_not_double_count(
    database_url: str, broker: KafkaCluster, engine
) -> None:
    await publish(broker, *(mark_event(day, code) for day, code in enumerate(["/", "N", "I", "/"])))
    crashing = analytics_consumer(database_url, broker, CrashBeforeOffsetCommit)
    with pytest.raises(SimulatedCrash):
        await asyncio.wait_for(crashing.run(), 30)
    assert await totals(engine) == (4, 2, 1, 1)

    await publish(broker, mark_event(4, "N"))
    await run_until(analytics_consumer(database_url, broker), engine, possible=5)
    assert await totals(engine) == (5, 2, 1, 2)  # the first four were redelivered and changed nothing


async def test_events_that_do_not_validate_go_to_the_dead_letter_topic(
    database_url: str, broker: KafkaCluster, engine
) -> None:
    bad_code = orjson.loads(mark_event(1, "N").to_bytes())
    bad_code["data"]["code"] = "H"
    await publish(broker, b"{not json", orjson.dumps(bad_code), mark_event(0, "/"))
    await run_until(analytics_consumer(database_url, broker), engine, possible=1)
    assert await totals(engine) == (1, 1, 0, 0)
    dead = await read_topic(broker.bootstrap_servers, topics.dead_letter_topic("analytics").name, expected=2)
    reasons = sorted(dict(r.headers)["dead_letter_reason"].decode() for r in dead)
    assert len(reasons) == 2
    assert "not JSON" in reasons[0] or "not JSON" in reasons[1]
    assert any("not a 2024 attendance code" in r for r in reasons)
    assert {dict(r.headers)["original_topic"] for r in dead} == {topics.MARKS.name.encode()}


async def test_an_event_delivered_twice_in_one_batch_is_applied_once_and_counted(database_url: str) -> None:
    applied: list[tuple[str, Event]] = []

    async def handler(session, events) -> None:
        applied.extend(events)

    engine = make_engine(database_url, service="duplicate-test")
    consumer = BatchConsumer(
        service="duplicate-test",
        topics=[topics.MARKS],
        group_id="duplicate-test",
        kafka="127.0.0.1:1",  # never reached: the batch is handed over directly
        sessionmaker=make_sessionmaker(engine),
        inbox=None,
        handler=handler,
    )
    event = mark_event(0, "/")
    try:
        await consumer.apply([(topics.MARKS.name, event), (topics.MARKS.name, event)])
    finally:
        await engine.dispose()
    assert applied == [(topics.MARKS.name, event)]
    labels = {"service": "duplicate-test", "topic": topics.MARKS.name}
    assert REGISTRY.get_sample_value("events_duplicate_total", labels) == 1
    assert REGISTRY.get_sample_value("events_consumed_total", labels) == 1


def marks_partition() -> TopicPartition:
    key = pupil_key("100001", UPN).encode()
    return TopicPartition(topics.MARKS.name, partition_of(key, list(range(topics.MARKS.partitions))))


async def commit_position(broker: KafkaCluster, position: int) -> None:
    """The analytics group's committed offset on the pupil's partition, as an earlier run left it.

    Without auto-commit: aiokafka's default would commit this consumer's own position (the
    log's end, once its fetcher has reset to "latest") on stop, over the offset set here;
    the consumer under test then started at the end and waited for events already read."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap_servers, group_id="analytics-service", enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([marks_partition()])
        await consumer.commit({marks_partition(): position})
    finally:
        await consumer.stop()


def resets(reason: str) -> float:
    labels = {"service": "analytics", "topic": topics.MARKS.name, "reason": reason}
    return REGISTRY.get_sample_value("consumer_offset_resets_total", labels) or 0.0


async def test_a_position_retention_deleted_resumes_at_the_log_start_and_says_what_was_missed(
    database_url: str, broker: KafkaCluster, engine, caplog: pytest.LogCaptureFixture
) -> None:
    await publish(broker, *(mark_event(day, "/") for day in range(6)))
    await commit_position(broker, 1)  # the group had applied the first mark
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    await admin.start()
    try:  # retention deletes the first four before the group comes back
        await admin.delete_records({marks_partition(): RecordsToDelete(before_offset=4)})
    finally:
        await admin.close()
    before = resets("before-log-start")
    await run_until(analytics_consumer(database_url, broker), engine, possible=2)
    assert await totals(engine) == (2, 2, 0, 0)  # offsets 4 and 5: nothing skipped that was still there
    assert resets("before-log-start") == before + 1
    assert "offsets 1 to 3 of" in caplog.text and "were deleted before analytics-service read them" in caplog.text


async def test_a_position_past_the_log_end_reads_the_partition_again_without_counting_twice(
    database_url: str, broker: KafkaCluster, engine, caplog: pytest.LogCaptureFixture
) -> None:
    await publish(broker, *(mark_event(day, code) for day, code in enumerate(["/", "N", "I"])))
    await commit_position(broker, 50)  # the topic was re-created under the group's old position
    before = resets("past-log-end")
    await run_until(analytics_consumer(database_url, broker), engine, possible=3)
    assert await totals(engine) == (3, 1, 1, 1)
    assert resets("past-log-end") == before + 1
    assert "is past the log's end 3" in caplog.text


async def test_a_consumer_told_to_stop_while_the_broker_is_unreachable_stops_at_once(database_url: str) -> None:
    """It used to retry the broker until its supervisor gave up (20 s later on every shutdown,
    and on every integration test's teardown)."""

    async def handler(session, events) -> None:
        raise AssertionError("no broker, no batch")

    engine = make_engine(database_url, service="stop-test")
    consumer = BatchConsumer(
        service="stop-test",
        topics=[topics.MARKS],
        group_id="stop-test",
        kafka="127.0.0.1:1",
        sessionmaker=make_sessionmaker(engine),
        inbox=None,
        handler=handler,
    )
    running = asyncio.create_task(consumer.run())
    await asyncio.sleep(1.0)  # a few refused connections, and a backoff under way
    assert not running.done()
    assert REGISTRY.get_sample_value("kafka_broker_reachable", {"service": "stop-test", "client": "consumer"}) == 0
    consumer.stop()
    await asyncio.wait_for(running, timeout=5)
    await engine.dispose()
