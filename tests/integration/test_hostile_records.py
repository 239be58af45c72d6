"""Whatever bytes land on a topic, every consumer parks what does not validate on its
dead-letter topic, with the reason, and reads on to the end of the log: property-based, on
the real broker and database, with each service's own handler.

Hypothesis draws the records: arbitrary bytes, arbitrary JSON, real envelopes with one field
made arbitrary or impossible (a date in 1900, a 900 KB reason, a revision past any integer), and
valid events nobody expects (marks for a school no one registered, on any day the platform
knows). Each example sends them to the four consumed topics, runs the three consumers until
their groups have committed the end of every partition, and counts the dead letters."""

import asyncio
import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from analytics_service.consumers.events import AnalyticsHandler
from analytics_service.domain.flags import FlagRules
from attendance_shared import topics
from attendance_shared.bounds import EARLIEST_DAY, LATEST_DAY
from attendance_shared.consumer import BatchConsumer, consumer_group
from attendance_shared.db import make_engine, make_sessionmaker
from attendance_shared.events import (
    InvalidEvent,
    RegisterMarkedV1,
    SessionMarkedV1,
    make_event,
    parse_event,
    pupil_key,
)
from attendance_shared.kafka import KafkaPublisher, ensure_topics
from attendance_shared.migrations import SERVICE_PACKAGES, migrations_dir, upgrade_to_head
from attendance_shared.rules.thresholds import MAX_MINUTES_LATE
from attendance_stack.kafka import KafkaCluster
from la_returns_service.consumers.handler import handle as la_returns_handler
from la_returns_service.models import processed_events as la_returns_inbox
from notification_service.consumers.handler import EventHandler
from support_service.consumers.handler import handle as support_handler
from support_service.models import processed_events as support_inbox
from tests.conftest import _admin
from tests.factories import SAMPLE_FLAG, SAMPLE_MARK, SAMPLE_PUPIL, SAMPLE_SCHOOL, SAMPLE_UPN, make_upn
from tests.helpers import delete_topics, read_topic

pytestmark = pytest.mark.integration

CONSUMED = (topics.SCHOOLS, topics.PUPILS, topics.MARKS, topics.RISK_FLAGS)
UPN = SAMPLE_UPN
TEMPLATES = {
    topics.SCHOOLS: SAMPLE_SCHOOL,
    topics.PUPILS: SAMPLE_PUPIL,
    topics.MARKS: SAMPLE_MARK,
    topics.RISK_FLAGS: SAMPLE_FLAG,
}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
IMPOSSIBLE = st.sampled_from(
    [
        "1900-01-01",
        "9999-12-31",
        "0001-01-01T00:00:00+14:00",
        "",
        "\u0000",
        "x" * 900_000,  # about as much as a record may be: a topic takes 1 MiB at most
        2**63,
        -(2**63) - 1,
        10**30,
        -1,
        1e308,
        None,
        [],
        {},
        "999999",
        "\ud800",
    ]
)


def as_json(document: object) -> bytes:
    """JSON as any producer might write it: integers past 64 bits, NaN and lone surrogates
    (as escapes) included, which orjson refuses to write."""
    return json.dumps(document).encode()


def _envelope(spec: topics.TopicSpec) -> dict:
    payload = TEMPLATES[spec]
    subject = getattr(payload, "urn", None) or pupil_key("100001", UPN)
    return orjson.loads(make_event(payload, source="/hostile", subject=subject).to_bytes())


@st.composite
def mutated_envelope(draw: st.DrawFn, spec: topics.TopicSpec) -> bytes:
    """A real envelope of the topic's kind with one field (of the envelope or its data) set
    to an impossible or arbitrary value, or removed."""
    document = _envelope(spec)
    target = draw(st.sampled_from(["envelope", "data"]))
    fields = document if target == "envelope" else document["data"]
    name = draw(st.sampled_from(sorted(fields)))
    action = draw(st.sampled_from(["impossible", "arbitrary", "remove"]))
    if action == "remove":
        del fields[name]
    else:
        fields[name] = draw(IMPOSSIBLE if action == "impossible" else JSON)
    return as_json(document)


CODES = ["/", "\\", "N", "I", "O", "G", "L", "U", "#", "X", "Y1", "C1"]


@st.composite
def unexpected_mark(draw: st.DrawFn) -> bytes:
    """A valid mark no one registered a school, pupil or calendar for, on any day."""
    payload = SessionMarkedV1(
        school_urn=draw(st.from_regex(r"\A[1-9]\d{5}\Z")),
        la_code=draw(st.from_regex(r"\A\d{3}\Z")),
        upn=make_upn(serial=draw(st.integers(0, 999))),
        date=draw(st.dates(EARLIEST_DAY, LATEST_DAY)),
        session=draw(st.sampled_from(["am", "pm"])),
        code=draw(st.sampled_from(CODES)),
        revision=draw(st.integers(1, 1_000_000)),
        recorded_at=datetime(2026, 9, 7, 8, 55, tzinfo=UTC),
    )
    event = make_event(payload, source="/hostile", subject=pupil_key(payload.school_urn, payload.upn))
    return event.to_bytes()


@st.composite
def unexpected_register(draw: st.DrawFn) -> bytes:
    """A valid register no one registered a school, pupils or calendar for, on any day: rows
    of any revision, a pupil's row twice, a previous code and a reason where none belongs."""
    upns = st.integers(0, 20).map(lambda serial: make_upn(serial=serial))
    row = st.tuples(
        upns,
        st.sampled_from(CODES),
        st.integers(1, 1_000_000),
        st.one_of(st.none(), st.sampled_from(CODES)),
        st.one_of(st.none(), st.integers(1, MAX_MINUTES_LATE)),
        st.one_of(st.none(), st.text(min_size=1, max_size=20).filter(str.strip)),
    )
    payload = RegisterMarkedV1(
        school_urn=draw(st.from_regex(r"\A[1-9]\d{5}\Z")),
        la_code=draw(st.from_regex(r"\A\d{3}\Z")),
        date=draw(st.dates(EARLIEST_DAY, LATEST_DAY)),
        session=draw(st.sampled_from(["am", "pm"])),
        recorded_at=datetime(2026, 9, 7, 8, 55, tzinfo=UTC),
        marks=tuple(draw(st.lists(row, min_size=1, max_size=30))),
    )
    return make_event(payload, source="/hostile", subject=payload.school_urn).to_bytes()


def hostile_value(spec: topics.TopicSpec) -> st.SearchStrategy[bytes]:
    values = [
        st.binary(max_size=200),
        JSON.map(as_json),
        mutated_envelope(spec),
        st.just(orjson.dumps(_envelope(spec))),  # valid, to show good events pass among the bad
    ]
    if spec is topics.MARKS:
        values += [unexpected_mark(), unexpected_register()]
    return st.one_of(*values)


HOSTILE_RECORDS = st.lists(
    st.sampled_from(CONSUMED).flatmap(lambda spec: st.tuples(st.just(spec.name), hostile_value(spec))),
    min_size=1,
    max_size=40,
)
SERVICES = {
    "analytics": (topics.SCHOOLS, topics.PUPILS, topics.MARKS),
    "notification": (topics.SCHOOLS, topics.PUPILS, topics.MARKS, topics.RISK_FLAGS),
    "la-returns": (topics.SCHOOLS, topics.PUPILS),
    "support": (topics.SCHOOLS, topics.PUPILS, topics.MARKS, topics.RISK_FLAGS),
}


@pytest.fixture(scope="module")
def hostile_database(postgres_server_url: str) -> Iterator[str]:
    """One migrated database for every example: what the valid records leave behind only
    makes later examples' records meet more state."""
    name = f"hostile_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(postgres_server_url, f"CREATE DATABASE {name}"))
    url = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    for service in SERVICE_PACKAGES:
        upgrade_to_head(migrations_dir(service), url)
    yield url
    asyncio.run(_admin(postgres_server_url, f"DROP DATABASE {name} WITH (FORCE)"))


def _consumer(service: str, group_id: str, database_url: str, bootstrap_servers: str) -> BatchConsumer:
    handlers = {
        "analytics": AnalyticsHandler(rules=FlagRules()),
        "notification": EventHandler(),
        "la-returns": la_returns_handler,
        "support": support_handler,
    }
    return BatchConsumer(
        service=service,
        topics=SERVICES[service],
        group_id=group_id,
        kafka=bootstrap_servers,
        sessionmaker=make_sessionmaker(make_engine(database_url, service=f"{service}-hostile")),
        inbox={"la-returns": la_returns_inbox, "support": support_inbox}.get(service),  # as each app wires it
        idempotent_topics=[topics.MARKS] if service == "support" else (),
        handler=handlers[service],
        session_timeout_ms=6_000,
    )


async def _caught_up(bootstrap_servers: str, service: str, group_id: str) -> bool:
    """The group has committed the end of every partition of every topic it reads."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await reader.start()
    await admin.start()
    try:
        partitions = [
            TopicPartition(spec.name, p)
            for spec in SERVICES[service]
            for p in sorted(reader.partitions_for_topic(spec.name) or [])
        ]
        ends = await reader.end_offsets(partitions)
        try:
            committed = await admin.list_consumer_group_offsets(group_id)
        except KafkaError:  # the group has no coordinator yet: it has not committed anything
            return False
        return all((committed[tp].offset if tp in committed else 0) >= end for tp, end in ends.items())
    finally:
        await reader.stop()
        await admin.close()


async def read_all(bootstrap_servers: str, topic: str) -> list:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await reader.start()
    try:
        partition = TopicPartition(topic, 0)
        total = (await reader.end_offsets([partition]))[partition]
    finally:
        await reader.stop()
    return await read_topic(bootstrap_servers, topic, expected=total, timeout_s=10)


async def _throw(kafka: KafkaCluster, database_url: str, records: list[tuple[str, bytes]]) -> None:
    await delete_topics(kafka.bootstrap_servers)
    await ensure_topics(kafka.bootstrap_servers, [topics.dead_letter_topic(s) for s in SERVICES])
    publisher = KafkaPublisher(kafka.bootstrap_servers, CONSUMED, client_id="hostile")
    # Every consumed topic gets a valid event last, so each partition read has an end to reach.
    tail = [(spec.name, orjson.dumps(_envelope(spec))) for spec in CONSUMED]
    sent = [*records, *tail]
    await publisher.publish([(topic, str(i).encode(), value, []) for i, (topic, value) in enumerate(sent)])
    await publisher.close()

    # A group of this example's own: a deleted topic's committed offsets may outlive it for a
    # moment, and a group that found the last example's would seem to have read this one.
    groups = {s: f"{consumer_group(s)}-{uuid.uuid4().hex[:8]}" for s in SERVICES}
    consumers = {s: _consumer(s, groups[s], database_url, kafka.bootstrap_servers) for s in SERVICES}
    tasks = {s: asyncio.create_task(c.run(), name=s) for s, c in consumers.items()}
    try:
        deadline = asyncio.get_running_loop().time() + 90
        waiting = set(SERVICES)
        while waiting:
            for service in list(waiting):
                assert not tasks[service].done(), f"{service}'s consumer stopped: {tasks[service]}"
                if await _caught_up(kafka.bootstrap_servers, service, groups[service]):
                    waiting.discard(service)
            assert asyncio.get_running_loop().time() < deadline, f"{waiting} never read to the end"
            await asyncio.sleep(0.3)
        for service, reads in SERVICES.items():
            names = {spec.name for spec in reads}
            invalid = Counter(topic for topic, value in sent if topic in names and not _parses(value))
            # Each consumer parks a batch's records before it commits the batch's offsets: every
            # dead letter is on the topic by now.
            parked = await read_all(kafka.bootstrap_servers, topics.dead_letter_topic(service).name)
            reasons = [dict(r.headers)["dead_letter_reason"].decode() for r in parked]
            for_invalid = Counter(
                dict(r.headers)["original_topic"].decode()
                for r, why in zip(parked, reasons, strict=True)
                if why.startswith("invalid event")
            )
            assert for_invalid == invalid, f"{service}: parked {for_invalid}, expected {invalid}"
            assert all(why.startswith(("invalid event", "unappliable event")) for why in reasons)
    finally:
        for consumer in consumers.values():
            consumer.stop()
        await asyncio.gather(*tasks.values(), return_exceptions=True)


def _parses(value: bytes) -> bool:
    try:
        parse_event(value)
    except InvalidEvent:
        return False
    return True


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 8)),
    deadline=None,
    derandomize=True,  # the same examples on every run, so CI is repeatable; FUZZ_EXAMPLES digs deeper
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    database=None,
)
@given(records=HOSTILE_RECORDS)
@example(
    records=[
        (topics.MARKS.name, b'{"type": [1]}'),
        (topics.MARKS.name, b'{"type": {"a": 1}}'),
        (topics.SCHOOLS.name, b""),
        (topics.PUPILS.name, b"\xff\xfe"),
        (topics.MARKS.name, b"x" * 900_000),
    ]
)
def test_any_records_on_any_topic_are_parked_with_a_reason_and_every_consumer_reads_on(
    kafka: KafkaCluster, hostile_database: str, records: list[tuple[str, bytes]]
) -> None:
    asyncio.run(_throw(kafka, hostile_database, records))
