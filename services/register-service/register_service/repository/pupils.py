from datetime import date

from sqlalchemy import Row, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from register_service.models import pupils


async def insert_pupil(session: AsyncSession, values: dict) -> bool:
    """Insert unless the pupil is already on this school's register; say whether it was new."""
    result = await session.execute(
        insert(pupils).values(**values).on_conflict_do_nothing(index_elements=["school_urn", "upn"])
    )
    return result.rowcount == 1


async def get(session: AsyncSession, school_urn: str, upn: str) -> Row | None:
    return (await session.execute(select(pupils).where(pupils.c.school_urn == school_urn, pupils.c.upn == upn))).first()


async def page(session: AsyncSession, school_urn: str, *, after_upn: str | None, limit: int) -> list[Row]:
    query = select(pupils).where(pupils.c.school_urn == school_urn).order_by(pupils.c.upn).limit(limit)
    if after_upn:
        query = query.where(pupils.c.upn > after_upn)
    return list((await session.execute(query)).all())


async def on_roll(session: AsyncSession, school_urn: str, day: date, upns: list[str]) -> set[str]:
    query = select(pupils.c.upn).where(
        pupils.c.school_urn == school_urn,
        pupils.c.upn.in_(upns),
        pupils.c.admission_date <= day,
        or_(pupils.c.left_on.is_(None), pupils.c.left_on > day),
    )
    return set((await session.execute(query)).scalars())
