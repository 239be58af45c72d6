from datetime import date

from sqlalchemy import Row, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from register_service.models import calendars, school_trusts, schools


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


async def trust_history(session: AsyncSession, urn: str) -> list[Row]:
    query = select(school_trusts).where(school_trusts.c.school_urn == urn).order_by(school_trusts.c.joined_on)
    return list((await session.execute(query)).all())


async def change_trust(session: AsyncSession, urn: str, *, leaves_after: date | None, joins: dict | None) -> None:
    """Close the open membership on `leaves_after`, and open `joins` (a SchoolTrust's values)."""
    if leaves_after is not None:
        await session.execute(
            update(school_trusts)
            .where(school_trusts.c.school_urn == urn, school_trusts.c.left_on.is_(None))
            .values(left_on=leaves_after)
        )
    if joins is not None:
        await session.execute(insert(school_trusts).values(school_urn=urn, **joins))
