"""Compiling returns of every kind, and reading them back as JSON or streamed CSV."""

import asyncio
import base64
import csv
import io
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attendance_shared import cursors
from attendance_shared.errors import NotFound, Unprocessable
from attendance_shared.metrics import RETURN_COMPILE_SECONDS
from attendance_shared.rules.figures import academic_year_of
from la_returns_service.clients.analytics import AnalyticsClient
from la_returns_service.domain import admissions
from la_returns_service.domain import attendance_return as kinds
from la_returns_service.domain.attendance_return import RunItem
from la_returns_service.domain.periods import EARLIEST_PERIOD_START, period_problem
from la_returns_service.repository import store
from la_returns_service.schemas import ReturnPage, ReturnSummary

PupilKey = tuple[str, str]
Rows = tuple[list[dict[str, Any]], list[str | None]]  # a batch of rows, and the school each belongs to


def check_period(start: date, end: date, today: date) -> None:
    if problem := period_problem(start, end, today):
        field = "from" if start < EARLIEST_PERIOD_START else "to"
        raise Unprocessable(problem, errors=[{"location": ["body", field], "message": problem}])


def summary_of(row: Row) -> ReturnSummary:
    return ReturnSummary(
        id=row.id,
        la_code=row.la_code,
        kind=row.kind,
        start=row.period_start,
        end=row.period_end,
        generated_at=row.generated_at,
        row_count=row.row_count,
        checksum=row.checksum,
        columns=list(row.columns),
        trigger=row.trigger,
    )


@dataclass
class Compilation:
    session: AsyncSession  # the snapshot's own transaction
    reads: async_sessionmaker[AsyncSession]  # for reads alongside it, one school at a time
    analytics: AnalyticsClient
    la_code: str
    schools: list[dict[str, Any]]
    start: date
    end: date
    today: date
    concurrency: int

    @property
    def urns(self) -> list[str]:
        return [s["urn"] for s in self.schools]

    def school(self, urn: str) -> dict[str, Any]:
        return next(s for s in self.schools if s["urn"] == urn)


# --- runs of absence and spells of illness, from analytics ----------------------------------


async def _school_runs(c: Compilation, urn: str, runs: str) -> dict[str, list[RunItem]]:
    found: dict[str, list[RunItem]] = {}
    async for item in c.analytics.absence_runs(urn, c.start, c.end, runs):
        found.setdefault(item["upn"], []).append(item)
    return found


# --- figures from analytics ---------------------------------------------------------------


# A school, its pupils' figures, their records, and their runs of continuous absence.
SchoolFigures = tuple[dict[str, Any], list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, list[RunItem]]]


async def school_figures(c: Compilation) -> AsyncIterator[SchoolFigures]:
    """Each school in order with its pupils' figures from analytics and the parts of their
    records the rows need, fetched up to `concurrency` schools ahead: analytics and the
    database work out the next schools while this service writes the last one's rows, and no
    more than that window is held at once."""

    async def fetch(school: dict[str, Any]) -> SchoolFigures:
        items = [item async for item in c.analytics.pupil_figures(school["urn"], c.start, c.end)]
        runs = await _school_runs(c, school["urn"], "continuous_unauthorised")
        async with c.reads() as session:
            return school, items, await store.figure_return_records(session, school["urn"]), runs

    schools = iter(c.schools)
    ahead = deque(asyncio.create_task(fetch(school)) for school in islice(schools, c.concurrency))
    try:
        while ahead:
            fetched = await ahead.popleft()
            if (following := next(schools, None)) is not None:
                ahead.append(asyncio.create_task(fetch(following)))
            yield fetched
    finally:
        for task in ahead:
            task.cancel()
        await asyncio.gather(*ahead, return_exceptions=True)


def _record(records: dict, key: PupilKey) -> dict[str, Any] | None:
    row = records.get(key)
    return row.record if row else None


def _attendance_rows(fetched: SchoolFigures) -> list[dict[str, Any]]:
    school, items, records, runs = fetched
    return [
        kinds.attendance_row(
            school,
            item["upn"],
            records.get(item["upn"]),
            item["figures"],
            item["late_sessions"],
            runs.get(item["upn"], []),
            item.get("admitted_on"),
        )
        for item in items
    ]


async def attendance_rows(c: Compilation) -> AsyncIterator[Rows]:
    async with aclosing(school_figures(c)) as figures:
        async for fetched in figures:
            rows = _attendance_rows(fetched)
            yield rows, [fetched[0]["urn"]] * len(rows)


async def school_attendance_rows(c: Compilation) -> AsyncIterator[Rows]:
    async with aclosing(school_figures(c)) as figures:
        async for fetched in figures:
            rows = kinds.school_rows(fetched[0], _attendance_rows(fetched))
            yield rows, [fetched[0]["urn"]] * len(rows)


async def social_worker_rows(c: Compilation) -> AsyncIterator[Rows]:
    async with aclosing(school_figures(c)) as figures:
        async for school, items, records, runs in figures:
            rows = []
            for item in items:
                record = records.get(item["upn"])
                if record and record.get("social_worker"):
                    pupil_runs = runs.get(item["upn"], [])
                    rows.append(kinds.social_worker_row(school, item["upn"], record, item["figures"], pupil_runs))
            yield rows, [school["urn"]] * len(rows)


async def sickness_rows(c: Compilation) -> AsyncIterator[Rows]:
    """Each school's pupils missing 15 school days through sickness, in a spell or in all."""
    for school in c.schools:
        runs = await _school_runs(c, school["urn"], "sickness")
        async with c.reads() as session:  # the snapshot's own session is busy writing rows
            records = await store.pupil_records(session, [school["urn"]], sorted(runs))
        rows = [
            kinds.sickness_row(school, upn, _record(records, (school["urn"], upn)), run)
            for upn, pupil_runs in sorted(runs.items())
            for run in pupil_runs
        ]
        yield rows, [school["urn"]] * len(rows)


# --- the admission register --------------------------------------------------------------


async def _calendars(c: Compilation, days: Sequence[date]) -> dict[tuple[str, int], Row]:
    found = {}
    for year in sorted({academic_year_of(d) for d in days}):
        for urn, row in (await store.school_calendars(c.session, c.urns, year)).items():
            found[(urn, year)] = row
    return found


async def new_pupil_rows(c: Compilation) -> AsyncIterator[Rows]:
    admitted = await store.admitted_between(c.session, c.la_code, c.start, c.end)
    calendars = await _calendars(c, [p.admission_date for p in admitted])
    year_groups = await store.year_groups_of_schools(c.session, c.urns)
    settings = await store.get_la_settings(c.session, c.la_code)
    opt_in = admissions.ReceptionOptIn(settings.reception_first_day_opted_in_at if settings else None)
    rows = []
    for pupil in admitted:
        calendar = calendars.get((pupil.school_urn, academic_year_of(pupil.admission_date)))
        if admissions.is_first_day_junior_exempt(
            year_group=pupil.year_group,
            admission_date=pupil.admission_date,
            recorded_at=pupil.recorded_at,
            junior_year_group=admissions.most_junior(year_groups.get(pupil.school_urn, [])),
            first_day_of_year=calendar.first_day if calendar else None,
            opt_in=opt_in,
        ):
            continue
        due_on = admissions.new_pupil_due_on(pupil.admission_date)
        rows.append(
            kinds.new_pupil_row(
                c.school(pupil.school_urn),
                pupil.record,
                due_on=due_on.isoformat(),
                overdue=admissions.is_overdue(due_on, c.today),
            )
        )
    yield rows, [r["school_urn"] for r in rows]


async def deletion_rows(c: Compilation) -> AsyncIterator[Rows]:
    deleted = await store.deleted_between(c.session, c.la_code, c.start, c.end)
    calendars = await _calendars(c, [p.left_on for p in deleted])
    year_groups = await store.year_groups_of_schools(c.session, c.urns)
    rows = []
    for pupil in deleted:
        calendar = calendars.get((pupil.school_urn, academic_year_of(pupil.left_on)))
        if admissions.is_deletion_exempt(
            year_group=pupil.year_group,
            left_on=pupil.left_on,
            senior_year_group=admissions.most_senior(year_groups.get(pupil.school_urn, [])),
            last_day_of_year=calendar.last_day if calendar else None,
        ):
            continue
        rows.append(kinds.deletion_row(c.school(pupil.school_urn), pupil.record, pupil.deletion))
    yield rows, [r["school_urn"] for r in rows]


async def part_time_rows(c: Compilation) -> AsyncIterator[Rows]:
    """Every timetable that ran in the period, and a "none this period" row for each school
    that had none."""
    known = set(c.urns)
    found = [
        t
        for t in await store.part_time_timetables_between(c.session, c.la_code, c.start, c.end)
        if t.school_urn in known
    ]
    rows = [kinds.part_time_row(c.school(t.school_urn), t.record, t.timetable, c.today) for t in found]
    with_any = {t.school_urn for t in found}
    rows += [kinds.none_this_period_row(c.school(urn)) for urn in c.urns if urn not in with_any]
    rows.sort(key=lambda r: (r["school_urn"], r["upn"] or "", r["start_date"] or ""))
    yield rows, [r["school_urn"] for r in rows]


# Each yields its rows a batch at a time (a school's, for those built from analytics' figures).
BUILDERS: dict[str, Callable[[Compilation], AsyncIterator[Rows]]] = {
    "new-pupils": new_pupil_rows,
    "deletions": deletion_rows,
    "attendance": attendance_rows,
    "school-attendance": school_attendance_rows,
    "sickness": sickness_rows,
    "social-worker": social_worker_rows,
    "part-time-timetables": part_time_rows,
}


class SnapshotRows:
    """A snapshot's rows, written a batch at a time: each batch's COPY runs while the builder
    works out the next, so the database and this service work at once. Builders therefore
    read through the snapshot's session only before their first batch."""

    def __init__(self, session: AsyncSession, return_id: uuid.UUID) -> None:
        self._session = session
        self._return_id = return_id
        self._writing: asyncio.Task | None = None
        self.checksum = kinds.Checksum()
        self.count = 0
        self.school_urns: set[str] = set()

    async def add(self, rows: list[dict[str, Any]], owners: list[str | None]) -> None:
        encoded = [kinds.encode(row) for row in rows]
        for row in encoded:
            self.checksum.add(row)
        await self._written()
        self._writing = asyncio.create_task(
            store.add_return_rows(self._session, self._return_id, self.count + 1, [r.decode() for r in encoded], owners)
        )
        self.count += len(rows)
        self.school_urns.update(urn for urn in owners if urn)

    async def _written(self) -> None:
        if self._writing is not None:
            writing, self._writing = self._writing, None
            await writing

    async def __aenter__(self) -> "SnapshotRows":
        return self

    async def __aexit__(self, error_type: type[BaseException] | None, *_: object) -> None:
        if error_type is None:
            await self._written()
        elif self._writing is not None:
            # Failing already: let the last COPY finish so the savepoint rolls back cleanly.
            await asyncio.gather(self._writing, return_exceptions=True)


async def compile_return(
    session: AsyncSession,
    analytics: AnalyticsClient,
    *,
    la_code: str,
    kind: str,
    start: date,
    end: date,
    today: date,
    concurrency: int = 4,
    trigger: str = "request",
) -> ReturnSummary:
    check_period(start, end, today)
    started = time.perf_counter()
    schools = [s._asdict() for s in await store.schools_of_la(session, la_code)]
    if not schools:
        raise NotFound(f"no schools known for local authority {la_code}")
    reads = async_sessionmaker(session.bind, expire_on_commit=False)
    compilation = Compilation(session, reads, analytics, la_code, schools, start, end, today, concurrency)
    return_id = uuid.uuid4()
    columns = list(kinds.COLUMNS_OF_KIND[kind])
    # A savepoint, so a compilation that fails part-way (analytics gone, say) leaves no
    # half-written snapshot in a caller's transaction that carries on.
    async with session.begin_nested():
        await store.begin_return(
            session,
            {
                "id": return_id,
                "la_code": la_code,
                "kind": kind,
                "period_start": start,
                "period_end": end,
                "columns": columns,
                "trigger": trigger,
            },
        )
        async with SnapshotRows(session, return_id) as written, aclosing(BUILDERS[kind](compilation)) as batches:
            async for rows, owners in batches:
                await written.add(rows, owners)
        generated_at = await store.finish_return(
            session,
            return_id,
            la_code,
            row_count=written.count,
            checksum=written.checksum.value,
            school_urns=sorted(written.school_urns),
        )
    RETURN_COMPILE_SECONDS.labels(kind).observe(time.perf_counter() - started)
    return ReturnSummary(
        id=return_id,
        la_code=la_code,
        kind=kind,
        start=start,
        end=end,
        generated_at=generated_at,
        row_count=written.count,
        checksum=written.checksum.value,
        columns=columns,
        trigger=trigger,
    )


# --- reading returns back -------------------------------------------------------------------


def _encode_cursor(row: ReturnSummary) -> str:
    return base64.urlsafe_b64encode(f"{row.generated_at.isoformat()}|{row.id}".encode()).decode()


def _decode_cursor(cursor: str, name: str) -> tuple[datetime, uuid.UUID]:
    def parse(text: str) -> tuple[datetime, uuid.UUID]:
        generated_at, return_id = base64.urlsafe_b64decode(text.encode()).decode().split("|")
        return cursors.moment(generated_at), cursors.uuid_of(return_id)

    return cursors.decode_cursor(cursor, parse, name=name)


async def list_returns(
    session: AsyncSession,
    la_code: str,
    *,
    kind: str | None,
    cursor: str | None,
    cursor_name: str = "cursor",
    limit: int,
    school_urn: str | None = None,
) -> ReturnPage:
    after = _decode_cursor(cursor, cursor_name) if cursor else None
    rows = await store.page_returns(session, la_code, kind=kind, school_urn=school_urn, after=after, limit=limit + 1)
    items = [summary_of(r) for r in rows[:limit]]
    # The cursor of the last item is given even on the last page, so a poller keeps it and
    # asks again later for what was compiled since.
    last = items[-1] if items else None
    return ReturnPage(
        items=items,
        next_cursor=_encode_cursor(last) if last else cursor,
        more=len(rows) > limit,
    )


async def get_summary(session: AsyncSession, la_code: str, return_id: uuid.UUID) -> ReturnSummary:
    row = await store.get_return(session, la_code, return_id)
    if row is None:
        raise NotFound(f"return {return_id} not found")
    return summary_of(row)


async def get_school_summary(
    session: AsyncSession, la_code: str | None, school_urn: str, return_id: uuid.UUID
) -> ReturnSummary:
    row = await store.get_return(session, la_code, return_id) if la_code else None
    if row is None or school_urn not in row.school_urns:
        raise NotFound(f"return {return_id} not found for school {school_urn}")
    return summary_of(row)


async def stream_json(
    sessionmaker: async_sessionmaker[AsyncSession],
    document: dict[str, Any],
    return_id: uuid.UUID,
    school_urn: str | None = None,
) -> AsyncIterator[bytes]:
    """`document` (the summary's fields) with its rows, a chunk at a time from their own
    session: the rows go out as stored, never all held at once."""
    yield orjson.dumps(document)[:-1] + b',"rows":['
    separator = b""  # before each chunk but the first
    async with sessionmaker() as session:
        chunk: list[str] = []
        async for row in store.stream_row_texts(session, return_id, school_urn):
            chunk.append(row)
            if len(chunk) == 500:
                yield separator + ",".join(chunk).encode()
                chunk, separator = [], b","
        if chunk:
            yield separator + ",".join(chunk).encode()
    yield b"]}"


async def stream_csv(
    sessionmaker: async_sessionmaker[AsyncSession], summary: ReturnSummary, school_urn: str | None = None
) -> AsyncIterator[str]:
    """CSV a chunk at a time, from its own session, so memory stays flat whatever the size."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=summary.columns, extrasaction="ignore")
    writer.writeheader()
    async with sessionmaker() as session:
        count = 0
        async for row in store.stream_rows(session, summary.id, school_urn):
            writer.writerow(row)
            count += 1
            if count % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()
