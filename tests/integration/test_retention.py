"""Records kept exactly as long as the law says, on the real database: the register's job
removes entries 6 years after the day they were made, and a pupil none of whose entries is
still kept; each other service, handed the register's own events, removes what it keeps of
that pupil and nothing of anyone else."""

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from analytics_service.consumers.events import AnalyticsHandler
from analytics_service.domain.flags import FlagRules
from analytics_service.retention import run_retention as analytics_retention
from attendance_shared.auth import Role
from attendance_shared.clock import add_years, today_in_england
from attendance_shared.db import make_sessionmaker
from attendance_shared.events import Event, PupilRecordsRemovedV1, parse_event
from la_returns_service.consumers.handler import handle as la_returns_handle
from la_returns_service.retention import run_retention as la_returns_retention
from notification_service.consumers.handler import EventHandler as NotificationHandler
from notification_service.retention import run_retention as notification_retention
from register_service.app import create_app
from register_service.service.retention import run_retention as register_retention
from register_service.settings import Settings
from support_service.consumers.handler import handle as support_handle
from support_service.retention import run_retention as support_retention
from tests.factories import calendar_body, make_upn, pupil_body, school_body
from tests.helpers import app_client, bearer, scalar
from tests.retention_parts import made_a_day_earlier, rows_of

pytestmark = pytest.mark.integration

URN = "100001"
# GONE left, and their every entry is a day older than KEPT's, who left too; STAYING is on roll.
GONE, KEPT, STAYING = (make_upn(serial=900 + i) for i in range(3))
MONDAY, TUESDAY = "2026-11-02", "2026-11-03"
# Today, six years on: entries made today are kept (the anniversary), a day older are not.
SIX_YEARS_ON = add_years(today_in_england(), 6)

FILLED_HERE = (
    "register.pupils",
    "register.enrolments",
    "register.pupil_versions",
    "register.marks",
    "analytics.enrolments",
    "analytics.pupil_years",
    "notification.pupil_contacts",
    "notification.absences",
    "la_returns.pupils",
    "support.pupils",
)


@pytest.fixture
async def register(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url, kafka_bootstrap_servers="127.0.0.1:1")
    async with app_client(create_app(settings), bearer(Role.ADMIN, subject="mis-vendor")) as client:
        assert (await client.put(f"/v1/schools/{URN}", json=school_body())).status_code == 200
        assert (await client.put(f"/v1/schools/{URN}/calendar", json=calendar_body())).status_code == 200
        for upn in (GONE, KEPT, STAYING):
            assert (await client.post(f"/v1/schools/{URN}/pupils", json=pupil_body(upn))).status_code == 201
        for day in (MONDAY, TUESDAY):
            marks = [{"upn": GONE, "code": "N"}, {"upn": KEPT, "code": "N"}, {"upn": STAYING, "code": "/"}]
            response = await client.put(f"/v1/schools/{URN}/registers/{day}/am", json={"marks": marks})
            assert response.status_code == 200, response.text
        for upn in (GONE, KEPT):
            deletion = {"ground": "a", "date": TUESDAY}
            assert (await client.post(f"/v1/schools/{URN}/pupils/{upn}/deletion", json=deletion)).status_code == 200
        yield client


async def published_all(engine: AsyncEngine) -> None:
    """As if the relay had published every event (these tests run without a broker)."""
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM register.outbox_pending"))


async def register_events(engine: AsyncEngine, *, after: int = 0) -> list[tuple[str, Event]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT topic, envelope FROM register.outbox WHERE id > :after ORDER BY id"), {"after": after}
        )
        return [(row.topic, parse_event(row.envelope)) for row in rows]


async def apply_everywhere(engine: AsyncEngine, events: list[tuple[str, Event]]) -> None:
    """Each reader's own handler, as its consumer calls it, on the register's events."""
    sessionmaker = make_sessionmaker(engine)
    for handler in (AnalyticsHandler(rules=FlagRules()), NotificationHandler(), la_returns_handle, support_handle):
        async with sessionmaker() as session, session.begin():
            await handler(session, events)


async def figures(engine: AsyncEngine, upn: str) -> list[tuple]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT academic_year, possible, present, authorised, unauthorised, codes "
                "FROM analytics.pupil_years WHERE upn = :u ORDER BY academic_year"
            ),
            {"u": upn},
        )
        return [tuple(row) for row in rows]


async def test_a_pupil_whose_every_entry_is_six_years_and_a_day_old_is_gone_from_every_service(
    register: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await apply_everywhere(engine, await register_events(engine))
    await made_a_day_earlier(engine, GONE)
    await made_a_day_earlier(engine, STAYING, marks_only_of=MONDAY)
    await published_all(engine)
    before = {upn: await rows_of(engine, upn) for upn in (GONE, KEPT, STAYING)}
    # Something of the pupil in each service's main tables (the rest are looked at too).
    assert all(before[GONE][table] for table in FILLED_HERE), before[GONE]
    kept_figures = {upn: await figures(engine, upn) for upn in (KEPT, STAYING)}
    last_event = await scalar(engine, "SELECT max(id) FROM register.outbox")
    sessionmaker = make_sessionmaker(engine)

    # A day earlier, GONE's entries are exactly six years old: kept.
    earlier = await register_retention(sessionmaker, today=SIX_YEARS_ON - timedelta(days=1), dry_run=False)
    assert earlier.pupils_removed == 0 and sum(earlier.removed.values()) == 0
    assert await rows_of(engine, GONE) == before[GONE]

    dry = await register_retention(sessionmaker, today=SIX_YEARS_ON, dry_run=True)
    assert (dry.pupils_removed, dry.removed["marks"]) == (1, 3)  # GONE's two marks and STAYING's Monday
    assert dry.removed["outbox"] > 0
    assert await rows_of(engine, GONE) == before[GONE]

    report = await register_retention(sessionmaker, today=SIX_YEARS_ON, dry_run=False, batch_size=1)
    assert report.pupils_removed == 1
    assert report.removed["marks"] == 3 and report.removed["pupils"] == 1
    assert report.removed["outbox"] == dry.removed["outbox"]
    removal = await register_events(engine, after=last_event)  # type: ignore[arg-type]
    assert [e.data for _, e in removal] == [
        PupilRecordsRemovedV1(
            school_urn=URN,
            la_code="201",
            upn=GONE,
            last_entry_on=today_in_england() - timedelta(days=1),
            removed_on=SIX_YEARS_ON,
        )
    ]
    await apply_everywhere(engine, removal)

    assert not any((await rows_of(engine, GONE)).values()), await rows_of(engine, GONE)
    assert await rows_of(engine, KEPT) == before[KEPT]
    staying = await rows_of(engine, STAYING)
    assert staying == before[STAYING] | {"register.marks": 1}  # only the mark of Monday went
    assert {upn: await figures(engine, upn) for upn in (KEPT, STAYING)} == kept_figures
    assert (await register.get(f"/v1/schools/{URN}/pupils/{GONE}")).status_code == 404
    assert (await register.get(f"/v1/schools/{URN}/pupils/{KEPT}")).status_code == 200

    runs = await scalar(engine, "SELECT count(*) FROM register.retention_runs")
    assert runs == 3
    recorded = await scalar(engine, "SELECT removed FROM register.retention_runs ORDER BY id DESC LIMIT 1")
    assert recorded["pupils"] == 1 and recorded["marks"] == 3  # type: ignore[index]
    again = await register_retention(sessionmaker, today=SIX_YEARS_ON, dry_run=False)
    assert again.pupils_removed == 0 and sum(again.removed.values()) == 0


async def test_only_the_retention_job_may_delete_a_pupil(register: httpx.AsyncClient, engine: AsyncEngine) -> None:
    with pytest.raises(DBAPIError, match="removed only by the retention job"):
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM register.pupils WHERE upn = :u"), {"u": KEPT})
    assert await scalar(engine, "SELECT count(*) FROM register.pupils WHERE upn = :u", u=KEPT) == 1


async def test_the_command_counts_in_a_dry_run_and_refuses_a_day_in_the_future_in_production(
    register: httpx.AsyncClient, database_url: str, engine: AsyncEngine
) -> None:
    await made_a_day_earlier(engine, GONE)

    def command(*args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "register_service.retention", *args],
            env={**os.environ, "DATABASE_URL": database_url, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    dry = await asyncio.to_thread(command, "--dry-run", "--on", SIX_YEARS_ON.isoformat())
    assert dry.returncode == 0, dry.stderr
    assert "would remove 1 pupils" in dry.stdout
    assert await scalar(engine, "SELECT count(*) FROM register.pupils WHERE upn = :u", u=GONE) == 1
    production = {"ENVIRONMENT": "production", "AUTH_JWT_SECRET": "a-real-secret-of-enough-length-for-production"}
    refused = await asyncio.to_thread(command, "--on", SIX_YEARS_ON.isoformat(), **production)
    assert refused.returncode == 2 and "would remove entries the law still keeps" in refused.stderr
    assert await scalar(engine, "SELECT count(*) FROM register.retention_runs") == 1  # the dry run's


JOBS = {
    "register": register_retention,
    "analytics": analytics_retention,
    "notification": notification_retention,
    "la_returns": la_returns_retention,
    "support": support_retention,
}


async def test_every_services_job_runs_dry_and_for_real_and_records_each_run(engine: AsyncEngine) -> None:
    sessionmaker = make_sessionmaker(engine)
    for schema, job in JOBS.items():
        dry = await job(sessionmaker, SIX_YEARS_ON, True)
        real = await job(sessionmaker, SIX_YEARS_ON, False)
        assert sum(dry.removed.values()) == sum(real.removed.values()) == 0, schema
        runs = await scalar(engine, f"SELECT array_agg(dry_run ORDER BY id) FROM {schema}.retention_runs")
        assert runs == [True, False], schema


async def test_snapshots_go_whole_at_six_years_and_published_events_after_a_month(engine: AsyncEngine) -> None:
    """A return past its 6 years goes with its rows, one a day younger stays; a summary batch
    (keyed by two columns) likewise; of support's events a month and a day old, only those the
    broker acknowledged go."""
    async with engine.begin() as conn:
        for name, age in (("old", timedelta(days=1)), ("young", timedelta(0))):
            returned = await conn.scalar(
                text(
                    "INSERT INTO la_returns.returns (id, la_code, kind, period_start, period_end, generated_at, "
                    "row_count, checksum, columns) VALUES (gen_random_uuid(), '201', :kind, '2026-09-01', "
                    "'2026-09-30', now() - CAST(:age AS interval), 2, 'x', '[]') RETURNING id"
                ),
                {"kind": f"attendance-{name}", "age": age},
            )
            for row in (1, 2):
                await conn.execute(
                    text("INSERT INTO la_returns.return_rows VALUES (:id, :row, '100001', '{}')"),
                    {"id": returned, "row": row},
                )
            await conn.execute(
                text(
                    "INSERT INTO notification.summary_batches (school_urn, period, period_start, period_end, "
                    "started_at) VALUES ('100001', :period, '2026-09-01', '2026-10-23', now() - CAST(:age AS interval))"
                ),
                {"period": f"2026-autumn-{name}", "age": age},
            )
        for days in (31, 31, 29):
            await conn.execute(
                text(
                    "INSERT INTO support.outbox (topic, key, event_id, event_type, envelope, created_at) VALUES "
                    "('support.cases.v1', 'k', gen_random_uuid()::text, 't', '\\x00', now() - CAST(:age AS interval))"
                ),
                {"age": timedelta(days=days)},
            )
        # The broker acknowledged all but the first.
        await conn.execute(text("DELETE FROM support.outbox_pending WHERE id > (SELECT min(id) FROM support.outbox)"))

    sessionmaker = make_sessionmaker(engine)
    dry = await la_returns_retention(sessionmaker, SIX_YEARS_ON, True)
    assert (dry.removed["returns"], dry.removed["return_rows"]) == (1, 2)
    await la_returns_retention(sessionmaker, SIX_YEARS_ON, False, batch_size=10)
    kinds = await scalar(engine, "SELECT array_agg(kind) FROM la_returns.returns")
    assert kinds == ["attendance-young"]
    assert await scalar(engine, "SELECT count(*) FROM la_returns.return_rows") == 2

    removed = await notification_retention(sessionmaker, SIX_YEARS_ON, False, batch_size=10)
    assert removed.removed["summary_batches"] == 1
    assert await scalar(engine, "SELECT array_agg(period) FROM notification.summary_batches") == ["2026-autumn-young"]

    events = await support_retention(sessionmaker, today_in_england(), False, batch_size=10)
    assert events.removed["outbox"] == 1
    left = await scalar(
        engine, "SELECT array_agg(date_part('day', now() - created_at)::int ORDER BY id) FROM support.outbox"
    )
    assert left == [31, 29]  # the one still queued, and the one not yet a month old
