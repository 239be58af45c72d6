"""The stream secured: the stack's broker takes only TLS with SCRAM-SHA-512, each service logs
in as its own principal, and each principal may do only what `attendance_shared.acl` derives
from the contract. The other end-to-end modules run on such a stack too; this one shows the
refusals: a wrong password, a broker certificate the client does not trust, a topic a
principal has no ACL for, and the pupils topic that only its readers may read."""

import asyncio
from dataclasses import replace

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from attendance_shared import topics
from attendance_shared.acl import SERVICES, all_grants, readers_of, service_principal
from attendance_shared.auth import Role
from attendance_shared.kafka import KafkaClientConfig, refusal_reason
from attendance_stack import LocalStack
from attendance_stack.security import describe_acls
from attendance_stack.tls import make_tls_files
from tests.factories import make_upn, pupil_body, school_body
from tests.helpers import bearer, read_topic

pytestmark = pytest.mark.e2e

URN, LA = "100077", "201"


def as_principal(stack: LocalStack, user: str, password: str | None = None) -> KafkaClientConfig:
    assert stack.security is not None
    own = stack.security.client(stack.kafka_bootstrap_servers, user)
    return own if password is None else replace(own, password=password)


async def readiness(stack: LocalStack, service: str) -> tuple[int, dict]:
    async with httpx.AsyncClient(timeout=5) as client:
        try:
            response = await client.get(f"{stack.url(service)}/readyz")
        except httpx.TransportError:
            return 0, {}
    return response.status_code, response.json()


async def refused_readiness(stack: LocalStack, service: str, expected: str, timeout_s: float = 60) -> dict:
    """The service's /readyz once it answers 503 with `expected` among its reasons."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    body: dict = {}
    while asyncio.get_running_loop().time() < deadline:
        status, body = await readiness(stack, service)
        if status == 503 and any(expected in str(reason) for reason in body.get("checks", {}).values()):
            return body
        await asyncio.sleep(0.5)
    pytest.fail(f"{service}-service never said {expected!r} at /readyz; last: {body}")


async def refused_connection(kafka: KafkaClientConfig) -> str | None:
    """A consumer that cannot connect, as aiokafka reports it, and the reason given for it."""
    consumer = AIOKafkaConsumer(**kafka.options())
    try:
        with pytest.raises(KafkaConnectionError) as refused:
            await consumer.start()
    finally:
        await consumer.stop()
    return await refusal_reason(refused.value, kafka, doing="read")


def restart_with(stack: LocalStack, service: str, env: dict[str, str]) -> None:
    stack.kill_service(service)
    stack.start_service(service, extra_env=env, wait=False)


def test_each_principal_has_exactly_the_acls_the_contract_gives_it(stack: LocalStack) -> None:
    granted = asyncio.run(describe_acls(stack.kafka))
    assert granted == set(all_grants())
    # Read and Write only (each implies Describe); nobody may create, alter or delete.
    assert {g.operation for g in granted} == {"Read", "Write"}
    assert {g.principal for g in granted} == {service_principal(s) for s in SERVICES}


def test_the_stack_works_end_to_end_with_the_acls_on(stack: LocalStack) -> None:
    """A pupil admitted over HTTP reaches the topic through register's own principal, and
    every consuming service reads it through its own."""
    upn = make_upn(la_code=LA, serial=701)
    mis = bearer(Role.MIS, schools=[URN])
    with httpx.Client(base_url=stack.url("register"), headers=mis, timeout=30) as register:
        assert register.put(f"/v1/schools/{URN}", json=school_body(la_code=LA)).status_code == 200
        assert register.post(f"/v1/schools/{URN}/pupils", json=pupil_body(upn)).status_code == 201
    records = asyncio.run(read_topic(stack.kafka, topics.PUPILS.name, expected=1, timeout_s=30))
    assert any(r.key == f"{URN}:{upn}".encode() for r in records)
    for service in SERVICES:
        status, body = asyncio.run(readiness(stack, service))
        assert status == 200, (service, body)


def test_a_wrong_password_is_refused_and_readiness_says_so(stack: LocalStack) -> None:
    wrong = as_principal(stack, service_principal("la-returns"), password="not-the-password")

    reason = asyncio.run(refused_connection(wrong))
    assert reason and reason.startswith("authentication refused for User:la-returns-service"), reason
    assert "invalid credentials" in reason

    restart_with(stack, "la-returns", {"KAFKA_SASL_PASSWORD": "not-the-password"})
    try:
        body = asyncio.run(refused_readiness(stack, "la-returns", "authentication refused"))
        assert "User:la-returns-service" in body["checks"]["consumer"]
    finally:
        stack.kill_service("la-returns")
        stack.start_service("la-returns")  # its own password again: ready
    assert asyncio.run(readiness(stack, "la-returns"))[0] == 200


def test_a_broker_certificate_from_another_ca_is_refused_and_said(
    stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other_ca = make_tls_files(tmp_path_factory.mktemp("other-ca")).ca_file
    untrusting = replace(as_principal(stack, service_principal("analytics")), ca_file=str(other_ca))

    reason = asyncio.run(refused_connection(untrusting))
    assert reason and reason.startswith("TLS handshake with the broker failed"), reason
    assert "certificate verify failed" in reason


def test_a_topic_without_an_acl_is_refused_and_readiness_names_it(stack: LocalStack) -> None:
    """support-service run with la-returns' credentials: la-returns may not read the marks,
    nor write support's cases, and both are said at /readyz."""
    assert stack.security is not None
    borrowed = service_principal("la-returns")
    env = {"KAFKA_SASL_USERNAME": borrowed, "KAFKA_SASL_PASSWORD": stack.security.passwords[borrowed]}
    restart_with(stack, "support", env)
    try:
        body = asyncio.run(refused_readiness(stack, "support", "not authorised to read"))
        consumer = body["checks"]["consumer"]
        assert f"as User:{borrowed}" in consumer and "the broker's ACLs do not allow it" in consumer, body
        assert any(t.name in consumer for t in (topics.MARKS, topics.RISK_FLAGS, topics.NOTIFICATION_OUTCOMES))
        # Its relay is refused at start-up too, before it has a case to publish.
        body = asyncio.run(refused_readiness(stack, "support", "not authorised to write to"))
        assert f"{topics.SUPPORT_CASES.name} as User:{borrowed}" in body["checks"]["outbox_relay"], body
    finally:
        stack.kill_service("support")
        stack.start_service("support")
    assert asyncio.run(readiness(stack, "support"))[0] == 200


def test_only_its_readers_read_the_pupils_topic_and_only_register_writes_registers(stack: LocalStack) -> None:
    readers = readers_of(topics.PUPILS.name)
    assert readers == sorted(service_principal(s) for s in ("analytics", "la-returns", "notification", "support"))

    async def can_read(user: str) -> bool:
        consumer = AIOKafkaConsumer(**as_principal(stack, user).options(), enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topics.PUPILS.name, 0)])
            await consumer.seek_to_beginning()
            await consumer.getmany(timeout_ms=1000)
            return True
        except TopicAuthorizationFailedError:
            return False
        finally:
            await consumer.stop()

    async def can_write(user: str, topic: str) -> bool:
        producer = AIOKafkaProducer(**as_principal(stack, user).options(), enable_idempotence=True)
        await producer.start()
        try:
            await asyncio.wait_for(producer.send_and_wait(topic, b"{}", key=b"probe"), 15)
            return True
        except TopicAuthorizationFailedError:
            return False
        finally:
            await producer.stop()

    async def check() -> None:
        for service in SERVICES:
            user = service_principal(service)
            assert await can_read(user) == (user in readers), user
        # The register's topics take writes from register-service alone: no consumer can
        # forge a mark or a pupil, or a flag on analytics' topic.
        for service in ("analytics", "notification", "la-returns", "support"):
            assert not await can_write(service_principal(service), topics.MARKS.name), service
            assert not await can_write(service_principal(service), topics.PUPILS.name), service
        assert not await can_write(service_principal("notification"), topics.RISK_FLAGS.name)

    asyncio.run(check())
