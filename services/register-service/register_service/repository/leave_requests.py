import uuid
from datetime import date

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from register_service.models import leave_requests

r = leave_requests


async def add(session: AsyncSession, values: dict) -> Row:
    return (await session.execute(r.insert().values(**values).returning(r))).one()


async def get(session: AsyncSession, school_urn: str, request_id: uuid.UUID, *, for_update: bool = False) -> Row | None:
    query = select(r).where(r.c.school_urn == school_urn, r.c.id == request_id)
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
    query = select(r).where(r.c.school_urn == school_urn).order_by(r.c.first_day, r.c.id).limit(limit)
    if status is not None:
        query = query.where(r.c.status == status)
    if upn is not None:
        query = query.where(r.c.upn == upn)
    if after is not None:
        query = query.where((r.c.first_day > after[0]) | ((r.c.first_day == after[0]) & (r.c.id > after[1])))
    return list((await session.execute(query)).all())


async def decide(session: AsyncSession, request_id: uuid.UUID, values: dict) -> Row:
    statement = update(r).where(r.c.id == request_id).values(decision=r.c.decision + 1, **values).returning(r)
    return (await session.execute(statement)).one()
