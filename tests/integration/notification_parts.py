"""The real parts the notification-service tests run against: PostgreSQL, an SMTP server
(aiosmtpd), a fake GOV.UK Notify that checks the JWT and answers with Notify's error shapes,
and a push gateway that checks the webhook signature; with the events and helpers that feed
them. Shared by the delivery tests and the API tests (the fixtures through conftest.py)."""

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.message import Message

import jwt
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from attendance_shared.db import make_engine, make_sessionmaker
from attendance_shared.events import (
    Contact,
    Event,
    MarkAmendedV1,
    PupilAdmittedV1,
    SchoolUpsertedV1,
    SessionMarkedV1,
    make_event,
    pupil_key,
)
from attendance_stack.processes import free_port
from notification_service.channels.factory import build_channels
from notification_service.channels.push import SIGNATURE_HEADER, TIMESTAMP_HEADER
from notification_service.consumers.handler import EventHandler
from notification_service.service.dispatcher import Dispatcher
from notification_service.settings import Settings

URN = "100001"
MONDAY = date(2026, 9, 7)
SERVICE_ID = str(uuid.uuid4())
SECRET = str(uuid.uuid4())
API_KEY = f"attendance_test-{SERVICE_ID}-{SECRET}"
PUSH_SECRET = "push-shared-secret"


def england(day: date, hour: int, minute: int = 0) -> datetime:
    """A September time in England (BST, UTC+1) as UTC."""
    return datetime(day.year, day.month, day.day, hour - 1, minute, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


# --- the real parts --------------------------------------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@dataclass
class FakeNotify:
    """The Notify endpoints the service calls, with Notify's JWT rules and error shapes."""

    fail_with: int | None = None
    texts: list[dict] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)

    def _auth_error(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        try:
            claims = jwt.decode(header.removeprefix("Bearer "), SECRET, algorithms=["HS256"])
        except jwt.PyJWTError as exc:
            return _notify_error(403, "AuthError", f"Invalid token: {exc}")
        if claims.get("iss") != SERVICE_ID or abs(time.time() - claims.get("iat", 0)) > 30:
            return _notify_error(403, "AuthError", "Invalid token: iss or iat")
        return None

    async def send_sms(self, request: Request) -> Response:
        if error := self._auth_error(request):
            return error
        if self.fail_with == 500:
            return _notify_error(500, "Exception", "Internal server error")
        if self.fail_with == 429:
            return _notify_error(
                429, "RateLimitError", "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"
            )
        body = await request.json()
        if not body.get("phone_number", "").startswith("07"):
            return _notify_error(400, "ValidationError", "phone_number Not a UK mobile number")
        notification_id = str(uuid.uuid4())
        self.texts.append(body)
        self.statuses[notification_id] = "sending"
        return JSONResponse({"id": notification_id, "reference": body.get("reference")}, status_code=201)

    async def get_status(self, request: Request) -> Response:
        if error := self._auth_error(request):
            return error
        return JSONResponse({"id": request.path_params["id"], "status": self.statuses[request.path_params["id"]]})


def _notify_error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"status_code": status, "errors": [{"error": error, "message": message}]}, status_code=status)


@dataclass
class PushGateway:
    calls: list[bytes] = field(default_factory=list)

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        timestamp = request.headers[TIMESTAMP_HEADER]
        expected = (
            "sha256=" + hmac.new(PUSH_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        )
        if not hmac.compare_digest(expected, request.headers[SIGNATURE_HEADER]):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        self.calls.append(body)
        return JSONResponse({"ok": True}, status_code=202)


@dataclass
class Parts:
    mailbox: Mailbox
    notify: FakeNotify
    push: PushGateway
    settings: Settings


@pytest.fixture
async def parts(database_url: str) -> AsyncIterator[Parts]:
    mailbox, notify, push = Mailbox(), FakeNotify(), PushGateway()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    app = Starlette(
        routes=[
            Route("/v2/notifications/sms", notify.send_sms, methods=["POST"]),
            Route("/v2/notifications/{id}", notify.get_status, methods=["GET"]),
            Route("/push", push.receive, methods=["POST"]),
        ]
    )
    http_port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=http_port, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    settings = Settings(
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_starttls=False,
        smtp_from_address="attendance@school.example",
        notify_base_url=f"http://127.0.0.1:{http_port}",
        notify_api_key=API_KEY,
        notify_sms_template_id=str(uuid.uuid4()),
        push_webhook_url=f"http://127.0.0.1:{http_port}/push",
        push_webhook_secret=PUSH_SECRET,
        retry_base_s=60,
        quiet_hours_start="20:00",
        quiet_hours_end="08:00",
    )
    try:
        yield Parts(mailbox, notify, push, settings)
    finally:
        server.should_exit = True
        await serving
        smtp.stop()


@pytest.fixture
def sessionmaker(database_url: str):
    return make_sessionmaker(make_engine(database_url, service="notification-test"))


# --- events --------------------------------------------------------------------------------------


def event(payload, upn: str = "") -> Event:
    return make_event(payload, source="/tests", subject=pupil_key(URN, upn) if upn else URN)


def school() -> Event:
    return event(SchoolUpsertedV1(urn=URN, la_code="201", name="Oak Lane Primary"))


def pupil(upn: str, contacts: tuple[Contact, ...], **extra) -> Event:
    return event(
        PupilAdmittedV1(
            school_urn=URN,
            la_code="201",
            upn=upn,
            legal_surname="Taylor",
            legal_forename="Sam",
            year_group="5",
            admission_date=date(2025, 9, 1),
            contacts=contacts,
            **({"date_of_birth": date(2016, 3, 4)} | extra),
        ),
        upn,
    )


def mark(upn: str, code: str, day: date = MONDAY, session: str = "am", revision: int = 1, previous=None) -> Event:
    model = MarkAmendedV1 if revision > 1 else SessionMarkedV1
    extra = {"reason": "parent phoned"} if revision > 1 else {}
    payload = model(
        school_urn=URN,
        la_code="201",
        upn=upn,
        date=day,
        session=session,
        code=code,
        previous_code=previous,
        revision=revision,
        recorded_at=datetime.now(UTC),
        **extra,
    )
    return event(payload, upn)


async def apply(sessionmaker, clock: Clock, *events: Event) -> None:
    """As the batch consumer applies a poll, with no inbox of its own (the handler claims all but
    the marks): each event once, in one transaction."""
    once = {e.id: e for e in events}
    async with sessionmaker.begin() as session:
        await EventHandler(clock=clock)(session, [("t", e) for e in once.values()])


async def rows(engine: AsyncEngine, where: str = "true") -> list:
    async with engine.connect() as conn:
        result = await conn.execute(text(f"SELECT * FROM notification.messages WHERE {where} ORDER BY id"))
        return list(result)


def dispatcher(sessionmaker, parts: Parts, clock: Clock) -> Dispatcher:
    return Dispatcher(sessionmaker, build_channels(parts.settings), parts.settings, clock)


ALEX = Contact(name="Alex Taylor", email="alex@example.org", preferred_channel="email")
JO = Contact(name="Jo Taylor", phone="07700900123", preferred_channel="sms")
