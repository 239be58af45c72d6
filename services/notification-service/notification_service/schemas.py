from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from notification_service.domain.templates import TemplateKey

MessageStatus = Literal["queued", "sending", "sent", "delivered", "failed", "cancelled", "undeliverable"]


class MessageOut(BaseModel):
    id: int
    school_urn: str
    upn: str | None = Field(description="Null for a message about the school (a register still missing)")
    rule: str
    about_date: date
    session: str | None
    stage: int | None
    channel: str
    recipient_role: str
    contact_index: int | None
    subject: str
    status: MessageStatus
    failure_reason: str | None
    attempts: int
    not_before: datetime
    provider: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    resent_from: int | None


class AttemptOut(BaseModel):
    attempted_at: datetime
    provider: str
    outcome: Literal["sent", "temporary", "permanent"]
    detail: str | None


class MessageDetail(MessageOut):
    """One message as staff check it before a resend: where it went, what it said, and every
    hand-over to a provider (a message never tried, such as an undeliverable one, has none)."""

    recipient: str | None
    body: str
    delivery_attempts: list[AttemptOut]


class ResendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: int = Field(ge=1, le=2**62)


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None


class ContactPreferenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_index: int = Field(ge=0, le=19, description="The contact's position on the admission register, from 0")
    channel: Literal["email", "sms", "push"] | None = Field(None, description="None: the register's preference")
    opted_out: bool = False


class ContactPreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preferences: list[ContactPreferenceIn] = Field(max_length=20)


class ContactPreferenceOut(BaseModel):
    contact_index: int
    name: str | None
    channel: str | None
    opted_out: bool
    register_preferred_channel: str | None


class ContactPreferencesOut(BaseModel):
    contacts: list[ContactPreferenceOut]


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: TemplateKey
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=2000)


class TemplateOut(BaseModel):
    template: TemplateKey
    subject: str
    body: str
    placeholders: list[str]
    customised: bool


class TemplateList(BaseModel):
    items: list[TemplateOut]


class UncontactableOut(BaseModel):
    upn: str
    recipient_role: str
    contact_index: int | None
    channel: str
    reason: str | None
    status: MessageStatus
    rule: str
    about_date: date
    message_id: int


class UncontactablePage(BaseModel):
    items: list[UncontactableOut]
    next_cursor: str | None
