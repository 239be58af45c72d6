"""Turning register changes into events, always through the outbox of the same transaction."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import topics
from attendance_shared.events import Payload, make_event, pupil_key
from attendance_shared.outbox import add_to_outbox
from register_service.models import outbox

SOURCE = "/services/register"


async def publish_pupil_events(session: AsyncSession, topic: topics.TopicSpec, payloads: Sequence[Payload]) -> None:
    events = [
        make_event(p, source=SOURCE, subject=pupil_key(p.school_urn, p.upn))  # type: ignore[attr-defined]
        for p in payloads
    ]
    await add_to_outbox(session, outbox, topic.name, events)


async def publish_school_event(session: AsyncSession, payload: Payload, urn: str) -> None:
    await add_to_outbox(session, outbox, topics.SCHOOLS.name, [make_event(payload, source=SOURCE, subject=urn)])
