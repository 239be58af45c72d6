"""Every SQL statement of the notification service."""

from collections.abc import Sequence

from sqlalchemy import Row, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.db import chunked
from notification_service.domain.rules import PlannedMessage
from notification_service.models import messages, pupil_contacts


async def upsert_contacts(session: AsyncSession, rows: Sequence[dict]) -> None:
    if not rows:
        return
    statement = insert(pupil_contacts)
    statement = statement.on_conflict_do_update(
        index_elements=["school_urn", "upn"],
        set_={c: statement.excluded[c] for c in ("la_code", "forename", "contacts", "social_worker")}
        | {"updated_at": func.now()},
    )
    await session.execute(statement, list(rows))


async def contacts_for(session: AsyncSession, pupils: set[tuple[str, str]]) -> dict[tuple[str, str], Row]:
    if not pupils:
        return {}
    t = pupil_contacts
    found = {}
    for part in chunked(list(pupils), 2):
        rows = await session.execute(select(t).where(tuple_(t.c.school_urn, t.c.upn).in_(list(part))))
        found.update({(r.school_urn, r.upn): r for r in rows})
    return found


async def store_messages(session: AsyncSession, planned: Sequence[PlannedMessage]) -> list[str]:
    """Store planned messages; one already stored under the same key is left as it is.
    Returns the status of each message newly stored."""
    if not planned:
        return []
    rows = [
        {
            "idempotency_key": p.idempotency_key,
            "school_urn": p.school_urn,
            "upn": p.upn,
            "rule": p.rule,
            "about_date": p.about_date,
            "channel": p.channel,
            "recipient": p.recipient,
            "recipient_role": p.recipient_role,
            "body": p.body,
            "status": "undeliverable" if p.undeliverable_reason else "queued",
            "failure_reason": p.undeliverable_reason,
        }
        for p in planned
    ]
    statement = insert(messages).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(messages.c.status)
    return list((await session.execute(statement, rows)).scalars())


async def claim_queued(session: AsyncSession, limit: int) -> list[Row]:
    """Queued messages, locked so that a second dispatcher skips them."""
    t = messages
    return list(
        (
            await session.execute(
                select(t).where(t.c.status == "queued").order_by(t.c.id).limit(limit).with_for_update(skip_locked=True)
            )
        ).all()
    )


async def mark_sent(session: AsyncSession, ids: Sequence[int]) -> None:
    if ids:
        await session.execute(
            update(messages)
            .where(messages.c.id.in_(ids))
            .values(status="sent", sent_at=func.now(), attempts=messages.c.attempts + 1)
        )


async def page(
    session: AsyncSession, school_urn: str, *, upn: str | None, status: str | None, after_id: int | None, limit: int
) -> list[Row]:
    t = messages
    query = select(t).where(t.c.school_urn == school_urn).order_by(t.c.id).limit(limit)
    if upn:
        query = query.where(t.c.upn == upn)
    if status:
        query = query.where(t.c.status == status)
    if after_id:
        query = query.where(t.c.id > after_id)
    return list((await session.execute(query)).all())
