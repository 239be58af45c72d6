from sqlalchemy import Row, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from register_service.models import calendars, schools


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


async def of_la(session: AsyncSession, la_code: str) -> list[Row]:
    return list(await session.execute(select(schools).where(schools.c.la_code == la_code).order_by(schools.c.urn)))


async def upsert_calendar(
    session: AsyncSession, urn: str, academic_year: int, *, terms: list, closures: list, updated_by: str
) -> None:
    values = {"terms": terms, "closures": closures, "updated_by": updated_by}
    statement = insert(calendars).values(school_urn=urn, academic_year=academic_year, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["school_urn", "academic_year"], set_={**values, "updated_at": func.now()}
        )
    )


async def get_calendar(session: AsyncSession, urn: str, academic_year: int) -> Row | None:
    query = select(calendars).where(calendars.c.school_urn == urn, calendars.c.academic_year == academic_year)
    return (await session.execute(query)).first()


async def calendars_of(session: AsyncSession, urns: list[str], academic_year: int) -> dict[str, Row]:
    query = select(calendars).where(calendars.c.school_urn.in_(urns), calendars.c.academic_year == academic_year)
    return {row.school_urn: row for row in await session.execute(query)}
