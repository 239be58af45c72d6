"""Pupil events keep the contact projection; risk-flag events plan messages."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.events import Event, PupilAdmittedV1, RiskFlagRaisedV1
from attendance_shared.metrics import NOTIFICATIONS
from notification_service.domain.rules import early_support_messages
from notification_service.repository import store


async def handle(session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
    contacts: dict[tuple[str, str], dict] = {}
    for _, event in events:
        data = event.data
        if isinstance(data, PupilAdmittedV1):
            contacts[(data.school_urn, data.upn)] = {
                "school_urn": data.school_urn,
                "upn": data.upn,
                "la_code": data.la_code,
                "forename": data.legal_forename,
                "contacts": [c.model_dump() for c in data.contacts],
                "social_worker": data.social_worker.model_dump() if data.social_worker else None,
            }
    await store.upsert_contacts(session, list(contacts.values()))
    flags = [e.data for _, e in events if isinstance(e.data, RiskFlagRaisedV1)]
    pupils = await store.contacts_for(session, {(f.school_urn, f.upn) for f in flags})
    planned = []
    for flag in flags:
        pupil = pupils.get((flag.school_urn, flag.upn))
        forename = pupil.forename if pupil else "your child"
        planned += early_support_messages(flag, forename, list(pupil.contacts) if pupil else [])
    for status in await store.store_messages(session, planned):
        NOTIFICATIONS.labels(status).inc()
