"""Every SQL statement of the LA returns service."""

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Text, and_, bindparam, cast, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import JSONB, distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.db import copy_rows, upsert_latest_versions
from attendance_shared.erasure import remove_from
from la_returns_service.models import (
    la_settings,
    meeting_actions,
    part_time_timetables,
    pupils,
    return_rows,
    returns,
    schedules,
    school_years,
    schools,
)
from la_returns_service.models import reports as report_table

# --- projections -------------------------------------------------------------------------


async def upsert_schools(session: AsyncSession, rows: Sequence[dict]) -> None:
    if not rows:
        return
    statement = insert(schools)
    statement = statement.on_conflict_do_update(
        index_elements=["urn"], set_={"la_code": statement.excluded.la_code, "name": statement.excluded.name}
    )
    await session.execute(statement, list(rows))


async def upsert_school_years(session: AsyncSession, rows: Sequence[dict]) -> None:
    if not rows:
        return
    statement = insert(school_years)
    statement = statement.on_conflict_do_update(
        index_elements=["school_urn", "academic_year"],
        set_={
            "first_day": statement.excluded.first_day,
            "last_day": statement.excluded.last_day,
            "terms": statement.excluded.terms,
        },
    )
    await session.execute(statement, list(rows))


ENROLMENT_KEY = ("school_urn", "upn", "admission_date")


async def upsert_pupils(session: AsyncSession, rows: Sequence[dict], *, admitted: bool) -> None:
    """An admission replaces its enrolment's whole row; an update (which carries the current
    enrolment's admission date) keeps when the pupil was first recorded and any deletion."""
    if not rows:
        return
    statement = insert(pupils)
    kept = {*ENROLMENT_KEY} if admitted else {*ENROLMENT_KEY, "recorded_at", "left_on", "deletion"}
    statement = statement.on_conflict_do_update(
        index_elements=list(ENROLMENT_KEY),
        set_={c: statement.excluded[c] for c in rows[0] if c not in kept},
    )
    await session.execute(statement, list(rows))


async def record_deletions(session: AsyncSession, rows: Sequence[dict]) -> None:
    if not rows:
        return
    # The enrolment the deletion ends: the latest begun by the leaving day.
    begun = (
        select(func.max(pupils.c.admission_date))
        .where(
            pupils.c.school_urn == bindparam("key_urn"),
            pupils.c.upn == bindparam("key_upn"),
            pupils.c.admission_date <= bindparam("new_left_on"),
        )
        .scalar_subquery()
    )
    statement = (
        pupils.update()
        .where(
            pupils.c.school_urn == bindparam("key_urn"),
            pupils.c.upn == bindparam("key_upn"),
            pupils.c.admission_date == begun,
        )
        .values(left_on=bindparam("new_left_on"), deletion=bindparam("new_deletion", type_=JSONB))
    )
    await session.execute(
        statement,
        [
            {
                "key_urn": r["school_urn"],
                "key_upn": r["upn"],
                "new_left_on": r["left_on"],
                "new_deletion": r["deletion"],
            }
            for r in rows
        ],
    )


async def school_row(session: AsyncSession, urn: str) -> Row | None:
    return (await session.execute(select(schools).where(schools.c.urn == urn))).first()


async def school_terms(session: AsyncSession, urn: str) -> list[dict]:
    """Every term of the school's calendars, oldest first (name, start, end as ISO dates)."""
    rows = await session.execute(
        select(school_years.c.terms).where(school_years.c.school_urn == urn).order_by(school_years.c.academic_year)
    )
    return [term for (terms,) in rows for term in terms]


async def school_la_code(session: AsyncSession, urn: str) -> str | None:
    return await session.scalar(select(schools.c.la_code).where(schools.c.urn == urn))


# --- reading the projections ---------------------------------------------------------------


async def schools_of_la(session: AsyncSession, la_code: str) -> list[Row]:
    return list(
        (await session.execute(select(schools).where(schools.c.la_code == la_code).order_by(schools.c.urn))).all()
    )


async def school_calendars(session: AsyncSession, urns: Sequence[str], academic_year: int) -> dict[str, Row]:
    rows = await session.execute(
        select(school_years).where(school_years.c.school_urn.in_(urns), school_years.c.academic_year == academic_year)
    )
    return {r.school_urn: r for r in rows}


async def year_groups_of_schools(session: AsyncSession, urns: Sequence[str]) -> dict[str, list[str]]:
    rows = await session.execute(
        select(pupils.c.school_urn, pupils.c.year_group).where(pupils.c.school_urn.in_(urns)).distinct()
    )
    found: dict[str, list[str]] = {}
    for urn, year_group in rows:
        found.setdefault(urn, []).append(year_group)
    return found


async def pupil_records(session: AsyncSession, urns: Sequence[str], upns: Sequence[str] | None = None) -> dict:
    """(school, UPN) -> the pupil's record, admission date and leaving date."""
    query = select(pupils.c.school_urn, pupils.c.upn, pupils.c.record, pupils.c.admission_date, pupils.c.left_on).where(
        pupils.c.school_urn.in_(urns)
    )
    if upns is not None:
        query = query.where(pupils.c.upn.in_(upns))
    # Oldest enrolment first, so a pupil who came back is known by the latest.
    return {(r.school_urn, r.upn): r for r in await session.execute(query.order_by(pupils.c.admission_date))}


async def figure_return_records(session: AsyncSession, urn: str) -> dict[str, dict[str, Any]]:
    """UPN -> the parts of the pupil's record that attendance and social-worker rows read
    (absent or null ones left out). An LA's whole records, decoded, cost more than the rest of
    its attendance return together; these few fields are picked out in the database."""
    record = pupils.c.record

    def part(name: str) -> ColumnElement:
        # JSON null made SQL NULL, so only present values pay for decoding.
        return func.nullif(record[name], text("'null'::jsonb"), type_=JSONB).label(name)

    query = select(
        pupils.c.upn,
        pupils.c.legal_surname,
        pupils.c.legal_forename,
        pupils.c.date_of_birth,
        pupils.c.year_group,
        part("address"),
        record["sen_status"].as_string().label("sen_status"),
        record["looked_after"].as_boolean().label("looked_after"),
        record["fsm_eligible"].as_boolean().label("fsm_eligible"),
        record["eal"].as_boolean().label("eal"),
        part("social_worker"),
        part("youth_offending_worker"),
        part("virtual_school_contact"),
    ).where(pupils.c.school_urn == urn)
    result = await session.execute(query.order_by(pupils.c.admission_date))  # the latest enrolment last, and kept
    names = list(result.keys())[1:]
    return {
        upn: {name: value for name, value in zip(names, values, strict=True) if value is not None}
        for upn, *values in result
    }


async def admitted_between(session: AsyncSession, la_code: str, start: date, end: date) -> list[Row]:
    return list(
        await session.execute(
            select(pupils)
            .where(pupils.c.la_code == la_code, pupils.c.admission_date.between(start, end))
            .order_by(pupils.c.school_urn, pupils.c.admission_date, pupils.c.upn)
        )
    )


async def deleted_between(session: AsyncSession, la_code: str, start: date, end: date) -> list[Row]:
    return list(
        await session.execute(
            select(pupils)
            .where(pupils.c.la_code == la_code, pupils.c.left_on.between(start, end))
            .order_by(pupils.c.school_urn, pupils.c.left_on, pupils.c.upn)
        )
    )


# --- LA settings and schedules ---------------------------------------------------------------


async def get_la_settings(session: AsyncSession, la_code: str) -> Row | None:
    return (await session.execute(select(la_settings).where(la_settings.c.la_code == la_code))).first()


async def put_la_settings(session: AsyncSession, la_code: str, opted_in_at: datetime | None) -> Row:
    statement = insert(la_settings).values(la_code=la_code, reception_first_day_opted_in_at=opted_in_at)
    statement = statement.on_conflict_do_update(
        index_elements=["la_code"],
        set_={"reception_first_day_opted_in_at": opted_in_at, "updated_at": func.now()},
    )
    return (await session.execute(statement.returning(la_settings))).one()


async def get_schedule(session: AsyncSession, la_code: str) -> list[Row]:
    return list(
        await session.execute(select(schedules).where(schedules.c.la_code == la_code).order_by(schedules.c.kind))
    )


async def put_schedule(session: AsyncSession, la_code: str, entries: Sequence[dict]) -> None:
    await session.execute(schedules.delete().where(schedules.c.la_code == la_code))
    if entries:
        await session.execute(insert(schedules), [{"la_code": la_code, **e} for e in entries])


async def all_schedules(session: AsyncSession) -> list[Row]:
    return list(await session.execute(select(schedules).order_by(schedules.c.la_code, schedules.c.kind)))


async def scheduled_return_exists(session: AsyncSession, la_code: str, kind: str, start: date, end: date) -> bool:
    found = await session.scalar(
        select(returns.c.id).where(
            returns.c.la_code == la_code,
            returns.c.kind == kind,
            returns.c.period_start == start,
            returns.c.period_end == end,
            returns.c.trigger == "schedule",
        )
    )
    return found is not None


async def try_lock(session: AsyncSession, key: str) -> bool:
    """A transaction-scoped advisory lock, so two replicas never compile the same thing at once."""
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(func.hashtextextended(key, 0)))))


# --- compiled returns ----------------------------------------------------------------------


async def begin_return(session: AsyncSession, header: dict) -> None:
    """The snapshot's header, before its rows: they refer to it. Its count, checksum and time
    are set by `finish_return`, in the same transaction, so no reader sees it unfinished."""
    await session.execute(
        insert(returns).values(**header, row_count=0, checksum="", school_urns=[], generated_at=func.now())
    )


async def add_return_rows(
    session: AsyncSession, return_id: uuid.UUID, first_number: int, rows: Sequence[str], school_of: Sequence[str | None]
) -> None:
    """Rows already encoded as JSON, numbered from `first_number`, by COPY."""
    await copy_rows(
        session,
        return_rows,
        ("return_id", "row_number", "school_urn", "data"),
        [(return_id, n, urn, row) for n, (row, urn) in enumerate(zip(rows, school_of, strict=True), first_number)],
    )


async def finish_return(
    session: AsyncSession, return_id: uuid.UUID, la_code: str, *, row_count: int, checksum: str, school_urns: list[str]
) -> datetime:
    """Returns of one LA are finished one at a time and stamped after the lock, so they commit
    in `generated_at` order and a poller's cursor never passes one that commits later."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"returns:{la_code}", 0))))
    return await session.scalar(
        returns.update()
        .where(returns.c.id == return_id)
        .values(row_count=row_count, checksum=checksum, school_urns=school_urns, generated_at=func.clock_timestamp())
        .returning(returns.c.generated_at)
    )


async def get_return(session: AsyncSession, la_code: str, return_id: uuid.UUID) -> Row | None:
    return (
        await session.execute(select(returns).where(returns.c.id == return_id, returns.c.la_code == la_code))
    ).first()


async def page_returns(
    session: AsyncSession,
    la_code: str,
    *,
    kind: str | None,
    school_urn: str | None = None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Row]:
    query = (
        select(returns).where(returns.c.la_code == la_code).order_by(returns.c.generated_at, returns.c.id).limit(limit)
    )
    if kind:
        query = query.where(returns.c.kind == kind)
    if school_urn:
        query = query.where(returns.c.school_urns.any(school_urn))
    if after:
        query = query.where(tuple_(returns.c.generated_at, returns.c.id) > after)
    return list((await session.execute(query)).all())


async def count_school_rows(session: AsyncSession, return_id: uuid.UUID, school_urn: str) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(return_rows.c.return_id == return_id, return_rows.c.school_urn == school_urn)
        )
        or 0
    )


def _rows_of(return_id: uuid.UUID, school_urn: str | None, column: ColumnElement) -> Select:
    condition = return_rows.c.return_id == return_id
    if school_urn is not None:
        condition = and_(condition, return_rows.c.school_urn == school_urn)
    return select(column).where(condition).order_by(return_rows.c.row_number).execution_options(yield_per=1000)


async def stream_rows(
    session: AsyncSession, return_id: uuid.UUID, school_urn: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    async for (data,) in await session.stream(_rows_of(return_id, school_urn, return_rows.c.data)):
        yield data


async def stream_row_texts(
    session: AsyncSession, return_id: uuid.UUID, school_urn: str | None = None
) -> AsyncIterator[str]:
    """The rows' JSON as stored (`json` keeps the text), to pass on without decoding."""
    async for (text_of_row,) in await session.stream(_rows_of(return_id, school_urn, cast(return_rows.c.data, Text))):
        yield text_of_row


async def save_part_time_timetables(session: AsyncSession, rows: Sequence[dict]) -> None:
    await upsert_latest_versions(session, part_time_timetables, "timetable_id", rows)


async def part_time_timetables_between(session: AsyncSession, la_code: str, start: date, end: date) -> list[Row]:
    """The LA's timetables that ran on any day from `start` to `end`, with the pupil's latest
    record (names, date of birth, year group)."""
    t, p = part_time_timetables, pupils
    latest = (
        select(p.c.school_urn, p.c.upn, p.c.record)
        .where(p.c.la_code == la_code)
        .order_by(p.c.school_urn, p.c.upn, p.c.admission_date.desc())
        .ext(distinct_on(p.c.school_urn, p.c.upn))
        .subquery()
    )
    query = (
        select(t, latest.c.record)
        .outerjoin(latest, (latest.c.school_urn == t.c.school_urn) & (latest.c.upn == t.c.upn))
        .where(t.c.la_code == la_code, t.c.start_date <= end, t.c.last_day >= start)
        .order_by(t.c.school_urn, t.c.upn, t.c.start_date)
    )
    return list((await session.execute(query)).all())


async def remove_pupils(session: AsyncSession, removed_pupils: Sequence[tuple[str, str]]) -> dict[str, int]:
    """What la-returns keeps of these pupils (removed from the register past its retention):
    their record, their part-time timetables, and the actions a Targeting Support Meeting
    agreed for them. Compiled returns and reports are snapshots with their own period
    (deploy/README.md, "How long records are kept")."""
    their_actions = meeting_actions.delete().where(
        tuple_(report_table.c.school_urn, meeting_actions.c.upn).in_(list(removed_pupils)),
        meeting_actions.c.report_id == report_table.c.id,
    )
    removed = {"meeting_actions": (await session.execute(their_actions)).rowcount}
    return removed | await remove_from(session, (part_time_timetables, pupils), removed_pupils)
