from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import topics
from attendance_shared.errors import Conflict, NotFound, Unprocessable
from attendance_shared.events import PupilAdmittedV1
from attendance_shared.rules.identifiers import InvalidUPN, validate_upn
from register_service.repository import pupils as pupil_repository
from register_service.schemas import PupilIn, PupilOut, PupilPage
from register_service.service.events import publish_pupil_events
from register_service.service.schools import require_school


async def admit(session: AsyncSession, urn: str, pupil: PupilIn) -> PupilOut:
    school = await require_school(session, urn)
    try:
        upn = validate_upn(pupil.upn)
    except InvalidUPN as exc:
        raise Unprocessable(str(exc), errors=[{"field": "upn", "message": str(exc)}]) from None
    if pupil.admission_date < pupil.date_of_birth:
        raise Unprocessable(
            "admission_date is before date_of_birth",
            errors=[{"field": "admission_date", "message": "before date_of_birth"}],
        )
    values = pupil.model_dump(mode="json") | {
        "upn": upn,
        "school_urn": urn,
        "date_of_birth": pupil.date_of_birth,
        "admission_date": pupil.admission_date,
    }
    if not await pupil_repository.insert_pupil(session, values):
        raise Conflict(f"pupil {upn} is already on the admission register of school {urn}")
    await publish_pupil_events(
        session,
        topics.PUPILS,
        [PupilAdmittedV1(school_urn=urn, la_code=school.la_code, **pupil.model_dump(exclude={"upn"}), upn=upn)],
    )
    return PupilOut(school_urn=urn, **(pupil.model_dump() | {"upn": upn}))


async def get(session: AsyncSession, urn: str, upn: str) -> PupilOut:
    row = await pupil_repository.get(session, urn, upn)
    if row is None:
        raise NotFound(f"pupil {upn} not found at school {urn}")
    return PupilOut.model_validate(row._asdict())


async def list_page(session: AsyncSession, urn: str, *, cursor: str | None, limit: int) -> PupilPage:
    await require_school(session, urn)
    rows = await pupil_repository.page(session, urn, after_upn=cursor, limit=limit + 1)
    items = [PupilOut.model_validate(r._asdict()) for r in rows[:limit]]
    return PupilPage(items=items, next_cursor=items[-1].upn if len(rows) > limit else None)
