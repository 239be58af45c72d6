"""The LA returns service: statutory returns compiled as immutable snapshots."""

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.consumer import attach_consumer
from attendance_shared.contract import CONSUMES
from attendance_shared.platform import Periodic, ServiceContext, create_service_app
from la_returns_service.api import reports as report_routes
from la_returns_service.api.routes import router, school_router
from la_returns_service.clients.analytics import AnalyticsClient, SupportClient
from la_returns_service.consumers.handler import handle
from la_returns_service.models import processed_events
from la_returns_service.repository.store import school_la_code
from la_returns_service.service.scheduler import compile_one_due, compile_one_due_report
from la_returns_service.settings import SERVICE_NAME, Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    def build_workers(ctx: ServiceContext) -> None:
        # Every event goes through the consumer's inbox. Marks are not read: runs and spells
        # come from analytics, which holds every mark.
        attach_consumer(
            ctx,
            service=SERVICE_NAME,
            topics=CONSUMES[SERVICE_NAME],
            inbox=processed_events,
            handler=handle,
        )
        analytics = AnalyticsClient(settings)
        ctx.app.state.analytics = analytics
        ctx.app.state.on_shutdown.append(analytics.close)
        support = SupportClient(settings)
        ctx.app.state.support = support
        ctx.app.state.on_shutdown.append(support.close)

        async def scheduled(session: AsyncSession) -> str | None:
            compiled = await compile_one_due(session, analytics, concurrency=settings.analytics_concurrency)
            return compiled or await compile_one_due_report(session, analytics, support)

        ctx.workers.add(
            "scheduled-returns",
            Periodic("scheduled-returns", ctx.sessionmaker, scheduled, interval_s=settings.schedule_interval_s),
        )

    return create_service_app(
        service=SERVICE_NAME,
        title="la-returns-service",
        summary="New-pupil, deletion, attendance and sickness returns that local authorities fetch.",
        settings=settings,
        routers=[router, school_router, report_routes.router, report_routes.la_router],
        build_workers=build_workers,
        school_la_code=school_la_code,
    )
