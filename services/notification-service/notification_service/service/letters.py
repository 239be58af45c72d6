"""The day's print run: every letter waiting, one PDF, kept as made. The letters in it count
as sent (the school posts them) and their outcomes are published as any other message's."""

import hashlib
from datetime import datetime

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.errors import Unprocessable
from attendance_shared.metrics import NOTIFICATIONS
from notification_service.domain.letters import Letter, Sender, print_run_pdf
from notification_service.repository import store
from notification_service.service import outcomes
from notification_service.service.planning import day_of


async def take_print_run(session: AsyncSession, urn: str, now: datetime, made_by: str | None) -> Row:
    waiting = await store.letters_waiting(session, urn, now)
    if not waiting:
        raise Unprocessable("no letters are waiting to be printed for this school")
    school = (await store.school_facts(session, {urn}))[urn]
    settings = school.settings
    reply = [f"Reply to: {settings.reply_to_email}"] if settings.reply_to_email else []
    reply.append(f"Contact: {school.named_contact}")
    today = day_of(now)
    letters = [Letter(m.id, m.recipient, m.subject, m.body, today) for m in waiting]
    pdf = print_run_pdf(
        Sender(settings.sender_name or school.name, reply), letters, f"Letters of {school.name}, {today}"
    )
    run = await store.save_print_run(session, urn, today, len(letters), pdf, hashlib.sha256(pdf).hexdigest(), made_by)
    printed = await store.mark_printed(session, [m.id for m in waiting], run.id)
    NOTIFICATIONS.labels("sent").inc(len(printed))
    await outcomes.record(session, printed, now)
    return run
