from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import ARRAY, Date, Row, Text, any_, bindparam, cast, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.db import copy_rows
from register_service.models import Xid8, absence_reports, marks

# The first key of the register's advisory locks, so they never meet another service's.
REGISTER_LOCK_SPACE = 0x5245_4731  # "REG1"
SESSIONS = ("am", "pm")


async def lock_registers(session: AsyncSession, registers: Iterable[tuple[str, date, str]]) -> None:
    """Wait for, then hold to the end of the transaction, the write lock of each (school,
    date, session) register. Writers of one register are thus taken one after another: the
    next reads the marks the last stored and makes its revisions on top, where two at once
    would both make the same revision and one would fail on the unique index. Locks are
    taken in one order, so two writers of the same registers cannot deadlock."""
    keys = sorted({f"{urn}/{day.isoformat()}/{name}" for urn, day, name in registers})
    if not keys:
        return
    key = func.unnest(bindparam("keys", keys, type_=ARRAY(Text))).column_valued("key")
    await session.execute(select(func.pg_advisory_xact_lock(REGISTER_LOCK_SPACE, func.hashtext(key))))


def registers_between(urn: str, first_day: date, last_day: date) -> list[tuple[str, date, str]]:
    """Every (school, date, session) register from `first_day` to `last_day`."""
    days = (last_day - first_day).days + 1
    return [(urn, first_day + timedelta(days=i), name) for i in range(max(days, 0)) for name in SESSIONS]


MARK_FIELDS = (
    marks.c.upn,
    marks.c.code,
    marks.c.revision,
    marks.c.minutes_late,
    marks.c.note,
    marks.c.recorded_at,
    marks.c.recorded_by,
)


async def current(
    session: AsyncSession,
    school_urn: str,
    day: date,
    session_name: str,
    upns: list[str] | None = None,
    *,
    as_at: datetime | None = None,
) -> dict[str, Row]:
    """The latest revision of each pupil's mark for one session (as it stood at `as_at`)."""
    query = (
        select(*MARK_FIELDS)
        .where(marks.c.school_urn == school_urn, marks.c.date == day, marks.c.session == session_name)
        .order_by(marks.c.upn, marks.c.revision.desc())
        .ext(distinct_on(marks.c.upn))
    )
    if upns is not None:
        query = query.where(marks.c.upn.in_(upns))
    if as_at is not None:
        query = query.where(marks.c.recorded_at <= as_at)
    return {row.upn: row for row in await session.execute(query)}


STORED_COLUMNS = (
    "school_urn",
    "upn",
    "date",
    "session",
    "code",
    "revision",
    "previous_code",
    "reason",
    "minutes_late",
    "note",
    "made_by_name",
    "made_by_position",
    "recorded_by",
    "recorded_at",
)


async def add(session: AsyncSession, rows: list[dict]) -> None:
    await copy_rows(session, marks, STORED_COLUMNS, [tuple(row[c] for c in STORED_COLUMNS) for row in rows])


async def last_marked_day(session: AsyncSession, school_urn: str, upn: str) -> date | None:
    return await session.scalar(
        select(func.max(marks.c.date)).where(marks.c.school_urn == school_urn, marks.c.upn == upn)
    )


async def history(session: AsyncSession, school_urn: str, upn: str, start: date | None, end: date | None) -> list[Row]:
    query = (
        select(marks)
        .where(marks.c.school_urn == school_urn, marks.c.upn == upn)
        .order_by(marks.c.date, marks.c.session, marks.c.revision)
    )
    if start:
        query = query.where(marks.c.date >= start)
    if end:
        query = query.where(marks.c.date <= end)
    return list((await session.execute(query)).all())


async def changes(session: AsyncSession, school_urn: str, *, after: tuple[int, int] | None, limit: int) -> list[Row]:
    """Entries in (transaction, id) order, only from transactions older than every one still
    running: a transaction that commits later can then never land behind a cursor."""
    horizon = func.pg_snapshot_xmin(func.pg_current_snapshot())
    query = (
        select(marks)
        .where(marks.c.school_urn == school_urn, marks.c.txid < horizon)
        .order_by(marks.c.txid, marks.c.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(marks.c.txid, marks.c.id) > tuple_(cast(after[0], Xid8()), after[1]))
    return list((await session.execute(query)).all())


async def current_with_code(session: AsyncSession, school_urn: str, code: str, *, on_or_before: date) -> list[Row]:
    """Sessions whose current mark is `code`, oldest first."""
    latest = (
        select(marks.c.upn, marks.c.date, marks.c.session, marks.c.code)
        .where(marks.c.school_urn == school_urn, marks.c.date <= on_or_before)
        .order_by(marks.c.upn, marks.c.date, marks.c.session, marks.c.revision.desc())
        .ext(distinct_on(marks.c.upn, marks.c.date, marks.c.session))
        .subquery()
    )
    query = select(latest).where(latest.c.code == code).order_by(latest.c.date, latest.c.session, latest.c.upn)
    return list((await session.execute(query)).all())


async def pending_reports_covering(
    session: AsyncSession, school_urn: str, sessions: list[tuple[str, date]]
) -> list[Row]:
    if not sessions:
        return []
    r = absence_reports
    upns = sorted({upn for upn, _ in sessions})
    query = select(r.c.id, r.c.upn, r.c.first_day, r.c.last_day, r.c.sessions).where(
        r.c.school_urn == school_urn, r.c.status == "pending", r.c.upn.in_(upns)
    )
    return list((await session.execute(query)).all())


async def current_in_range(
    session: AsyncSession, school_urn: str, upns: Iterable[str], first_day: date, last_day: date
) -> list[Row]:
    """The current mark of each session of these pupils in a date range, in date order."""
    query = (
        select(marks.c.upn, marks.c.date, marks.c.session, marks.c.code, marks.c.revision, marks.c.minutes_late)
        .where(
            marks.c.school_urn == school_urn,
            marks.c.upn == any_(bindparam("upns", list(upns), type_=ARRAY(Text))),
            marks.c.date >= first_day,
            marks.c.date <= last_day,
        )
        .order_by(marks.c.date, marks.c.session, marks.c.upn, marks.c.revision.desc())
        .ext(distinct_on(marks.c.date, marks.c.session, marks.c.upn))
    )
    return list((await session.execute(query)).all())


async def first_marks_of_pupils(
    session: AsyncSession, school_urn: str, first_day: date, last_day: date
) -> dict[tuple[str, date, str], datetime]:
    """When each pupil's mark for each session from `first_day` to `last_day` was first recorded."""
    query = (
        select(marks.c.upn, marks.c.date, marks.c.session, func.min(marks.c.recorded_at).label("first"))
        .where(marks.c.school_urn == school_urn, marks.c.date >= first_day, marks.c.date <= last_day)
        .group_by(marks.c.upn, marks.c.date, marks.c.session)
    )
    return {(r.upn, r.date, r.session): r.first for r in await session.execute(query)}


async def first_marked(
    session: AsyncSession, registers: list[tuple[str, date, str]]
) -> dict[tuple[str, date, str], datetime]:
    """When each of these (school, date, session) registers got its first mark (registers with
    none are left out): one statement, one probe of the (school, date, session) index each."""
    if not registers:
        return {}
    statement = text(
        "SELECT r.urn, r.day, r.session, (SELECT min(m.recorded_at) FROM register.marks m"
        " WHERE m.school_urn = r.urn AND m.date = r.day AND m.session = r.session) AS first"
        " FROM unnest(:urns, :days, :sessions) AS r(urn, day, session)"
    ).bindparams(
        bindparam("urns", [urn for urn, _, _ in registers], type_=ARRAY(Text)),
        bindparam("days", [day for _, day, _ in registers], type_=ARRAY(Date)),
        bindparam("sessions", [name for _, _, name in registers], type_=ARRAY(Text)),
    )
    return {(r.urn, r.day, r.session): r.first for r in await session.execute(statement) if r.first is not None}
