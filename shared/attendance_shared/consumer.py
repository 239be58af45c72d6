"""The batch consumer every service uses.

One poll is one unit of work: parse every record, park the ones that do not validate on
the dead-letter topic, then apply the rest and record their ids in the inbox inside one
database transaction, and only after that commit the Kafka offsets. Delivery is at least
once; the inbox makes the effect exactly once.
"""

import asyncio
import gc
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import timedelta

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError, NoOffsetForPartitionError, OffsetOutOfRangeError
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attendance_shared.acl import consumer_group
from attendance_shared.db import is_transient
from attendance_shared.events import Event, InvalidEvent, parse_event
from attendance_shared.inbox import InboxPruner, claim_new_events
from attendance_shared.kafka import REFUSALS, KafkaPublisher, KafkaTarget, client_config, ensure_topics, refusal_reason
from attendance_shared.metrics import (
    CONSUMER_BATCH_SECONDS,
    CONSUMER_EVENT_AGE,
    CONSUMER_LAG,
    CONSUMER_LAST_POLL,
    CONSUMER_OFFSET_RESETS,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    EVENTS_DUPLICATE,
    KAFKA_REACHABLE,
    KAFKA_REFUSED,
)
from attendance_shared.platform import ServiceContext, consumer_check
from attendance_shared.topics import TopicSpec, dead_letter_topic, redelivery_horizon_ms
from attendance_shared.tracing import TRACEPARENT_HEADER, traced

log = logging.getLogger(__name__)

BatchHandler = Callable[[AsyncSession, Sequence[tuple[str, Event]]], Awaitable[None]]
"""Applies (topic, event) pairs, in delivery order, within the caller's transaction; never commits."""


@contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch is parsed and applied. A batch keeps tens of
    thousands of objects alive until it is done, so every young collection in between walked
    them all and moved them on to be walked again: a quarter of the time to parse and fold a
    batch of mark events. They die by reference count once the batch is done; what cycles the
    batch made are collected as usual afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class BatchConsumer:
    def __init__(
        self,
        *,
        service: str,
        topics: Sequence[TopicSpec],
        group_id: str,
        kafka: KafkaTarget,
        sessionmaker: async_sessionmaker[AsyncSession],
        inbox: Table | None,
        handler: BatchHandler,
        max_records: int = 2000,
        max_partition_fetch_bytes: int = 1024 * 1024,
        session_timeout_ms: int = 10_000,
        fetch_max_wait_ms: int = 500,
        idempotent_topics: Sequence[TopicSpec] = (),
    ) -> None:
        self.service = service
        self.session_timeout_ms = session_timeout_ms
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._topic_specs = list(topics)
        self.topics = [t.name for t in topics]
        self.group_id = group_id
        self.kafka = client_config(kafka)
        self._sessionmaker = sessionmaker
        self._inbox = inbox
        # Topics whose events the handler applies idempotently by themselves (a mark by its
        # revision): the inbox does not record them, a row per mark for nothing.
        self._idempotent = frozenset(t.name for t in idempotent_topics)
        self._handler = handler
        self._max_records = max_records
        # A register is one record of a thousand marks: records alone no longer bound a batch,
        # so what is fetched a partition at a time does (aiokafka's default is 1 MiB).
        self._max_partition_fetch_bytes = max_partition_fetch_bytes
        self._dead_letter = dead_letter_topic(service)
        self._dead_letter_publisher = KafkaPublisher(
            self.kafka, [self._dead_letter], client_id=f"{service}-dead-letter"
        )
        self._stopping = asyncio.Event()
        self.last_poll = 0.0
        # Why the brokers refuse this consumer (credentials, ACLs), while they do: readiness
        # fails with it, so a rollout with a wrong secret or a missing ACL stops at the first pod.
        self.refusal: str | None = None

    def stop(self) -> None:
        """Ask the loop to finish its batch, commit, and leave the group."""
        self._stopping.set()

    async def run(self) -> None:
        consumer = await self._start_consumer()
        if consumer is None:
            return  # told to stop before the broker could be reached
        try:
            while not self._stopping.is_set():
                try:
                    batch = await consumer.getmany(timeout_ms=200, max_records=self._max_records)
                except NoOffsetForPartitionError as exc:
                    await self._start_from_beginning(consumer, exc.args[0])
                    continue
                except OffsetOutOfRangeError as exc:
                    await self._reset_out_of_range(consumer, exc.args[0])
                    continue
                except KafkaError as exc:
                    KAFKA_REACHABLE.labels(self.service, "consumer").set(0)
                    if isinstance(exc, REFUSALS):
                        self._refused(await refusal_reason(exc, self.kafka, doing="read"))
                    else:
                        log.warning("poll failed, polling again: %r", exc)
                    await asyncio.sleep(0.5 if self.refusal is None else 5.0)
                    continue
                self.last_poll = time.monotonic()
                if self.refusal is not None:  # once, not on every poll
                    self._refused(None)
                CONSUMER_LAST_POLL.labels(self.service).set(time.time())
                KAFKA_REACHABLE.labels(self.service, "consumer").set(1)
                if batch:
                    await self._apply_batch(consumer, batch)
        finally:
            await consumer.stop()
            await self._dead_letter_publisher.close()

    async def _start_consumer(self) -> AIOKafkaConsumer | None:
        """The started consumer, or None if told to stop while the broker was unreachable (a
        pod shutting down then stops at once, not at the end of its grace period)."""
        backoff = 0.2
        while True:
            try:
                # Created here too, so that a consumer started before any producer never
                # lets a metadata request create a topic with the broker's default partitions.
                await ensure_topics(self.kafka, self._topic_specs)
                consumer = AIOKafkaConsumer(
                    *self.topics,
                    **self.kafka.options(),
                    group_id=self.group_id,
                    client_id=self.service,
                    enable_auto_commit=False,
                    # No silent reset: `_start_from_beginning` and `_reset_out_of_range` decide.
                    auto_offset_reset="none",
                    max_poll_interval_ms=300_000,
                    session_timeout_ms=self.session_timeout_ms,
                    heartbeat_interval_ms=min(3_000, self.session_timeout_ms // 3),
                    fetch_max_wait_ms=self._fetch_max_wait_ms,
                    max_partition_fetch_bytes=self._max_partition_fetch_bytes,
                    # Stale leadership is refreshed within 30 s whatever path missed it
                    # (aiokafka's default is 5 minutes).
                    metadata_max_age_ms=30_000,
                )
                await consumer.start()
                return consumer
            except KafkaError as exc:
                KAFKA_REACHABLE.labels(self.service, "consumer").set(0)
                reason = await refusal_reason(exc, self.kafka, doing="read")
                if reason:
                    self._refused(reason)
                else:
                    log.warning("broker not reachable, retrying in %.1fs: %r", backoff, exc)
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), backoff)
                if self._stopping.is_set():
                    return None
                backoff = min(backoff * 2, 5.0)

    def _refused(self, reason: str | None) -> None:
        if reason and reason != self.refusal:
            log.error("%s-service consumer refused by the brokers: %s", self.service, reason)
        self.refusal = reason
        KAFKA_REFUSED.labels(self.service, "consumer").set(reason is not None)

    async def _start_from_beginning(self, consumer: AIOKafkaConsumer, partition: TopicPartition) -> None:
        """A partition this group has never committed on (a new group, a new topic): all of it.

        The offset is asked for here and then set, not left to `seek_to_beginning`: aiokafka
        (0.14) sends that reset to the leader its metadata names and, told the leader has
        moved, retries without refreshing the metadata. After a broker froze in the fault
        suite, a consumer stalled that way for three minutes, every partition of that broker
        with it. `beginning_offsets` refreshes the metadata and retries."""
        log.info("no committed offset for %s; reading it from its beginning", partition)
        beginnings = await consumer.beginning_offsets([partition])
        consumer.seek(partition, beginnings[partition])

    async def _reset_out_of_range(self, consumer: AIOKafkaConsumer, positions: dict[TopicPartition, int]) -> None:
        """The log moved under this group: its position is no longer in the partition.

        The policy is always the earliest offset still in the log, never the latest: what is
        read again is deduplicated by the inbox, what is skipped is lost. Below the log's start
        (retention deleted events this group never read) those events cannot be read from
        Kafka at all: the error log says which, and the projection must be rebuilt from the
        register's outbox. Past the log's end (the topic was re-created, or a leader without
        the newest records was elected), the whole log is read again."""
        partitions = list(positions)
        beginnings = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        for partition, position in positions.items():
            if position < beginnings[partition]:
                reason = "before-log-start"
                log.error(
                    "offsets %d to %d of %s were deleted before %s read them; reading on from %d. "
                    "Recover them as deploy/README.md says (Offsets outside the log).",
                    position,
                    beginnings[partition] - 1,
                    partition,
                    self.group_id,
                    beginnings[partition],
                    extra={"reason": reason, "position": position, "log_start": beginnings[partition]},
                )
            else:
                reason = "past-log-end"
                log.error(
                    "position %d of %s is past the log's end %d (topic re-created or unclean leader "
                    "election); reading the partition again from %d, duplicates are skipped",
                    position,
                    partition,
                    ends[partition],
                    beginnings[partition],
                    extra={"reason": reason, "position": position, "log_end": ends[partition]},
                )
            CONSUMER_OFFSET_RESETS.labels(self.service, partition.topic, reason).inc()
            consumer.seek(partition, beginnings[partition])

    async def _apply_batch(self, consumer: AIOKafkaConsumer, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        started = time.perf_counter()
        records = [record for messages in batch.values() for record in messages]
        log.debug("applying a batch of %d records", len(records))
        valid: list[tuple[str, Event]] = []
        sources: list[ConsumerRecord] = []  # the record of each valid event, to park it as it came
        invalid: list[tuple[ConsumerRecord, str]] = []
        with collection_paused():
            for record in records:
                try:
                    valid.append((record.topic, parse_event(record.value)))
                    sources.append(record)
                except InvalidEvent as exc:
                    invalid.append((record, str(exc)))
        if invalid:
            await self._send_to_dead_letter(invalid)
        # A batch is applied (and logged) as part of its first event's trace: the events it
        # writes in turn carry that trace on. Each event's own context stays in its headers.
        with traced(traceparent_of(records[0]) if records else None):
            await self._apply_with_retry(valid, sources)
        await self.commit_offsets(consumer, {tp: messages[-1].offset + 1 for tp, messages in batch.items()})
        # Freshness from each partition's last record (its Kafka timestamp, when it was
        # published), not from every event: a batch of marks is thousands of them.
        newest: dict[str, int] = {}
        for tp, messages in batch.items():
            highwater = consumer.highwater(tp)
            position = messages[-1].offset + 1
            if highwater is not None:
                CONSUMER_LAG.labels(self.service, tp.topic, str(tp.partition)).set(max(highwater - position, 0))
            newest[tp.topic] = max(newest.get(tp.topic, 0), messages[-1].timestamp)
        for topic, published_ms in newest.items():
            CONSUMER_EVENT_AGE.labels(self.service, topic).set(max(time.time() - published_ms / 1000, 0.0))
        CONSUMER_BATCH_SECONDS.labels(self.service).observe(time.perf_counter() - started)

    async def _apply_with_retry(self, events: list[tuple[str, Event]], sources: Sequence[ConsumerRecord]) -> None:
        """Apply the batch; while the database is away, retry it whole. Any other failure
        means some event cannot be applied: apply them one by one and park the bad ones."""
        backoff = 0.2
        while True:
            try:
                try:
                    await self.apply(events)
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    log.exception("batch failed; applying events one by one to find the bad one")
                    await self._isolate_poison(events, sources)
                return
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("database unavailable, retrying batch in %.1fs: %r", backoff, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def apply(self, events: Sequence[tuple[str, Event]]) -> None:
        """Apply events not seen before, and record them as seen, in one transaction."""
        with collection_paused():
            await self._apply_once(events)

    async def _apply_once(self, events: Sequence[tuple[str, Event]]) -> None:
        async with self._sessionmaker() as session, session.begin():
            unique: dict[str, tuple[str, Event]] = {}
            for topic, event in events:
                unique.setdefault(event.id, (topic, event))
            if self._inbox is None:
                new_ids = set(unique)
            else:
                new_ids = {event_id for event_id, (topic, _) in unique.items() if topic in self._idempotent}
                new_ids |= await claim_new_events(
                    session,
                    self._inbox,
                    [(event_id, topic) for event_id, (topic, _) in unique.items() if topic not in self._idempotent],
                    service=self.service,
                )
            fresh = [(topic, event) for event_id, (topic, event) in unique.items() if event_id in new_ids]
            if fresh:
                await self._handler(session, fresh)
        if fresh:
            log.info("applied %d events", len(fresh), extra={"topics": sorted({topic for topic, _ in fresh})})
        # Counted per topic, not per event: a label lookup per event was 2 to 3% of a
        # consumer's CPU. Events applied before are counted where they are claimed; here,
        # only an event delivered twice in one batch.
        for topic, count in Counter(topic for topic, _ in fresh).items():
            EVENTS_CONSUMED.labels(self.service, topic).inc(count)

        repeats = Counter(topic for topic, _ in events) - Counter(topic for topic, _ in unique.values())
        for topic, count in repeats.items():
            EVENTS_DUPLICATE.labels(self.service, topic).inc(count)

    async def _isolate_poison(self, events: list[tuple[str, Event]], sources: Sequence[ConsumerRecord]) -> None:
        for (topic, event), record in zip(events, sources, strict=True):
            try:
                await self.apply([(topic, event)])
            except Exception as exc:
                if is_transient(exc):
                    raise
                log.exception("event %s cannot be applied; sending it to the dead-letter topic", event.id)
                await self._send_to_dead_letter([(record, f"apply failed: {exc!r}")], what="unappliable")

    async def _send_to_dead_letter(self, invalid: list[tuple[ConsumerRecord, str]], *, what: str = "invalid") -> None:
        await self._publish_dead_letters(
            [
                (
                    r.topic,
                    r.key or b"",
                    r.value or b"",
                    f"{what} event at {r.topic}/{r.partition}@{r.offset}: {reason}",
                )
                for r, reason in invalid
            ]
        )

    async def _publish_dead_letters(self, items: list[tuple[str, bytes, bytes, str]]) -> None:
        parked = [dead_letter_record(self._dead_letter.name, *item) for item in items]
        backoff = 0.2
        while True:
            try:
                await self._dead_letter_publisher.publish(parked)
                break
            except (KafkaError, TimeoutError) as exc:
                log.warning("dead-letter publish failed, retrying: %r", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        for topic, *_ in items:
            EVENTS_DEAD_LETTERED.labels(self.service, topic).inc()

    async def commit_offsets(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await consumer.commit(offsets)
        except CommitFailedError as exc:
            # A rebalance took the partitions away: the new owner will redeliver from the
            # last committed offset and the inbox will skip what was already applied.
            log.info("offset commit refused after a rebalance; redelivery will follow: %r", exc)
        except KafkaError as exc:
            # The coordinator is away (a broker restarting). The batch is applied and in the
            # inbox; the next batch's commit covers these offsets, or, if this consumer stops
            # first, they are delivered again and skipped.
            log.warning("offset commit failed; the next commit covers it: %r", exc)


# The most of a record's value a dead letter keeps. A record may be as large as its topic
# allows (1 MiB by default), and the reason headers come on top: kept whole, the largest
# would be refused by the dead-letter topic, and the consumer would retry it for ever. The
# whole record stays on its own topic, at the offset the reason names, for the topic's
# retention.
MAX_DEAD_LETTER_VALUE_BYTES = 512 * 1024
MAX_DEAD_LETTER_REASON_BYTES = 4000
# Our keys are `<urn>:<upn>`; a key longer than this is not ours, and a prefix identifies it.
MAX_DEAD_LETTER_KEY_BYTES = 1000


def dead_letter_record(
    dead_letter_topic: str, topic: str, key: bytes, value: bytes, reason: str
) -> tuple[str, bytes, bytes, list[tuple[str, bytes]]]:
    """The record that parks (`topic`, `key`, `value`) on `dead_letter_topic`, with its reason."""
    headers = [
        ("dead_letter_reason", reason.encode("utf-8", "backslashreplace")[:MAX_DEAD_LETTER_REASON_BYTES]),
        ("original_topic", topic.encode()),
    ]
    if len(value) > MAX_DEAD_LETTER_VALUE_BYTES:
        headers.append(("original_size", str(len(value)).encode()))
        value = value[:MAX_DEAD_LETTER_VALUE_BYTES]
    return dead_letter_topic, key[:MAX_DEAD_LETTER_KEY_BYTES], value, headers


def traceparent_of(record: ConsumerRecord) -> str | None:
    for name, value in record.headers or ():
        if name == TRACEPARENT_HEADER:
            return value.decode("latin-1")
    return None


def attach_consumer(
    ctx: ServiceContext,
    *,
    service: str,
    topics: Sequence[TopicSpec],
    inbox: Table | None,
    handler: BatchHandler,
    max_records: int = 2000,
    max_partition_fetch_bytes: int = 1024 * 1024,
    idempotent_topics: Sequence[TopicSpec] = (),
) -> BatchConsumer:
    """Run a batch consumer as one of the service's workers, with its own readiness check."""
    settings = ctx.app.state.settings
    consumer = BatchConsumer(
        service=service,
        topics=topics,
        group_id=consumer_group(service),
        kafka=settings.kafka_client(service),
        sessionmaker=ctx.sessionmaker,
        inbox=inbox,
        handler=handler,
        max_records=max_records,
        max_partition_fetch_bytes=max_partition_fetch_bytes,
        session_timeout_ms=settings.kafka_consumer_session_timeout_ms,
        fetch_max_wait_ms=settings.kafka_consumer_fetch_max_wait_ms,
        idempotent_topics=idempotent_topics,
    )
    ctx.workers.add(f"{service}-consumer", consumer)
    ctx.app.state.readiness_checks["consumer"] = consumer_check(consumer)
    if inbox is not None:
        horizon = timedelta(milliseconds=redelivery_horizon_ms(topics))
        pruner = InboxPruner(service=service, sessionmaker=ctx.sessionmaker, table=inbox, horizon=horizon)
        ctx.workers.add(f"{service}-inbox-pruner", pruner)
    ctx.app.state.consumer = consumer
    return consumer
