"""Every SQL statement of the LA returns service."""

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from sqlalchemy import Row, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from la_returns_service.models import pupils, return_rows, returns, schools

ROW_INSERT_CHUNK = 2000


async def upsert_schools(session: AsyncSession, rows: Sequence[dict]) -> None:
    if not rows:
        return
    statement = insert(schools)
    statement = statement.on_conflict_do_update(
        index_elements=["urn"], set_={"la_code": statement.excluded.la_code, "name": statement.excluded.name}
    )
    await session.execute(statement, list(rows))


async def upsert_pupils(session: AsyncSession, rows: Sequence[dict]) -> None:
    if not rows:
        return
    statement = insert(pupils)
    statement = statement.on_conflict_do_update(
        index_elements=["school_urn", "upn"],
        set_={c: statement.excluded[c] for c in rows[0] if c not in ("school_urn", "upn")},
    )
    await session.execute(statement, list(rows))


async def schools_of_la(session: AsyncSession, la_code: str) -> list[Row]:
    return list(
        (await session.execute(select(schools).where(schools.c.la_code == la_code).order_by(schools.c.urn))).all()
    )


async def pupils_of_school(session: AsyncSession, school_urn: str) -> dict[str, Row]:
    rows = await session.execute(select(pupils).where(pupils.c.school_urn == school_urn))
    return {r.upn: r for r in rows}


async def add_return(session: AsyncSession, header: dict, rows: list[dict]) -> None:
    await session.execute(insert(returns).values(**header))
    for start in range(0, len(rows), ROW_INSERT_CHUNK):
        chunk = rows[start : start + ROW_INSERT_CHUNK]
        await session.execute(
            insert(return_rows),
            [{"return_id": header["id"], "row_number": start + i + 1, "data": row} for i, row in enumerate(chunk)],
        )


async def get_return(session: AsyncSession, la_code: str, return_id: uuid.UUID) -> Row | None:
    return (
        await session.execute(select(returns).where(returns.c.id == return_id, returns.c.la_code == la_code))
    ).first()


async def page_returns(
    session: AsyncSession, la_code: str, *, kind: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Row]:
    query = (
        select(returns).where(returns.c.la_code == la_code).order_by(returns.c.generated_at, returns.c.id).limit(limit)
    )
    if kind:
        query = query.where(returns.c.kind == kind)
    if after:
        query = query.where(tuple_(returns.c.generated_at, returns.c.id) > after)
    return list((await session.execute(query)).all())


async def stream_rows(session: AsyncSession, return_id: uuid.UUID) -> AsyncIterator[dict]:
    result = await session.stream(
        select(return_rows.c.data)
        .where(return_rows.c.return_id == return_id)
        .order_by(return_rows.c.row_number)
        .execution_options(yield_per=1000)
    )
    async for (data,) in result:
        yield data
