from datetime import date

from sqlalchemy import ARRAY, Row, Text, any_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from register_service.models import pupil_versions, pupils


async def insert_pupil(session: AsyncSession, values: dict) -> bool:
    """Insert unless the pupil is already on this school's register; say whether it was new."""
    result = await session.execute(
        insert(pupils).values(**values).on_conflict_do_nothing(index_elements=["school_urn", "upn"])
    )
    return result.rowcount == 1


async def update_pupil(session: AsyncSession, school_urn: str, upn: str, values: dict) -> None:
    await session.execute(
        update(pupils)
        .where(pupils.c.school_urn == school_urn, pupils.c.upn == upn)
        .values(**values, updated_at=func.now())
    )


async def record_deletion(
    session: AsyncSession,
    school_urn: str,
    upn: str,
    *,
    left_on: date,
    ground: str,
    destination: dict | None,
    deleted_by: str,
) -> None:
    await session.execute(
        update(pupils)
        .where(pupils.c.school_urn == school_urn, pupils.c.upn == upn)
        .values(
            left_on=left_on,
            deletion_ground=ground,
            destination=destination,
            deleted_by=deleted_by,
            deleted_at=func.now(),
            updated_at=func.now(),
        )
    )


async def add_version(
    session: AsyncSession, school_urn: str, upn: str, *, effective_from: date, record: dict, recorded_by: str
) -> None:
    await session.execute(
        pupil_versions.insert().values(
            school_urn=school_urn, upn=upn, effective_from=effective_from, record=record, recorded_by=recorded_by
        )
    )


async def version_on(session: AsyncSession, school_urn: str, upn: str, day: date) -> Row | None:
    """The version in effect on `day`: the latest to take effect by then, the last recorded
    winning when two take effect the same day."""
    v = pupil_versions
    query = (
        select(v.c.record)
        .where(v.c.school_urn == school_urn, v.c.upn == upn, v.c.effective_from <= day)
        .order_by(v.c.effective_from.desc(), v.c.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).first()


async def versions(session: AsyncSession, school_urn: str, upn: str) -> list[Row]:
    v = pupil_versions
    query = (
        select(v.c.effective_from, v.c.recorded_by, v.c.recorded_at, v.c.record)
        .where(v.c.school_urn == school_urn, v.c.upn == upn)
        .order_by(v.c.id)
    )
    return list((await session.execute(query)).all())


async def get(session: AsyncSession, school_urn: str, upn: str) -> Row | None:
    return (await session.execute(select(pupils).where(pupils.c.school_urn == school_urn, pupils.c.upn == upn))).first()


def _on_roll(day: date):
    return (pupils.c.admission_date <= day) & or_(pupils.c.left_on.is_(None), pupils.c.left_on >= day)


async def page(
    session: AsyncSession, school_urn: str, *, on_roll_on: date | None, after_upn: str | None, limit: int
) -> list[Row]:
    query = select(pupils).where(pupils.c.school_urn == school_urn).order_by(pupils.c.upn).limit(limit)
    if on_roll_on is not None:
        query = query.where(_on_roll(on_roll_on))
    if after_upn:
        query = query.where(pupils.c.upn > after_upn)
    return list((await session.execute(query)).all())


async def on_roll(session: AsyncSession, school_urn: str, day: date, upns: list[str]) -> set[str]:
    # One array parameter rather than an IN list: a 2,000-pupil register would otherwise
    # compile 2,000 bind parameters.
    wanted = bindparam("upns", upns, type_=ARRAY(Text))
    query = select(pupils.c.upn).where(pupils.c.school_urn == school_urn, pupils.c.upn == any_(wanted), _on_roll(day))
    return set((await session.execute(query)).scalars())
