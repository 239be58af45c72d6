"""Sends stored messages that are due.

A message is claimed and marked 'sending' in one short transaction, handed to its channel
outside any transaction, and its outcome recorded in another: a restart can never send a
message twice, and a slow provider never holds locks. SMS and push due in quiet hours are
held until the morning in the database, so a restart keeps them held. A channel that fails
temporarily is left alone for the rest of the batch: its other messages wait with it.
"""

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attendance_shared.metrics import NOTIFICATIONS
from notification_service.channels.base import Channel, Outgoing, SendResult
from notification_service.domain.policy import QUIET_CHANNELS, after_quiet_hours, in_quiet_hours, retry_delay_s
from notification_service.repository import store
from notification_service.service import outcomes
from notification_service.service.clock import Clock, utc_now
from notification_service.settings import Settings

log = logging.getLogger(__name__)
# Far beyond any provider timeout: a message 'sending' this long belongs to a process that died.
INTERRUPTED_AFTER = timedelta(minutes=10)


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        channels: dict[str, Channel],
        settings: Settings,
        clock: Clock = utc_now,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._channels = channels
        self._settings = settings
        self._clock = clock
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                handled = await self.dispatch_once()
            except Exception:
                log.exception("dispatch failed; retrying")
                handled = 0
            if handled < self._settings.dispatch_batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._settings.dispatch_idle_poll_s)
        for channel in self._channels.values():
            await channel.close()

    async def dispatch_once(self) -> int:
        """Send what is due now; returns how many messages were claimed."""
        now = self._clock()
        s = self._settings
        async with self._sessionmaker.begin() as session:
            # On every pass, not only at start: a replica that died mid-send may never restart,
            # and one that restarts at once finds its messages too recent to call interrupted.
            if interrupted := await store.fail_interrupted(session, now - INTERRUPTED_AFTER):
                log.warning("%d messages were interrupted mid-send and are marked failed", len(interrupted))
                NOTIFICATIONS.labels("failed").inc(len(interrupted))
                await outcomes.record(session, interrupted, now)
            due = await store.claim_due(session, now, s.dispatch_batch_size)
            held = []
            if in_quiet_hours(now, s.quiet_hours_start, s.quiet_hours_end):
                held = [m.id for m in due if m.channel in QUIET_CHANNELS]
                await store.hold_until(session, held, after_quiet_hours(now, s.quiet_hours_start, s.quiet_hours_end))
                due = [m for m in due if m.channel not in QUIET_CHANNELS]
            await store.mark_sending(session, [m.id for m in due], now)
            schools = await store.school_facts(session, {m.school_urn for m in due})
        by_channel: dict[str, list[Outgoing]] = defaultdict(list)
        attempts = {m.id: m.attempts + 1 for m in due}
        for m in due:
            by_channel[m.channel].append(_outgoing(m, schools[m.school_urn]))
        results = await asyncio.gather(*(self._send_all(ch, items) for ch, items in by_channel.items()))
        async with self._sessionmaker.begin() as session:
            for tried, untried in results:
                for message, provider, result in tried:
                    await self._record(session, message.id, attempts[message.id], provider, result)
                if untried:
                    wait = tried[-1][2]  # the temporary failure that stopped the channel
                    retry_at = self._clock() + timedelta(seconds=self._delay(attempts[tried[-1][0].id]))
                    await store.release_unsent(session, [m.id for m in untried], retry_at)
                    log.info("channel failing (%s); %d messages wait", wait.detail, len(untried))
        return len(due) + len(held)

    async def _send_all(
        self, channel_name: str, items: list[Outgoing]
    ) -> tuple[list[tuple[Outgoing, str, SendResult]], list[Outgoing]]:
        channel = self._channels[channel_name]
        tried = []
        for index, message in enumerate(items):
            result = await channel.send(message)
            tried.append((message, channel.provider, result))
            if result.outcome == "temporary":
                return tried, items[index + 1 :]
        return tried, []

    def _delay(self, attempts: int) -> float:
        return retry_delay_s(attempts, base_s=self._settings.retry_base_s, max_s=self._settings.retry_max_s)

    async def _record(
        self, session: AsyncSession, message_id: int, attempts: int, provider: str, result: SendResult
    ) -> None:
        fields: dict[str, Any] = {"provider": provider, "outcome": result.outcome, "detail": result.detail}
        if result.outcome == "sent":
            status = "sent"
            fields["reference"] = result.reference
        elif result.outcome == "permanent":
            status = "failed"
        elif attempts >= self._settings.max_attempts:
            status = "failed"
            fields["detail"] = f"gave up after {attempts} attempts; last: {result.detail}"
        else:
            status = "queued"
            fields["not_before"] = self._clock() + timedelta(seconds=self._delay(attempts))
        changed = await store.record_outcome(session, message_id, status=status, **fields)
        await outcomes.record(session, [changed], self._clock())
        NOTIFICATIONS.labels(status).inc()


def _outgoing(message: Row, school: Any) -> Outgoing:
    settings = school.settings
    return Outgoing(
        id=message.id,
        idempotency_key=message.idempotency_key,
        school_urn=message.school_urn,
        upn=message.upn,
        recipient=message.recipient,
        subject=message.subject,
        body=message.body,
        sender_name=settings.sender_name or school.name,
        reply_to=settings.reply_to_email,
        sms_sender_id=settings.sms_sender_id,
    )
