"""Message outcomes for the audit trail: sent, delivered, failed, cancelled or undeliverable,
on notifications.outcomes.v1 through the service's outbox. Each is written by the caller that
changes the status, in its transaction, so the trail can neither miss a change nor report
one that was rolled back. Never commits."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import topics
from attendance_shared.events import NotificationOutcomeV1, make_event, pupil_key
from attendance_shared.outbox import add_to_outbox
from notification_service.models import outbox
from notification_service.settings import SERVICE_NAME

OUTCOMES = frozenset({"sent", "delivered", "failed", "cancelled", "undeliverable"})
SOURCE = f"/{SERVICE_NAME}"


def outcome_of(message: Row, at: datetime) -> NotificationOutcomeV1:
    reason = message.failure_reason
    if reason and message.recipient:
        # A provider may quote the address it refused ("550 <alex@...>: no such user"):
        # the trail names the channel, never the contact.
        reason = reason.replace(message.recipient, "<recipient>")
    return NotificationOutcomeV1(
        message_id=message.id,
        school_urn=message.school_urn,
        upn=message.upn,
        rule=message.rule,
        about_date=message.about_date,
        session=message.session,
        stage=message.stage,
        recipient_role=message.recipient_role,
        contact_index=message.contact_index,
        channel=message.channel,
        outcome=message.status,
        reason=reason,
        provider=message.provider,
        attempts=message.attempts,
        resent_from=message.resent_from,
        occurred_at=at,
    )


async def record(session: AsyncSession, changed: Iterable[Row | None], at: datetime) -> None:
    """Outcome events for the messages whose status just changed to a final one (a message
    queued again for a retry is not an outcome yet)."""
    events = [
        make_event(outcome_of(m, at), source=SOURCE, subject=pupil_key(m.school_urn, m.upn) if m.upn else m.school_urn)
        for m in changed
        if m is not None and m.status in OUTCOMES
    ]
    if events:
        await add_to_outbox(session, outbox, topics.NOTIFICATION_OUTCOMES.name, events)
