"""The transactional outbox and its relay.

A request writes its rows and their events in one transaction (`add_to_outbox`); only the
relay publishes, and only from the table, so a crash never loses an event and the broker
being down never refuses a write. One relay per service is active, held by an advisory lock.

`outbox` is a log: a row is written once and kept. What is still to be sent is the set of
ids in `outbox_pending`, filled by a trigger on every insert and emptied by the relay once
the broker has acknowledged. Marking a sent row in place instead wrote a second copy of
every envelope, with its index entries, because the flag sat in the unsent rows' index.
"""

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import Sequence

import orjson
from aiokafka.errors import KafkaError
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    DateTime,
    LargeBinary,
    MetaData,
    Row,
    Select,
    Table,
    Text,
    any_,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from attendance_shared.contract import TOPIC_EVENT_TYPES
from attendance_shared.db import copy_rows
from attendance_shared.events import MAX_EVENT_BYTES, Event, EventTooLarge
from attendance_shared.kafka import KafkaPublisher, refusal_reason
from attendance_shared.metrics import (
    KAFKA_REACHABLE,
    KAFKA_REFUSED,
    OUTBOX_BACKLOG,
    OUTBOX_LAST_SUCCESS,
    OUTBOX_PUBLISH_FAILURES,
    OUTBOX_PUBLISHED,
    OUTBOX_SET_ASIDE,
)
from attendance_shared.platform import ServiceContext, refusal_check
from attendance_shared.topics import TopicSpec
from attendance_shared.tracing import TRACEPARENT_HEADER, current_traceparent

log = logging.getLogger(__name__)


def outbox_table(metadata: MetaData) -> Table:
    """The service's outbox, and beside it in `metadata` the queue of its unsent rows."""
    _pending_table(metadata)
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        # The envelope exactly as it will be sent, so the relay does no serialising.
        Column("envelope", LargeBinary, nullable=False),
        # The W3C trace context of the request that wrote the event, sent as a Kafka header.
        Column("traceparent", Text),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def _pending_table(metadata: MetaData) -> Table:
    """The ids of outbox rows not yet acknowledged by the broker. Only the triggers that
    `queue_of_unsent_rows` creates add to it (and the runbook, to publish rows again)."""
    return Table("outbox_pending", metadata, Column("id", BigInteger, primary_key=True, autoincrement=False))


def queue_of_unsent_rows(schema: str) -> list[str]:
    """The migration from a `published_at` flag on each row to the `outbox_pending` queue.
    A row trigger queues each id as it is written; a statement trigger wakes the relay, and
    PostgreSQL delivers that at commit, folding repeats into one. (One statement trigger
    reading a transition table did both, but planned its insert on every statement: 90 µs
    more for a single-row write, against 1.5 µs less per row of a thousand-row COPY.)
    Migrations run this as it stood when they were written: change it by adding another."""
    return [
        f"CREATE TABLE {schema}.outbox_pending (id bigint, CONSTRAINT pk_outbox_pending PRIMARY KEY (id))",
        f"INSERT INTO {schema}.outbox_pending (id) SELECT id FROM {schema}.outbox WHERE published_at IS NULL",
        f"DROP INDEX {schema}.ix_outbox_unpublished",
        f"ALTER TABLE {schema}.outbox DROP COLUMN published_at",
        *outbox_triggers(schema),
    ]


def outbox_triggers(schema: str) -> list[str]:
    """The triggers that queue each new outbox row and wake the relay: what a service made
    after `queue_of_unsent_rows` creates with its outbox and `outbox_pending` tables."""
    return [
        f"""
        CREATE FUNCTION {schema}.queue_outbox_row() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO {schema}.outbox_pending (id) VALUES (NEW.id);
            RETURN NULL;
        END
        $$
        """,
        f"""
        CREATE TRIGGER queue_outbox_row AFTER INSERT ON {schema}.outbox
        FOR EACH ROW EXECUTE FUNCTION {schema}.queue_outbox_row()
        """,
        f"""
        CREATE FUNCTION {schema}.wake_outbox_relay() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{_wake_channel(schema)}', '');
            RETURN NULL;
        END
        $$
        """,
        f"""
        CREATE TRIGGER wake_outbox_relay AFTER INSERT ON {schema}.outbox
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.wake_outbox_relay()
        """,
    ]


def flag_of_unsent_rows(schema: str) -> list[str]:
    """`queue_of_unsent_rows` undone: rows still queued are the ones left unpublished."""
    return [
        f"DROP TRIGGER wake_outbox_relay ON {schema}.outbox",
        f"DROP FUNCTION {schema}.wake_outbox_relay()",
        f"DROP TRIGGER queue_outbox_row ON {schema}.outbox",
        f"DROP FUNCTION {schema}.queue_outbox_row()",
        f"ALTER TABLE {schema}.outbox ADD COLUMN published_at timestamptz",
        f"UPDATE {schema}.outbox o SET published_at = now() "
        f"WHERE NOT EXISTS (SELECT FROM {schema}.outbox_pending p WHERE p.id = o.id)",
        f"CREATE INDEX ix_outbox_unpublished ON {schema}.outbox (id) WHERE published_at IS NULL",
        f"DROP TABLE {schema}.outbox_pending",
    ]


async def add_to_outbox(session: AsyncSession, table: Table, topic: str, events: Sequence[Event]) -> None:
    await add_envelopes_to_outbox(
        session, table, topic, [(event.subject, event.id, event.type, event.to_bytes()) for event in events]
    )


async def add_envelopes_to_outbox(
    session: AsyncSession, table: Table, topic: str, envelopes: Sequence[tuple[str, str, str, bytes]]
) -> None:
    """Serialised events as (key, event id, event type, envelope), in one COPY."""
    if not envelopes:
        return
    # The stream's contract (docs/asyncapi.json) says which events each topic carries: a
    # write that would break it is a defect, refused before anything is stored.
    allowed = TOPIC_EVENT_TYPES.get(topic)
    for _, _, event_type, envelope in envelopes:
        if len(envelope) > MAX_EVENT_BYTES:
            raise EventTooLarge(event_type, len(envelope))
        if allowed is not None and event_type not in allowed:
            raise ValueError(f"{event_type} is not an event of {topic} (attendance_shared.contract.TOPIC_EVENTS)")
    traceparent = current_traceparent()
    # The table's triggers queue the rows for the relay and wake it when this commits.
    await copy_rows(
        session,
        table,
        ("topic", "key", "event_id", "event_type", "envelope", "traceparent"),
        [(topic, *envelope, traceparent) for envelope in envelopes],
    )


async def read_log(session: AsyncSession, table: Table, *, after: int, limit: int, topics: Sequence[str]) -> list[Row]:
    """The outbox read as the log it is: the events of `topics` written after position
    `after` (an outbox id), oldest first, as they were sent. A rebuild reads it when the
    topics no longer hold every event (their retention is shorter than the register's)."""
    t = table
    statement = (
        select(t.c.id, t.c.topic, t.c.envelope)
        .where(t.c.id > after, t.c.topic.in_(topics))
        .order_by(t.c.id)
        .limit(limit)
    )
    return list((await session.execute(statement)).all())


def log_page_json(rows: Sequence[Row], *, limit: int) -> bytes:
    """A page of `read_log` as JSON, each envelope copied in as stored rather than parsed and
    serialised again: `{"events": [{"position", "topic", "event"}], "next_after"}`, with
    `next_after` null on the last page."""
    events = b",".join(
        b'{"position":%d,"topic":%s,"event":%s}' % (row.id, orjson.dumps(row.topic), row.envelope) for row in rows
    )
    next_after = b"%d" % rows[-1].id if len(rows) == limit else b"null"
    return b'{"events":[' + events + b'],"next_after":' + next_after + b"}"


def log_page_next_after(page: bytes) -> int | None:
    """A `log_page_json` page's `next_after`, read from its end without parsing the page, so
    a reader can ask for the next page before it has read this one."""
    value = page[page.rindex(b'"next_after":') + len(b'"next_after":') : page.rindex(b"}")].strip()
    return None if value == b"null" else int(value)


def wake_channel(table: Table) -> str:
    assert table.schema, "outbox tables live in their service's schema"
    return _wake_channel(table.schema)


def _wake_channel(schema: str) -> str:
    return f"outbox:{schema}.outbox"


def _headers(row: Row) -> list[tuple[str, bytes]]:
    headers = [("ce_type", row.event_type.encode())]
    if row.traceparent:
        headers.append((TRACEPARENT_HEADER, row.traceparent.encode()))
    return headers


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        engine: AsyncEngine,
        table: Table,
        publisher: KafkaPublisher,
        batch_size: int = 5000,
        idle_poll_s: float = 1.0,
    ) -> None:
        self.service = service
        self._engine = engine
        self._table = table
        self._pending = table.metadata.tables[f"{table.schema}.outbox_pending"]
        self._publisher = publisher
        self._batch_size = batch_size
        self._idle_poll_s = idle_poll_s
        self._stopping = asyncio.Event()
        self._written = asyncio.Event()
        self._lock_key = zlib.crc32(f"outbox-relay:{table.fullname}".encode())
        # Why the brokers refuse this relay's writes (credentials, ACLs), while they do.
        self.refusal: str | None = None

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        backoff = 0.2
        connected = False
        while not self._stopping.is_set():
            try:
                if not connected:
                    # Once, on every replica, lock or not: a pod with a wrong secret or a
                    # missing ACL is then not ready. A broker that is down is no reason to
                    # wait here; the relay's own retries below see to that.
                    connected = True
                    await self._publisher.connect()
                    self._accepted()
                async with self._engine.connect() as lock_connection:
                    if not await lock_connection.scalar(select(func.pg_try_advisory_lock(self._lock_key))):
                        await self._sleep(2.0)  # another replica relays; wait to take over
                        continue
                    await lock_connection.commit()
                    try:
                        await self._listen_and_relay(lock_connection)
                    finally:
                        # Released on failure too: the connection goes back to the pool, and a
                        # lock left on it would keep every later attempt waiting to take over.
                        # A connection that died has lost the lock already, and the error that
                        # killed it is the one to report.
                        with contextlib.suppress(Exception):
                            await lock_connection.execute(select(func.pg_advisory_unlock(self._lock_key)))
                    return
            except Exception as exc:  # noqa: BLE001 - the relay must outlive any broker or database outage
                OUTBOX_PUBLISH_FAILURES.labels(self.service).inc()
                if isinstance(exc, KafkaError):
                    KAFKA_REACHABLE.labels(self.service, "relay").set(0)
                    reason = await refusal_reason(exc, self._publisher.kafka, doing="write to")
                    if reason and reason != self.refusal:
                        log.error("%s-service outbox relay refused by the brokers: %s", self.service, reason)
                    self.refusal = reason
                    KAFKA_REFUSED.labels(self.service, "relay").set(reason is not None)
                if self.refusal is None:
                    log.warning("outbox relay failed, retrying in %.1fs: %r", backoff, exc)
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            else:
                backoff = 0.2
        await self._publisher.close()

    async def _listen_and_relay(self, lock_connection: AsyncConnection) -> None:
        """The connection holding the lock also listens for committed writes, so the relay
        sleeps until there is something to publish instead of polling."""
        listener = (await lock_connection.get_raw_connection()).driver_connection
        channel = wake_channel(self._table)
        await listener.add_listener(channel, self._on_written)  # type: ignore[union-attr]
        try:
            await self._relay_until_stopped()
        finally:
            await listener.remove_listener(channel, self._on_written)  # type: ignore[union-attr]

    def _on_written(self, *_: object) -> None:
        self._written.set()

    async def _relay_until_stopped(self) -> None:
        while not self._stopping.is_set():
            # Cleared before reading, so a commit landing while a batch is published wakes
            # the next wait at once.
            self._written.clear()
            published = await self.publish_pending()
            if published < self._batch_size:
                await self._wait_for_writes()

    async def _wait_for_writes(self) -> None:
        """Until a write commits or the relay stops; `idle_poll_s` at most, in case a wake-up
        was missed (written by a version that sent none, say)."""
        waits = [asyncio.ensure_future(self._written.wait()), asyncio.ensure_future(self._stopping.wait())]
        try:
            await asyncio.wait(waits, timeout=self._idle_poll_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    def oldest_pending_rows(self) -> Select:
        """The oldest queued ids, as one array, then their rows by primary key. Joined instead,
        the planner hashed the queue and read the whole outbox, which keeps every row ever
        written: 19 µs a published event when the outbox held 110,000 rows, and growing."""
        t, pending = self._table, self._pending
        oldest = select(pending.c.id).order_by(pending.c.id).limit(self._batch_size).scalar_subquery()
        return (
            select(t.c.id, t.c.topic, t.c.key, t.c.envelope, t.c.event_type, t.c.traceparent)
            .where(t.c.id == any_(func.array(oldest)))
            .order_by(t.c.id)
        )

    async def publish_pending(self) -> int:
        """Publish the oldest pending rows in id order; dequeue them only once acknowledged.
        Returns how many were dequeued (any set aside among them)."""
        pending = self._pending
        async with self._engine.connect() as conn:
            rows = (await conn.execute(self.oldest_pending_rows())).all()
            # A short batch is the whole backlog; only a full one needs counting.
            backlog = len(rows)
            if backlog == self._batch_size:
                backlog = await conn.scalar(select(func.count()).select_from(pending))
            OUTBOX_BACKLOG.labels(self.service).set(backlog)
            if not rows:
                OUTBOX_LAST_SUCCESS.labels(self.service).set(time.time())
                return 0
            await conn.rollback()
            sendable = [r for r in rows if len(r.envelope) <= MAX_EVENT_BYTES]
            if len(sendable) < len(rows):
                self._set_aside([r for r in rows if len(r.envelope) > MAX_EVENT_BYTES])
            await self._publisher.publish([(r.topic, r.key.encode(), r.envelope, _headers(r)) for r in sendable])
            sent = bindparam("sent", [r.id for r in rows], type_=ARRAY(BigInteger))
            await conn.execute(delete(pending).where(pending.c.id == any_(sent)))
            await conn.commit()
        OUTBOX_PUBLISHED.labels(self.service).inc(len(sendable))
        OUTBOX_LAST_SUCCESS.labels(self.service).set(time.time())
        self._accepted()
        return len(rows)

    def _accepted(self) -> None:
        KAFKA_REACHABLE.labels(self.service, "relay").set(1)
        if self.refusal is not None:
            self.refusal = None
            KAFKA_REFUSED.labels(self.service, "relay").set(0)

    def _set_aside(self, rows: Sequence[Row]) -> None:
        """Rows written before `add_envelopes_to_outbox` refused oversized events: the broker
        would refuse them, and, retried, they would hold up every event behind them. They are
        dequeued unsent and stay in the outbox; deploy/README.md says how to mend and resend
        one ("An event too large to publish")."""
        for row in rows:
            log.error(
                "outbox row %d (%s, %d bytes) is over the %d-byte event limit: set aside unsent",
                row.id,
                row.event_type,
                len(row.envelope),
                MAX_EVENT_BYTES,
                extra={"outbox_id": row.id, "size": len(row.envelope)},
            )
        OUTBOX_SET_ASIDE.labels(self.service).inc(len(rows))

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)


def attach_relay(
    ctx: ServiceContext, *, service: str, table: Table, topics: Sequence[TopicSpec], batch_size: int = 5000
) -> OutboxRelay:
    """Run a relay for the service's outbox as one of its workers, publishing to `topics`."""
    relay = OutboxRelay(
        service=service,
        engine=ctx.engine,
        table=table,
        batch_size=batch_size,
        publisher=KafkaPublisher(ctx.app.state.settings.kafka_client(service), topics, client_id=f"{service}-relay"),
    )
    ctx.workers.add("outbox-relay", relay)
    ctx.app.state.readiness_checks["outbox_relay"] = refusal_check(relay)
    return relay
