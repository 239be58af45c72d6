"""The register service: admission and attendance registers, published through the outbox."""

from fastapi import FastAPI

from attendance_shared import topics
from attendance_shared.kafka import KafkaPublisher
from attendance_shared.outbox import OutboxRelay
from attendance_shared.platform import ServiceContext, create_service_app
from register_service.api.routes import router
from register_service.models import outbox
from register_service.repository.schools import la_code_of
from register_service.settings import SERVICE_NAME, Settings

PUBLISHED_TOPICS = (topics.SCHOOLS, topics.PUPILS, topics.MARKS)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    def build_workers(ctx: ServiceContext) -> None:
        relay = OutboxRelay(
            service=SERVICE_NAME,
            engine=ctx.engine,
            table=outbox,
            batch_size=settings.relay_batch_size,
            publisher=KafkaPublisher(settings.kafka_bootstrap_servers, PUBLISHED_TOPICS, client_id="register-relay"),
        )
        ctx.app.state.relay = relay
        # Readiness follows the database alone: marks are accepted while the broker is down
        # and the relay catches up, so a broker outage must not take the API out of service.
        ctx.workers.add("outbox-relay", relay)

    return create_service_app(
        service=SERVICE_NAME,
        title="register-service",
        summary="Admission and attendance registers for schools in England, kept as legal records.",
        settings=settings,
        routers=[router],
        build_workers=build_workers,
        school_la_code=la_code_of,
    )
