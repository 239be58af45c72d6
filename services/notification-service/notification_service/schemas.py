from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from attendance_shared.rules.languages import ENGLISH, LanguageCode
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
    channel: Literal["email", "sms", "push", "post"] | None = Field(
        None, description="None: the register's preference. post: letters only; alerts go by e-mail or SMS"
    )
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
    language: LanguageCode = Field(
        ENGLISH, description="ISO 639-1: the version contacts who prefer this language get (English otherwise)"
    )
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=2000)


class TemplateOut(BaseModel):
    template: TemplateKey
    language: str
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


PeriodKey = Annotated[
    str,
    StringConstraints(min_length=7, max_length=40, pattern=r"^[0-9]{4}-[a-z0-9-]+$"),
]


class SummaryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: PeriodKey = Field(description="A period of the school's calendar: 2026-autumn-1, 2026-autumn or 2026-11")


class SummaryPeriodOut(BaseModel):
    period: str
    label: str
    start: date
    end: date
    status: Literal["not_ended", "due", "planning", "planned", "not_planned"]
    pupils: int | None = None
    messages: int | None = None
    planned_at: datetime | None = None
    requested_by: str | None = None


class SummaryPeriodsOut(BaseModel):
    enabled: bool
    frequency: str
    periods: list[SummaryPeriodOut]


class SummaryPreviewItem(BaseModel):
    upn: str
    contact_index: int | None
    tone: str
    channel: str
    language: str | None
    subject: str
    body: str
    undeliverable_reason: str | None


class SummaryPreview(BaseModel):
    period: str
    label: str
    start: date
    end: date
    pupils: int = Field(description="Pupils on roll at the period's end with a possible session this year")
    pupils_without_sessions: int
    messages: int
    by_channel: dict[str, int]
    by_tone: dict[str, int]
    items: list[SummaryPreviewItem]
    next_cursor: str | None


class PrintRunOut(BaseModel):
    id: int
    school_urn: str
    made_on: date
    letters: int
    checksum: str = Field(description="sha256 of the PDF")
    made_by: str | None
    created_at: datetime


class PrintRunPage(BaseModel):
    items: list[PrintRunOut]
    next_cursor: str | None
