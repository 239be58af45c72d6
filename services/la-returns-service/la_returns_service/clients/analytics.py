"""The analytics service over HTTP, for figures this service does not hold itself."""

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import orjson

from attendance_shared.auth import ServiceTokenAuth
from attendance_shared.errors import Unprocessable, UpstreamUnavailable
from la_returns_service.settings import Settings


class AnalyticsClient:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client = httpx.AsyncClient(
            base_url=settings.analytics_url,
            timeout=settings.analytics_timeout_s,
            auth=ServiceTokenAuth(settings, "la-returns-service"),
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
        last_error: Exception | None = None
        for attempt in range(self._settings.analytics_retries):
            try:
                response, body = await self._fetch(path, params)
            except httpx.TransportError as exc:
                last_error = exc
            else:
                if response.status_code == 404:
                    return None
                if response.status_code == 422:
                    # Analytics refused the period: the caller's request, not an outage.
                    problem = orjson.loads(body)
                    raise Unprocessable(
                        f"analytics cannot give figures for that period: {problem.get('detail')}",
                        errors=problem.get("errors"),
                    )
                if response.status_code < 500:
                    response.raise_for_status()
                    return orjson.loads(body)
                last_error = httpx.HTTPStatusError("server error", request=response.request, response=response)
            await asyncio.sleep(0.2 * 2**attempt)
        raise UpstreamUnavailable(f"the analytics service did not answer ({type(last_error).__name__}); try again")

    async def _fetch(self, path: str, params: dict[str, Any]) -> tuple[httpx.Response, bytes]:
        """The response and its body, read off the stream rather than kept on the response:
        httpx holds every response in a reference cycle, so a body kept there lives until the
        cycle collector runs, which the services run seldom (platform.GC_THRESHOLDS). A
        return's hundred schools of figures left 60 MB behind in la-returns that way."""
        async with self._client.stream("GET", path, params=params) as response:
            return response, b"".join([chunk async for chunk in response.aiter_bytes()])

    async def _items(self, path: str, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Every item of a cursor-paged listing, page by page (none when analytics has none)."""
        cursor: str | None = None
        while True:
            page = await self._get(path, {**params, "limit": 2000} | ({"cursor": cursor} if cursor else {}))
            if page is None:
                return
            for item in page["items"]:
                yield item
            cursor = page["next_cursor"]
            if not cursor:
                return

    def pupil_figures(self, school_urn: str, start: date, end: date) -> AsyncIterator[dict[str, Any]]:
        """Every pupil's figures for the period."""
        period = {"from": start.isoformat(), "to": end.isoformat()}
        return self._items(f"/v1/schools/{school_urn}/pupil-attendance", period)

    def absence_runs(self, school_urn: str, start: date, end: date, runs: str) -> AsyncIterator[dict[str, Any]]:
        """The school's runs of continuous unauthorised absence, or its spells and totals of
        illness, that reached their threshold by `end` and reach into the period: analytics
        holds every mark, so it alone can tell an unmarked session from one attended, and
        applies the one rule its flags use."""
        period = {"from": start.isoformat(), "to": end.isoformat(), "runs": runs}
        return self._items(f"/v1/schools/{school_urn}/absence-runs", period)
