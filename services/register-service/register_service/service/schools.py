from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.errors import NotFound
from attendance_shared.events import SchoolUpsertedV1
from register_service.repository import schools as school_repository
from register_service.schemas import SchoolIn, SchoolOut
from register_service.service.events import publish_school_event


async def put_school(session: AsyncSession, urn: str, school: SchoolIn) -> SchoolOut:
    await school_repository.upsert(session, urn, school.model_dump())
    await publish_school_event(
        session,
        SchoolUpsertedV1(
            urn=urn, la_code=school.la_code, establishment_number=school.establishment_number, name=school.name
        ),
        urn,
    )
    return SchoolOut(urn=urn, **school.model_dump())


async def require_school(session: AsyncSession, urn: str):
    row = await school_repository.get(session, urn)
    if row is None:
        raise NotFound(f"school {urn} not found")
    return row
