"""Another service of the platform over HTTP, for data the caller does not hold itself: a
short-lived service token, retries on connection errors and 5xx, and a 503 to the caller's
client when the other service stays away (never a 500)."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from attendance_shared.auth import ServiceTokenAuth
from attendance_shared.errors import Unprocessable, UpstreamUnavailable
from attendance_shared.settings import CommonSettings


class ServiceClient:
    def __init__(
        self, settings: CommonSettings, *, base_url: str, timeout_s: float, retries: int, caller: str, callee: str
    ) -> None:
        self._retries = retries
        self._callee = callee
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, auth=ServiceTokenAuth(settings, caller))

    async def close(self) -> None:
        await self._client.aclose()

    async def get(self, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The JSON answer, None for a 404, a 422 passed on, or UpstreamUnavailable (a 503)."""
        last_error: Exception | None = None
        for attempt in range(self._retries):
            try:
                response, body = await self._fetch(path, params)
            except httpx.TransportError as exc:
                last_error = exc
            else:
                if response.status_code == 404:
                    return None
                if response.status_code == 422:
                    # The other service refused what was asked: the caller's request, not an outage.
                    problem = orjson.loads(body)
                    raise Unprocessable(
                        f"the {self._callee} service refused the request: {problem.get('detail')}",
                        errors=problem.get("errors"),
                    )
                if response.status_code < 500:
                    response.raise_for_status()
                    return orjson.loads(body)
                last_error = httpx.HTTPStatusError("server error", request=response.request, response=response)
            await asyncio.sleep(0.2 * 2**attempt)
        raise UpstreamUnavailable(f"the {self._callee} service did not answer ({type(last_error).__name__}); try again")

    async def _fetch(self, path: str, params: dict[str, Any]) -> tuple[httpx.Response, bytes]:
        """The response and its body, read off the stream rather than kept on the response:
        httpx holds every response in a reference cycle, so a body kept there lives until the
        cycle collector runs, which the services run seldom (platform.GC_THRESHOLDS). A
        return's hundred schools of figures left 60 MB behind in la-returns that way."""
        async with self._client.stream("GET", path, params=params) as response:
            return response, b"".join([chunk async for chunk in response.aiter_bytes()])

    async def items(self, path: str, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Every item of a cursor-paged listing, page by page (none when there is none)."""
        cursor: str | None = None
        while True:
            page = await self.get(path, {**params, "limit": 2000} | ({"cursor": cursor} if cursor else {}))
            if page is None:
                return
            for item in page["items"]:
                yield item
            cursor = page["next_cursor"]
            if not cursor:
                return
