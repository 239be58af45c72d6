"""The Kafka client settings, the ACLs derived from the contract, and the words a refusal is
reported in. No broker: tests/e2e/test_kafka_security.py shows the refusals on a real one."""

from pathlib import Path

import pytest
from aiokafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError
from pydantic import ValidationError

from attendance_shared import acl, contract, topics
from attendance_shared.kafka import KafkaClientConfig, refusal_reason
from attendance_shared.settings import CommonSettings

REPO = Path(__file__).resolve().parents[2]
SECURED = {
    "kafka_security_protocol": "SASL_SSL",
    "kafka_sasl_password": "s3cret",
    "kafka_ssl_cafile": "",  # a ConfigMap's empty value: the system's trusted CAs
}


def test_each_service_logs_in_as_its_own_principal_by_default() -> None:
    settings = CommonSettings(**SECURED)
    analytics = settings.kafka_client("analytics")
    assert analytics.username == "analytics-service" and analytics.principal == "User:analytics-service"
    assert settings.kafka_client("la-returns").username == "la-returns-service"
    options = analytics.options()
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "analytics-service" and options["sasl_plain_password"] == "s3cret"
    assert options["ssl_context"].check_hostname and analytics.ca_file is None
    named = CommonSettings(**SECURED, kafka_sasl_username="analytics-blue").kafka_client("analytics")
    assert named.username == "analytics-blue"
    assert "s3cret" not in repr(analytics), "the password never shows in a log line"


def test_plaintext_by_default_with_no_sasl_or_tls_options() -> None:
    options = CommonSettings().kafka_client("register").options()
    assert options == {"bootstrap_servers": "127.0.0.1:19092", "security_protocol": "PLAINTEXT"}


def test_settings_that_cannot_connect_are_refused_before_any_client_starts() -> None:
    with pytest.raises(ValueError, match="KAFKA_SASL_PASSWORD must be set"):
        CommonSettings(kafka_security_protocol="SASL_SSL").kafka_client("register")
    with pytest.raises(ValueError, match="go together"):
        CommonSettings(kafka_security_protocol="SSL", kafka_ssl_certfile="/run/c.pem").kafka_client("register")
    with pytest.raises(ValidationError, match="PLAIN is for local use only"):
        CommonSettings(
            environment="production",
            jwt_secret="a-real-secret-from-the-secret-store-0123456789",
            kafka_sasl_mechanism="PLAIN",
        )
    local = CommonSettings(**SECURED, kafka_sasl_mechanism="PLAIN").kafka_client("register")
    assert local.options()["sasl_mechanism"] == "PLAIN"
    # The migrations read the same settings and never reach Kafka: reading them is no error.
    CommonSettings(kafka_security_protocol="SASL_SSL")


def test_acls_are_what_each_services_code_publishes_and_consumes() -> None:
    for service in acl.SERVICES:
        grants = acl.grants_of(service)
        principal = acl.service_principal(service)
        assert {g.principal for g in grants} == {principal}
        writes = {g.resource for g in grants if g.resource_type == "topic" and g.operation == "Write"}
        reads = {g.resource for g in grants if g.resource_type == "topic" and g.operation == "Read"}
        groups = {g.resource for g in grants if g.resource_type == "group" and g.pattern == "prefix"}
        published = {t.name for t in contract.PUBLISHES.get(service, ())}
        consumed = {t.name for t in contract.CONSUMES.get(service, ())}
        if consumed:
            assert writes == published | {topics.dead_letter_topic(service).name}
            assert groups == {acl.consumer_group(service)}
        else:
            assert writes == published and not groups
        assert reads == consumed
    # Only register writes the register's topics, and it reads nothing.
    register_topics = {topics.SCHOOLS.name, topics.PUPILS.name, topics.MARKS.name}
    writers = {g.principal for g in acl.all_grants() if g.operation == "Write" and g.resource in register_topics}
    assert writers == {"register-service"}
    assert not [g for g in acl.grants_of("register") if g.operation == "Read"]
    assert acl.readers_of(topics.PUPILS.name) == [
        "analytics-service",
        "la-returns-service",
        "notification-service",
        "support-service",
    ]


def test_the_kafka_users_manifest_is_the_one_the_acls_generate() -> None:
    manifest = REPO / "deploy" / "k8s" / "base" / "kafka-users.yaml"
    assert manifest.read_text() == acl.strimzi_yaml(), "run `make kafka-users` and commit the result"


async def test_a_refusal_names_the_principal_the_topic_and_what_to_change() -> None:
    kafka = KafkaClientConfig("b:9093", "SASL_SSL", username="la-returns-service", password="x")
    topic = await refusal_reason(TopicAuthorizationFailedError("attendance.marks.v1"), kafka, doing="read")
    assert topic is not None and topic.startswith(
        "not authorised to read attendance.marks.v1 as User:la-returns-service: the broker's ACLs do not allow it"
    )
    group = await refusal_reason(GroupAuthorizationFailedError(), kafka, doing="read")
    assert group is not None and "consumer group as User:la-returns-service" in group
    assert await refusal_reason(TimeoutError(), kafka, doing="read") is None


def test_the_secured_local_broker_has_no_listener_without_tls_or_a_default_allow(tmp_path: Path) -> None:
    from cryptography import x509

    from attendance_stack.security import KafkaSecurity

    security = KafkaSecurity.in_folder(tmp_path)
    props = security.broker_properties(9092, 9093)
    protocols = dict(pair.split(":") for pair in props["listener.security.protocol.map"].split(","))
    assert set(protocols.values()) <= {"SSL", "SASL_SSL"}
    assert props["listener.name.controller.ssl.client.auth"] == "required"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:admin;User:CN=kafka-broker"
    assert set(security.passwords) == {"admin", *(acl.service_principal(s) for s in acl.SERVICES)}
    # Kept: a second start on the same folder has the same credentials the log was formatted with.
    assert KafkaSecurity.in_folder(tmp_path).passwords == security.passwords
    broker = x509.load_pem_x509_certificates(security.tls.broker_pem.read_bytes())[0]
    names = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert oct(security.tls.broker_pem.stat().st_mode & 0o777) == "0o600"
    env = security.service_env("support")
    assert env["KAFKA_SASL_USERNAME"] == "support-service" and env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
