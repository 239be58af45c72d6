"""What `make bench` measures besides ingest: freshness in analytics, query latencies,
resident memory of each service, and the raw limits of PostgreSQL and the broker on the
same machine, so each project figure can be read as a share of what the parts allow."""

import asyncio
import bisect
import contextlib
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy.engine import make_url

from attendance_shared.acl import consumer_group
from attendance_shared.kafka import KafkaTarget, client_config
from attendance_shared.topics import MARKS, TopicSpec


class Accepted(NamedTuple):
    """A request's answer that carried marks: when it arrived, the records it put on the marks
    topic (one a register, one an amendment) and the marks they hold. Freshness is read off
    records, which is what a consumer group's offsets count; rates are given in marks."""

    at: float
    records: int
    marks: int


def marks_of(accepted: list[Accepted]) -> int:
    return sum(a.marks for a in accepted)


def records_of(accepted: list[Accepted]) -> int:
    return sum(a.records for a in accepted)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def batches_applied(urls: dict[str, str]) -> dict[str, float]:
    """How many polled batches each service's consumer has applied so far (its
    `consumer_batch_seconds_count`): over a run, events per batch is what each batch's own
    costs (a transaction, a read of the rows it changes, a commit) are shared by. Once a run,
    so the scrape costs the services nothing worth counting."""
    counts = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for service, url in urls.items():
            text = (await client.get(f"{url}/metrics")).text
            lines = [line for line in text.splitlines() if line.startswith("consumer_batch_seconds_count{")]
            counts[service] = sum(float(line.rpartition(" ")[2]) for line in lines)
    return counts


class CommittedEvents:
    """How many events of a topic (the marks, unless named) a service's consumer has applied:
    the sum of the offsets its group has committed on it, asked of the broker. The consumer
    commits them after its transaction, so they count events whose effects are visible, and
    asking costs the service nothing (scraping analytics' /metrics every 50 ms took a seventh
    of its CPU)."""

    def __init__(self, kafka: KafkaTarget) -> None:
        self._admin = AIOKafkaAdminClient(**client_config(kafka).options(), request_timeout_ms=5000)
        self._coordinators: dict[str, int] = {}

    async def start(self) -> None:
        await self._admin.start()

    async def close(self) -> None:
        await self._admin.close()

    async def __aenter__(self) -> "CommittedEvents":
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def of(self, service: str, topic: TopicSpec = MARKS) -> float:
        group = consumer_group(service)
        if group not in self._coordinators:
            self._coordinators[group] = await self._admin.find_coordinator(group)
        # This topic's partitions only: the group commits on the schools and pupils topics too.
        offsets = await self._admin.list_consumer_group_offsets(
            group,
            group_coordinator_id=self._coordinators[group],
            partitions=[TopicPartition(topic.name, p) for p in range(topic.partitions)],
        )
        return float(sum(o.offset for o in offsets.values() if o.offset > 0))


class ConsumedWatcher:
    """Samples how many records of the marks topic analytics has applied, so each register's
    freshness (accepted by register-service to applied in analytics) can be read off the
    timeline: register i is fresh once the count reaches the records accepted up to and
    including it."""

    def __init__(self, committed: CommittedEvents, interval_s: float = 0.05) -> None:
        self._committed = committed
        self._interval_s = interval_s
        self.samples: list[tuple[float, float]] = []  # (monotonic time, applied since the baseline)
        self._stopping = asyncio.Event()
        self._reached = asyncio.Event()
        self._target = float("inf")

    async def current(self) -> float:
        return await self._committed.of("analytics")

    async def run(self, baseline: float) -> None:
        while not self._stopping.is_set():
            self.samples.append((time.monotonic(), await self.current() - baseline))
            if self.samples[-1][1] >= self._target:
                self._reached.set()
            await asyncio.sleep(self._interval_s)

    async def wait_for(self, count: float, timeout_s: float) -> None:
        """Until analytics has applied `count` records, or `timeout_s` has passed (`freshness`
        then says how many it had not)."""
        self._target = count
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._reached.wait(), timeout_s)

    def stop(self) -> None:
        self._stopping.set()

    def time_reaching(self, count: float) -> float | None:
        counts = [c for _, c in self.samples]
        index = bisect.bisect_left(counts, count)
        return self.samples[index][0] if index < len(self.samples) else None


def catch_up(accepted: list[Accepted], watcher: ConsumedWatcher, last_visible: float) -> dict[str, float]:
    """Analytics' own apply rate: the backlog of marks left when the last register was
    accepted, over the time it took to clear it, with register-service idle. Only where a
    backlog of at least 5,000 marks was left, or the figure would be noise."""
    if not accepted or not watcher.samples:
        return {}
    ordered = sorted(accepted)
    records, marks = [0], [0]  # cumulative, so the records applied tell the marks applied
    for answer in ordered:
        records.append(records[-1] + answer.records)
        marks.append(marks[-1] + answer.marks)
    last_accepted = ordered[-1].at
    after = [(at, count) for at, count in watcher.samples if at >= last_accepted]
    if not after or last_visible <= after[0][0]:
        return {}
    at, count = after[0]
    applied = marks[bisect.bisect_right(records, count) - 1]
    if marks[-1] - applied < 5000:
        return {}
    return {"analytics_catch_up_marks_per_second": round((marks[-1] - applied) / (last_visible - at))}


def freshness(accepted: list[Accepted], watcher: ConsumedWatcher, started: float) -> dict[str, float]:
    """`accepted` holds each answer in completion order. A rate is only given once analytics
    has applied every record: over the marks it had applied by a timeout, it would be the rate
    of a run cut short where it fell behind."""
    seconds, records, marks, seen, last_visible = [], 0, 0, 0, started
    for answer in sorted(accepted):
        records += answer.records
        visible = watcher.time_reaching(records)
        if visible is None:
            break  # the count only grows: no later register was applied either
        marks += answer.marks
        # The client notes acceptance when the response arrives, just after the commit, so a
        # fast consumer can be a few milliseconds "early": that is jitter, not negative delay.
        seconds.append(max(visible - answer.at, 0.0))
        seen, last_visible = marks, max(last_visible, visible)
    total = marks_of(accepted)
    figures: dict[str, float] = {"marks": total}
    if seen < total:
        figures["marks_not_applied"] = total - seen
    else:
        figures["end_to_end_marks_per_second"] = round(total / max(last_visible - started, 1e-9))
        figures |= catch_up(accepted, watcher, last_visible)
    return figures | {
        "freshness_p50_s": round(statistics.median(seconds), 3) if seconds else -1,
        "freshness_p99_s": round(percentile(seconds, 99), 3) if seconds else -1,
    }


async def latency(call: Callable[[], Awaitable[httpx.Response]], repeats: int) -> dict[str, float]:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = await call()
        if response.status_code >= 400:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
        timings.append(time.perf_counter() - started)
    return {
        "p50_ms": round(1000 * statistics.median(timings), 1),
        "p95_ms": round(1000 * percentile(timings, 95), 1),
        "requests": repeats,
    }


def resident_mb(pids: dict[str, int]) -> dict[str, float]:
    """Resident memory of each service's process (and its children), in MB."""
    result = {}
    for service, pid in pids.items():
        total_kb = 0
        for each in _process_tree(pid):
            status = Path(f"/proc/{each}/status")
            if status.exists():
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
        result[service] = round(total_kb / 1024, 1)
    return result


# The bench's own process in the CPU figures.
CLIENT = "bench client"


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU time (user and system) each process and its children have used so far, in seconds.
    PostgreSQL's backends are children of its postmaster, so they count towards it."""
    tick = os.sysconf("SC_CLK_TCK")
    result = {}
    for name, pid in pids.items():
        ticks = 0
        for each in _process_tree(pid):
            with contextlib.suppress(OSError, IndexError):  # a process that has just ended
                fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
        result[name] = ticks / tick
    return result


def cpu_per_event(before: dict[str, float], after: dict[str, float], events: int) -> dict[str, object]:
    """What each process spent between two readings, per mark event accepted in between. The
    client's own share is the machine's yardstick: it does the same work in every run, so a
    whole-stack figure divided by it moves with the code, not with how fast the machine is."""
    spent = {name: after[name] - before[name] for name in after}
    stack = sum(seconds for name, seconds in spent.items() if name != CLIENT)
    client = spent.get(CLIENT, 0.0)
    return {
        "events": events,
        "seconds": {name: round(seconds, 2) for name, seconds in spent.items()},
        "us_per_event": {name: round(1e6 * seconds / max(events, 1)) for name, seconds in spent.items()},
        "stack_us_per_event": round(1e6 * stack / max(events, 1)),
        "stack_over_client": round(stack / client, 2) if client else None,
    }


def _process_tree(pid: int) -> list[int]:
    return [pid, *_children(pid)]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = task / "children"
        if children.exists():
            found += [int(c) for c in children.read_text().split()]
    return found + [grandchild for child in found for grandchild in _children(child)]


async def postgres_copy_rows_per_second(database_url: str, rows: int) -> float:
    """COPY into a table shaped like the register's marks, in one transaction, as ingest does."""
    async with postgres(database_url) as connection:
        await connection.execute(
            "CREATE TEMP TABLE bench_marks (id bigserial PRIMARY KEY, school_urn text, upn text, date date, "
            "session text, code text, revision int, recorded_by text, recorded_at timestamptz, "
            "UNIQUE (school_urn, date, session, upn, revision))"
        )
        now = datetime.now(UTC)
        records = [("500000", f"A{i:012d}", date(2026, 9, 7), "am", "/", 1, "bench", now) for i in range(rows)]
        columns = ["school_urn", "upn", "date", "session", "code", "revision", "recorded_by", "recorded_at"]
        started = time.perf_counter()
        async with connection.transaction():
            await connection.copy_records_to_table("bench_marks", records=records, columns=columns)
        return rows / (time.perf_counter() - started)


async def broker_messages_per_second(kafka: KafkaTarget, messages: int, size: int = 420) -> dict[str, float]:
    """Raw aiokafka produce (acks=all, as the relay) and consume rates on a topic of its own."""
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    options = client_config(kafka).options()
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)])
    finally:
        await admin.close()
    payload = b"x" * size
    producer = AIOKafkaProducer(**options, acks="all", linger_ms=5)
    await producer.start()
    try:
        started = time.perf_counter()
        batch = [await producer.send(topic, payload, key=str(i % 1000).encode()) for i in range(messages)]
        await asyncio.gather(*batch)
        produced = messages / (time.perf_counter() - started)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, **options, auto_offset_reset="earliest")
    await consumer.start()
    try:
        started, seen = time.perf_counter(), 0
        while seen < messages:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(records) for records in batches.values())
            if time.perf_counter() - started > 120:
                break
        consumed = seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()
    return {"produce_per_second": round(produced), "consume_per_second": round(consumed)}


SERVICE_SCHEMAS = ("register", "analytics", "notification", "la_returns", "support")


async def postgres_disk_bytes(database_url: str) -> dict[str, dict[str, int]]:
    """Each service table's bytes on disk: the table (with TOAST and free-space maps) and its
    indexes, as PostgreSQL counts them, by `schema.table`."""
    async with postgres(database_url) as connection:
        rows = await connection.fetch(
            "SELECT n.nspname || '.' || c.relname AS name, pg_table_size(c.oid) AS table_bytes, "
            "pg_indexes_size(c.oid) AS index_bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1::text[]) ORDER BY 1",
            list(SERVICE_SCHEMAS),
        )
    return {r["name"]: {"table": r["table_bytes"], "indexes": r["index_bytes"]} for r in rows}


def topic_disk_bytes(log_dirs: list[Path]) -> dict[str, int]:
    """Each topic's bytes in the brokers' log folders (every replica counted, as the disks hold
    them): the sum of its partitions' folders, `<topic>-<partition>`."""
    sizes: dict[str, int] = {}
    for log_dir in log_dirs:
        for partition in log_dir.iterdir():
            topic, _, number = partition.name.rpartition("-")
            if not partition.is_dir() or not number.isdigit() or topic.startswith("__"):
                continue
            size = sum(f.stat().st_size for f in partition.iterdir() if f.is_file())
            sizes[topic] = sizes.get(topic, 0) + size
    return dict(sorted(sizes.items()))


async def postgres_version(database_url: str) -> str:
    async with postgres(database_url) as connection:
        return str(await connection.fetchval("SHOW server_version"))


@contextlib.asynccontextmanager
async def postgres(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection to the stack's database, whose URL is SQLAlchemy's."""
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(url)
    try:
        yield connection
    finally:
        await connection.close()


async def postgres_wal(database_url: str) -> dict[str, int]:
    """WAL written since the server started: bytes, and full-page images (a page's first
    change after each checkpoint writes the whole page; an insert into a big index touches
    more pages than one into a small one)."""
    async with postgres(database_url) as connection:
        row = await connection.fetchrow(
            "SELECT wal_bytes::bigint AS bytes, wal_fpi AS full_page_images FROM pg_stat_wal"
        )
        return dict(row)


def wal_per_event(before: dict[str, int], after: dict[str, int], events: int) -> dict[str, float]:
    return {f"{name}_per_mark_event": round((after[name] - before[name]) / max(events, 1), 2) for name in before}


async def postgres_checkpoint(database_url: str) -> None:
    """Every dirty page written out now, so a measured run starts from the same state whatever
    came before it (a set-up, or years of history copied in) and pays for none of it."""
    async with postgres(database_url) as connection:
        await connection.execute("CHECKPOINT")
