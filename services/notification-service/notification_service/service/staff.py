"""Use cases behind the API: resending a message, contact preferences, templates and a
school's notification settings. Never commit: the request's unit of work does."""

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.errors import Conflict, NotFound, Unprocessable
from attendance_shared.rules.languages import ENGLISH
from notification_service.domain.policy import SchoolNotificationSettings
from notification_service.domain.rules import (
    LETTER_RULES,
    PlannedMessage,
    Preference,
    parent_address,
    person_address,
    postal_address,
)
from notification_service.domain.templates import (
    DEFAULT_TEMPLATES,
    PLACEHOLDERS,
    TemplateKey,
    missing_placeholders,
    template_errors,
)
from notification_service.repository import store
from notification_service.schemas import (
    AttemptOut,
    ContactPreferenceOut,
    ContactPreferencesIn,
    ContactPreferencesOut,
    MessageDetail,
    MessageOut,
    TemplateIn,
    TemplateList,
    TemplateOut,
)
from notification_service.service.planning import unknown_pupil


async def _current_address(session: AsyncSession, message: Row) -> tuple[str, str] | tuple[None, str]:
    """Where the message would go now: staff resend after fixing a contact on the register."""
    pupil = (await store.pupil_facts(session, {(message.school_urn, message.upn)})).get(
        (message.school_urn, message.upn)
    ) or unknown_pupil(message.school_urn, message.upn)
    role = message.recipient_role
    if role == "parent":
        index = message.contact_index
        if index is None or index >= len(pupil.contacts):
            return None, "no parent or carer contact is on the admission register"
        preference = pupil.preferences.get(index, Preference())
        contact = pupil.contacts[index]
        letters = message.rule in LETTER_RULES
        postal = postal_address(contact, pupil) if letters else None
        push_id = f"{pupil.school_urn}:{pupil.upn}:{index}"
        return parent_address(contact, preference, push_id, postal, letters=letters)
    if role == "attendance_lead":
        lead = (await store.school_settings_of(session, message.school_urn)).attendance_lead
        return person_address(lead.model_dump() if lead else None, "attendance lead for the school")
    return person_address(getattr(pupil, role, None), role.replace("_", " "))


async def resend(session: AsyncSession, urn: str, message_id: int, now: datetime) -> MessageOut:
    original = await store.message(session, urn, message_id)
    if original is None:
        raise NotFound(f"message {message_id} not found")
    if original.status in ("queued", "sending"):
        raise Conflict(f"message {message_id} is {original.status}: it has not been tried out yet")
    channel, recipient_or_reason = await _current_address(session, original)
    if channel is None:
        raise Conflict(f"message {message_id} cannot be resent: {recipient_or_reason}")
    count = await store.resend_count(session, message_id)
    planned = PlannedMessage(
        school_urn=original.school_urn,
        upn=original.upn,
        about_date=original.about_date,
        idempotency_key=f"{original.idempotency_key}:resend{count + 1}",
        rule=original.rule,
        channel=channel,
        recipient=recipient_or_reason,
        recipient_role=original.recipient_role,
        body=original.body,
        subject=original.subject,
        session=original.session,
        stage=original.stage,
        contact_index=original.contact_index,
        language=original.language,
        period=original.period,
    )
    new_id = await store.insert_resend(session, original, replace(planned), now)
    return MessageOut.model_validate((await store.message(session, urn, new_id))._asdict())  # type: ignore[union-attr]


async def message_detail(session: AsyncSession, urn: str, message_id: int) -> MessageDetail:
    # Looked up within the school the access rule admitted: another school's id is not found.
    found = await store.message(session, urn, message_id)
    if found is None:
        raise NotFound(f"message {message_id} not found")
    attempts = [AttemptOut.model_validate(a._asdict()) for a in await store.attempts_of(session, message_id)]
    return MessageDetail.model_validate(found._asdict() | {"delivery_attempts": attempts})


async def get_preferences(session: AsyncSession, urn: str, upn: str) -> ContactPreferencesOut:
    pupil = await store.pupil_contacts_of(session, urn, upn)
    stored = await store.preferences(session, urn, upn)
    return ContactPreferencesOut(
        contacts=[
            ContactPreferenceOut(
                contact_index=index,
                name=contact.get("name"),
                channel=stored[index].channel if index in stored else None,
                opted_out=stored[index].opted_out if index in stored else False,
                register_preferred_channel=contact.get("preferred_channel"),
            )
            for index, contact in enumerate(pupil.contacts if pupil else [])
        ]
    )


async def put_preferences(
    session: AsyncSession, urn: str, upn: str, body: ContactPreferencesIn
) -> ContactPreferencesOut:
    pupil = await store.pupil_contacts_of(session, urn, upn)
    contacts = pupil.contacts if pupil else []
    errors = []
    seen: set[int] = set()
    for i, p in enumerate(body.preferences):
        at = ["body", "preferences", i, "contact_index"]
        if p.contact_index >= len(contacts):
            errors.append({"location": at, "message": f"the pupil has {len(contacts)} contact(s) on record here"})
        elif p.contact_index in seen:
            errors.append({"location": at, "message": "this contact is named twice"})
        seen.add(p.contact_index)
    if errors:
        raise Unprocessable("some preferences name no contact of this pupil", errors=errors)
    await store.replace_preferences(session, urn, upn, [p.model_dump() for p in body.preferences])
    return await get_preferences(session, urn, upn)


def _template_out(key: TemplateKey, language: str, own: Row | None) -> TemplateOut:
    default = DEFAULT_TEMPLATES[key]
    return TemplateOut(
        template=key,
        language=language,
        subject=own.subject if own else default.subject,
        body=own.body if own else default.body,
        placeholders=sorted(PLACEHOLDERS[key]),
        customised=own is not None,
    )


async def list_templates(session: AsyncSession, urn: str) -> TemplateList:
    """Each template in English (the school's wording or the built-in one), then the school's
    versions in other languages."""
    own = await store.school_templates(session, urn)
    items = [_template_out(key, ENGLISH, own.get((key.value, ENGLISH))) for key in TemplateKey]
    items += [
        _template_out(TemplateKey(key), language, row)
        for (key, language), row in sorted(own.items())
        if language != ENGLISH
    ]
    return TemplateList(items=items)


async def put_template(session: AsyncSession, urn: str, key: TemplateKey, body: TemplateIn) -> TemplateOut:
    problems = (
        template_errors(key, "subject", body.subject)
        + template_errors(key, "body", body.body)
        + missing_placeholders(key, body.body)
    )
    if problems:
        raise Unprocessable(
            f"the {body.language} version of {key.value} cannot be used as written",
            errors=[{"location": ["body", p.split(":", 1)[0]], "message": p.split(": ", 1)[1]} for p in problems],
        )
    await store.put_template(session, urn, key.value, body.language, body.subject, body.body)
    own = await store.school_templates(session, urn)
    return _template_out(key, body.language, own.get((key.value, body.language)))


async def reset_template(session: AsyncSession, urn: str, key: TemplateKey, language: str) -> TemplateOut:
    """English goes back to the built-in wording; another language's version is removed, and
    its readers get the English one."""
    await store.delete_template(session, urn, key.value, language)
    return _template_out(key, ENGLISH, (await store.school_templates(session, urn)).get((key.value, ENGLISH)))


async def put_settings(
    session: AsyncSession, urn: str, settings: SchoolNotificationSettings
) -> SchoolNotificationSettings:
    await store.put_school_settings(session, urn, settings)
    return settings
