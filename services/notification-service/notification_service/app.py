"""The notification service: messages to parents, staff and social workers."""

from fastapi import FastAPI

from attendance_shared import topics
from attendance_shared.consumer import attach_consumer
from attendance_shared.platform import ServiceContext, create_service_app
from notification_service.api.routes import router
from notification_service.consumers.handler import handle
from notification_service.models import processed_events
from notification_service.service.dispatcher import Dispatcher
from notification_service.settings import SERVICE_NAME, Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    def build_workers(ctx: ServiceContext) -> None:
        attach_consumer(
            ctx, service=SERVICE_NAME, topics=[topics.PUPILS, topics.RISK_FLAGS], inbox=processed_events, handler=handle
        )
        ctx.workers.add(
            "dispatcher",
            Dispatcher(
                ctx.sessionmaker, batch_size=settings.dispatch_batch_size, idle_poll_s=settings.dispatch_idle_poll_s
            ),
        )

    return create_service_app(
        service=SERVICE_NAME,
        title="notification-service",
        summary="Parent alerts, chasing unexplained absence and social-worker notices; never sent twice.",
        settings=settings,
        routers=[router],
        build_workers=build_workers,
    )
