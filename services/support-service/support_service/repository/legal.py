"""Attendance contracts, education supervision orders, Notices to Improve (with their daily
checks), penalty notices (with the sessions each relies on), LA settings and the marks of
pupils with an open case."""

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import Row, Table, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from support_service.models import (
    cases,
    la_settings,
    marks,
    notice_checks,
    notices_to_improve,
    penalty_notice_sessions,
    penalty_notices,
)


async def add(session: AsyncSession, table: Table, values: dict) -> Row:
    return (await session.execute(table.insert().values(**values).returning(table))).one()


async def of_case(session: AsyncSession, table: Table, case_id: uuid.UUID) -> list[Row]:
    query = select(table).where(table.c.case_id == case_id).order_by(table.c.created_at, table.c.id)
    return list((await session.execute(query)).all())


async def get(
    session: AsyncSession, table: Table, case_id: uuid.UUID, row_id: uuid.UUID, *, for_update: bool = False
) -> Row | None:
    query = select(table).where(table.c.case_id == case_id, table.c.id == row_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def change(session: AsyncSession, table: Table, row_id: uuid.UUID, values: dict) -> Row:
    return (await session.execute(update(table).where(table.c.id == row_id).values(**values).returning(table))).one()


async def la_bounds(session: AsyncSession, la_code: str) -> Row | None:
    return (await session.execute(select(la_settings).where(la_settings.c.la_code == la_code))).first()


async def save_la_bounds(session: AsyncSession, values: dict) -> Row:
    statement = insert(la_settings).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["la_code"], set_={k: statement.excluded[k] for k in values if k != "la_code"}
    )
    return (await session.execute(statement.returning(la_settings))).one()


async def running_notice(session: AsyncSession, case_id: uuid.UUID) -> Row | None:
    n = notices_to_improve
    return (await session.execute(select(n).where(n.c.case_id == case_id, n.c.status == "running"))).first()


async def notices_to_check(session: AsyncSession, today: date, *, limit: int) -> list[Row]:
    """Running notices not yet judged today, locked so that two pods judge each once."""
    n = notices_to_improve
    query = (
        select(n)
        .where(n.c.status == "running", (n.c.checked_on.is_(None)) | (n.c.checked_on < today))
        .order_by(n.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).all())


async def codes_between(session: AsyncSession, urn: str, upn: str, start: date, end: date) -> list[str]:
    query = select(marks.c.code).where(
        marks.c.school_urn == urn, marks.c.upn == upn, marks.c.date >= start, marks.c.date <= end
    )
    return list((await session.execute(query)).scalars())


async def save_check(session: AsyncSession, notice_id: uuid.UUID, checked_on: date, judgement: dict) -> None:
    statement = insert(notice_checks).values(notice_id=notice_id, checked_on=checked_on, judgement=judgement)
    statement = statement.on_conflict_do_update(
        index_elements=["notice_id", "checked_on"], set_={"judgement": statement.excluded.judgement}
    )
    await session.execute(statement)


async def checks_of(session: AsyncSession, notice_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    found: dict[uuid.UUID, list[Row]] = {i: [] for i in notice_ids}
    if notice_ids:
        query = select(notice_checks).where(notice_checks.c.notice_id.in_(list(notice_ids)))
        for row in (await session.execute(query.order_by(notice_checks.c.checked_on))).all():
            found[row.notice_id].append(row)
    return found


async def earlier_notices(session: AsyncSession, urn: str, upn: str, parent_key: str) -> list[Row]:
    p = penalty_notices
    query = select(p).where(p.c.school_urn == urn, p.c.upn == upn, p.c.parent_key == parent_key)
    return list((await session.execute(query)).all())


async def grounds_in_use(session: AsyncSession, urn: str, upn: str, parent_key: str) -> set[tuple[date, str]]:
    s = penalty_notice_sessions
    query = select(s.c.date, s.c.session).where(
        s.c.school_urn == urn, s.c.upn == upn, s.c.parent_key == parent_key, ~s.c.withdrawn
    )
    return {(r.date, r.session) for r in (await session.execute(query)).all()}


async def add_grounds(session: AsyncSession, rows: Sequence[dict]) -> None:
    await session.execute(penalty_notice_sessions.insert(), list(rows))


async def withdraw_grounds(session: AsyncSession, notice_id: uuid.UUID) -> None:
    s = penalty_notice_sessions
    await session.execute(update(s).where(s.c.notice_id == notice_id).values(withdrawn=True))


async def grounds_of(session: AsyncSession, notice_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    found: dict[uuid.UUID, list[Row]] = {i: [] for i in notice_ids}
    if notice_ids:
        s = penalty_notice_sessions
        query = select(s).where(s.c.notice_id.in_(list(notice_ids))).order_by(s.c.date, s.c.session)
        for row in (await session.execute(query)).all():
            found[row.notice_id].append(row)
    return found


async def save_marks(session: AsyncSession, rows: Sequence[dict]) -> None:
    """Keep the marks of pupils who have an open case, each session at its highest revision:
    the rest of the country's marks are read and let go (analytics holds them all)."""
    if not rows:
        return
    keys = list({(r["school_urn"], r["upn"]) for r in rows})
    open_cases = select(cases.c.school_urn, cases.c.upn).where(
        cases.c.status == "open", cases.c.school_urn.in_(sorted({k[0] for k in keys}))
    )
    watched = {(r.school_urn, r.upn) for r in (await session.execute(open_cases)).all()}
    await upsert_marks(session, [r for r in rows if (r["school_urn"], r["upn"]) in watched])


async def upsert_marks(session: AsyncSession, rows: Sequence[dict]) -> None:
    """Each session at its highest revision: an older revision arriving late changes nothing."""
    if rows:
        statement = insert(marks)
        statement = statement.on_conflict_do_update(
            index_elements=["school_urn", "upn", "date", "session"],
            set_={"code": statement.excluded.code, "revision": statement.excluded.revision},
            where=marks.c.revision < statement.excluded.revision,
        )
        await session.execute(statement, list(rows))


async def cases_to_load(session: AsyncSession, *, limit: int) -> list[Row]:
    """Open cases whose pupil's marks of the year have not been read from the register yet."""
    query = (
        select(cases)
        .where(cases.c.status == "open", cases.c.marks_loaded_at.is_(None))
        .order_by(cases.c.opened_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).all())


async def marks_loaded(session: AsyncSession, case_id: uuid.UUID) -> None:
    await session.execute(update(cases).where(cases.c.id == case_id).values(marks_loaded_at=func.now()))


async def case_marks_loaded(session: AsyncSession, case_id: uuid.UUID) -> bool:
    """A notice is judged only once its pupil's marks of the year are in."""
    return bool(await session.scalar(select(cases.c.marks_loaded_at.is_not(None)).where(cases.c.id == case_id)))
