from sqlalchemy import Row, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from register_service.models import schools


async def upsert(session: AsyncSession, urn: str, values: dict) -> None:
    statement = insert(schools).values(urn=urn, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["urn"], set_={**values, "updated_at": statement.excluded.updated_at}
        )
    )


async def get(session: AsyncSession, urn: str) -> Row | None:
    return (await session.execute(select(schools).where(schools.c.urn == urn))).first()


async def la_code_of(session: AsyncSession, urn: str) -> str | None:
    return await session.scalar(select(schools.c.la_code).where(schools.c.urn == urn))
