"""The analytics service: rolling figures and risk flags from the register's events."""

from fastapi import FastAPI

from analytics_service.api import views
from analytics_service.api.routes import la_router, reference_router, router
from analytics_service.consumers.events import AnalyticsHandler
from analytics_service.models import outbox
from analytics_service.repository.projections import school_la_code, school_trust_id
from analytics_service.settings import SERVICE_NAME, Settings
from attendance_shared.consumer import attach_consumer
from attendance_shared.contract import CONSUMES, PUBLISHES
from attendance_shared.outbox import attach_relay
from attendance_shared.platform import ServiceContext, create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    def build_workers(ctx: ServiceContext) -> None:
        attach_consumer(
            ctx,
            service=SERVICE_NAME,
            topics=CONSUMES[SERVICE_NAME],
            inbox=None,
            handler=AnalyticsHandler(rules=settings.flag_rules()),
            max_records=settings.consumer_max_records,
            max_partition_fetch_bytes=settings.consumer_max_partition_fetch_bytes,
        )
        attach_relay(ctx, service=SERVICE_NAME, table=outbox, topics=PUBLISHES[SERVICE_NAME])

    return create_service_app(
        service=SERVICE_NAME,
        title="analytics-service",
        summary="Attendance figures and risk flags by the DfE methodology, fresh within seconds.",
        settings=settings,
        routers=[router, la_router, views.router, views.la_router, views.trust_router, reference_router],
        build_workers=build_workers,
        school_la_code=school_la_code,
        school_trust_id=school_trust_id,
    )
