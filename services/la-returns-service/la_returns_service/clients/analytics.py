"""The analytics service over HTTP, for figures this service does not hold itself."""

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from attendance_shared.service_client import ServiceClient
from la_returns_service.settings import Settings


class AnalyticsClient(ServiceClient):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings,
            base_url=settings.analytics_url,
            timeout_s=settings.analytics_timeout_s,
            retries=settings.analytics_retries,
            caller="la-returns-service",
            callee="analytics",
        )

    def pupil_figures(self, school_urn: str, start: date, end: date) -> AsyncIterator[dict[str, Any]]:
        """Every pupil's figures for the period."""
        period = {"from": start.isoformat(), "to": end.isoformat()}
        return self.items(f"/v1/schools/{school_urn}/pupil-attendance", period)

    def absence_runs(self, school_urn: str, start: date, end: date, runs: str) -> AsyncIterator[dict[str, Any]]:
        """The school's runs of continuous unauthorised absence, or its spells and totals of
        illness, that reached their threshold by `end` and reach into the period: analytics
        holds every mark, so it alone can tell an unmarked session from one attended, and
        applies the one rule its flags use."""
        period = {"from": start.isoformat(), "to": end.isoformat(), "runs": runs}
        return self.items(f"/v1/schools/{school_urn}/absence-runs", period)


class SupportClient(ServiceClient):
    """support-service over HTTP: each open case as a Targeting Support Meeting pack tells it."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings,
            base_url=settings.support_url,
            timeout_s=settings.support_timeout_s,
            retries=settings.support_retries,
            caller="la-returns-service",
            callee="support",
        )

    def case_summaries(self, school_urn: str) -> AsyncIterator[dict[str, Any]]:
        return self.items(f"/v1/schools/{school_urn}/support-case-summaries", {})
