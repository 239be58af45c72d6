"""Waiting, reading and crashing helpers for tests against the real broker and database."""

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from attendance_shared.auth import Role, mint_token
from attendance_shared.clock import SCHOOL_TIME_ZONE, today_in_england
from attendance_shared.consumer import BatchConsumer
from attendance_shared.events import Event
from attendance_shared.kafka import KafkaPublisher, KafkaTarget, client_config
from attendance_shared.settings import CommonSettings
from attendance_shared.topics import TopicSpec

T = TypeVar("T")


async def wait_until(predicate: Callable[[], Awaitable[bool]], *, timeout_s: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what or predicate}")


async def eventually(check: Callable[[], Awaitable[T]], timeout_s: float = 30) -> T:
    """`check`'s result once it stops failing its assertions (projections catch up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def scalar(engine: AsyncEngine, sql: str, **params: object) -> object:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def read_topic(kafka: KafkaTarget, topic: str, *, expected: int, timeout_s: float = 20) -> list[ConsumerRecord]:
    """Every record of a topic from its beginning, once `expected` have arrived (as the
    secured stack's admin when given its `stack.kafka`)."""
    consumer = AIOKafkaConsumer(**client_config(kafka).options(), enable_auto_commit=False)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        # The topic may not exist yet: whoever publishes first creates it.
        while not (partitions := sorted(consumer.partitions_for_topic(topic) or [])):
            assert time.monotonic() < deadline, f"topic {topic} was never created"
            await asyncio.sleep(0.1)
            await consumer._client.force_metadata_update()
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        records: list[ConsumerRecord] = []
        while len(records) < expected and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def delete_topics(kafka: KafkaTarget) -> None:
    """Delete every topic but Kafka's own, and wait until they are gone."""
    admin = AIOKafkaAdminClient(**client_config(kafka).options())
    await admin.start()
    try:
        left = [name for name in await admin.list_topics() if not name.startswith("__")]
        if left:
            await admin.delete_topics(left)
            deadline = asyncio.get_running_loop().time() + 30
            while set(left) & set(await admin.list_topics()):
                assert asyncio.get_running_loop().time() < deadline, f"topics not deleted: {left}"
                await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def publish_events(kafka: KafkaTarget, topic: TopicSpec, events: list[Event]) -> None:
    """Publish `events` to `topic` as their owner's relay would: keyed by subject."""
    publisher = KafkaPublisher(kafka, [topic], client_id="test-publisher")
    try:
        await publisher.publish([(topic.name, e.key, e.to_bytes(), []) for e in events])
    finally:
        await publisher.close()


def today_clear_of_midnight(margin_s: float) -> date:
    """England's today, once at least `margin_s` seconds of it are left. A flow of tests that
    reads the date once (posting every register "so far", then acting "today") must not run
    over midnight, when the services' today moves on and its own does not; this close to
    midnight it waits for the new day."""
    now = datetime.now(SCHOOL_TIME_ZONE)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=SCHOOL_TIME_ZONE)
    left = (midnight - now).total_seconds()
    if left < margin_s:
        time.sleep(left + 1)
    return today_in_england()


def bearer(role: Role, subject: str | None = None, **scope: object) -> dict[str, str]:
    """An Authorization header with a development token for `role` and its scope."""
    token = mint_token(CommonSettings(), subject=subject or f"test-{role.value}", role=role, **scope)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def app_client(
    app: FastAPI, headers: dict[str, str], base_url: str = "http://service"
) -> AsyncIterator[httpx.AsyncClient]:
    """A service app with its lifespan (workers included), called in-process over ASGI."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=base_url, headers=headers) as client,
    ):
        yield client


class SimulatedCrash(Exception):
    pass


class CrashBeforeOffsetCommit(BatchConsumer):
    """Dies after its database transaction committed but before Kafka heard about it, so the
    next consumer of the group is handed the same batch again."""

    async def commit_offsets(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        raise SimulatedCrash


POPPLER = Path(__file__).resolve().parent.parent / ".venv" / "opt" / "poppler"


def poppler(tool: str, *args: str) -> bytes:
    """Run one of poppler-utils' tools (pdftotext, pdftoppm), as `make test` unpacked them."""
    binary = POPPLER / "usr" / "bin" / tool
    assert binary.exists(), f"{binary} is missing: `make install` unpacks poppler-utils there"
    env = {**os.environ, "LD_LIBRARY_PATH": str(POPPLER / "usr" / "lib" / "x86_64-linux-gnu")}
    return subprocess.run([str(binary), *args], env=env, check=True, capture_output=True, timeout=60).stdout
