"""Sends stored messages. A message is sent only after it is stored, and marked sent in the
same transaction that locked it, so a restart resumes with what is still queued."""

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attendance_shared.metrics import NOTIFICATIONS
from notification_service.channels.logging_channel import LoggingChannel
from notification_service.repository import store

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, batch_size: int, idle_poll_s: float) -> None:
        self._sessionmaker = sessionmaker
        self._batch_size = batch_size
        self._idle_poll_s = idle_poll_s
        self._channel = LoggingChannel()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                sent = await self.dispatch_once()
            except Exception:
                log.exception("dispatch failed; retrying")
                sent = 0
            if sent < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._idle_poll_s)

    async def dispatch_once(self) -> int:
        async with self._sessionmaker() as session, session.begin():
            queued = await store.claim_queued(session, self._batch_size)
            for message in queued:
                await self._channel.send(message.id, message.channel)
            await store.mark_sent(session, [m.id for m in queued])
        NOTIFICATIONS.labels("sent").inc(len(queued))
        return len(queued)
