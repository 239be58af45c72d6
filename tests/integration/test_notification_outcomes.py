"""notification-service's audit trail: every message outcome (sent, delivered, failed,
cancelled, undeliverable) is written to its outbox with the status change and relayed to
notifications.outcomes.v1 on the real broker, without the text or the address."""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from attendance_shared import topics
from attendance_shared.events import Contact, NotificationOutcomeV1, parse_event
from attendance_shared.kafka import KafkaPublisher
from attendance_shared.outbox import OutboxRelay
from attendance_stack.kafka import KafkaCluster
from notification_service.channels.factory import build_channels
from notification_service.models import outbox
from notification_service.service.delivery_reports import DeliveryReports
from tests.factories import make_upn
from tests.helpers import read_topic, scalar
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
    mark,
    pupil,
    school,
)

pytestmark = pytest.mark.integration


async def test_each_outcome_is_published_once_without_text_or_address(
    parts: Parts, sessionmaker, engine: AsyncEngine, broker: KafkaCluster
) -> None:
    sent, delivered, failed, cancelled, nobody = (make_upn(serial=830 + i) for i in range(5))
    abroad = Contact(name="Jo", phone="+33 6 12 34 56 78", preferred_channel="sms")
    clock = Clock(england(MONDAY, 10))
    await apply(
        sessionmaker,
        clock,
        school(),
        *(pupil(upn, contacts) for upn, contacts in ((sent, (ALEX,)), (delivered, (JO,)), (failed, (abroad,)))),
        pupil(cancelled, (ALEX,)),
        pupil(nobody, ()),
        *(mark(upn, "N") for upn in (sent, delivered, failed, cancelled, nobody)),
    )
    await apply(sessionmaker, clock, mark(cancelled, "I", revision=2, previous="N"))
    send = dispatcher(sessionmaker, parts, clock)
    parts.notify.fail_with = 500  # a temporary failure is not an outcome: the text waits
    await send.dispatch_once()
    # Cancelled, undeliverable and the e-mail sent; neither text yet.
    assert await scalar(engine, "SELECT count(*) FROM notification.outbox") == 3
    parts.notify.fail_with = None
    clock.now = england(MONDAY, 11)
    await send.dispatch_once()
    for reference in parts.notify.statuses:
        parts.notify.statuses[reference] = "delivered"
    async with sessionmaker.begin() as session:
        assert await DeliveryReports(build_channels(parts.settings)["sms"], clock)(session) == 1

    relay = OutboxRelay(
        service="notification",
        engine=engine,
        table=outbox,
        publisher=KafkaPublisher(broker.bootstrap_servers, [topics.NOTIFICATION_OUTCOMES], client_id="test-relay"),
    )
    assert await relay.publish_pending() == 6  # sent, then delivered, for the text
    records = await read_topic(broker.bootstrap_servers, topics.NOTIFICATION_OUTCOMES.name, expected=6)
    outcomes = [parse_event(r.value).data for r in records]
    assert all(isinstance(o, NotificationOutcomeV1) for o in outcomes)
    assert sorted((o.upn, o.outcome) for o in outcomes) == sorted(
        [
            (sent, "sent"),
            (delivered, "sent"),
            (delivered, "delivered"),
            (failed, "failed"),
            (cancelled, "cancelled"),
            (nobody, "undeliverable"),
        ]
    )
    by_upn = {(o.upn, o.outcome): o for o in outcomes}
    refused = by_upn[(failed, "failed")]
    assert (refused.channel, refused.provider, refused.recipient_role, refused.rule) == (
        "sms",
        "notify",
        "parent",
        "first-day-absence",
    )
    assert refused.reason == "Notify 400: ValidationError: phone_number Not a UK mobile number"
    assert by_upn[(nobody, "undeliverable")].reason == "no parent or carer contact is on the admission register"
    assert {r.key.decode() for r in records} == {f"{URN}:{upn}" for upn in (sent, delivered, failed, cancelled, nobody)}
    for record in records:  # the trail names the channel, never the contact or the message
        assert b"@example.org" not in record.value and b"07700" not in record.value
        assert b"not in school" not in record.value
