"""attach_consumer carries the service's settings into the consumer it runs, and a batch is
applied with the cyclic garbage collector paused (no I/O)."""

import gc

import pytest
from fastapi import FastAPI

from attendance_shared import topics
from attendance_shared.consumer import attach_consumer, collection_paused
from attendance_shared.db import service_metadata
from attendance_shared.inbox import processed_events_table
from attendance_shared.platform import ServiceContext, Workers, install_platform
from attendance_shared.settings import CommonSettings


async def _no_op(session, events) -> None:
    return None


@pytest.mark.parametrize(
    ("security", "principal"),
    [
        ({}, "User:ANONYMOUS"),
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_password": "s3cret"}, "User:test-service"),
    ],
)
def test_the_consumer_takes_the_group_session_timeout_and_kafka_address_from_settings(
    security: dict[str, str], principal: str
) -> None:
    app = FastAPI()
    install_platform(app, service="test", settings=CommonSettings())
    app.state.settings = CommonSettings(
        kafka_consumer_session_timeout_ms=6_000, kafka_bootstrap_servers="10.0.0.1:1", **security
    )
    workers = Workers()
    context = ServiceContext(app=app, engine=None, sessionmaker=None, workers=workers)  # type: ignore[arg-type]
    consumer = attach_consumer(
        context,
        service="test",
        topics=[topics.MARKS],
        inbox=processed_events_table(service_metadata("t")),
        handler=_no_op,
    )
    assert consumer.session_timeout_ms == 6_000
    assert consumer.kafka.bootstrap_servers == "10.0.0.1:1"
    # The service's one principal, for its consumer and its dead-letter producer alike.
    assert consumer.kafka.principal == principal
    assert consumer._dead_letter_publisher.kafka is consumer.kafka
    assert consumer.group_id == "test-service"
    # With an inbox, a worker that prunes it once its events cannot be delivered again.
    assert [name for name, _ in workers.items] == ["test-consumer", "test-inbox-pruner"]
    assert "consumer" in app.state.readiness_checks


def test_only_a_lost_connection_is_retried_as_transient() -> None:
    import asyncpg
    from sqlalchemy.exc import DBAPIError, OperationalError

    from attendance_shared.db import is_transient

    def wrapped(cause: BaseException) -> DBAPIError:
        driver_error = Exception("driver")
        driver_error.__cause__ = cause
        return DBAPIError("SELECT 1", {}, driver_error)

    assert is_transient(OperationalError("SELECT 1", {}, Exception("server closed the connection")))
    assert is_transient(wrapped(asyncpg.ConnectionDoesNotExistError("connection was closed")))
    assert not is_transient(wrapped(asyncpg.InterfaceError("the number of query arguments cannot exceed 32767")))
    assert not is_transient(ValueError("a bad event"))


def test_collection_is_paused_for_a_batch_and_restored_after_it_even_on_failure() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collection_paused():
        assert not gc.isenabled()
        raise RuntimeError("the batch failed")
    assert gc.isenabled()


def test_a_collector_already_paused_stays_paused_after_a_batch() -> None:
    gc.disable()
    try:
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
