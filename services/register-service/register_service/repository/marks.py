from datetime import date

from sqlalchemy import Row, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from register_service.models import marks


async def current(
    session: AsyncSession, school_urn: str, day: date, session_name: str, upns: list[str] | None = None
) -> dict[str, Row]:
    """The latest revision of each pupil's mark for one session."""
    query = (
        select(marks.c.upn, marks.c.code, marks.c.revision, marks.c.recorded_at, marks.c.recorded_by)
        .where(marks.c.school_urn == school_urn, marks.c.date == day, marks.c.session == session_name)
        .order_by(marks.c.upn, marks.c.revision.desc())
        .ext(distinct_on(marks.c.upn))
    )
    if upns is not None:
        query = query.where(marks.c.upn.in_(upns))
    return {row.upn: row for row in await session.execute(query)}


async def add(session: AsyncSession, rows: list[dict]) -> None:
    if rows:
        await session.execute(marks.insert(), rows)


async def history(session: AsyncSession, school_urn: str, upn: str, start: date | None, end: date | None) -> list[Row]:
    query = (
        select(marks)
        .where(marks.c.school_urn == school_urn, marks.c.upn == upn)
        .order_by(marks.c.date, marks.c.session, marks.c.revision)
    )
    if start:
        query = query.where(marks.c.date >= start)
    if end:
        query = query.where(marks.c.date <= end)
    return list((await session.execute(query)).all())
