import uuid
from datetime import date

from sqlalchemy import Row, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from register_service.models import part_time_timetable_versions, part_time_timetables, schools

t = part_time_timetables


async def add(session: AsyncSession, values: dict) -> Row:
    return (await session.execute(t.insert().values(**values).returning(t))).one()


async def get(session: AsyncSession, urn: str, timetable_id: uuid.UUID, *, for_update: bool = False) -> Row | None:
    query = select(t).where(t.c.school_urn == urn, t.c.id == timetable_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def active_of_pupil(session: AsyncSession, urn: str, upn: str, *, for_update: bool = False) -> list[Row]:
    query = select(t).where(t.c.school_urn == urn, t.c.upn == upn, t.c.status == "active").order_by(t.c.start_date)
    if for_update:
        query = query.with_for_update()
    return list((await session.execute(query)).all())


async def overlapping(session: AsyncSession, urn: str, upn: str, start: date, end: date) -> Row | None:
    query = select(t).where(
        t.c.school_urn == urn,
        t.c.upn == upn,
        t.c.start_date <= end,
        func.coalesce(t.c.ended_on, t.c.end_date) >= start,
    )
    return (await session.execute(query.limit(1))).first()


async def change(session: AsyncSession, timetable_id: uuid.UUID, values: dict) -> Row:
    statement = (
        update(t)
        .where(t.c.id == timetable_id)
        .values(version=t.c.version + 1, updated_at=func.now(), **values)
        .returning(t)
    )
    return (await session.execute(statement)).one()


async def add_version(session: AsyncSession, row: Row, *, change: str, recorded_by: str, record: dict) -> None:
    await session.execute(
        part_time_timetable_versions.insert().values(
            timetable_id=row.id, version=row.version, record=record, change=change, recorded_by=recorded_by
        )
    )


async def versions(session: AsyncSession, timetable_id: uuid.UUID) -> list[Row]:
    v = part_time_timetable_versions
    query = select(v).where(v.c.timetable_id == timetable_id).order_by(v.c.version)
    return list((await session.execute(query)).all())


async def page(
    session: AsyncSession,
    *,
    urn: str | None = None,
    la_code: str | None = None,
    status: str | None,
    attention: str | None,
    today: date,
    upn: str | None = None,
    after: tuple[str, date, uuid.UUID] | None,
    limit: int,
) -> list[Row]:
    """Timetables of a school, or of every school of an LA, by (school, start date, id)."""
    query = select(t).order_by(t.c.school_urn, t.c.start_date, t.c.id).limit(limit)
    if urn is not None:
        query = query.where(t.c.school_urn == urn)
    if la_code is not None:
        query = query.where(t.c.school_urn.in_(select(schools.c.urn).where(schools.c.la_code == la_code)))
    if upn is not None:
        query = query.where(t.c.upn == upn)
    if status is not None:
        query = query.where(t.c.status == status)
    if attention == "review_overdue":
        query = query.where(t.c.status == "active", t.c.next_review_on < today)
    elif attention == "past_end":
        query = query.where(t.c.status == "active", t.c.end_date < today)
    if after is not None:
        key = (t.c.school_urn, t.c.start_date, t.c.id)

        query = query.where(tuple_(*key) > tuple_(*after))
    return list((await session.execute(query)).all())
