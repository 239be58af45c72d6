"""The notification service: messages to parents, staff and social workers."""

from fastapi import FastAPI

from attendance_shared.consumer import attach_consumer
from attendance_shared.contract import CONSUMES, PUBLISHES
from attendance_shared.outbox import attach_relay
from attendance_shared.platform import Periodic, ServiceContext, create_service_app
from notification_service.api import summaries as summaries_api
from notification_service.api.routes import router
from notification_service.channels.factory import build_channels
from notification_service.channels.notify import NotifySmsChannel
from notification_service.clients.analytics import AnalyticsClient
from notification_service.consumers.handler import EventHandler
from notification_service.models import outbox
from notification_service.service.delivery_reports import DeliveryReports
from notification_service.service.dispatcher import Dispatcher
from notification_service.service.planning import ChasePlanner
from notification_service.service.summaries import SummaryScheduler
from notification_service.settings import SERVICE_NAME, Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    def build_workers(ctx: ServiceContext) -> None:
        # No inbox for the whole poll: the handler claims all but the marks in it, whose
        # revisions make them idempotent without a row per event.
        attach_consumer(
            ctx,
            service=SERVICE_NAME,
            topics=CONSUMES[SERVICE_NAME],
            inbox=None,
            handler=EventHandler(late_register_alert_days=settings.late_register_alert_days),
        )
        attach_relay(ctx, service=SERVICE_NAME, table=outbox, topics=PUBLISHES[SERVICE_NAME])
        channels = build_channels(settings)
        ctx.workers.add("dispatcher", Dispatcher(ctx.sessionmaker, channels, settings))
        ctx.workers.add(
            "chase-planner",
            Periodic("chase-planner", ctx.sessionmaker, ChasePlanner(), interval_s=settings.planner_interval_s),
        )
        # Its own client, for the API's previews: the scheduler closes the other when it stops.
        ctx.app.state.analytics = AnalyticsClient(settings)
        ctx.app.state.on_shutdown.append(ctx.app.state.analytics.close)
        scheduler = SummaryScheduler(ctx.sessionmaker, AnalyticsClient(settings), settings)
        ctx.app.state.summaries = scheduler
        if settings.summaries_scheduled:
            ctx.workers.add("summary-scheduler", scheduler)
        if isinstance(sms := channels["sms"], NotifySmsChannel):
            ctx.workers.add(
                "delivery-reports",
                Periodic(
                    "delivery-reports", ctx.sessionmaker, DeliveryReports(sms), interval_s=settings.notify_status_poll_s
                ),
            )

        async def channels_check() -> tuple[bool, str]:
            # Always ready: a channel without a provider writes to the log, which is what
            # `make run` wants; the answer says so, so production cannot miss it.
            return True, ", ".join(f"{name}: {channel.provider}" for name, channel in channels.items())

        ctx.app.state.readiness_checks["channels"] = channels_check

    return create_service_app(
        service=SERVICE_NAME,
        title="notification-service",
        summary="Parent alerts, chasing unexplained absence and social-worker notices; never sent twice.",
        settings=settings,
        routers=[router, summaries_api.router],
        build_workers=build_workers,
    )
