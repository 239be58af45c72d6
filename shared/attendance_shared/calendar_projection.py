"""A consumer's copy of each school's calendars, one row per school and academic year, as
`SchoolCalendarSetV1.stored_row` gives it and `rules.calendar.calendar_from_values` reads it."""

from collections.abc import Sequence

from sqlalchemy import Column, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession


def school_calendars_table(metadata: MetaData) -> Table:
    return Table(
        "school_calendars",
        metadata,
        Column("school_urn", Text, primary_key=True),
        Column("academic_year", Integer, primary_key=True),
        Column("terms", JSONB, nullable=False),
        Column("closures", JSONB, nullable=False),
    )


async def upsert_calendars(session: AsyncSession, table: Table, rows: Sequence[dict]) -> None:
    """The latest calendar of each school and year replaces the one stored: the event carries it whole."""
    if rows:
        statement = insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=["school_urn", "academic_year"],
            set_={"terms": statement.excluded.terms, "closures": statement.excluded.closures},
        )
        await session.execute(statement, rows)
