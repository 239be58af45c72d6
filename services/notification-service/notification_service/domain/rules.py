"""Which messages an event calls for, and their text. Pure: no I/O."""

from dataclasses import dataclass
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
    """A newly persistent absentee: an early-support message to each parent we can reach."""
    if flag.flag != "persistent_absence":
        return []
    rule = "persistent-absence-early-support"
    base_key = f"{rule}:{flag.school_urn}:{flag.upn}:{flag.academic_year}"
    attendance_rate = None if flag.overall_absence_rate is None else round(100 - flag.overall_absence_rate, 1)
    planned = []
    for index, contact in enumerate(contacts):
        address = _address(contact)
        body = EARLY_SUPPORT_TEMPLATE.format(
            contact_name=contact.get("name", "parent or carer"), forename=forename, attendance_rate=attendance_rate
        )
        if address is None:
            planned.append(
                PlannedMessage(
                    f"{base_key}:{index}",
                    rule,
                    "none",
                    None,
                    "parent",
                    body,
                    "the contact has no email address or phone number",
                )
            )
        else:
            planned.append(PlannedMessage(f"{base_key}:{index}", rule, address[0], address[1], "parent", body))
    if not planned:
        planned.append(
            PlannedMessage(
                f"{base_key}:none",
                rule,
                "none",
                None,
                "parent",
                EARLY_SUPPORT_TEMPLATE.format(
                    contact_name="parent or carer", forename=forename, attendance_rate=attendance_rate
                ),
                "no parent or carer contact is on the admission register",
            )
        )
    return planned
