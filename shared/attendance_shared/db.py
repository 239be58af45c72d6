"""One engine factory and one session factory for every service."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, TypeVar

import asyncpg
import orjson
from fastapi import Depends, Request
from sqlalchemy import MetaData, Table, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

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
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it costs three round trips (BEGIN, an empty statement, ROLLBACK) on every
        # checkout. A connection the server closed is dropped at checkout without one
        # (`_discard_if_closed`); one lost silently fails its request with a 503 to retry.
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
    event.listen(engine.sync_engine, "checkout", _discard_if_closed)
    return engine


def _discard_if_closed(dbapi_connection: object, record: ConnectionPoolEntry, proxy: object) -> None:
    """A server restart or a terminated backend closes the socket, and the driver notices
    while the connection sits in the pool: the pool then connects afresh instead."""
    if dbapi_connection.driver_connection.is_closed():  # type: ignore[attr-defined]
        raise DisconnectionError("the server closed this pooled connection")


# Errors that say the database is away, not that the request or the events are bad: the
# same work succeeds when tried again. A new connection refused or timed out is the driver's
# own error (or the OS's), not SQLAlchemy's; a pool with every connection busy past its
# timeout is SQLAlchemy's `TimeoutError`.
TRANSIENT_DB_ERRORS = (OperationalError, ConnectionError, OSError, TimeoutError, PoolTimeoutError)
# A driver "interface error" is transient only when the connection itself went: the driver
# also raises one for a statement it will not send (too many parameters, say), which no
# retry can mend and which must not stall a consumer.
LOST_CONNECTION_ERRORS = (asyncpg.ConnectionDoesNotExistError, asyncpg.CannotConnectNowError, ConnectionError, OSError)
# Two transactions that lock the same rows in opposite orders, or a serialisation conflict:
# PostgreSQL rolls one back, and it succeeds when tried again.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
# SQLSTATE classes of a server that cannot serve now: 08 connection exceptions, 53 insufficient
# resources (too many connections, disk full), 57 operator intervention (shutting down,
# starting up, a statement cancelled by its timeout).
UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})


UNIQUE_VIOLATION = "23505"


def sqlstate_of(exc: DBAPIError) -> str | None:
    """PostgreSQL's code for the error: on the driver's exception, which SQLAlchemy's asyncpg
    adapter wraps once more."""
    return getattr(exc.orig, "sqlstate", None) or getattr(getattr(exc.orig, "__cause__", None), "sqlstate", None)


def _unavailable(sqlstate: str | None) -> bool:
    return sqlstate is not None and (sqlstate in RETRYABLE_SQLSTATES or sqlstate[:2] in UNAVAILABLE_SQLSTATE_CLASSES)


def is_transient(exc: BaseException) -> bool:
    """The database is away or busy, and the same work succeeds when tried again: a request
    answers 503 with Retry-After, a consumer retries its batch. Never true of an error the
    request or the event caused, which no retry mends."""
    if isinstance(exc, TRANSIENT_DB_ERRORS):
        return True
    if isinstance(exc, asyncpg.PostgresError):  # raised while connecting, before SQLAlchemy wraps
        return _unavailable(getattr(exc, "sqlstate", None))
    if isinstance(exc, DBAPIError):
        cause = exc.orig.__cause__ if exc.orig is not None else None
        if _unavailable(sqlstate_of(exc)):
            return True
        return exc.connection_invalidated or isinstance(cause, LOST_CONNECTION_ERRORS)
    return False


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


@asynccontextmanager
async def driver_connection(session: AsyncSession) -> AsyncIterator[asyncpg.Connection]:
    """The session's own asyncpg connection, inside its transaction, for what SQLAlchemy cannot
    send (COPY). Its errors are raised as SQLAlchemy's would be: a value PostgreSQL refuses is
    a `DataError` (a 422 to the client), and a lost connection is invalidated in the pool and
    raised as transient (a 503, or a consumer's retry), not as an unknown driver error."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    try:
        yield driver  # type: ignore[misc]
    except asyncpg.InternalClientError as exc:
        # The protocol's state broke under the operation: seen when the server shut down in
        # the middle of a COPY ("cannot switch to state 21; another operation is in
        # progress"). The connection cannot be trusted again; the work can be retried.
        await connection.invalidate(exc)
        raise DBAPIError.instance(
            None, None, exc, Exception, hide_parameters=True, connection_invalidated=True, dialect=connection.dialect
        ) from exc
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        lost = driver.is_closed()  # type: ignore[union-attr]
        if lost:
            await connection.invalidate(exc)
        raise DBAPIError.instance(
            None, None, exc, Exception, hide_parameters=True, connection_invalidated=lost, dialect=connection.dialect
        ) from exc


async def copy_rows(session: AsyncSession, table: Table, columns: Sequence[str], records: Sequence[tuple]) -> None:
    """Bulk rows with PostgreSQL's COPY, inside the session's transaction: a register of two
    thousand marks is one round trip, with no SQL to build or parse per row. Columns left out
    take their defaults."""
    if not records:
        return
    async with driver_connection(session) as driver:
        await driver.copy_records_to_table(table.name, schema_name=table.schema, columns=list(columns), records=records)


# PostgreSQL's wire protocol numbers bind parameters with 16 bits.
MAX_BIND_PARAMETERS = 32767


def chunked(items: Sequence[T], parameters_per_item: int) -> list[Sequence[T]]:
    """`items` in slices small enough for one IN list each. (Batch writes need none of this:
    a statement executed with a list of parameter sets is batched under the limit for us.)"""
    size = max(1, MAX_BIND_PARAMETERS // max(parameters_per_item, 1))
    return [items[i : i + size] for i in range(0, len(items), size)]


async def upsert_latest_versions(session: AsyncSession, table: Table, key: str, rows: Sequence[dict]) -> None:
    """Store each row unless a higher `version` of its `key` is stored already: events of a
    versioned thing (a part-time timetable) may arrive twice or out of order, and only the
    latest counts. Rows of one batch for the same key are folded to the highest first (one
    statement may not touch a row twice)."""
    latest: dict[object, dict] = {}
    for row in rows:
        held = latest.get(row[key])
        if held is None or held["version"] < row["version"]:
            latest[row[key]] = row
    if not latest:
        return
    statement = pg_insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[key],
        set_={c: statement.excluded[c] for c in next(iter(latest.values())) if c != key},
        where=table.c.version < statement.excluded.version,
    )
    await session.execute(statement, list(latest.values()))
