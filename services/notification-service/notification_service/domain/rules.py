"""Which messages an event calls for, and their text. Pure: no I/O."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from attendance_shared.events import RiskFlagRaisedV1

EARLY_SUPPORT_TEMPLATE = (
    "Dear {contact_name}, {forename}'s attendance this school year is {attendance_rate}%. "
    "Every day in school counts, and we would like to talk with you about any barriers and how we can help. "
    "Please contact the school's attendance lead."
)
CHANNELS_IN_ORDER = ("email", "sms")


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    school_urn: str
    upn: str
    about_date: date
    idempotency_key: str
    rule: str
    channel: str
    recipient: str | None
    recipient_role: str
    body: str
    undeliverable_reason: str | None = None


def _address(contact: dict[str, Any]) -> tuple[str, str] | None:
    """The contact's preferred channel if usable, otherwise the first usable one."""
    preferred = contact.get("preferred_channel")
    usable = {"email": contact.get("email"), "sms": contact.get("phone")}
    if usable.get(preferred):
        return preferred, usable[preferred]
    for channel in CHANNELS_IN_ORDER:
        if usable[channel]:
            return channel, usable[channel]
    return None


def early_support_messages(
    flag: RiskFlagRaisedV1, forename: str, contacts: list[dict[str, Any]]
) -> list[PlannedMessage]:
    """A newly persistent absentee: an early-support message to each parent, once a school year.

    A parent who cannot be reached, or a pupil with no parent on record, still gets a
    stored message, marked undeliverable with the reason, so staff can see the gap.
    """
    if flag.flag != "persistent_absence":
        return []
    rule = "persistent-absence-early-support"
    attendance_rate = None if flag.overall_absence_rate is None else round(100 - flag.overall_absence_rate, 1)

    def message(key: str, contact_name: str, address: tuple[str, str] | None, reason: str | None) -> PlannedMessage:
        channel, recipient = address or ("none", None)
        body = EARLY_SUPPORT_TEMPLATE.format(
            contact_name=contact_name, forename=forename, attendance_rate=attendance_rate
        )
        return PlannedMessage(
            school_urn=flag.school_urn,
            upn=flag.upn,
            about_date=flag.as_of,
            idempotency_key=f"{rule}:{flag.school_urn}:{flag.upn}:{flag.academic_year}:{key}",
            rule=rule,
            channel=channel,
            recipient=recipient,
            recipient_role="parent",
            body=body,
            undeliverable_reason=reason,
        )

    if not contacts:
        return [message("none", "parent or carer", None, "no parent or carer contact is on the admission register")]
    return [
        message(
            str(index),
            contact.get("name", "parent or carer"),
            address := _address(contact),
            None if address else "the contact has no email address or phone number",
        )
        for index, contact in enumerate(contacts)
    ]
