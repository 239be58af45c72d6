"""The analytics service over HTTP: each pupil's figures for a summary's periods, and the
school's tiers. analytics alone holds every mark, so the days a summary states are the days
analytics reports."""

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from attendance_shared.rules.tiers import DEFAULT_TIERS, Tier
from attendance_shared.service_client import ServiceClient
from notification_service.settings import Settings


class AnalyticsClient(ServiceClient):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings,
            base_url=settings.analytics_url,
            timeout_s=settings.analytics_timeout_s,
            retries=settings.analytics_retries,
            caller="notification-service",
            callee="analytics",
        )

    def pupil_figures(
        self, school_urn: str, start: date, end: date, *, habits: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        """Every pupil's figures for the period (a row per stay), with their weekday and
        lateness habits when asked."""
        params = {"from": start.isoformat(), "to": end.isoformat(), "habits": str(habits).lower()}
        return self.items(f"/v1/schools/{school_urn}/pupil-attendance", params)

    async def tiers(self, school_urn: str) -> tuple[Tier, ...]:
        found = await self.get(f"/v1/schools/{school_urn}/attendance-tiers", {})
        if not found:
            return DEFAULT_TIERS
        return tuple(Tier(t["name"], t["above_percent"]) for t in found["tiers"])
