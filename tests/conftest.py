"""Real parts for the tests: one embedded PostgreSQL per run (or TEST_DATABASE_URL's server),
a fresh migrated database per test, and a fresh Tansu broker per test that needs one."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from attendance_shared.migrations import SERVICE_PACKAGES, migrations_dir, upgrade_to_head
from attendance_stack.broker import TansuBroker
from attendance_stack.postgres import EmbeddedPostgres
from attendance_stack.processes import free_port


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server URL: TEST_DATABASE_URL's server if given, else an embedded one."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", free_port(), durable=False)
    server.start()
    try:
        yield server.url("postgres")
    finally:
        server.destroy()


async def _admin(server_url: str, sql: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.exec_driver_sql(sql)
    await engine.dispose()


@pytest.fixture
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A new database with every service's migrations applied, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    await _admin(postgres_server_url, f"CREATE DATABASE {name}")
    url = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    for service in SERVICE_PACKAGES:
        await asyncio.to_thread(upgrade_to_head, migrations_dir(service), url)
    yield url
    await _admin(postgres_server_url, f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[TansuBroker]:
    """A broker of this test's own: nothing from another test can reach its consumers."""
    broker = TansuBroker(free_port(), tmp_path / "broker.log")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
