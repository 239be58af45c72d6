"""`python -m analytics_service.rebuild`: refill every analytics projection from the register's log.

Stop the analytics service first. The topics keep events for 14 days (attendance_shared.topics),
not for the years a register is kept, so the command does not read them: register-service's
outbox holds every event it published in the 6 years its entries are kept, and `GET /v1/events`
pages through it.

The command notes where the schools, pupils and marks topics end, empties the projections,
replays the whole log, and then commits the noted ends for the service's consumer group, so
the service, restarted, carries on from there. Schools, calendars and pupils go through the
handler the live consumer uses, a page at a time. Marks are folded into each pupil's year in
memory (`--held-years` of them at most) and each year is then written once, its figures and
flags computed by that handler's own code: a year of marks is one computation a pupil, not
one a page, and the rebuild runs at the rate the log can be read and validated.
Events published between the note and the end of the log are applied again by the service,
in order, which changes nothing: marks carry revisions, and everything else is upserted whole.
Flag events raised again during the replay are dropped unless `--publish-flags` is given: they
were published when first raised, and downstream services would only deduplicate them.
"""

import argparse
import asyncio
import sys
import time
from datetime import date
from typing import Annotated, Any, Union

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typing_extensions import TypedDict

from analytics_service.consumers.events import AnalyticsHandler
from analytics_service.domain.pupil_year import PupilYear, PupilYearKey
from analytics_service.models import outbox
from analytics_service.repository import projections
from analytics_service.settings import SERVICE_NAME, Settings
from attendance_shared import topics
from attendance_shared.auth import ServiceTokenAuth
from attendance_shared.db import make_engine, make_sessionmaker
from attendance_shared.events import (
    ENVELOPE_OF,
    EVENT_TYPE_OF,
    EVENT_TYPES,
    Event,
    InvalidEvent,
    PupilRecordsRemovedV1,
    RegisterMarkedV1,
    SessionMarkedV1,
    parse_event,
    plain_envelope,
)
from attendance_shared.kafka import ensure_topics
from attendance_shared.outbox import log_page_next_after
from attendance_shared.rules.figures import academic_year_of

REPLAYED_TOPICS = (topics.SCHOOLS, topics.PUPILS, topics.MARKS)


async def topic_ends(consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
    partitions = [
        TopicPartition(spec.name, p)
        for spec in REPLAYED_TOPICS
        for p in sorted(consumer.partitions_for_topic(spec.name) or range(spec.partitions))
    ]
    consumer.assign(partitions)  # assigned, not subscribed: it commits for the group without joining it
    return await consumer.end_offsets(partitions)


# Marks are read as plain dicts, validated exactly as the models would validate them: a year
# of marks is millions of events, and building a model for each was most of a rebuild's time.
MARK_TYPES = tuple(
    name for name, payload in EVENT_TYPES.items() if issubclass(payload, SessionMarkedV1 | RegisterMarkedV1)
)
REGISTER_TYPE = EVENT_TYPE_OF[RegisterMarkedV1]
LoggedEventBody = Annotated[
    Union[  # noqa: UP007 - built at run time
        tuple(plain_envelope(name) if name in MARK_TYPES else ENVELOPE_OF[name] for name in EVENT_TYPES)
    ],
    Field(discriminator="type"),
]


class LoggedEvent(TypedDict):
    topic: str
    event: LoggedEventBody  # type: ignore[valid-type]


class LogPage(TypedDict):
    """A page of register-service's `GET /v1/events`, read in one pass of the validator."""

    events: list[LoggedEvent]  # its `next_after` is read from its end: log_page_next_after


_PAGE = TypeAdapter(LogPage)
_RAW_PAGE = TypeAdapter(dict[str, Any])
Logged = tuple[str, Event | dict[str, Any]]  # a topic, and its event: a model, or a mark as a dict


def page_events(content: bytes) -> tuple[list[Logged], int]:
    """A page's events, and how many of them never validated (skipped: they were never
    published valid, so never applied live either). The whole page is validated at once;
    only a page holding an invalid event is read again event by event."""
    try:
        page = _PAGE.validate_json(content)
        return [(item["topic"], item["event"]) for item in page["events"]], 0
    except ValidationError:
        pass
    raw = _RAW_PAGE.validate_json(content)
    events: list[Logged] = []
    skipped = 0
    for item in raw["events"]:
        try:
            events.append((item["topic"], parse_event(orjson.dumps(item["event"]))))
        except InvalidEvent:
            skipped += 1
    return events, skipped


def _is(event: Event | dict[str, Any], payload: type) -> bool:
    return not isinstance(event, dict) and isinstance(event.data, payload)


def _is_mark(event: Event | dict[str, Any]) -> bool:
    # A page validated whole gives marks as dicts; one read again event by event, as models.
    return isinstance(event, dict) or _is(event, SessionMarkedV1 | RegisterMarkedV1)


class HeldYears:
    """Pupil-years with marks applied in memory, written once each: a year of a pupil's
    marks is one row computed once, not one recomputation per page it appears in."""

    def __init__(self, handler: AnalyticsHandler, sessionmaker: async_sessionmaker[AsyncSession], most: int) -> None:
        self.handler, self.sessionmaker, self.most = handler, sessionmaker, most
        self.years: dict[PupilYearKey, PupilYear] = {}
        self.marks = 0  # taken, whether single or a register's rows

    def apply(self, event: Event | dict[str, Any]) -> None:
        """A mark's or a register's event, as a model or as a plain dict."""
        if not isinstance(event, dict):
            event = {"type": event.type, "data": event.data.model_dump()}
        data = event["data"]
        if event["type"] == REGISTER_TYPE:
            school, la_code, day, session = data["school_urn"], data["la_code"], data["date"], data["session"]
            for upn, code, revision, *_ in data["marks"]:
                self.take(school, upn, la_code, day, session, code, revision)
        else:
            self.take(
                data["school_urn"], data["upn"], data["la_code"], data["date"], data["session"], data["code"],
                data["revision"],
            )  # fmt: skip

    def take(self, school: str, upn: str, la_code: str, day: date, session: str, code: str, revision: int) -> None:
        self.marks += 1
        key = (school, upn, academic_year_of(day))
        year = self.years.get(key)
        if year is None:
            year = self.years[key] = PupilYear()
        if year.take(day, session, code, revision):
            year.la_code = la_code

    def read_page(self, content: bytes) -> tuple[list[Logged], int, int]:
        """A page's marks folded in; its other events, to apply after them (all of them, in
        order and none folded, when it holds a removal); how many events it held; and how
        many of them never validated."""
        events, invalid = page_events(content)
        if any(_is(event, PupilRecordsRemovedV1) for _, event in events):
            return events, len(events), invalid
        others: list[Logged] = []
        for topic, event in events:
            if _is_mark(event):
                self.apply(event)
            else:
                others.append((topic, event))
        return others, len(events), invalid

    async def apply_in_order(self, events: list[Logged]) -> None:
        """Events after the page's marks were folded (schools, calendars, pupils), or a page
        holding a removal, event by event: the held years are written before each removal,
        so it removes what they hold of its pupil too."""
        waiting: list[Logged] = []
        for topic, event in events:
            if _is_mark(event):
                self.apply(event)
                continue
            if _is(event, PupilRecordsRemovedV1):
                await self._apply(waiting)
                waiting = []
                await self.write()
            waiting.append((topic, event))
        await self._apply(waiting)

    async def _apply(self, events: list[Logged]) -> None:
        if events:
            async with self.sessionmaker() as session, session.begin():
                await self.handler(session, events)  # type: ignore[arg-type]

    async def write(self, *, chunk: int = 2000) -> None:
        """Every held pupil-year saved, a chunk a transaction, and let go."""
        keys = sorted(self.years)
        for first in range(0, len(keys), chunk):
            async with self.sessionmaker() as session, session.begin():
                await self.handler.save_years(session, {k: self.years[k] for k in keys[first : first + chunk]})
        self.years.clear()

    async def write_if_full(self) -> None:
        if len(self.years) >= self.most:
            await self.write()


async def rebuild(
    settings: Settings,
    *,
    register_url: str,
    group_id: str,
    publish_flags: bool,
    page_size: int = 10_000,
    held_years: int = 200_000,
) -> int:
    engine = make_engine(settings.database_url, service=f"{SERVICE_NAME}-rebuild")
    sessionmaker = make_sessionmaker(engine)
    handler = AnalyticsHandler(rules=settings.flag_rules())
    held = HeldYears(handler, sessionmaker, held_years)
    kafka = settings.kafka_client(SERVICE_NAME)
    await ensure_topics(kafka, REPLAYED_TOPICS)
    consumer = AIOKafkaConsumer(
        **kafka.options(),
        group_id=group_id,
        enable_auto_commit=False,
        client_id=f"{SERVICE_NAME}-rebuild",
    )
    register = httpx.AsyncClient(
        base_url=register_url, timeout=120, auth=ServiceTokenAuth(settings, f"{SERVICE_NAME}-rebuild")
    )
    params = {"limit": page_size, "topic": [spec.name for spec in REPLAYED_TOPICS]}

    async def page_after(after: int) -> bytes:
        response = await register.get("/v1/events", params={**params, "after": after})
        if response.status_code != 200:
            raise RuntimeError(f"register-service answered {response.status_code}: {response.text[:500]}")
        return response.content

    await consumer.start()
    applied = skipped = 0
    fetching: asyncio.Task[bytes] | None = None
    try:
        # Noted before the log is read: everything published up to here is in the log by then.
        ends = await topic_ends(consumer)
        async with sessionmaker() as session, session.begin():
            first_new_outbox_id = await session.scalar(select(func.coalesce(func.max(outbox.c.id), 0)))
            await projections.truncate_projections(session)
        started = time.monotonic()
        fetching = asyncio.create_task(page_after(0))
        while fetching is not None:
            content = await fetching
            next_after = log_page_next_after(content)
            # Register-service reads the next page while this one is validated and folded in a
            # thread: the event loop stays free to send the request and take the answer.
            fetching = asyncio.create_task(page_after(next_after)) if next_after is not None else None
            others, count, invalid = await asyncio.to_thread(held.read_page, content)
            skipped += invalid
            # A held year is computed when written, with the enrolments and calendars the log
            # has reached by then, so schools, calendars and pupils can follow a page's marks.
            await held.apply_in_order(others)
            await held.write_if_full()
            applied += count
            rate = held.marks / max(time.monotonic() - started, 1e-6)
            progress = f"\rreplayed {applied:,} events, {held.marks:,} marks ({rate:,.0f} marks/s)"
            print(progress, end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        print(f"writing {len(held.years):,} pupil-years", file=sys.stderr, flush=True)
        await held.write()
        if not publish_flags:
            async with sessionmaker() as session, session.begin():
                await session.execute(delete(outbox).where(outbox.c.id > first_new_outbox_id))
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in ends.items()})
    finally:
        if fetching is not None:
            fetching.cancel()  # a page read ahead when something failed
        await consumer.stop()
        await register.aclose()
        await engine.dispose()
    print(
        f"rebuilt analytics from {applied:,} events holding {held.marks:,} marks"
        f" ({skipped} that never validated were skipped)"
    )
    return applied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--register-url", default="http://127.0.0.1:8001", help="register-service, whose event log is replayed"
    )
    parser.add_argument(
        "--group-id",
        default=f"{SERVICE_NAME}-service",
        help="consumer group to move to the end; with ACLs, analytics-service or one starting with it",
    )
    parser.add_argument("--publish-flags", action="store_true", help="publish the flag events the replay raises")
    parser.add_argument(
        "--held-years",
        type=int,
        default=200_000,
        help="pupil-years held in memory (about 1 KB each) before they are written; more are merged into them later",
    )
    args = parser.parse_args()
    if args.held_years < 1:
        parser.error("--held-years must be at least 1")
    asyncio.run(
        rebuild(
            Settings(),
            register_url=args.register_url,
            group_id=args.group_id,
            publish_flags=args.publish_flags,
            held_years=args.held_years,
        )
    )


if __name__ == "__main__":
    main()
