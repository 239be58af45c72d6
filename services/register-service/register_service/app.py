"""The register service: admission and attendance registers, published through the outbox."""

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.contract import PUBLISHES
from attendance_shared.idempotency import forget_keys_before
from attendance_shared.outbox import attach_relay
from attendance_shared.platform import Periodic, ServiceContext, create_service_app
from register_service.api.routes import bulk_router, router
from register_service.models import idempotency_keys, outbox
from register_service.repository.schools import la_code_of
from register_service.service.reminders import remind_missing_registers
from register_service.settings import SERVICE_NAME, Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    def build_workers(ctx: ServiceContext) -> None:
        # Readiness follows the database alone: marks are accepted while the broker is down
        # and the relay catches up, so a broker outage must not take the API out of service.
        ctx.app.state.relay = attach_relay(
            ctx,
            service=SERVICE_NAME,
            table=outbox,
            topics=PUBLISHES[SERVICE_NAME],
            batch_size=settings.relay_batch_size,
        )

        async def forget_old_keys(session: AsyncSession) -> int:
            cutoff = datetime.now(UTC) - timedelta(hours=settings.idempotency_key_ttl_hours)
            return await forget_keys_before(session, idempotency_keys, cutoff)

        ctx.workers.add(
            "idempotency-janitor", Periodic("idempotency-janitor", ctx.sessionmaker, forget_old_keys, interval_s=3600)
        )

        if settings.missing_register_reminder_minutes:
            after = timedelta(minutes=settings.missing_register_reminder_minutes)

            async def remind(session: AsyncSession) -> int:
                return await remind_missing_registers(session, after=after, now=datetime.now(UTC))

            interval = settings.missing_register_check_interval_s
            ctx.workers.add(
                "missing-registers", Periodic("missing-registers", ctx.sessionmaker, remind, interval_s=interval)
            )

    return create_service_app(
        service=SERVICE_NAME,
        title="register-service",
        summary="Admission and attendance registers for schools in England, kept as legal records.",
        settings=settings,
        routers=[router, bulk_router],
        build_workers=build_workers,
        school_la_code=la_code_of,
    )
