"""The register's outbox: marks are accepted while the broker is down and delivered after."""

import asyncio
import time
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import REGISTRY
from sqlalchemy import text

from attendance_shared import topics
from attendance_shared.auth import Role
from attendance_shared.db import make_sessionmaker
from attendance_shared.events import RegisterMarkedV1, SchoolUpsertedV1, make_event, parse_event, session_marks
from attendance_shared.kafka import KafkaPublisher, partition_of
from attendance_shared.outbox import OutboxRelay, add_to_outbox
from attendance_stack.kafka import KafkaCluster
from register_service.app import create_app
from register_service.models import outbox
from register_service.settings import Settings
from tests.factories import make_upn, pupil_body, school_body
from tests.helpers import app_client, bearer, read_topic, scalar, wait_until

pytestmark = pytest.mark.integration


def register_client(settings: Settings):
    """The register service with its lifespan (relay included), called in-process as an admin."""
    return app_client(create_app(settings), bearer(Role.ADMIN, subject="mis-1"), base_url="http://register")


async def test_marks_posted_while_the_broker_is_down_are_delivered_after_it_returns(
    database_url: str, broker: KafkaCluster, engine
) -> None:
    broker.stop()
    # A batch smaller than the backlog: the relay must count it and publish in several batches.
    settings = Settings(
        database_url=database_url, kafka_bootstrap_servers=broker.bootstrap_servers, relay_batch_size=10
    )
    upns = [make_upn(serial=400 + i) for i in range(5)]
    async with register_client(settings) as client:
        assert (await client.put("/v1/schools/100001", json=school_body())).status_code == 200
        for upn in upns:
            assert (await client.post("/v1/schools/100001/pupils", json=pupil_body(upn))).status_code == 201
        for session_name, code in (("am", "/"), ("pm", "N")):
            response = await client.put(
                f"/v1/schools/100001/registers/2026-09-07/{session_name}",
                json={"marks": [{"upn": upn, "code": code} for upn in upns]},
            )
            assert response.status_code == 200, response.text
        assert (await client.get("/readyz")).status_code == 200  # the API stays in service
        # A school, five admissions, and one event for each of the two registers.
        assert await scalar(engine, "SELECT count(*) FROM register.outbox_pending") == 8
        await wait_until(lambda: _backlog_gauge_is(8), what="the relay to report the whole backlog")
        relay = {"service": "register", "client": "relay"}
        await wait_until(lambda: _gauge_is("kafka_broker_reachable", relay, 0), what="no broker")

        broker.start()
        await wait_until(
            lambda: _no_backlog(engine), timeout_s=40, what="the relay to publish the backlog after the restart"
        )
        assert REGISTRY.get_sample_value("kafka_broker_reachable", relay) == 1
        last = REGISTRY.get_sample_value("outbox_relay_last_success_timestamp_seconds", {"service": "register"})
        assert time.time() - last < 60

    records = await read_topic(broker.bootstrap_servers, topics.MARKS.name, expected=2)
    registers = [parse_event(r.value).data for r in records]
    assert all(isinstance(r, RegisterMarkedV1) for r in registers)
    marks = session_marks(registers)
    assert sorted((m.upn, m.session, m.code) for m in marks) == sorted(
        [(u, "am", "/") for u in upns] + [(u, "pm", "N") for u in upns]
    )
    assert [r.key.decode() for r in records] == ["100001", "100001"]  # a school's registers keep their order
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([topics.MARKS.name])
        assert len(described[0]["partitions"]) == topics.MARKS.partitions  # not the broker's default of one
    finally:
        await admin.close()


async def _gauge_is(name: str, labels: dict[str, str], value: float) -> bool:
    return REGISTRY.get_sample_value(name, labels) == value


async def _backlog_gauge_is(rows: int) -> bool:
    return REGISTRY.get_sample_value("outbox_backlog_rows", {"service": "register"}) == rows


async def _no_backlog(engine) -> bool:
    return await scalar(engine, "SELECT count(*) FROM register.outbox_pending") == 0


async def test_a_register_and_its_events_are_one_transaction(database_url: str, broker: KafkaCluster, engine) -> None:
    """A refused register stores no mark and no event; an accepted one stores its marks and
    one event for them, and one resubmitted unchanged stores neither."""
    settings = Settings(database_url=database_url, kafka_bootstrap_servers=broker.bootstrap_servers)
    good, unknown = make_upn(serial=450), make_upn(serial=451)
    async with register_client(settings) as client:
        await client.put("/v1/schools/100001", json=school_body())
        await client.post("/v1/schools/100001/pupils", json=pupil_body(good))
        refused = await client.put(
            "/v1/schools/100001/registers/2026-09-07/am",
            json={"marks": [{"upn": good, "code": "/"}, {"upn": unknown, "code": "/"}]},
        )
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"] == [
            {"index": 1, "field": "upn", "message": f"pupil {unknown} is not on this school's roll on that date"}
        ]
        assert await scalar(engine, "SELECT count(*) FROM register.marks") == 0
        assert await scalar(engine, "SELECT count(*) FROM register.outbox WHERE topic = 'attendance.marks.v1'") == 0

        accepted = await client.put(
            "/v1/schools/100001/registers/2026-09-07/am", json={"marks": [{"upn": good, "code": "/"}]}
        )
        assert accepted.json()["recorded"] == 1
        again = await client.put(
            "/v1/schools/100001/registers/2026-09-07/am", json={"marks": [{"upn": good, "code": "/"}]}
        )
        assert again.json() == {**accepted.json(), "recorded": 0, "unchanged": 1}
        assert await scalar(engine, "SELECT count(*) FROM register.marks") == 1
        assert await scalar(engine, "SELECT count(*) FROM register.outbox WHERE topic = 'attendance.marks.v1'") == 1


async def test_the_trace_context_of_a_register_write_travels_in_the_kafka_header(
    database_url: str, broker: KafkaCluster
) -> None:
    settings = Settings(database_url=database_url, kafka_bootstrap_servers=broker.bootstrap_servers)
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    upn = make_upn(serial=480)
    async with register_client(settings) as client:
        await client.put("/v1/schools/100001", json=school_body())
        await client.post("/v1/schools/100001/pupils", json=pupil_body(upn))
        response = await client.put(
            "/v1/schools/100001/registers/2026-09-07/am",
            json={"marks": [{"upn": upn, "code": "/"}]},
            headers={"traceparent": caller, "X-Request-ID": "mis-batch-17"},
        )
        assert response.headers["x-request-id"] == "mis-batch-17"
        assert response.headers["traceparent"].split("-")[1] == caller.split("-")[1]
        records = await read_topic(broker.bootstrap_servers, topics.MARKS.name, expected=1)
    headers = dict(records[0].headers)
    assert headers["traceparent"].decode().split("-")[1] == caller.split("-")[1]
    assert headers["ce_type"] == b"uk.attendance.register.marked.v1"


async def test_a_publish_larger_than_a_batch_keeps_each_keys_partition_and_order(broker: KafkaCluster) -> None:
    """The publisher packs records into batches per partition itself: a key must land where the
    default partitioner puts it, and its records in the order given, across several batches."""
    topic = topics.TopicSpec(f"test.partitioning.{uuid.uuid4().hex[:8]}", 6)
    publisher = KafkaPublisher(broker.bootstrap_servers, [topic], client_id="test-publisher")
    keys = [f"1000{k:02d}:A{k:012d}".encode() for k in range(40)]
    padding = b"x" * 900  # 6,000 records of about 1 kB: several 512 kB batches per partition
    records = [(topic.name, keys[i % 40], f"{i:05d}".encode() + padding, [("n", str(i).encode())]) for i in range(6000)]
    try:
        await publisher.publish(records)
    finally:
        await publisher.close()
    received = await read_topic(broker.bootstrap_servers, topic.name, expected=6000)
    assert len(received) == 6000
    partitions = list(range(topic.partitions))
    assert all(r.partition == partition_of(r.key, partitions) for r in received)
    for key in keys:
        sequence = [int(r.value[:5]) for r in received if r.key == key]
        assert sequence == sorted(sequence) and len(sequence) == 150
    assert {dict(r.headers)["n"] for r in received} == {str(i).encode() for i in range(6000)}


async def test_the_relay_wakes_when_a_write_commits_instead_of_polling(broker: KafkaCluster, engine) -> None:
    """With its fallback poll an hour away, the relay still publishes an event as soon as the
    transaction that wrote it commits, and it keeps the relay lock only while it runs."""
    relay = OutboxRelay(
        service="register",
        engine=engine,
        table=outbox,
        publisher=KafkaPublisher(broker.bootstrap_servers, [topics.SCHOOLS], client_id="test-relay"),
        idle_poll_s=3600,
    )
    running = asyncio.create_task(relay.run())
    try:
        await wait_until(lambda: _relay_holds_its_lock(engine, True), what="the relay to start")
        # The first event may be found by the relay's first read; the second, written once it
        # has published the first and gone to sleep, only by its waking on the commit.
        sessionmaker = make_sessionmaker(engine)
        for urn in ("100001", "100002"):
            async with sessionmaker.begin() as session:
                school = SchoolUpsertedV1(urn=urn, la_code="201", name="Oak Lane Primary")
                event = make_event(school, source="test", subject=urn)
                await add_to_outbox(session, outbox, topics.SCHOOLS.name, [event])
            await wait_until(lambda: _no_backlog(engine), timeout_s=10, what="the relay to wake on the commit")
    finally:
        relay.stop()
        await running
    assert not await _relay_holds_its_lock(engine, True)
    records = await read_topic(broker.bootstrap_servers, topics.SCHOOLS.name, expected=2)
    assert sorted(r.key.decode() for r in records) == ["100001", "100002"]


async def _relay_holds_its_lock(engine, expected: bool) -> bool:
    held = await scalar(
        engine,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    return (held > 0) == expected


async def test_a_sent_row_is_kept_and_the_runbooks_requeue_sends_it_again_as_written(
    broker: KafkaCluster, engine
) -> None:
    """The relay dequeues what the broker acknowledged and leaves the row itself alone, so the
    runbook's re-publish (queue the ids again) sends the same envelope and headers."""
    publisher = KafkaPublisher(broker.bootstrap_servers, [topics.SCHOOLS], client_id="test-relay")
    relay = OutboxRelay(service="register", engine=engine, table=outbox, publisher=publisher)
    school = SchoolUpsertedV1(urn="100003", la_code="201", name="Oak Lane Primary")
    event = make_event(school, source="test", subject="100003")
    async with make_sessionmaker(engine).begin() as session:
        await add_to_outbox(session, outbox, topics.SCHOOLS.name, [event])
    try:
        assert await relay.publish_pending() == 1
        assert await relay.publish_pending() == 0
        assert await scalar(engine, f"SELECT count(*) FROM register.outbox WHERE event_id = '{event.id}'") == 1
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO register.outbox_pending (id) SELECT id FROM register.outbox WHERE event_id = :id"),
                {"id": event.id},
            )
        assert await relay.publish_pending() == 1
    finally:
        await publisher.close()
    records = await read_topic(broker.bootstrap_servers, topics.SCHOOLS.name, expected=2)
    assert [r.value for r in records] == [event.to_bytes()] * 2
    assert records[0].headers == records[1].headers and dict(records[0].headers)["ce_type"] == event.type.encode()


async def test_the_relay_reads_its_queue_by_key_however_many_sent_rows_the_outbox_keeps(engine) -> None:
    """A plan, not a timing: with 30,000 sent rows kept and 3,000 queued, the relay's read
    must look up the queued rows by primary key, never scan the outbox."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO register.outbox (topic, key, event_id, event_type, envelope) "
                "SELECT 'attendance.marks.v1', 'key', md5(g::text), 'type', convert_to(repeat('x', 550), 'UTF8') "
                "FROM generate_series(1, 33000) g"
            )
        )
        await conn.execute(
            text("DELETE FROM register.outbox_pending WHERE id < (SELECT min(id) + 30000 FROM register.outbox)")
        )
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE register.outbox"))
        await conn.execute(text("ANALYZE register.outbox_pending"))
    publisher = KafkaPublisher("127.0.0.1:1", [topics.MARKS], client_id="plan-test")
    relay = OutboxRelay(service="register", engine=engine, table=outbox, publisher=publisher)
    query = relay.oldest_pending_rows().compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
    async with engine.connect() as conn:
        plan = await conn.scalar(text(f"EXPLAIN (FORMAT JSON) {query}"))
    scans = list(_plan_nodes(plan[0]["Plan"]))
    assert ("Index Scan", "outbox") in scans, scans
    assert ("Seq Scan", "outbox") not in scans, scans
    async with engine.connect() as conn:
        assert len((await conn.execute(relay.oldest_pending_rows())).all()) == 3000


def _plan_nodes(node: dict):
    yield node["Node Type"], node.get("Relation Name")
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


async def test_a_row_too_large_to_publish_is_set_aside_and_the_rest_go_out(broker: KafkaCluster, engine) -> None:
    """A row written before writes were capped (a 2 MB event) would be refused by the broker
    for ever and hold up everything behind it: the relay dequeues it unsent, says so, and
    publishes the rest."""
    publisher = KafkaPublisher(broker.bootstrap_servers, [topics.SCHOOLS], client_id="test-relay")
    relay = OutboxRelay(service="register", engine=engine, table=outbox, publisher=publisher)
    small = make_event(SchoolUpsertedV1(urn="100004", la_code="201", name="Elm Primary"), source="t", subject="100004")
    async with engine.begin() as conn:  # as an old release would have written it: no size check
        await conn.execute(
            text(
                "INSERT INTO register.outbox (topic, key, event_id, event_type, envelope) "
                "VALUES (:topic, '100005', 'too-big', 'uk.attendance.school.upserted.v1', :big), "
                "(:topic, '100004', :id, :type, :small)"
            ),
            {
                "topic": topics.SCHOOLS.name,
                "big": b"x" * 2_000_000,
                "id": small.id,
                "type": small.type,
                "small": small.to_bytes(),
            },
        )
    set_aside = REGISTRY.get_sample_value("outbox_set_aside_total", {"service": "register"}) or 0
    try:
        assert await relay.publish_pending() == 2
        assert await scalar(engine, "SELECT count(*) FROM register.outbox_pending") == 0
        assert REGISTRY.get_sample_value("outbox_set_aside_total", {"service": "register"}) == set_aside + 1
        records = await read_topic(broker.bootstrap_servers, topics.SCHOOLS.name, expected=1)
        assert [parse_event(r.value).id for r in records] == [small.id]
        assert await scalar(engine, "SELECT count(*) FROM register.outbox WHERE event_id = 'too-big'") == 1
    finally:
        await publisher.close()
