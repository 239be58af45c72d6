"""la-returns on the real broker and database: the admission register folded from the
register's events (duplicates change nothing), and the returns compiled from it alone. The
returns built on analytics' figures and runs are tried end to end (tests/e2e)."""

import asyncio
import csv
import io
import uuid
from datetime import date, timedelta

import orjson
import pytest
from attendance_bench.data import school_days
from prometheus_client import REGISTRY
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attendance_shared import topics
from attendance_shared.consumer import BatchConsumer
from attendance_shared.db import make_engine, make_sessionmaker
from attendance_shared.errors import NotFound, UpstreamUnavailable
from attendance_shared.events import (
    Event,
    PartTimeTimetableSetV1,
    PupilAdmittedV1,
    PupilDeletedV1,
    SchoolCalendarSetV1,
    SchoolUpsertedV1,
    make_event,
    pupil_key,
)
from attendance_shared.inbox import prune_processed_events
from attendance_shared.kafka import KafkaPublisher
from attendance_stack.kafka import KafkaCluster
from attendance_stack.processes import free_port
from la_returns_service.clients.analytics import AnalyticsClient
from la_returns_service.consumers.handler import handle
from la_returns_service.domain.attendance_return import checksum
from la_returns_service.models import processed_events
from la_returns_service.schemas import ReturnSummary, Schedule, ScheduleEntry
from la_returns_service.service import returns
from la_returns_service.service import settings as settings_service
from la_returns_service.service.scheduler import compile_one_due
from la_returns_service.settings import Settings
from tests.factories import make_upn
from tests.helpers import scalar, wait_until

pytestmark = pytest.mark.integration
URN, LA = "100001", "201"
FIRST_DAY = date(2026, 9, 3)  # a Thursday: the first day of the school year
TODAY = date(2026, 11, 20)
RECEPTION, MID_YEAR, LEAVER, ILL = (make_upn(serial=700 + i) for i in range(4))
ADDRESS = {"lines": ["1 High Street"], "postcode": "LS1 1AA"}


DAYS = school_days(FIRST_DAY, 20)


def event(payload, upn: str | None = None) -> Event:
    return make_event(payload, source="/tests", subject=pupil_key(URN, upn) if upn else URN)


def admission(upn: str, year_group: str, admitted: date) -> Event:
    payload = PupilAdmittedV1(
        school_urn=URN,
        la_code=LA,
        upn=upn,
        legal_surname="Shah",
        legal_forename=f"P{upn[-3:]}",
        date_of_birth=date(2021, 1, 5),
        year_group=year_group,
        admission_date=admitted,
        address=ADDRESS,
    )
    return event(payload, upn)


def topic_of(item: Event) -> str:
    return topics.PUPILS.name if isinstance(item.data, PupilAdmittedV1 | PupilDeletedV1) else topics.SCHOOLS.name


async def publish(broker: KafkaCluster, items: list[Event]) -> None:
    publisher = KafkaPublisher(broker.bootstrap_servers, [topics.SCHOOLS, topics.PUPILS], client_id="t")
    batch = [(topic_of(item), item.key, item.to_bytes(), []) for item in items]
    await publisher.publish(batch)
    await publisher.close()


def register_events() -> list[Event]:
    school = SchoolUpsertedV1(urn=URN, la_code=LA, name="Oak Lane Primary")
    calendar = SchoolCalendarSetV1(
        school_urn=URN,
        la_code=LA,
        academic_year=2026,
        terms=({"name": "autumn", "start": FIRST_DAY, "end": date(2026, 12, 18)},),
    )
    items = [event(school), event(calendar)]
    items += [
        admission(RECEPTION, "R", FIRST_DAY),
        admission(MID_YEAR, "3", DAYS[10]),
        admission(LEAVER, "3", FIRST_DAY),
    ]
    items += [admission(ILL, "6", FIRST_DAY)]
    deletion = PupilDeletedV1(
        school_urn=URN, la_code=LA, upn=LEAVER, left_on=DAYS[5], ground="a", destination_school_name="Elm School"
    )
    items.append(event(deletion, LEAVER))
    return items


def _duplicates_counted() -> float:
    return sum(
        REGISTRY.get_sample_value("events_duplicate_total", {"service": "la-returns", "topic": topic.name}) or 0.0
        for topic in (topics.SCHOOLS, topics.PUPILS)
    )


async def test_school_and_pupil_events_applied_again_are_skipped_and_counted(database_url: str) -> None:
    """Every event goes through the consumer's inbox, which counts what it skips."""
    engine = make_engine(database_url, service="la-returns")
    consumer = BatchConsumer(
        service="la-returns",
        topics=[topics.SCHOOLS, topics.PUPILS],
        group_id="la-returns-test",
        kafka="127.0.0.1:1",
        sessionmaker=make_sessionmaker(engine),
        inbox=processed_events,
        handler=handle,
    )
    events = [(topic_of(i), i) for i in register_events()]
    before = _duplicates_counted()
    await consumer.apply(events)
    assert _duplicates_counted() == before
    await consumer.apply(events)
    assert _duplicates_counted() - before == len(events) == 7
    assert await scalar(engine, "SELECT count(*) FROM la_returns.pupils") == 4
    await engine.dispose()


async def test_the_inbox_forgets_events_only_once_they_cannot_come_again(database_url: str) -> None:
    """Rows older than the topics' retention, a segment and a day are pruned in batches; a
    row a day inside that horizon stays and still stops a redelivery."""
    engine = make_engine(database_url, service="la-returns")
    sessionmaker = make_sessionmaker(engine)
    read = [topics.SCHOOLS, topics.PUPILS]
    horizon = timedelta(milliseconds=topics.redelivery_horizon_ms(read))
    assert horizon == timedelta(days=14 + 7 + 1)
    consumer = BatchConsumer(
        service="la-returns",
        topics=read,
        group_id="la-returns-test",
        kafka="127.0.0.1:1",
        sessionmaker=sessionmaker,
        inbox=processed_events,
        handler=handle,
    )
    events = [(topic_of(i), i) for i in register_events()]
    await consumer.apply(events)
    old, recent = events[:5], events[5:]
    async with sessionmaker.begin() as session:
        for ids, age in (
            ([e.id for _, e in old], horizon + timedelta(hours=1)),
            ([e.id for _, e in recent], horizon - timedelta(days=1)),
        ):
            await session.execute(
                processed_events.update()
                .where(processed_events.c.event_id.in_(ids))
                .values(processed_at=func.now() - age)
            )
    pruned_before = REGISTRY.get_sample_value("inbox_pruned_total", {"service": "la-returns"}) or 0.0
    removed = await prune_processed_events(
        sessionmaker, processed_events, horizon=horizon, service="la-returns", batch_rows=2
    )
    assert removed == 5  # in three batches of at most two
    assert REGISTRY.get_sample_value("inbox_pruned_total", {"service": "la-returns"}) - pruned_before == 5
    async with engine.connect() as conn:
        left = set((await conn.execute(text("SELECT event_id FROM la_returns.processed_events"))).scalars())
    assert left == {e.id for _, e in recent}
    # Within the horizon a redelivery is still caught.
    before = _duplicates_counted()
    await consumer.apply(recent)
    assert _duplicates_counted() - before == len(recent)
    await engine.dispose()


async def rows_of(sessionmaker: async_sessionmaker[AsyncSession], summary: ReturnSummary) -> list[dict]:
    """A return's rows as its JSON stream gives them, checked against its checksum."""
    streamed = [chunk async for chunk in returns.stream_json(sessionmaker, {"id": str(summary.id)}, summary.id)]
    document = orjson.loads(b"".join(streamed))
    assert document["id"] == str(summary.id) and summary.checksum == checksum(document["rows"])
    return document["rows"]


async def test_projections_and_returns_from_the_register_events(database_url: str, broker: KafkaCluster) -> None:
    engine = make_engine(database_url, service="la-returns")
    sessionmaker = make_sessionmaker(engine)
    items = register_events()
    await publish(broker, items + items)  # everything delivered twice
    consumer = BatchConsumer(
        service="la-returns",
        topics=[topics.SCHOOLS, topics.PUPILS],
        group_id="la-returns-test",
        kafka=broker.bootstrap_servers,
        sessionmaker=sessionmaker,
        inbox=processed_events,
        handler=handle,
        session_timeout_ms=6_000,
    )
    task = asyncio.create_task(consumer.run())
    try:

        async def settled() -> bool:
            return await scalar(engine, "SELECT count(*) FROM la_returns.pupils") == 4 and (
                await scalar(engine, "SELECT count(*) FROM la_returns.pupils WHERE left_on IS NOT NULL") == 1
            )

        await wait_until(settled, what="the projections")
    finally:
        consumer.stop()
        await task

    analytics = AnalyticsClient(
        Settings(analytics_url=f"http://127.0.0.1:{free_port()}", analytics_retries=1, analytics_timeout_s=1)
    )
    try:
        async with sessionmaker.begin() as session:
            period = {"start": FIRST_DAY, "end": DAYS[-1], "today": TODAY}
            new = await returns.compile_return(session, analytics, la_code=LA, kind="new-pupils", **period)
            deletions = await returns.compile_return(session, analytics, la_code=LA, kind="deletions", **period)
            # Runs, spells and figures come from analytics, which is down here.
            for kind in ("attendance", "sickness"):
                with pytest.raises(UpstreamUnavailable):
                    await returns.compile_return(session, analytics, la_code=LA, kind=kind, **period)
            with pytest.raises(NotFound):
                await returns.compile_return(session, analytics, la_code="999", kind="deletions", **period)
    finally:
        await analytics.close()

    new_rows = await rows_of(sessionmaker, new)
    # The reception pupil started on the first day of the school year: exempt.
    assert [(r["upn"], r["due_on"], r["status"]) for r in new_rows] == [
        (LEAVER, "2026-09-08", "overdue"),
        (ILL, "2026-09-08", "overdue"),
        (MID_YEAR, str(DAYS[10] + timedelta(days=5)), "overdue"),
    ]
    gone = await rows_of(sessionmaker, deletions)
    assert [(r["upn"], r["ground"], r["destination_school_name"], r["left_on"]) for r in gone] == [
        (LEAVER, "a", "Elm School", str(DAYS[5]))
    ]
    assert new.row_count == 3
    # The attendance and sickness returns failed part-way inside a transaction that went on
    # and committed: nothing of them was kept.
    assert await scalar(engine, "SELECT count(*) FROM la_returns.returns WHERE kind IN ('attendance', 'sickness')") == 0
    assert await scalar(engine, "SELECT count(*) FROM la_returns.returns") == 2

    async with sessionmaker() as session:
        summary = await returns.get_summary(session, LA, new.id)
    chunks = [chunk async for chunk in returns.stream_csv(sessionmaker, summary)]
    parsed = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert [r["upn"] for r in parsed] == [LEAVER, ILL, MID_YEAR] and parsed[0]["address"] == "1 High Street, LS1 1AA"
    await engine.dispose()


async def test_a_scheduled_return_is_compiled_once_by_two_replicas_and_again_after_a_restart(
    database_url: str,
) -> None:
    engine = make_engine(database_url, service="la-returns")
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        await handle(session, [("t", i) for i in register_events()])
        await settings_service.put_schedule(
            session, LA, Schedule(entries=[ScheduleEntry(kind="deletions", frequency="weekly")])
        )
    analytics = AnalyticsClient(Settings(analytics_retries=1))

    async def replica() -> str | None:
        async with sessionmaker.begin() as session:
            return await compile_one_due(session, analytics, concurrency=1)

    try:
        first, second = await asyncio.gather(replica(), replica())
        after_restart = await replica()
    finally:
        await analytics.close()
    assert sorted([first is None, second is None]) == [False, True] and after_restart is None
    assert await scalar(engine, "SELECT count(*) FROM la_returns.returns WHERE trigger = 'schedule'") == 1
    await engine.dispose()


async def test_a_pupil_admitted_again_is_returned_for_each_stay(database_url: str) -> None:
    """Issue 22: each enrolment keeps its own dates and returns, so a pupil who left and came
    back is in the new-pupils return twice and the deletions return for each leaving."""
    engine = make_engine(database_url, service="la-returns")
    sessionmaker = make_sessionmaker(engine)
    school = event(SchoolUpsertedV1(urn=URN, la_code=LA, name="Oak Lane Primary"))

    def deletion(left_on: date, ground: str) -> Event:
        return event(PupilDeletedV1(school_urn=URN, la_code=LA, upn=LEAVER, left_on=left_on, ground=ground), LEAVER)

    # Left and back within one batch: the deletion still ends the first stay.
    first = [school, admission(LEAVER, "3", FIRST_DAY), deletion(DAYS[5], "g"), admission(LEAVER, "3", DAYS[12])]
    async with sessionmaker.begin() as session:
        await handle(session, [(topic_of(i), i) for i in first])
    async with sessionmaker.begin() as session:
        await handle(session, [(topic_of(i), i) for i in [deletion(DAYS[18], "a")]])
    analytics = AnalyticsClient(Settings(analytics_retries=1))
    try:
        async with sessionmaker.begin() as session:
            period = {"start": FIRST_DAY, "end": DAYS[-1], "today": TODAY}
            new = await returns.compile_return(session, analytics, la_code=LA, kind="new-pupils", **period)
            gone = await returns.compile_return(session, analytics, la_code=LA, kind="deletions", **period)
    finally:
        await analytics.close()
    assert [(r["upn"], r["admission_date"]) for r in await rows_of(sessionmaker, new)] == [
        (LEAVER, str(FIRST_DAY)),
        (LEAVER, str(DAYS[12])),
    ]
    assert [(r["upn"], r["left_on"], r["ground"]) for r in await rows_of(sessionmaker, gone)] == [
        (LEAVER, str(DAYS[5]), "g"),
        (LEAVER, str(DAYS[18]), "a"),
    ]
    await engine.dispose()


async def test_the_part_time_timetables_return_lists_each_timetable_and_says_none_for_a_school_without(
    database_url: str,
) -> None:
    """Issue 23: every timetable that ran in the period, as its latest version stands (an
    older version delivered late changes nothing), and a school with none says so."""
    engine = make_engine(database_url, service="la-returns")
    sessionmaker = make_sessionmaker(engine)
    other_urn = "100002"
    timetable_id = uuid.uuid4()

    def version(number: int, **changes: object) -> Event:
        fields: dict = {
            "school_urn": URN,
            "la_code": LA,
            "upn": ILL,
            "timetable_id": timetable_id,
            "version": number,
            "reason": "medical",
            "attended_sessions": ("mon_am", "tue_am"),
            "start_date": DAYS[2],
            "end_date": DAYS[12],
            "next_review_on": DAYS[8],
            "social_worker_told": True,
            "status": "active",
        }
        payload = PartTimeTimetableSetV1(**{**fields, **changes})
        return event(payload, ILL)

    items = [
        event(SchoolUpsertedV1(urn=URN, la_code=LA, name="Oak Lane Primary")),
        event(SchoolUpsertedV1(urn=other_urn, la_code=LA, name="Elm Primary"), None),
        admission(ILL, "6", FIRST_DAY),
        version(1),
        version(2, end_date=DAYS[19], extensions=1, la_notified_on=DAYS[3]),
    ]
    async with sessionmaker.begin() as session:
        await handle(session, [(topics.PUPILS.name, i) for i in items])
    async with sessionmaker.begin() as session:
        await handle(session, [(topics.PUPILS.name, version(1))])  # late and older: ignored
    analytics = AnalyticsClient(Settings(analytics_retries=1))
    try:
        async with sessionmaker.begin() as session:
            compiled = await returns.compile_return(
                session, analytics, la_code=LA, kind="part-time-timetables", start=DAYS[0], end=DAYS[-1], today=TODAY
            )
            before = await returns.compile_return(
                session, analytics, la_code=LA, kind="part-time-timetables", start=DAYS[0], end=DAYS[1], today=TODAY
            )
    finally:
        await analytics.close()
    rows = await rows_of(sessionmaker, compiled)
    assert [(r["school_urn"], r["upn"], r["timetable"]) for r in rows] == [
        (URN, ILL, str(timetable_id)),
        (other_urn, None, "none this period"),
    ]
    mine = rows[0]
    assert (mine["end_date"], mine["extensions"], mine["la_notified_on"]) == (str(DAYS[19]), 1, str(DAYS[3]))
    assert (mine["attended_sessions"], mine["legal_surname"], mine["social_worker_told"]) == (
        "mon_am;tue_am",
        "Shah",
        True,
    )
    # 20 November: the review of DAYS[8] was missed, and the end date (DAYS[19]) has passed.
    assert (mine["review_overdue"], mine["past_end"]) == (True, True)
    assert compiled.columns[:3] == ["school_urn", "school_name", "upn"]
    # Before it started, both schools make a zero return.
    assert [r["timetable"] for r in await rows_of(sessionmaker, before)] == ["none this period"] * 2
    await engine.dispose()
