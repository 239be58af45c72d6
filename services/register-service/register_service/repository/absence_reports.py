import uuid
from datetime import date

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from register_service.models import absence_reports


async def add(session: AsyncSession, values: dict) -> Row:
    return (await session.execute(absence_reports.insert().values(**values).returning(absence_reports))).one()


async def get(session: AsyncSession, school_urn: str, report_id: uuid.UUID, *, for_update: bool = False) -> Row | None:
    query = select(absence_reports).where(absence_reports.c.school_urn == school_urn, absence_reports.c.id == report_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def page(
    session: AsyncSession,
    school_urn: str,
    *,
    status: str | None,
    upn: str | None,
    after: tuple[date, uuid.UUID] | None,
    limit: int,
) -> list[Row]:
    r = absence_reports
    query = select(r).where(r.c.school_urn == school_urn).order_by(r.c.first_day, r.c.id).limit(limit)
    if status is not None:
        query = query.where(r.c.status == status)
    if upn is not None:
        query = query.where(r.c.upn == upn)
    if after is not None:
        query = query.where((r.c.first_day > after[0]) | ((r.c.first_day == after[0]) & (r.c.id > after[1])))
    return list((await session.execute(query)).all())


async def decide(session: AsyncSession, report_id: uuid.UUID, *, status: str, decided_by: str, note: str | None) -> Row:
    result = await session.execute(
        update(absence_reports)
        .where(absence_reports.c.id == report_id)
        .values(status=status, decided_by=decided_by, decided_at=func.now(), decision_note=note)
        .returning(absence_reports)
    )
    return result.one()
