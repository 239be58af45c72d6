"""notification-service's consumer on the real broker and database, run as the app runs it:
no inbox for marks (each session's stored revision makes them idempotent), the inbox for the
rest. A redelivered batch plans and sends nothing twice; a stale mark undoes nothing newer."""

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from attendance_shared import topics
from attendance_shared.consumer import BatchConsumer
from attendance_shared.events import Event, PupilDeletedV1, PupilUpdatedV1, SocialWorker
from attendance_shared.kafka import KafkaPublisher
from attendance_stack.kafka import KafkaCluster
from notification_service.consumers.handler import EventHandler
from notification_service.service.planning import ChasePlanner
from tests.factories import make_upn
from tests.helpers import CrashBeforeOffsetCommit, SimulatedCrash, scalar, wait_until
from tests.integration.notification_parts import (
    ALEX,
    JO,
    MONDAY,
    URN,
    Clock,
    Parts,
    apply,
    dispatcher,
    england,
    event,
    mark,
    pupil,
    rows,
    school,
)

pytestmark = pytest.mark.integration
KIM = SocialWorker(name="Kim Lee", email="kim.lee@la.example")


@dataclass
class Counted:
    """The service's own handler, counting what the consumer hands it, so that a test knows a
    redelivery has been applied instead of guessing how long that takes."""

    handler: EventHandler
    handed: Counter[str] = field(default_factory=Counter)

    async def __call__(self, session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
        await self.handler(session, events)
        self.handed.update(e.id for _, e in events)

    async def wait_for(self, *events: Event, times: int = 1) -> None:
        async def handed() -> bool:
            return all(self.handed[e.id] >= times for e in events)

        await wait_until(handed, what=f"{len(events)} events handed over {times} time(s)")


def notification_consumer(
    sessionmaker, broker: KafkaCluster, handler: Counted, cls: type[BatchConsumer] = BatchConsumer
) -> BatchConsumer:
    return cls(
        service="notification",
        topics=[topics.SCHOOLS, topics.PUPILS, topics.MARKS, topics.RISK_FLAGS],
        group_id="notification-service",
        kafka=broker.bootstrap_servers,
        sessionmaker=sessionmaker,
        inbox=None,  # as app.py runs it: the handler claims what needs the inbox
        handler=handler,
        session_timeout_ms=6_000,
    )


async def publish_marks(broker: KafkaCluster, *marks: Event) -> None:
    publisher = KafkaPublisher(broker.bootstrap_servers, [topics.MARKS], client_id="test")
    await publisher.publish([(topics.MARKS.name, m.key, m.to_bytes(), []) for m in marks])
    await publisher.close()


async def absences(engine: AsyncEngine) -> list[tuple]:
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT upn, code, revision FROM notification.absences ORDER BY upn"))
        return [tuple(r) for r in result]


async def test_a_marks_batch_redelivered_after_a_crash_plans_and_sends_nothing_twice(
    parts: Parts, sessionmaker, engine: AsyncEngine, broker: KafkaCluster
) -> None:
    upn = make_upn(serial=840)
    clock = Clock(england(MONDAY, 14))  # both registers closed: everything planned is due
    setup = (school(), pupil(upn, (ALEX, JO), social_worker=KIM))
    await apply(sessionmaker, clock, *setup)
    am, pm = mark(upn, "N"), mark(upn, "N", session="pm")
    await publish_marks(broker, am, pm, am)  # one pupil, one partition; the morning's twice already
    handler = Counted(EventHandler(clock=clock))

    # Applied and committed to the database, then the consumer dies before Kafka hears of it.
    with pytest.raises(SimulatedCrash):
        await asyncio.wait_for(notification_consumer(sessionmaker, broker, handler, CrashBeforeOffsetCommit).run(), 30)
    planned = await rows(engine)
    assert sorted((r.rule, r.recipient_role, r.session) for r in planned) == [
        ("first-day-absence", "parent", "am"),
        ("first-day-absence", "parent", "am"),
        ("worker-absence-notice", "social_worker", "am"),
        ("worker-absence-notice", "social_worker", "pm"),
    ]
    send = dispatcher(sessionmaker, parts, clock)
    assert await send.dispatch_once() == 4

    # The next consumer of the group is handed the whole batch again.
    handler.handed.clear()
    consumer = notification_consumer(sessionmaker, broker, handler)
    task = asyncio.create_task(consumer.run())
    try:
        await handler.wait_for(am, pm)
    finally:
        consumer.stop()
        await task
    assert [(r.id, r.status) for r in await rows(engine)] == [(r.id, "sent") for r in planned]
    assert await send.dispatch_once() == 0
    assert len(parts.mailbox.messages) == 3 and len(parts.notify.texts) == 1  # parent, Kim twice; one text
    # Only the school and the pupil took an inbox row; the marks needed none.
    inbox = await scalar(engine, "SELECT array_agg(event_id ORDER BY event_id) FROM notification.processed_events")
    assert inbox == sorted(e.id for e in setup)


async def test_a_stale_n_after_its_explanation_brings_back_no_alert_notice_or_chase(
    parts: Parts, sessionmaker, engine: AsyncEngine, broker: KafkaCluster
) -> None:
    explained, overtaken = make_upn(serial=841), make_upn(serial=842)
    clock = Clock(england(MONDAY, 10))
    await apply(sessionmaker, clock, school(), pupil(explained, (ALEX,), social_worker=KIM), pupil(overtaken, (JO,)))
    n = mark(explained, "N")
    i = mark(explained, "I", revision=2, previous="N")
    first_n = mark(overtaken, "N")
    first_i = mark(overtaken, "I", revision=2, previous="N")
    handler = Counted(EventHandler(clock=clock))
    consumer = notification_consumer(sessionmaker, broker, handler)
    task = asyncio.create_task(consumer.run())
    try:
        await publish_marks(broker, n)
        await handler.wait_for(n)
        assert {r.status for r in await rows(engine)} == {"queued"}  # the alert and Kim's notice
        # Explained; and the other pupil's amendment overtakes the mark it amends.
        await publish_marks(broker, i, first_i)
        await handler.wait_for(i, first_i)
        # Both N now stale: one redelivered, one arriving late for the first time.
        await publish_marks(broker, n, first_n)
        await handler.wait_for(n, times=2)
        await handler.wait_for(first_n)
    finally:
        consumer.stop()
        await task

    assert sorted((r.upn, r.rule, r.status) for r in await rows(engine)) == [
        (explained, "first-day-absence", "cancelled"),
        (explained, "worker-absence-notice", "cancelled"),
    ]
    assert await absences(engine) == sorted([(explained, "I", 2), (overtaken, "I", 2)])
    clock.now = england(MONDAY + timedelta(days=7), 10)  # past both chases and the lead's limit
    async with sessionmaker.begin() as session:
        assert await ChasePlanner(clock)(session) == 0
    assert await dispatcher(sessionmaker, parts, clock).dispatch_once() == 0
    assert parts.mailbox.messages == [] and parts.notify.texts == []


async def test_a_redelivered_admission_does_not_put_back_the_contacts_an_update_replaced(
    sessionmaker, engine: AsyncEngine
) -> None:
    upn = make_upn(serial=843)
    clock = Clock(england(MONDAY, 10))
    admitted = pupil(upn, (ALEX,))
    record = admitted.data.model_dump(exclude={"contacts"})
    updated = event(PupilUpdatedV1(**record, contacts=(JO,), effective_from=date(2026, 9, 1)), upn)
    await apply(sessionmaker, clock, school(), admitted, updated)
    await apply(sessionmaker, clock, admitted)  # marks have revisions; pupils rely on the inbox
    query = "SELECT contacts FROM notification.pupil_contacts WHERE school_urn = :urn AND upn = :upn"
    contacts = await scalar(engine, query, urn=URN, upn=upn)
    assert [c["name"] for c in contacts] == ["Jo Taylor"]


async def test_a_change_to_a_left_pupils_record_keeps_them_left_and_a_readmission_brings_them_back(
    sessionmaker, engine: AsyncEngine
) -> None:
    """A record may be corrected up to the day a pupil left; that must not put them back on
    roll here (only an admission does, now that a pupil who left may be admitted again)."""
    upn = make_upn(serial=844)
    clock = Clock(england(MONDAY, 10))
    admitted = pupil(upn, (ALEX,))
    record = admitted.data.model_dump(exclude={"contacts"})
    deleted = event(PupilDeletedV1(school_urn=URN, la_code="201", upn=upn, left_on=date(2026, 9, 30), ground="g"), upn)
    corrected = event(PupilUpdatedV1(**record, contacts=(JO,), effective_from=date(2026, 9, 1)), upn)
    query = "SELECT left_on FROM notification.pupil_contacts WHERE school_urn = :urn AND upn = :upn"
    await apply(sessionmaker, clock, school(), admitted, deleted)
    await apply(sessionmaker, clock, corrected)  # in a batch of its own
    assert await scalar(engine, query, urn=URN, upn=upn) == date(2026, 9, 30)
    upn_two = make_upn(serial=845)
    first = pupil(upn_two, (ALEX,))
    gone = event(
        PupilDeletedV1(school_urn=URN, la_code="201", upn=upn_two, left_on=date(2026, 9, 30), ground="g"), upn_two
    )
    fixed = event(
        PupilUpdatedV1(
            **first.data.model_dump(exclude={"contacts", "upn"}),
            upn=upn_two,
            contacts=(JO,),
            effective_from=date(2026, 9, 1),
        ),
        upn_two,
    )
    await apply(sessionmaker, clock, first, gone, fixed)  # all in one batch
    assert await scalar(engine, query, urn=URN, upn=upn_two) == date(2026, 9, 30)
    back = event(admitted.data.model_copy(update={"admission_date": date(2026, 11, 2)}), upn)
    await apply(sessionmaker, clock, back)
    assert await scalar(engine, query, urn=URN, upn=upn) is None
