"""Asks GOV.UK Notify what became of the texts it accepted: delivered, or failed with its
reason. Polling rather than Notify's callbacks keeps the service free of a public, unauthenticated endpoint."""

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.metrics import NOTIFICATIONS
from notification_service.channels.notify import NotifySmsChannel
from notification_service.repository import store
from notification_service.service import outcomes
from notification_service.service.clock import Clock, utc_now

# Notify gives up on a text after 72 hours; after that there is nothing more to learn.
REPORT_WINDOW = timedelta(hours=73)
BATCH = 200


class DeliveryReports:
    def __init__(self, channel: NotifySmsChannel, clock: Clock = utc_now) -> None:
        self._channel = channel
        self._clock = clock

    async def __call__(self, session: AsyncSession) -> int:
        waiting = await store.awaiting_delivery_report(
            session, self._channel.provider, self._clock() - REPORT_WINDOW, BATCH
        )
        settled = 0
        for message in waiting:
            found = await self._channel.status(message.provider_reference)
            if found is None:
                continue
            status, reason = found
            changed = await store.set_delivery_status(session, message.id, status, reason)
            await outcomes.record(session, [changed], self._clock())
            NOTIFICATIONS.labels(status).inc()
            settled += 1
        return settled
