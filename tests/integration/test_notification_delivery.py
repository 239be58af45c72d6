"""notification-service against real parts: PostgreSQL, an SMTP server (aiosmtpd), a fake
GOV.UK Notify that checks the JWT and answers with Notify's error shapes, and a push gateway
that checks the webhook signature. Events go through the service's own handler, messages out
through its own dispatcher; the clock is fixed so that rules run at a chosen England time."""

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
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
    RiskFlagRaisedV1,
    SchoolUpsertedV1,
    SessionMarkedV1,
    SocialWorker,
    make_event,
    pupil_key,
)
from attendance_shared.inbox import claim_new_events
from attendance_stack.processes import free_port
from notification_service.channels.factory import build_channels
from notification_service.channels.notify import NotifySmsChannel
from notification_service.channels.push import SIGNATURE_HEADER, TIMESTAMP_HEADER
from notification_service.consumers.handler import EventHandler
from notification_service.domain.policy import SchoolNotificationSettings
from notification_service.models import processed_events
from notification_service.repository import store
from notification_service.service.delivery_reports import DeliveryReports
from notification_service.service.dispatcher import Dispatcher
from notification_service.service.planning import ChasePlanner
from notification_service.settings import Settings
from tests.factories import make_upn

pytestmark = pytest.mark.integration
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
            date_of_birth=date(2016, 3, 4),
            year_group="5",
            admission_date=date(2025, 9, 1),
            contacts=contacts,
            **extra,
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
    """As the batch consumer applies a poll: inbox first, then the handler, one transaction."""
    handler = EventHandler(clock=clock)
    async with sessionmaker.begin() as session:
        new = await claim_new_events(session, processed_events, [(e.id, "t") for e in events])
        await handler(session, [("t", e) for e in events if e.id in new])


async def rows(engine: AsyncEngine, where: str = "true") -> list:
    async with engine.connect() as conn:
        result = await conn.execute(text(f"SELECT * FROM notification.messages WHERE {where} ORDER BY id"))
        return list(result)


def dispatcher(sessionmaker, parts: Parts, clock: Clock) -> Dispatcher:
    return Dispatcher(sessionmaker, build_channels(parts.settings), parts.settings, clock)


ALEX = Contact(name="Alex Taylor", email="alex@example.org", preferred_channel="email")
JO = Contact(name="Jo Taylor", phone="07700900123", preferred_channel="sms")


# --- the tests -------------------------------------------------------------------------------------


async def test_first_day_alert_reaches_each_parent_once_after_the_register_closes(
    parts: Parts, sessionmaker, engine: AsyncEngine
) -> None:
    upn = make_upn(serial=801)
    clock = Clock(england(MONDAY, 8, 50))
    async with sessionmaker.begin() as session:
        await store.put_school_settings(
            session,
            URN,
            SchoolNotificationSettings(sender_name="Oak Lane Attendance", reply_to_email="office@oak.example"),
        )
    am, pm = mark(upn, "N"), mark(upn, "N", session="pm")
    await apply(sessionmaker, clock, school(), pupil(upn, (ALEX, JO)), am)
    send = dispatcher(sessionmaker, parts, clock)
    assert await send.dispatch_once() == 0  # the register is still open until 09:00

    clock.now = england(MONDAY, 9, 1)
    await apply(sessionmaker, clock, am, pm)  # a redelivery and the afternoon's N: no second alert
    assert await send.dispatch_once() == 2
    await apply(sessionmaker, clock, mark(upn, "N", session="pm"))
    assert await send.dispatch_once() == 0

    [email] = parts.mailbox.messages
    assert email["To"] == "alex@example.org"
    assert email["From"] == "Oak Lane Attendance <attendance@school.example>"
    assert email["Reply-To"] == "office@oak.example"
    assert "Sam was not in school at morning registration on 2026-09-07" in email.get_payload()
    [sms] = parts.notify.texts
    assert sms["phone_number"] == "07700900123"
    assert sms["reference"].startswith(f"first-day-absence:{URN}:{upn}:2026-09-07:parent1")
    assert "Sam was not in school" in sms["personalisation"]["body"]
    assert [r.status for r in await rows(engine)] == ["sent", "sent"]


async def test_an_explanation_before_sending_cancels_the_alert_and_every_chase(
    parts: Parts, sessionmaker, engine: AsyncEngine
) -> None:
    upn = make_upn(serial=802)
    clock = Clock(england(MONDAY, 8, 30))
    await apply(sessionmaker, clock, school(), pupil(upn, (ALEX,)), mark(upn, "N"))
    await apply(sessionmaker, clock, mark(upn, "I", revision=2, previous="N"))
    assert [(r.rule, r.status) for r in await rows(engine)] == [("first-day-absence", "cancelled")]
    clock.now = england(MONDAY + timedelta(days=3), 10)
    async with sessionmaker.begin() as session:
        assert await ChasePlanner(clock)(session) == 0
    assert await dispatcher(sessionmaker, parts, clock).dispatch_once() == 0
    assert parts.mailbox.messages == []


async def test_an_n_is_chased_after_two_and_four_school_days_then_the_lead_is_told(
    parts: Parts, sessionmaker, engine: AsyncEngine
) -> None:
    upn = make_upn(serial=803)
    clock = Clock(england(MONDAY, 10))
    await apply(sessionmaker, clock, school(), pupil(upn, (ALEX,)), mark(upn, "N"))
    planner = ChasePlanner(clock)

    async def plan_on(day: date) -> list:
        clock.now = england(day, 10)
        async with sessionmaker.begin() as session:
            await planner(session)
            await planner(session)  # a second run, or a restarted service, finds it done
        return [
            (r.rule, r.stage, r.recipient_role, r.status) for r in await rows(engine, "rule <> 'first-day-absence'")
        ]

    assert await plan_on(MONDAY + timedelta(days=1)) == []
    chase2 = ("absence-chase", 2, "parent", "queued")
    assert await plan_on(MONDAY + timedelta(days=2)) == [chase2]
    chase4 = ("absence-chase", 4, "parent", "queued")
    assert await plan_on(MONDAY + timedelta(days=4)) == [chase2, chase4]  # Friday
    lead = ("unresolved-absence-lead", None, "attendance_lead", "undeliverable")
    assert await plan_on(MONDAY + timedelta(days=7)) == [chase2, chase4, lead]  # Monday: 5 school days
    async with sessionmaker() as session:
        [listed] = await store.uncontactable(session, URN, after_upn=None, limit=10)
    assert (listed.upn, listed.recipient_role, listed.failure_reason) == (
        upn,
        "attendance_lead",
        "no attendance lead for the school is set",
    )


async def test_social_worker_and_virtual_school_hear_of_unauthorised_absence(
    parts: Parts, sessionmaker, engine: AsyncEngine
) -> None:
    upn = make_upn(serial=804)
    clock = Clock(england(MONDAY, 14))
    extra = {
        "social_worker": SocialWorker(name="Kim Lee", email="kim.lee@la.example"),
        "virtual_school_contact": SocialWorker(name="Virtual School", email="vs@la.example"),
        "looked_after": True,
    }
    await apply(sessionmaker, clock, school(), pupil(upn, (ALEX,), **extra), mark(upn, "G", session="pm"))
    assert await dispatcher(sessionmaker, parts, clock).dispatch_once() == 2
    assert sorted(m["To"] for m in parts.mailbox.messages) == ["kim.lee@la.example", "vs@la.example"]
    assert "code G, holiday not granted by the school" in parts.mailbox.messages[0].get_payload()


async def test_a_notify_outage_delays_texts_without_losing_or_doubling_them(
    parts: Parts, sessionmaker, engine: AsyncEngine
) -> None:
    upn, other = make_upn(serial=805), make_upn(serial=806)
    clock = Clock(england(MONDAY, 10))
    await apply(sessionmaker, clock, school(), pupil(upn, (JO,)), pupil(other, (JO,)), mark(upn, "N"), mark(other, "N"))
    send = dispatcher(sessionmaker, parts, clock)
    parts.notify.fail_with = 500
    assert await send.dispatch_once() == 2
    waiting = await rows(engine)
    assert [(r.status, r.attempts) for r in waiting] == [("queued", 1), ("queued", 0)]  # the second was not tried
    assert waiting[0].failure_reason == "Notify 500: Exception: Internal server error"
    assert await send.dispatch_once() == 0  # backing off

    parts.notify.fail_with = 429
    clock.now += timedelta(minutes=2)
    await send.dispatch_once()
    assert "RateLimitError" in (await rows(engine))[0].failure_reason

    parts.notify.fail_with = None
    clock.now += timedelta(minutes=5)
    assert await send.dispatch_once() == 2
    assert await send.dispatch_once() == 0
    assert sorted(t["reference"].split(":")[2] for t in parts.notify.texts) == sorted([upn, other])
    assert [r.status for r in await rows(engine)] == ["sent", "sent"]

    async with sessionmaker.begin() as session:
        assert await DeliveryReports(build_channels(parts.settings)["sms"], clock)(session) == 0
    for notification_id in parts.notify.statuses:
        parts.notify.statuses[notification_id] = "delivered"
    channel = build_channels(parts.settings)["sms"]
    assert isinstance(channel, NotifySmsChannel)
    async with sessionmaker.begin() as session:
        assert await DeliveryReports(channel, clock)(session) == 2
    assert [r.status for r in await rows(engine)] == ["delivered", "delivered"]


async def test_a_permanent_refusal_is_recorded_with_the_providers_reason(
    parts: Parts, sessionmaker, engine: AsyncEngine
) -> None:
    upn = make_upn(serial=807)
    clock = Clock(england(MONDAY, 10))
    bad_number = Contact(name="Jo", phone="+33 6 12 34 56 78", preferred_channel="sms")
    await apply(sessionmaker, clock, school(), pupil(upn, (bad_number,)), mark(upn, "N"))
    await dispatcher(sessionmaker, parts, clock).dispatch_once()
    [message] = await rows(engine)
    assert (message.status, message.failure_reason) == (
        "failed",
        "Notify 400: ValidationError: phone_number Not a UK mobile number",
    )


async def test_quiet_hours_hold_texts_until_morning_across_a_restart(
    parts: Parts, sessionmaker, engine: AsyncEngine
) -> None:
    upn = make_upn(serial=808)
    clock = Clock(england(MONDAY, 21))  # a register posted late in the evening
    parts.settings.late_register_alert_days = 0
    await apply(sessionmaker, clock, school(), pupil(upn, (ALEX, JO)), mark(upn, "N"))
    assert await dispatcher(sessionmaker, parts, clock).dispatch_once() == 2
    [email, text_message] = await rows(engine)
    assert (email.status, text_message.status) == ("sent", "queued")
    assert text_message.not_before == england(MONDAY + timedelta(days=1), 8)

    clock.now = england(MONDAY, 23)
    restarted = dispatcher(sessionmaker, parts, clock)
    assert await restarted.dispatch_once() == 0
    assert parts.notify.texts == []
    clock.now = england(MONDAY + timedelta(days=1), 8, 1)
    assert await restarted.dispatch_once() == 1
    assert len(parts.notify.texts) == 1


async def test_push_goes_through_the_signed_webhook(parts: Parts, sessionmaker, engine: AsyncEngine) -> None:
    upn = make_upn(serial=809)
    clock = Clock(england(MONDAY, 10))
    await apply(
        sessionmaker, clock, school(), pupil(upn, (Contact(name="Alex", preferred_channel="push"),)), mark(upn, "N")
    )
    assert await dispatcher(sessionmaker, parts, clock).dispatch_once() == 1
    [call] = parts.push.calls
    assert b"Sam was not in school" in call
    assert [r.status for r in await rows(engine)] == ["sent"]


async def test_a_pupil_nobody_can_be_told_about_is_listed_with_the_reason(
    parts: Parts, sessionmaker, engine: AsyncEngine
) -> None:
    upn = make_upn(serial=810)
    clock = Clock(england(MONDAY, 10))
    flag = RiskFlagRaisedV1(
        school_urn=URN,
        la_code="201",
        upn=upn,
        flag="persistent_absence",
        academic_year=2026,
        possible_sessions=20,
        absent_sessions=4,
        overall_absence_rate=20.0,
        as_of=MONDAY,
    )
    await apply(sessionmaker, clock, school(), pupil(upn, ()), event(flag, upn))
    async with sessionmaker() as session:
        listed = await store.uncontactable(session, URN, after_upn=None, limit=10)
    assert sorted((r.recipient_role, r.failure_reason) for r in listed) == [
        ("attendance_lead", "no attendance lead for the school is set"),
        ("parent", "no parent or carer contact is on the admission register"),
    ]
