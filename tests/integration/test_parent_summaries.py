"""Regular attendance summaries on real parts: analytics over real HTTP on real PostgreSQL,
the notification service's scheduler, dispatcher and API, and a real SMTP server. A
half-term's summaries go once to each parent, a restart in the middle of the batch sends none
twice, and a parent without e-mail or phone gets a letter in the day's print run (issue 26)."""

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from analytics_service.app import create_app as create_analytics
from analytics_service.consumers.events import AnalyticsHandler
from analytics_service.domain.flags import FlagRules
from analytics_service.settings import Settings as AnalyticsSettings
from attendance_shared.auth import Role
from attendance_shared.db import make_sessionmaker
from attendance_shared.events import Address, Contact, RiskFlagRaisedV1, SchoolCalendarSetV1
from attendance_stack.processes import free_port
from notification_service.app import create_app as create_notification
from notification_service.clients.analytics import AnalyticsClient
from notification_service.service import summaries
from notification_service.service.summaries import SummaryScheduler
from tests.factories import calendar_body, make_upn, mark_record
from tests.helpers import SimulatedCrash, app_client, bearer, poppler, scalar
from tests.integration.notification_parts import URN, Clock, Parts, apply, dispatcher, event, pupil, rows, school

pytestmark = pytest.mark.integration

SAM, ADA, TOM, EVE = (make_upn(serial=s) for s in (901, 902, 903, 904))
PERIOD = "2026-autumn-1"  # 3 September to the half-term on 26 October
# Two school weeks of registers, 20 sessions each.
DAYS = [date(2026, 9, 7) + timedelta(days=d) for d in range(12) if (date(2026, 9, 7) + timedelta(days=d)).weekday() < 5]
ABSENT = {SAM: 3, ADA: 4, TOM: 2, EVE: 8}  # days missed, each a whole day from the first
HOME = Address(lines=("1 Acacia Avenue",), town="Leeds", postcode="LS1 4AP")
ALEX = Contact(name="Alex Taylor", email="alex@example.org", language="pl")
CHRIS = Contact(name="Chris Smith", email="chris@example.org", lives_with_pupil=False)
GRAN = Contact(name="Gran Taylor", email="gran@example.org", lives_with_pupil=False, parental_responsibility=False)
JO = Contact(name="Jo Brown")  # no e-mail or phone: a letter to the pupil's home
MIA = Contact(name="Mia Green", email="mia@example.org")
LEE = Contact(name="Lee White", email="lee@example.org")


async def serve(app) -> tuple[uvicorn.Server, asyncio.Task, int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    return server, task, port


@pytest.fixture
async def analytics_url(database_url: str, engine: AsyncEngine) -> AsyncIterator[str]:
    """analytics over real HTTP, holding two weeks of registers for four pupils."""
    marks = [
        mark_record(upn, day, session, "I" if upn == EVE and i < missed else ("O" if i < missed else "/"))
        for upn, missed in ABSENT.items()
        for i, day in enumerate(DAYS)
        for session in ("am", "pm")
    ]
    async with make_sessionmaker(engine).begin() as session:
        await AnalyticsHandler(rules=FlagRules())(session, marks)
    app = create_analytics(AnalyticsSettings(database_url=database_url, kafka_bootstrap_servers="127.0.0.1:1"))
    server, task, port = await serve(app)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def seed_notification(sessionmaker) -> None:
    body = calendar_body()
    calendar = SchoolCalendarSetV1(school_urn=URN, la_code="201", **body)
    sickness = RiskFlagRaisedV1(
        school_urn=URN,
        la_code="201",
        upn=EVE,
        flag="long_sickness",
        academic_year=2026,
        possible_sessions=20,
        absent_sessions=16,
        overall_absence_rate=80,
        as_of=DAYS[-1],
    )
    await apply(
        sessionmaker,
        Clock(datetime(2026, 9, 18, 12, tzinfo=UTC)),
        school(),
        event(calendar),
        pupil(SAM, (ALEX, CHRIS, GRAN)),
        pupil(ADA, (JO,), address=HOME),
        # Four on 25 October: below compulsory school age until 31 December.
        pupil(TOM, (MIA,), date_of_birth=date(2022, 1, 10)),
        pupil(EVE, (LEE,)),
        event(sickness, EVE),
    )


def days_missed_in(text: str) -> str:
    return re.search(r"(\S+ days? missed this autumn term[^.]*)\.", text).group(1)  # type: ignore[union-attr]


async def test_a_half_terms_summaries_go_once_to_each_parent_and_survive_a_restart_mid_batch(
    parts: Parts, sessionmaker, engine: AsyncEngine, analytics_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await seed_notification(sessionmaker)
    settings = parts.settings.model_copy(update={"analytics_url": analytics_url, "summary_pupils_per_commit": 1})
    after_half_term = Clock(datetime(2026, 10, 27, 9, tzinfo=UTC))

    # The first replica stores one pupil's summaries and stops: the second slice crashes.
    real_save, saves = summaries.save_planned, []

    async def crash_on_second_slice(session, planned, now):
        saves.append(len(planned))
        if len(saves) == 2:
            raise SimulatedCrash
        return await real_save(session, planned, now)

    monkeypatch.setattr(summaries, "save_planned", crash_on_second_slice)
    first = SummaryScheduler(sessionmaker, AnalyticsClient(settings), settings, after_half_term)
    await first.run_once()
    await first._analytics.close()
    summaries_stored = "SELECT count(*) FROM notification.messages WHERE rule = 'attendance-summary'"
    before_crash = await rows(engine, "rule = 'attendance-summary'")
    assert len({r.upn for r in before_crash}) == 1  # one pupil's slice committed
    assert await scalar(engine, "SELECT finished_at IS NULL FROM notification.summary_batches") is True
    # What was stored goes out before the restart.
    send = dispatcher(sessionmaker, parts, after_half_term)
    await send.dispatch_once()
    assert len(parts.mailbox.messages) == sum(r.channel == "email" for r in before_crash)

    # The restarted service finishes the batch; a later pass plans nothing more.
    monkeypatch.setattr(summaries, "save_planned", real_save)
    second = SummaryScheduler(sessionmaker, AnalyticsClient(settings), settings, after_half_term)
    assert await second.run_once() == 5 - len(before_crash)
    assert await second.run_once() == 0
    await second._analytics.close()
    assert await scalar(engine, summaries_stored) == 5
    await send.dispatch_once()
    await send.dispatch_once()

    sent_to = Counter(m["To"] for m in parts.mailbox.messages)
    assert sent_to == {"alex@example.org": 1, "chris@example.org": 1, "mia@example.org": 1, "lee@example.org": 1}
    stored = await rows(engine, "rule = 'attendance-summary'")
    assert len(stored) == len({r.idempotency_key for r in stored}) == 5
    assert {r.channel for r in stored if r.upn == ADA} == {"post"}
    assert await scalar(engine, "SELECT messages FROM notification.summary_batches WHERE finished_at IS NOT NULL") == 5

    # Each says the days analytics reports, in the wording the child's circumstances call for.
    async with httpx.AsyncClient(base_url=analytics_url, headers=bearer(Role.ADMIN)) as client:
        answer = (
            await client.get(f"/v1/schools/{URN}/pupil-attendance", params={"from": "2026-09-03", "to": "2026-10-25"})
        ).json()
        habits = (
            await client.get(
                f"/v1/schools/{URN}/pupil-attendance",
                params={"from": "2026-09-03", "to": "2026-10-25", "habits": "true"},
            )
        ).json()
    sam = next(r for r in habits["items"] if r["upn"] == SAM)
    # Monday 7 to Wednesday 9 September missed; on time every day, the last ten oldest first.
    assert sam["absent_sessions_by_weekday"] == [2, 2, 2, 0, 0]
    assert sam["late_on_recent_school_days"] == [False] * 10
    analytics_days = {
        r["upn"]: (r["figures"]["possible_sessions"] - r["figures"]["attended_sessions"]) / 2 for r in answer["items"]
    }
    bodies = {m["To"]: m.get_payload(decode=True).decode() for m in parts.mailbox.messages}
    for address, upn in (("alex@example.org", SAM), ("mia@example.org", TOM), ("lee@example.org", EVE)):
        assert days_missed_in(bodies[address]).startswith(f"{analytics_days[upn]:g} days missed"), bodies[address]
    assert "not yet of compulsory school age" in bodies["mia@example.org"]  # Tom: no pressure
    assert "not a warning" in bodies["lee@example.org"]  # Eve: long sickness, supportive
    assert "Missing this much school" in bodies["alex@example.org"]  # Sam: 70%, concern
    assert "Most absences are on Mondays" not in bodies["alex@example.org"]  # whole days, no weekday
    assert "Chris Smith" in bodies["chris@example.org"]  # a parent living elsewhere, with PR

    # Ada's letter waits for the print run, then counts as sent.
    notification = create_notification(
        settings.model_copy(update={"kafka_bootstrap_servers": "127.0.0.1:1", "summaries_scheduled": False})
    )
    async with app_client(notification, bearer(Role.STAFF, "office@oak", schools=[URN])) as api:
        run = await api.post(f"/v1/schools/{URN}/print-runs")
        assert run.status_code == 201, run.text
        assert run.json()["letters"] == 1
        again = await api.post(f"/v1/schools/{URN}/print-runs")
        assert again.status_code == 422 and "no letters are waiting" in again.json()["detail"]
        pdf = await api.get(f"/v1/schools/{URN}/print-runs/{run.json()['id']}", headers={"Accept": "application/pdf"})
        assert pdf.headers["content-type"] == "application/pdf"
        listed = (await api.get(f"/v1/schools/{URN}/print-runs")).json()
        assert [r["id"] for r in listed["items"]] == [run.json()["id"]]
        # The batch went: sending it again is refused.
        twice = await api.post(f"/v1/schools/{URN}/attendance-summaries", json={"period": PERIOD})
        assert twice.status_code == 409
        periods = (await api.get(f"/v1/schools/{URN}/attendance-summaries")).json()
        assert periods["frequency"] == "half_termly"
        assert next(p for p in periods["periods"] if p["period"] == PERIOD)["status"] == "planned"
    path = tmp_path / "letters.pdf"
    path.write_bytes(pdf.content)
    text = poppler("pdftotext", "-layout", str(path), "-").decode()
    assert "Jo Brown" in text and "1 Acacia Avenue" in text and "LS1 4AP" in text
    assert f"{analytics_days[ADA]:g} days missed this autumn term" in text
    assert await scalar(engine, f"SELECT status FROM notification.messages WHERE upn = '{ADA}'") == "sent"


async def test_a_preview_shows_the_batch_without_sending_and_bad_requests_name_the_field(
    parts: Parts, sessionmaker, engine: AsyncEngine, analytics_url: str
) -> None:
    await seed_notification(sessionmaker)
    settings = parts.settings.model_copy(
        update={"analytics_url": analytics_url, "kafka_bootstrap_servers": "127.0.0.1:1", "summaries_scheduled": False}
    )
    app = create_notification(settings)
    async with app_client(app, bearer(Role.STAFF, "office@oak", schools=[URN])) as api:
        preview = await api.get(f"/v1/schools/{URN}/attendance-summaries/preview", params={"period": PERIOD})
        assert preview.status_code == 200, preview.text
        batch = preview.json()
        assert (batch["pupils"], batch["messages"]) == (4, 5)
        assert batch["by_channel"] == {"email": 4, "post": 1}
        assert batch["by_tone"] == {"concern": 3, "no_absence_pressure": 1, "supportive": 1}
        sam = [i for i in batch["items"] if i["upn"] == SAM]
        assert [i["contact_index"] for i in sam] == [0, 1]  # not Gran, who has no parental responsibility
        assert sam[0]["language"] == "en"  # Alex prefers Polish; the school has no Polish version yet
        assert await scalar(engine, "SELECT count(*) FROM notification.messages WHERE period IS NOT NULL") == 0

        # A Polish version for Alex; a made-up language, or a version without the days, is refused.
        polish = {
            "template": "summary_concern",
            "language": "pl",
            "subject": "Frekwencja: {forename}",
            "body": "Szanowni Państwo, {forename} opuścił(a) {days_missed_term} dni w tym semestrze.",
        }
        assert (await api.put(f"/v1/schools/{URN}/notification-templates", json=polish)).status_code == 200
        bad_language = await api.put(f"/v1/schools/{URN}/notification-templates", json=polish | {"language": "xx"})
        assert bad_language.status_code == 422 and "language" in bad_language.text
        lacking = polish | {"body": "Szanowni Państwo, {forename}."}
        refused = await api.put(f"/v1/schools/{URN}/notification-templates", json=lacking)
        assert refused.status_code == 422 and "lacks the days missed" in refused.text
        again = (
            await api.get(f"/v1/schools/{URN}/attendance-summaries/preview", params={"period": PERIOD, "upn": SAM})
        ).json()
        assert again["items"][0]["language"] == "pl" and "opuścił(a) 3 dni" in again["items"][0]["body"]

        not_ended = await api.get(f"/v1/schools/{URN}/attendance-summaries/preview", params={"period": "2026-summer-2"})
        assert not_ended.status_code == 422 and not_ended.json()["errors"][0]["field"] == "period"
        unknown = await api.post(f"/v1/schools/{URN}/attendance-summaries", json={"period": "2026-winter-1"})
        assert unknown.status_code == 422 and "2026-autumn-1" in unknown.json()["detail"]
        schedule = {"summaries": {"frequency": "weekly"}}
        bad_schedule = await api.put(f"/v1/schools/{URN}/notification-settings", json=schedule)
        assert bad_schedule.status_code == 422 and "frequency" in bad_schedule.text
        # Another school's batch is not this member of staff's to see (not found, as its messages are).
        other = await api.get("/v1/schools/100002/attendance-summaries/preview", params={"period": PERIOD})
        assert other.status_code == 404

        # Analytics down: a 503 that says when to try again, and nothing sent; the retry finishes it.
        down = settings.model_copy(update={"analytics_url": f"http://127.0.0.1:{free_port()}", "analytics_retries": 1})
        async with app_client(create_notification(down), bearer(Role.STAFF, "office@oak", schools=[URN])) as cut_off:
            unavailable = await cut_off.post(f"/v1/schools/{URN}/attendance-summaries", json={"period": PERIOD})
        assert unavailable.status_code == 503 and unavailable.headers["retry-after"]
        assert await scalar(engine, "SELECT count(*) FROM notification.messages WHERE period IS NOT NULL") == 0

        # Sent now by staff: stored once, then refused a second time.
        sent = await api.post(
            f"/v1/schools/{URN}/attendance-summaries",
            json={"period": PERIOD},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert sent.status_code == 201, sent.text
        assert (sent.json()["status"], sent.json()["messages"], sent.json()["requested_by"]) == (
            "planned",
            5,
            "office@oak",
        )
        again = await api.post(f"/v1/schools/{URN}/attendance-summaries", json={"period": PERIOD})
        assert again.status_code == 409 and "already planned" in again.json()["detail"]
