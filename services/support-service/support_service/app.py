"""The support service: each pupil's attendance support case, from suggestion to closure."""

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import topics
from attendance_shared.clock import today_in_england
from attendance_shared.consumer import attach_consumer
from attendance_shared.contract import CONSUMES, PUBLISHES
from attendance_shared.outbox import attach_relay
from attendance_shared.platform import Periodic, ServiceContext, create_service_app
from support_service.api.routes import la_router, router
from support_service.clients.upstream import AnalyticsClient, RegisterClient
from support_service.consumers.handler import handle
from support_service.models import outbox, processed_events
from support_service.repository.projections import school_la_code
from support_service.service import legal, plans
from support_service.settings import SERVICE_NAME, Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    def build_workers(ctx: ServiceContext) -> None:
        attach_consumer(
            ctx,
            service=SERVICE_NAME,
            topics=CONSUMES[SERVICE_NAME],
            inbox=processed_events,
            handler=handle,
            # Marks are kept by revision: applying one twice changes nothing, so the inbox
            # (a row per event) records the other topics' events only.
            idempotent_topics=[topics.MARKS],
        )
        attach_relay(ctx, service=SERVICE_NAME, table=outbox, topics=PUBLISHES[SERVICE_NAME])

        async def reviews_due(session: AsyncSession) -> int:
            return await plans.announce_reviews_due(session, today_in_england())

        ctx.workers.add(
            "plan-reviews-due",
            Periodic("plan-reviews-due", ctx.sessionmaker, reviews_due, interval_s=settings.review_check_interval_s),
        )

        async def notices_checked(session: AsyncSession) -> int:
            return await legal.check_notices(session, today_in_england())

        ctx.workers.add(
            "notice-checks",
            Periodic("notice-checks", ctx.sessionmaker, notices_checked, interval_s=settings.notice_check_interval_s),
        )
        register, analytics = RegisterClient(settings), AnalyticsClient(settings)
        ctx.app.state.register, ctx.app.state.analytics = register, analytics
        ctx.app.state.on_shutdown.extend([register.close, analytics.close])

        async def marks_of_new_cases(session: AsyncSession) -> int:
            return await legal.load_marks(session, register, today_in_england())

        ctx.workers.add(
            "case-marks",
            Periodic("case-marks", ctx.sessionmaker, marks_of_new_cases, interval_s=settings.marks_load_interval_s),
        )

    return create_service_app(
        service=SERVICE_NAME,
        title="support-service",
        summary="Each pupil's attendance support case: suggestions from risk flags, stages on the continuum, "
        "plans, the contact chronology and the penalty notices that must be considered.",
        settings=settings,
        routers=[router, la_router],
        build_workers=build_workers,
        school_la_code=school_la_code,
    )
