"""The register and analytics over HTTP: the legal record of a pupil's marks (a penalty
notice's sessions, the evidence pack's registration certificate) and the pupil's figures."""

from datetime import date
from typing import Any

from attendance_shared.service_client import ServiceClient
from support_service.settings import Settings

CALLER = "support-service"


class RegisterClient(ServiceClient):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings,
            base_url=settings.register_url,
            timeout_s=settings.upstream_timeout_s,
            retries=settings.upstream_retries,
            caller=CALLER,
            callee="register",
        )

    async def entries(self, urn: str, upn: str, start: date, end: date) -> list[dict[str, Any]]:
        """Every entry of the pupil's register in the period, amendments included, oldest first."""
        answer = await self.get(
            f"/v1/schools/{urn}/pupils/{upn}/marks", {"from": start.isoformat(), "to": end.isoformat()}
        )
        return answer["entries"] if answer else []

    async def codes(self, urn: str, upn: str, start: date, end: date) -> dict[tuple[date, str], tuple[int, str]]:
        """Each session's (revision, code) as the register stands now: its latest revision."""
        latest: dict[tuple[date, str], tuple[int, str]] = {}
        for entry in await self.entries(urn, upn, start, end):
            key = (date.fromisoformat(entry["date"]), entry["session"])
            if key not in latest or latest[key][0] < entry["revision"]:
                latest[key] = (entry["revision"], entry["code"])
        return latest


class AnalyticsClient(ServiceClient):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings,
            base_url=settings.analytics_url,
            timeout_s=settings.upstream_timeout_s,
            retries=settings.upstream_retries,
            caller=CALLER,
            callee="analytics",
        )

    async def pupil_figures(self, urn: str, upn: str, start: date, end: date) -> dict[str, Any] | None:
        period = {"from": start.isoformat(), "to": end.isoformat()}
        return await self.get(f"/v1/schools/{urn}/pupils/{upn}/attendance", period)
