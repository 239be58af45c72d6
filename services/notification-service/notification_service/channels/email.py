"""E-mail over SMTP (submission with STARTTLS, or plain on loopback in tests).

The standard library's client runs in a worker thread: it is mature and speaks every
authentication and TLS variant relays ask for, and mail volumes here are per school, not per mark.
"""

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from notification_service.channels.base import Outcome, Outgoing, SendResult


class SmtpChannel:
    provider = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        from_address: str,
        starttls: bool,
        username: str = "",
        password: str = "",
        timeout_s: float = 10.0,
    ) -> None:
        self._host, self._port, self._from = host, port, from_address
        self._starttls, self._username, self._password = starttls, username, password
        self._timeout_s = timeout_s

    def _email(self, message: Outgoing) -> EmailMessage:
        email = EmailMessage()
        email["From"] = formataddr((message.sender_name, self._from))
        email["To"] = message.recipient
        email["Subject"] = message.subject
        if message.reply_to:
            email["Reply-To"] = message.reply_to
        email["Message-ID"] = make_msgid(domain=self._from.rpartition("@")[2] or None)
        # Lets a mailbox or a support desk tie a message back to our record of it.
        email["X-Attendance-Message"] = message.idempotency_key
        email.set_content(message.body)
        return email

    def _send_blocking(self, email: EmailMessage) -> None:
        with smtplib.SMTP(self._host, self._port, timeout=self._timeout_s) as client:
            if self._starttls:
                client.starttls(context=ssl.create_default_context())
            if self._username:
                client.login(self._username, self._password)
            client.send_message(email)

    async def send(self, message: Outgoing) -> SendResult:
        email = self._email(message)
        try:
            await asyncio.to_thread(self._send_blocking, email)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            return SendResult(_kind(code), f"SMTP {code}: {_text(reason)}")
        except smtplib.SMTPResponseException as exc:
            return SendResult(_kind(exc.smtp_code), f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}")
        except (smtplib.SMTPException, OSError) as exc:
            return SendResult("temporary", f"SMTP server unreachable: {type(exc).__name__}")
        return SendResult("sent", reference=email["Message-ID"])

    async def close(self) -> None:
        return None


def _kind(code: int) -> Outcome:
    """RFC 5321: 4xx is a transient refusal, 5xx a permanent one."""
    return "permanent" if 500 <= code < 600 else "temporary"


def _text(reason: bytes | str) -> str:
    return reason.decode(errors="replace") if isinstance(reason, bytes) else reason
