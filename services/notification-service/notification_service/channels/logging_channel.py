"""A channel that records a message as sent by writing a log line: what `make run` uses for a
channel with no provider configured (/readyz says so).

The line names the message, never the recipient or the text: logs carry no personal data.
"""

import logging

from notification_service.channels.base import Outgoing, SendResult

log = logging.getLogger("notification.channel.log")


class LoggingChannel:
    provider = "log"

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, message: Outgoing) -> SendResult:
        log.info("message delivered to the log channel", extra={"message_id": message.id, "channel": self.channel})
        return SendResult("sent")

    async def close(self) -> None:
        return None
