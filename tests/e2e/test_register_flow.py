"""The register's own flows through the whole stack: an MIS sets up a school with its calendar
and sends a week of registers for it in one bulk request (with a retry), a parent reports an
absence from their app, staff accept it, and analytics counts the amended mark."""

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, time

import httpx
import pytest
from attendance_bench.data import school_days
from sqlalchemy.ext.asyncio import create_async_engine

from attendance_shared import topics
from attendance_shared.auth import Role, pupil_scope_key
from attendance_shared.clock import SCHOOL_TIME_ZONE, add_years, today_in_england
from attendance_shared.kafka import partition_of
from attendance_stack import LocalStack
from tests.e2e.conftest import start_stack
from tests.factories import MADE_BY, calendar_body, make_upn, pupil_body, school_body, school_day_ahead
from tests.helpers import bearer, eventually
from tests.retention_parts import EVERY_SERVICE, made_a_day_earlier, rows_of

pytestmark = pytest.mark.e2e

URN, LA = "100009", "209"
PUPILS = [make_upn(la_code=LA, serial=900 + i) for i in range(3)]
WEEK = [d.isoformat() for d in school_days(date(2026, 11, 16), 5)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # Registers still missing are looked for every second here (every minute by default), and
    # reminded a minute after they close (half an hour by default).
    env = {"REGISTER_MISSING_REGISTER_CHECK_INTERVAL_S": "1", "REGISTER_MISSING_REGISTER_REMINDER_MINUTES": "1"}
    stack = start_stack(tmp_path_factory.mktemp("stack"), env)
    try:
        yield stack
    finally:
        stack.stop()


async def test_a_week_in_bulk_then_a_parent_report_reaches_analytics(stack: LocalStack) -> None:
    mis = bearer(Role.MIS, schools=[URN])
    async with httpx.AsyncClient(base_url=stack.url("register"), headers=mis, timeout=30) as register:
        assert (await register.put(f"/v1/schools/{URN}", json=school_body(la_code=LA))).status_code == 200
        assert (await register.put(f"/v1/schools/{URN}/calendar", json=calendar_body())).status_code == 200
        for upn in PUPILS:
            assert (await register.post(f"/v1/schools/{URN}/pupils", json=pupil_body(upn))).status_code == 201

        first = PUPILS[0]
        registers = [
            {
                "urn": URN,
                "date": day,
                "session": session,
                "marks": [{"upn": u, "code": "N" if (u, day) == (first, WEEK[0]) else present} for u in PUPILS],
            }
            for day in WEEK
            if day != "2026-11-20"  # an INSET day in this calendar
            for session, present in (("am", "/"), ("pm", "\\"))
        ]
        key = {"Idempotency-Key": "week-46-upload"}
        sent = await register.put("/v1/registers", json={"registers": registers}, headers=key)
        assert sent.status_code == 200, sent.text
        retried = await register.put("/v1/registers", json={"registers": registers}, headers=key)
        assert retried.json() == sent.json() and retried.headers["idempotent-replayed"] == "true"

        parent = bearer(Role.PARENT, subject="parent-1", pupils=[pupil_scope_key(URN, first)])
        report = {"first_day": WEEK[0], "last_day": WEEK[0], "reason": "temperature overnight", "suggested_code": "I"}
        reported = await register.post(f"/v1/schools/{URN}/pupils/{first}/absence-reports", json=report, headers=parent)
        assert reported.status_code == 201, reported.text
        staff = bearer(Role.STAFF, schools=[URN])
        accept = f"/v1/schools/{URN}/absence-reports/{reported.json()['id']}/accept"
        accepted = await register.post(accept, json={"code": "I", "made_by": MADE_BY}, headers=staff)
        assert accepted.status_code == 200, accepted.text

    async with httpx.AsyncClient(base_url=stack.url("analytics"), headers=mis, timeout=10) as analytics:

        async def counted() -> None:
            response = await analytics.get(
                f"/v1/schools/{URN}/pupils/{first}/attendance", params={"from": WEEK[0], "to": WEEK[-1]}
            )
            assert response.status_code == 200, response.text
            figures = response.json()["figures"]
            assert figures["possible_sessions"] == 8
            assert (figures["authorised_absence_sessions"], figures["unauthorised_absence_sessions"]) == (2, 0)

        await eventually(counted)


async def test_a_leave_decision_reaches_the_parent_and_a_planned_c2_counts_as_authorised(stack: LocalStack) -> None:
    urn, la = "100010", "210"
    first, second = make_upn(la_code=la, serial=910), make_upn(la_code=la, serial=911)
    staff = bearer(Role.STAFF, subject="head-teacher", schools=[urn])
    mis = bearer(Role.MIS, schools=[urn])
    async with httpx.AsyncClient(base_url=stack.url("register"), headers=mis, timeout=30) as register:
        assert (await register.put(f"/v1/schools/{urn}", json=school_body(la_code=la))).status_code == 200
        assert (await register.put(f"/v1/schools/{urn}/calendar", json=calendar_body())).status_code == 200
        for upn in (first, second):
            assert (await register.post(f"/v1/schools/{urn}/pupils", json=pupil_body(upn))).status_code == 201

        # A parent asks from their app; the head agrees. The decision is an event.
        parent = bearer(Role.PARENT, subject="parent-2", pupils=[pupil_scope_key(urn, first)])
        ahead = school_day_ahead().isoformat()
        body = {"first_day": ahead, "last_day": ahead, "sessions": "am", "reason": "interview"}
        asked = await register.post(f"/v1/schools/{urn}/pupils/{first}/leave-requests", json=body, headers=parent)
        assert asked.status_code == 201, asked.text
        decision = f"/v1/schools/{urn}/leave-requests/{asked.json()['id']}/decision"
        decided = await register.post(decision, json={"outcome": "agreed"}, headers=staff)
        assert decided.status_code == 200, decided.text

        # A part-time timetable recorded after it began: mornings only from Monday 16 November.
        # Its afternoon C2 stands when that register is taken, and is authorised absence.
        timetable = {"reason": "reintegration", "attended_sessions": ["mon_am"], "start_date": WEEK[0]}
        timetables = f"/v1/schools/{urn}/pupils/{second}/part-time-timetables"
        agreed = await register.post(timetables, json=timetable, headers=staff)
        assert agreed.status_code == 201, agreed.text
        marks = {"marks": [{"upn": first, "code": "\\"}]}
        taken = await register.put(f"/v1/schools/{urn}/registers/{WEEK[0]}/pm", json=marks)
        assert taken.status_code == 200 and taken.json()["planned"] == 1, taken.text
        morning = {"marks": [{"upn": u, "code": "/"} for u in (first, second)]}
        assert (await register.put(f"/v1/schools/{urn}/registers/{WEEK[0]}/am", json=morning)).status_code == 200

    async with httpx.AsyncClient(base_url=stack.url("notification"), headers=staff, timeout=10) as notification:

        async def told() -> dict:
            params = {"rule": "leave-decision"}
            items = (await notification.get(f"/v1/schools/{urn}/notifications", params=params)).json()["items"]
            assert [(m["upn"], m["status"]) for m in items] == [(first, "sent")]
            return items[0]

        message = await eventually(told)
        assert message["subject"] == "Leave of absence for Sam: agreed"
        detail = (await notification.get(f"/v1/schools/{urn}/notifications/{message['id']}")).json()
        assert "an interview has been agreed" in detail["body"] and "morning" in detail["body"]
        assert detail["recipient"] == "alex@example.org"

    async with httpx.AsyncClient(base_url=stack.url("analytics"), headers=staff, timeout=10) as analytics:

        async def counted() -> None:
            response = await analytics.get(
                f"/v1/schools/{urn}/pupils/{second}/attendance", params={"from": WEEK[0], "to": WEEK[0]}
            )
            assert response.status_code == 200, response.text
            figures = response.json()["figures"]
            assert (figures["possible_sessions"], figures["attended_sessions"]) == (2, 1)
            assert (figures["authorised_absence_sessions"], figures["unauthorised_absence_sessions"]) == (1, 0)

        await eventually(counted)


async def test_a_register_not_taken_is_listed_and_its_lead_reminded(stack: LocalStack) -> None:
    """A school whose registers close just after midnight: by the time this runs on a weekday
    both have closed untaken, and the stack (checking every second, a minute after closing)
    reminds the attendance lead of each."""
    now = datetime.now(SCHOOL_TIME_ZONE)
    if now.weekday() >= 5 or now.time() < time(1, 5):
        pytest.skip("no register of today has closed a minute ago: a weekend, or just after midnight")
    urn, la = "100011", "211"
    mis = bearer(Role.MIS, schools=[urn])
    times = {
        "am_register_opens": "00:01",
        "am_register_closes": "00:31",
        "pm_register_opens": "00:32",
        "pm_register_closes": "01:02",
    }
    async with httpx.AsyncClient(base_url=stack.url("notification"), headers=mis, timeout=10) as notification:
        lead = {"attendance_lead": {"name": "Kim Lee", "email": "kim@school.example"}}
        response = await notification.put(f"/v1/schools/{urn}/notification-settings", json=lead)
        assert response.status_code == 200, response.text
    async with httpx.AsyncClient(base_url=stack.url("register"), headers=mis, timeout=30) as register:
        response = await register.put(f"/v1/schools/{urn}", json={**school_body(la_code=la), **times})
        assert response.status_code == 200, response.text
        missing = (await register.get(f"/v1/schools/{urn}/missing-registers")).json()["items"]
        assert [(m["date"], m["session"], m["taken_at"]) for m in missing] == [
            (now.date().isoformat(), "am", None),
            (now.date().isoformat(), "pm", None),
        ]

    async with httpx.AsyncClient(base_url=stack.url("notification"), headers=mis, timeout=10) as notification:

        async def reminded() -> list[dict]:
            params = {"rule": "missing-register-lead"}
            items = (await notification.get(f"/v1/schools/{urn}/notifications", params=params)).json()["items"]
            assert sorted((m["session"], m["upn"], m["status"]) for m in items) == [
                ("am", None, "sent"),
                ("pm", None, "sent"),
            ]
            return items

        items = await eventually(reminded)
        detail = (await notification.get(f"/v1/schools/{urn}/notifications/{items[0]['id']}")).json()
        assert detail["recipient"] == "kim@school.example" and "has not been taken" in detail["body"]


async def kafka_tool(*args: str) -> str:
    """One of Kafka's own command-line tools, as an operator runs it against the stack."""
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "attendance_stack", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


async def test_kafkas_own_tools_read_the_stream_its_settings_and_a_lag_never_negative(stack: LocalStack) -> None:
    urn, upn = "100010", make_upn(la_code=LA, serial=950)
    mis = bearer(Role.MIS, schools=[urn])
    async with httpx.AsyncClient(base_url=stack.url("register"), headers=mis, timeout=30) as register:
        assert (await register.put(f"/v1/schools/{urn}", json=school_body(la_code=LA))).status_code == 200
        assert (await register.post(f"/v1/schools/{urn}/pupils", json=pupil_body(upn))).status_code == 201
        marks = {"marks": [{"upn": upn, "code": "N"}]}
        assert (await register.put(f"/v1/schools/{urn}/registers/{WEEK[0]}/am", json=marks)).status_code == 200
    # As the operator's admin principal: the stack's broker takes authenticated clients only.
    servers = ("--bootstrap-server", stack.kafka_bootstrap_servers, "--command-config", str(stack.tool_config()))
    consumer_servers = (
        "--bootstrap-server",
        stack.kafka_bootstrap_servers,
        "--consumer.config",
        str(stack.tool_config()),
    )

    read = await kafka_tool(
        "kafka-console-consumer", *consumer_servers, "--topic", topics.MARKS.name, "--from-beginning",
        "--max-messages", "1000", "--timeout-ms", "10000", "--property", "print.key=true",
    )  # fmt: skip
    # The register's one event, keyed by the school: its row for the pupil says N.
    ours = [line for line in read.splitlines() if line.startswith(f"{urn}\t") and upn in line]
    assert len(ours) == 1 and f'["{upn}","N",1,null,null,null]' in ours[0], read[-2000:]

    # Every topic the platform declares, with the declared settings (one broker: one copy).
    described = await kafka_tool("kafka-topics", *servers, "--describe")
    summaries = {line.split()[1]: line for line in described.splitlines() if line.startswith("Topic:") and "\t" in line}
    assert set(summaries) >= {spec.name for spec in topics.ALL_TOPICS}, described
    for spec in topics.ALL_TOPICS:
        assert f"PartitionCount: {spec.partitions}" in summaries[spec.name], summaries[spec.name]
        for setting, value in spec.config(replicas=1).items():
            assert f"{setting}={value}" in summaries[spec.name], summaries[spec.name]

    # The relay's producer is idempotent: the broker holds its producer id and sequence.
    key = urn.encode()  # the register's event is keyed by its school
    partition = partition_of(key, list(range(topics.MARKS.partitions)))
    producers = await kafka_tool(
        "kafka-transactions",
        *servers,
        "describe-producers",
        "--topic",
        topics.MARKS.name,
        "--partition",
        str(partition),
    )
    rows = [line.split() for line in producers.splitlines()[1:] if line.strip()]
    assert rows and all(int(row[0]) >= 0 for row in rows), producers  # ProducerId, then its epoch and sequence

    async def lag_of_every_group() -> list[int]:
        groups = await kafka_tool("kafka-consumer-groups", *servers, "--describe", "--all-groups")
        rows = [line.split() for line in groups.splitlines() if line.strip() and not line.startswith("GROUP")]
        lags = [int(row[5]) for row in rows if len(row) > 5 and row[5].lstrip("-").isdigit()]
        assert {row[0] for row in rows} >= {f"{s}-service" for s in topics.CONSUMING_SERVICES}, groups
        assert lags and min(lags) >= 0, groups
        assert max(lags) == 0, groups  # caught up: every committed offset is the log's end
        return lags

    await eventually(lag_of_every_group, timeout_s=30)


async def test_a_pupil_whose_last_entry_is_six_years_and_a_day_old_is_gone_from_every_service(
    stack: LocalStack,
) -> None:
    """The retention job as the CronJob runs it, on the live stack, as on the day six years on:
    a pupil whose every register entry is a day older than that is removed from the register
    and, through the stream, from every service; a pupil a day younger is untouched."""
    urn = "100011"
    gone, kept = (make_upn(la_code=LA, serial=960 + i) for i in range(2))
    mis = bearer(Role.MIS, schools=[urn])
    async with httpx.AsyncClient(base_url=stack.url("register"), headers=mis, timeout=30) as register:
        assert (await register.put(f"/v1/schools/{urn}", json=school_body(la_code=LA))).status_code == 200
        assert (await register.put(f"/v1/schools/{urn}/calendar", json=calendar_body())).status_code == 200
        for upn in (gone, kept):
            assert (await register.post(f"/v1/schools/{urn}/pupils", json=pupil_body(upn))).status_code == 201
        for day in WEEK[:2]:
            marks = {"marks": [{"upn": gone, "code": "N"}, {"upn": kept, "code": "N"}]}
            assert (await register.put(f"/v1/schools/{urn}/registers/{day}/am", json=marks)).status_code == 200
        for upn in (gone, kept):
            deletion = {"ground": "a", "date": WEEK[1]}
            assert (await register.post(f"/v1/schools/{urn}/pupils/{upn}/deletion", json=deletion)).status_code == 200

    engine = create_async_engine(stack.database_url)
    analytics = httpx.AsyncClient(base_url=stack.url("analytics"), headers=mis, timeout=10)
    try:

        async def in_every_service() -> dict[str, dict[str, int]]:
            rows = {upn: await rows_of(engine, upn) for upn in (gone, kept)}
            for upn in (gone, kept):
                assert all(rows[upn][table] for table in EVERY_SERVICE), rows[upn]
            return rows

        before = await eventually(in_every_service)

        async def figures(upn: str) -> httpx.Response:
            return await analytics.get(f"/v1/schools/{urn}/pupils/{upn}/attendance", params={"from": WEEK[0]})

        kept_figures = (await figures(kept)).json()
        await made_a_day_earlier(engine, gone, urn=urn)
        six_years_on = add_years(today_in_england(), 6).isoformat()
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "register_service.retention", "--on", six_years_on],
            env=stack.service_env("register"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "removed 1 pupils" in done.stdout, done.stdout

        async def gone_everywhere() -> None:
            left = {table: n for table, n in (await rows_of(engine, gone)).items() if n}
            assert not left, left

        await eventually(gone_everywhere, timeout_s=30)
        assert await rows_of(engine, kept) == before[kept]
        assert (await figures(kept)).json() == kept_figures
        assert (await figures(gone)).status_code == 404
    finally:
        await analytics.aclose()
        await engine.dispose()
