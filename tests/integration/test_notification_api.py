"""notification-service's staff and parent API, by what it changes in the messages that follow:
resend, contact preferences, templates, per-school settings and one message's detail. The
routes run over ASGI without the service's workers; the test applies events through the
service's own handler and sends through its own dispatcher at a fixed time, to the real SMTP
server and fake Notify of `notification_parts`."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from attendance_shared.auth import Role, pupil_scope_key
from attendance_shared.events import Contact
from attendance_shared.platform import create_service_app
from notification_service.api.routes import router
from notification_service.repository import store
from notification_service.service.planning import ChasePlanner
from notification_service.settings import SERVICE_NAME
from tests.factories import make_upn
from tests.helpers import app_client, bearer
from tests.integration.notification_parts import (
    ALEX,
    MONDAY,
    URN,
    Clock,
    Parts,
    apply,
    dispatcher,
    england,
    mark,
    pupil,
    rows,
    school,
)

pytestmark = pytest.mark.integration
STAFF = bearer(Role.STAFF, subject="office", schools=[URN])
NOTIFICATIONS = f"/v1/schools/{URN}/notifications"


@pytest.fixture
async def api(parts: Parts) -> AsyncIterator[httpx.AsyncClient]:
    # The service's routes without its workers: a background dispatcher on the real clock
    # would race the test's own, which runs at a chosen England time.
    app = create_service_app(
        service=SERVICE_NAME, title="notification-service", summary="", settings=parts.settings, routers=[router]
    )
    async with app_client(app, STAFF) as client:
        yield client


def parent_of(upn: str) -> dict[str, str]:
    return bearer(Role.PARENT, subject=f"parent-{upn}", pupils=[pupil_scope_key(URN, upn)])


async def test_a_resend_goes_to_the_fixed_address_as_a_new_message_with_its_own_attempt(
    parts: Parts, sessionmaker, engine: AsyncEngine, api: httpx.AsyncClient
) -> None:
    upn = make_upn(serial=821)
    clock = Clock(england(MONDAY, 10))
    typo = Contact(name="Alex Taylor", email="alex@exmaple.org", preferred_channel="email")
    await apply(sessionmaker, clock, school(), pupil(upn, (typo,)), mark(upn, "N"))
    [first] = await rows(engine)
    assert (await api.post(f"{NOTIFICATIONS}/resend", json={"message_id": first.id})).status_code == 409  # queued
    assert await dispatcher(sessionmaker, parts, clock).dispatch_once() == 1

    await apply(sessionmaker, clock, pupil(upn, (ALEX,)))  # the office fixes the address on the register
    headers = {"Idempotency-Key": f"resend-{first.id}"}
    resent = await api.post(f"{NOTIFICATIONS}/resend", json={"message_id": first.id}, headers=headers)
    assert resent.status_code == 201, resent.text
    again = await api.post(f"{NOTIFICATIONS}/resend", json={"message_id": first.id}, headers=headers)
    assert again.json()["id"] == resent.json()["id"]  # a retried request resends nothing more
    assert (resent.json()["resent_from"], resent.json()["status"]) == (first.id, "queued")

    # A resend is due when it is asked for, on the real clock: send after that moment.
    later = Clock(datetime.now(UTC) + timedelta(minutes=1))
    assert await dispatcher(sessionmaker, parts, later).dispatch_once() == 1
    assert [m["To"] for m in parts.mailbox.messages] == ["alex@exmaple.org", "alex@example.org"]
    original = (await api.get(f"{NOTIFICATIONS}/{first.id}")).json()
    copy = (await api.get(f"{NOTIFICATIONS}/{resent.json()['id']}")).json()
    assert (original["status"], original["recipient"]) == ("sent", "alex@exmaple.org")
    assert (copy["status"], copy["recipient"], copy["body"]) == ("sent", "alex@example.org", original["body"])
    assert [(a["provider"], a["outcome"]) for a in original["delivery_attempts"]] == [("smtp", "sent")]
    assert [(a["provider"], a["outcome"]) for a in copy["delivery_attempts"]] == [("smtp", "sent")]


async def test_a_message_of_another_school_or_none_at_all_is_not_found(
    sessionmaker, engine: AsyncEngine, api: httpx.AsyncClient
) -> None:
    upn = make_upn(serial=822)
    await apply(sessionmaker, Clock(england(MONDAY, 10)), school(), pupil(upn, ()), mark(upn, "N"))
    [message] = await rows(engine)
    detail = (await api.get(f"{NOTIFICATIONS}/{message.id}")).json()
    assert (detail["status"], detail["delivery_attempts"]) == ("undeliverable", [])  # never handed to a provider
    admin = bearer(Role.ADMIN)
    assert (await api.get(f"/v1/schools/100002/notifications/{message.id}", headers=admin)).status_code == 404
    assert (await api.get(f"{NOTIFICATIONS}/{message.id + 1000}")).status_code == 404


async def test_a_parent_who_opts_out_is_recorded_as_unreachable_and_a_switched_channel_is_used(
    parts: Parts, sessionmaker, engine: AsyncEngine, api: httpx.AsyncClient
) -> None:
    upn = make_upn(serial=823)
    clock = Clock(england(MONDAY, 10))
    jo = Contact(name="Jo Taylor", email="jo@example.org", phone="07700900123", preferred_channel="sms")
    await apply(sessionmaker, clock, school(), pupil(upn, (ALEX, jo)))
    url = f"/v1/schools/{URN}/pupils/{upn}/contact-preferences"
    wanted = {"preferences": [{"contact_index": 0, "opted_out": True}, {"contact_index": 1, "channel": "email"}]}
    response = await api.put(url, json=wanted, headers=parent_of(upn))
    assert response.status_code == 200, response.text
    assert [(c["channel"], c["opted_out"]) for c in response.json()["contacts"]] == [(None, True), ("email", False)]
    nobody = await api.put(url, json={"preferences": [{"contact_index": 2}]}, headers=parent_of(upn))
    assert nobody.status_code == 422
    assert nobody.json()["errors"][0]["location"] == ["body", "preferences", 0, "contact_index"]

    await apply(sessionmaker, clock, mark(upn, "N"))
    assert await dispatcher(sessionmaker, parts, clock).dispatch_once() == 1
    assert [m["To"] for m in parts.mailbox.messages] == ["jo@example.org"]
    assert parts.notify.texts == []
    assert [(r.contact_index, r.channel, r.status, r.failure_reason) for r in await rows(engine)] == [
        (0, "none", "undeliverable", "the contact has opted out of messages"),
        (1, "email", "sent", None),
    ]
    [listed] = (await api.get(f"/v1/schools/{URN}/uncontactable-pupils")).json()["items"]
    assert (listed["upn"], listed["contact_index"], listed["reason"]) == (
        upn,
        0,
        "the contact has opted out of messages",
    )


async def test_a_school_template_words_the_next_message_and_an_unknown_placeholder_is_refused(
    parts: Parts, sessionmaker, api: httpx.AsyncClient
) -> None:
    upn = make_upn(serial=824)
    url = f"/v1/schools/{URN}/notification-templates"
    own = {
        "template": "first_day_absence",
        "subject": "{forename} missed registration",
        "body": "Hello {contact_name}: {forename} was marked absent on {date} ({session}). {school_name}",
    }
    response = await api.put(url, json=own)
    assert response.status_code == 200, response.text
    assert response.json()["customised"] is True
    refused = await api.put(url, json=own | {"body": "Hello {contact_name}, about {forename} {surname}"})
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["location"] == ["body", "body"] and "{surname} is not a placeholder" in error["message"]
    listed = {t["template"]: t for t in (await api.get(url)).json()["items"]}
    assert listed["first_day_absence"]["body"] == own["body"]  # the refused one changed nothing

    clock = Clock(england(MONDAY, 10))
    await apply(sessionmaker, clock, school(), pupil(upn, (ALEX,)), mark(upn, "N"))
    await dispatcher(sessionmaker, parts, clock).dispatch_once()
    [email] = parts.mailbox.messages
    assert email["Subject"] == "Sam missed registration"
    assert (
        "Hello Alex Taylor: Sam was marked absent on 2026-09-07 (morning). Oak Lane Primary"
        in email.get_payload(decode=True).decode()
    )


async def test_a_rule_switched_off_sends_nothing_and_changed_chase_days_take_effect(
    parts: Parts, sessionmaker, engine: AsyncEngine, api: httpx.AsyncClient
) -> None:
    upn = make_upn(serial=825)
    url = f"/v1/schools/{URN}/notification-settings"
    settings = (await api.get(url)).json() | {"first_day_alerts": False, "chase_after_school_days": [3]}
    assert (await api.put(url, json=settings)).status_code == 200
    clock = Clock(england(MONDAY, 10))
    await apply(sessionmaker, clock, school(), pupil(upn, (ALEX,)), mark(upn, "N"))
    assert await rows(engine) == []  # no first-day alert

    planner = ChasePlanner(clock)
    for days, expected in ((2, []), (3, [("absence-chase", 3, "queued")])):
        clock.now = england(MONDAY + timedelta(days=days), 10)
        async with sessionmaker.begin() as session:
            await planner(session)
        assert [(r.rule, r.stage, r.status) for r in await rows(engine)] == expected
    await dispatcher(sessionmaker, parts, clock).dispatch_once()
    [email] = parts.mailbox.messages
    assert "3 school days ago" in email.get_payload(decode=True).decode()
    async with sessionmaker() as session:
        assert (await store.school_settings_of(session, URN)).chase_after_school_days == [3]


async def test_a_message_left_sending_by_a_crash_is_failed_listed_for_staff_and_can_be_resent(
    parts: Parts, sessionmaker, engine: AsyncEngine, api: httpx.AsyncClient
) -> None:
    upn = make_upn(serial=826)
    clock = Clock(england(MONDAY, 10))
    await apply(sessionmaker, clock, school(), pupil(upn, (ALEX,)), mark(upn, "N"))
    async with sessionmaker.begin() as session:  # a dispatcher commits 'sending', then its process dies
        [claimed] = await store.claim_due(session, clock.now, 10)
        await store.mark_sending(session, [claimed.id], clock.now)

    clock.now = england(MONDAY, 10, 1)  # restarted at once: too soon to call it interrupted
    restarted = dispatcher(sessionmaker, parts, clock)
    assert await restarted.dispatch_once() == 0
    assert [r.status for r in await rows(engine)] == ["sending"]
    clock.now = england(MONDAY, 10, 11)  # the same running dispatcher, a later pass
    assert await restarted.dispatch_once() == 0
    assert parts.mailbox.messages == []  # whether the provider took it is unknown: never sent twice

    [failed] = (await api.get(NOTIFICATIONS, params={"status": "failed"})).json()["items"]
    assert (failed["id"], failed["failure_reason"]) == (claimed.id, store.INTERRUPTED_REASON)
    [listed] = (await api.get(f"/v1/schools/{URN}/uncontactable-pupils")).json()["items"]
    assert (listed["message_id"], listed["reason"]) == (claimed.id, store.INTERRUPTED_REASON)

    assert (await api.post(f"{NOTIFICATIONS}/resend", json={"message_id": claimed.id})).status_code == 201
    await dispatcher(sessionmaker, parts, Clock(datetime.now(UTC) + timedelta(minutes=1))).dispatch_once()
    assert [m["To"] for m in parts.mailbox.messages] == ["alex@example.org"]
    assert (await api.get(f"/v1/schools/{URN}/uncontactable-pupils")).json()["items"] == []
