"""Request ids and W3C trace context, without a tracing SDK.

Every HTTP request gets a request id (the caller's `X-Request-ID`, or a new one) and a trace
context (the caller's `traceparent`, or a new trace). Both go into every log line written
while the request is handled. Events written to an outbox during the request carry its
`traceparent`; the relay sends it as a Kafka header, and a consumer applying the event logs
under it, so one trace id follows a mark from the register to the services that use it.
"""

import os
import re
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

TRACEPARENT_HEADER = "traceparent"
REQUEST_ID_HEADER = "x-request-id"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)


def new_traceparent(trace_id: str | None = None) -> str:
    """A new span in `trace_id` (or in a new trace), sampled."""
    return f"00-{trace_id or os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


def valid_traceparent(value: str | None) -> str | None:
    if value is None:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None or match.group(1) == "0" * 32 or match.group(2) == "0" * 16:
        return None
    return match.group(0)


def trace_id_of(traceparent: str | None) -> str | None:
    return traceparent.split("-")[1] if traceparent else None


def current_traceparent() -> str | None:
    return traceparent_var.get()


@contextmanager
def traced(traceparent: str | None) -> Iterator[None]:
    """Work done inside runs as a child span of `traceparent` (a consumer applying an event)."""
    parent = valid_traceparent(traceparent)
    token = traceparent_var.set(new_traceparent(trace_id_of(parent)) if parent else None)
    try:
        yield
    finally:
        traceparent_var.reset(token)


def log_context() -> dict[str, str]:
    context = {}
    if request_id := request_id_var.get():
        context["request_id"] = request_id
    if trace_id := trace_id_of(traceparent_var.get()):
        context["trace_id"] = trace_id
    return context


Scope = MutableMapping[str, Any]


class TraceMiddleware:
    """Sets the request id and trace context for the request and returns both to the caller."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given_id = headers.get(REQUEST_ID_HEADER, "")
        request_id = given_id if _REQUEST_ID.match(given_id) else os.urandom(8).hex()
        parent = valid_traceparent(headers.get(TRACEPARENT_HEADER))
        traceparent = new_traceparent(trace_id_of(parent))
        id_token, trace_token = request_id_var.set(request_id), traceparent_var.set(traceparent)

        async def send_with_ids(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    (b"traceparent", traceparent.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        finally:
            request_id_var.reset(id_token)
            traceparent_var.reset(trace_token)
