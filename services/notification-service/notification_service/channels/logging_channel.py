"""A channel that records a message as sent by writing a log line.

It stands in for email and SMS until those channels exist; the line names the message,
never the recipient or the text, because logs must carry no personal data.
"""

import logging

log = logging.getLogger("notification.channel.log")


class LoggingChannel:
    name = "log"

    async def send(self, message_id: int, channel: str) -> None:
        log.info("message delivered to the log channel", extra={"message_id": message_id, "channel": channel})
