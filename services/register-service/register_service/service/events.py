"""Turning register changes into events, always through the outbox of the same transaction."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import topics
from attendance_shared.contract import PUBLISHES
from attendance_shared.events import (
    EVENT_TYPE_OF,
    MAX_EVENT_BYTES,
    MAX_REGISTER_ROWS,
    Payload,
    RegisterMarkedV1,
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


# A register's event is cut into parts below this size, each its own event: a row is about 40
# bytes, and a reason (up to 500 characters, each up to 6 bytes in JSON) at most 3 KB more.
REGISTER_EVENT_BUDGET = MAX_EVENT_BYTES // 2
_ROW_BYTES = 64


def register_parts(marks: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The marks cut into registers (school, day, session, time), each cut again into parts
    that fit an event, in the order they came."""
    registers: dict[tuple, list[dict[str, Any]]] = {}
    for mark in marks:
        identity = (mark["school_urn"], mark["la_code"], mark["date"], mark["session"], mark["recorded_at"])
        registers.setdefault(identity, []).append(mark)
    parts: list[list[dict[str, Any]]] = []
    for rows in registers.values():
        part: list[dict[str, Any]] = []
        size = 0
        for mark in rows:
            row_size = _ROW_BYTES + 6 * len(mark["reason"] or "")
            if part and (size + row_size > REGISTER_EVENT_BUDGET or len(part) == MAX_REGISTER_ROWS):
                parts.append(part)
                part, size = [], 0
            part.append(mark)
            size += row_size
        parts.append(part)
    return parts


async def publish_register_events(session: AsyncSession, marks: Sequence[dict[str, Any]]) -> None:
    """A register's marks as one event (`RegisterMarkedV1`, keyed by the school), straight from
    the rows just stored (every field already checked): one outbox row, one record and one
    validation by each reader for a register, where a mark each was a third of the stack's
    CPU (docs/performance.md, "Where the CPU goes")."""
    parts = register_parts(marks)
    ids = new_event_ids(len(parts))
    now = datetime.now(UTC)
    event_type = EVENT_TYPE_OF[RegisterMarkedV1]
    envelopes = []
    for event_id, part in zip(ids, parts, strict=True):
        first = part[0]
        data = {
            "school_urn": first["school_urn"],
            "la_code": first["la_code"],
            "date": first["date"],
            "session": first["session"],
            "recorded_at": first["recorded_at"],
            "marks": [
                (m["upn"], m["code"], m["revision"], m["previous_code"], m["minutes_late"], m["reason"]) for m in part
            ],
        }
        subject = first["school_urn"]
        envelope = envelope_bytes(RegisterMarkedV1, data, event_id=event_id, source=SOURCE, subject=subject, time=now)
        envelopes.append((subject, event_id, event_type, envelope))
    await add_envelopes_to_outbox(session, outbox, topics.MARKS.name, envelopes)
