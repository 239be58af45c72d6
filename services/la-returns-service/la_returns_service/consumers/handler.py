"""Schools and pupils, projected per LA from the register's events."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.events import Event, PupilAdmittedV1, SchoolUpsertedV1
from la_returns_service.repository import store


async def handle(session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
    schools: dict[str, dict] = {}
    pupils: dict[tuple[str, str], dict] = {}
    for _, event in events:
        data = event.data
        if isinstance(data, SchoolUpsertedV1):
            schools[data.urn] = {"urn": data.urn, "la_code": data.la_code, "name": data.name}
        elif isinstance(data, PupilAdmittedV1):
            pupils[(data.school_urn, data.upn)] = {
                "school_urn": data.school_urn,
                "upn": data.upn,
                "la_code": data.la_code,
                "legal_surname": data.legal_surname,
                "legal_forename": data.legal_forename,
                "date_of_birth": data.date_of_birth,
                "year_group": data.year_group,
                "admission_date": data.admission_date,
            }
    await store.upsert_schools(session, list(schools.values()))
    await store.upsert_pupils(session, list(pupils.values()))
