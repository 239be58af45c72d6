from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

MessageStatus = Literal["queued", "sent", "delivered", "failed", "cancelled", "undeliverable"]


class MessageOut(BaseModel):
    id: int
    school_urn: str
    upn: str
    rule: str
    about_date: date
    channel: str
    recipient_role: str
    status: MessageStatus
    failure_reason: str | None
    attempts: int
    created_at: datetime
    sent_at: datetime | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None
