"""One engine factory and one session factory for every service."""

from collections.abc import AsyncIterator, Sequence
from typing import Annotated, TypeVar

import orjson
from fastapi import Depends, Request
from sqlalchemy import MetaData, Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    """Each service owns one PostgreSQL schema; its tables and Alembic version table live there."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def make_engine(url: str, *, service: str, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # A failed statement's parameters are names, dates of birth and addresses: keep them
        # out of exception text, which ends up in logs.
        hide_parameters=True,
        # JSON columns hold whole pupil records and return rows: orjson reads them several
        # times faster than the standard library, into the same values.
        json_deserializer=orjson.loads,
        connect_args={
            "timeout": 10,
            "command_timeout": 60,
            "server_settings": {"application_name": service},
        },
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """The unit of work of one request: commits once at the end, rolls back on any error."""
    async with factory() as session, session.begin():
        yield session


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    async for session in session_scope(request.app.state.sessionmaker):
        yield session


# scope="function": the commit happens before the response is sent, so a 2xx means stored.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]


async def copy_rows(session: AsyncSession, table: Table, columns: Sequence[str], records: Sequence[tuple]) -> None:
    """Bulk rows with PostgreSQL's COPY, inside the session's transaction: a register of two
    thousand marks is one round trip, with no SQL to build or parse per row. Columns left out
    take their defaults."""
    if not records:
        return
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, schema_name=table.schema, columns=list(columns), records=records
    )


# PostgreSQL's wire protocol numbers bind parameters with 16 bits.
MAX_BIND_PARAMETERS = 32767


def chunked(items: Sequence[T], parameters_per_item: int) -> list[Sequence[T]]:
    """`items` in slices small enough for one IN list each. (Batch writes need none of this:
    a statement executed with a list of parameter sets is batched under the limit for us.)"""
    size = max(1, MAX_BIND_PARAMETERS // max(parameters_per_item, 1))
    return [items[i : i + size] for i in range(0, len(items), size)]
