"""notification-service against real parts: PostgreSQL, an SMTP server (aiosmtpd), a fake
GOV.UK Notify that checks the JWT and answers with Notify's error shapes, and a push gateway
that checks the webhook signature. Events go through the service's own handler, messages out
through its own dispatcher; the clock is fixed so that rules run at a chosen England time."""

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from attendance_shared.events import Contact, RiskFlagRaisedV1, SocialWorker
from notification_service.channels.factory import build_channels
from notification_service.channels.notify import NotifySmsChannel
from notification_service.domain.policy import SchoolNotificationSettings
from notification_service.repository import store
from notification_service.service.delivery_reports import DeliveryReports
from notification_service.service.planning import ChasePlanner
from tests.factories import make_upn
from tests.integration.notification_parts import (
    ALEX,
    JO,
    MONDAY,
    URN,
    Clock,
    Parts,
    apply,
    dispatcher,
    england,
    event,
    mark,
    pupil,
    rows,
    school,
)

pytestmark = pytest.mark.integration


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


async def test_an_alert_cancelled_in_the_morning_comes_back_for_an_afternoon_n_in_the_afternoons_words(
    parts: Parts, sessionmaker, engine: AsyncEngine
) -> None:
    upn = make_upn(serial=804)
    clock = Clock(england(MONDAY, 8, 30))
    await apply(sessionmaker, clock, school(), pupil(upn, (ALEX,)), mark(upn, "N"))
    await apply(sessionmaker, clock, mark(upn, "I", revision=2, previous="N"))
    clock.now = england(MONDAY, 13, 10)
    await apply(sessionmaker, clock, mark(upn, "N", session="pm"))
    [alert] = await rows(engine)
    assert (alert.status, alert.session) == ("queued", "pm")
    send = dispatcher(sessionmaker, parts, clock)
    assert await send.dispatch_once() == 0  # held until the afternoon register closes
    clock.now = england(MONDAY, 13, 31)
    assert await send.dispatch_once() == 1
    [email] = parts.mailbox.messages
    assert "Sam was not in school at afternoon registration on 2026-09-07" in email.get_payload(decode=True).decode()


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
