"""What a channel is given and what it answers. A channel never raises for a delivery
problem: it says whether the failure is temporary (try again later) or permanent."""

from dataclasses import dataclass
from typing import Literal, Protocol

Outcome = Literal["sent", "temporary", "permanent"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    id: int
    idempotency_key: str
    school_urn: str
    upn: str | None
    recipient: str
    subject: str
    body: str
    sender_name: str
    reply_to: str | None = None
    sms_sender_id: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    detail: str | None = None
    reference: str | None = None  # the provider's id for the message


class Channel(Protocol):
    provider: str

    async def send(self, message: Outgoing) -> SendResult: ...

    async def close(self) -> None: ...
