"""Real parts for the tests: one embedded PostgreSQL per run (or TEST_DATABASE_URL's server),
a fresh migrated database per test, and one Apache Kafka broker per run whose topics are
deleted before each test that uses it, so that no test reads another's events."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from attendance_shared.migrations import SERVICE_PACKAGES, migrations_dir, upgrade_to_head
from attendance_stack.kafka import KafkaCluster
from attendance_stack.postgres import EmbeddedPostgres
from attendance_stack.processes import free_port
from tests.helpers import delete_topics

# The register reminds a register not taken today half an hour after it closes, on the real
# clock: a test whose school has no register today would find an event it did not cause. Only
# the tests of the reminder turn it on (tests/e2e/test_register_flow.py); the rest leave it off.
os.environ.setdefault("REGISTER_MISSING_REGISTER_REMINDER_MINUTES", "0")
# Likewise parents' summaries go when a half-term of the test calendar has ended, on the real
# clock: a stack started the week after would send a batch no test asked for. Tests send a
# period's batch themselves, or run the scheduler on a clock of their own.
os.environ.setdefault("NOTIFICATION_SUMMARIES_SCHEDULED", "false")


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


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """One Apache Kafka node (KRaft) for the whole run: a JVM per test would cost seconds each."""
    cluster = KafkaCluster(tmp_path_factory.mktemp("kafka"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def broker(kafka: KafkaCluster) -> AsyncIterator[KafkaCluster]:
    """The run's broker with none of the topics an earlier test made: deleting a topic also
    deletes every group's committed offsets on it, so consumer groups start afresh too."""
    if kafka.nodes[0].process is None:  # a test stopped it and failed before starting it again
        await asyncio.to_thread(kafka.start)
    await delete_topics(kafka.bootstrap_servers)
    yield kafka
