"""Turning register changes into events, always through the outbox of the same transaction."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import topics
from attendance_shared.contract import PUBLISHES
from attendance_shared.events import (
    EVENT_TYPE_OF,
    Payload,
    SessionMarkedV1,
    envelope_bytes,
    make_event,
    new_event_ids,
    pupil_key,
)
from attendance_shared.outbox import add_envelopes_to_outbox, add_to_outbox, log_page_json
from attendance_shared.outbox import read_log as read_outbox_log
from register_service.models import outbox

SOURCE = "/services/register"
PUBLISHED_TOPICS = tuple(t.name for t in PUBLISHES["register"])


async def read_log(session: AsyncSession, *, after: int, limit: int, topics: Sequence[str] | None) -> bytes:
    """A page of every event the register has published, as JSON (`EventLogPage`)."""
    rows = await read_outbox_log(session, outbox, after=after, limit=limit, topics=topics or PUBLISHED_TOPICS)
    return log_page_json(rows, limit=limit)


async def publish_pupil_events(session: AsyncSession, topic: topics.TopicSpec, payloads: Sequence[Payload]) -> None:
    events = [
        make_event(p, source=SOURCE, subject=pupil_key(p.school_urn, p.upn))  # type: ignore[attr-defined]
        for p in payloads
    ]
    await add_to_outbox(session, outbox, topic.name, events)


async def publish_school_event(session: AsyncSession, payload: Payload, urn: str) -> None:
    await add_to_outbox(session, outbox, topics.SCHOOLS.name, [make_event(payload, source=SOURCE, subject=urn)])


async def publish_mark_events(
    session: AsyncSession, payload_type: type[SessionMarkedV1], marks: Sequence[dict[str, Any]]
) -> None:
    """Mark events straight from the rows just stored (every field already checked), without
    building models: a register of two thousand marks is two thousand events."""
    fields = tuple(payload_type.model_fields)
    ids = new_event_ids(len(marks))
    now = datetime.now(UTC)
    envelopes = []
    for event_id, mark in zip(ids, marks, strict=True):
        subject = pupil_key(mark["school_urn"], mark["upn"])
        data = {field: mark[field] for field in fields}
        envelope = envelope_bytes(payload_type, data, event_id=event_id, source=SOURCE, subject=subject, time=now)
        envelopes.append((subject, event_id, EVENT_TYPE_OF[payload_type], envelope))
    await add_envelopes_to_outbox(session, outbox, topics.MARKS.name, envelopes)
