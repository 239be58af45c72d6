import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy import ARRAY, Date, Row, Text, bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from register_service.domain.planned_marks import Planned
from register_service.models import planned_marks

p = planned_marks
STANDING = p.c.withdrawn_at.is_(None)


def _planned(row: Row) -> Planned:
    return Planned(row.upn, row.code, row.leave_request_id, row.timetable_id)


async def standing_for_register(session: AsyncSession, urn: str, day: date, session_name: str) -> dict[str, Planned]:
    """The session's standing planned marks, by pupil: one probe of the partial unique index."""
    query = select(p.c.upn, p.c.code, p.c.leave_request_id, p.c.timetable_id).where(
        p.c.school_urn == urn, p.c.date == day, p.c.session == session_name, STANDING
    )
    return {row.upn: _planned(row) for row in await session.execute(query)}


async def of_register(session: AsyncSession, urn: str, day: date, session_name: str) -> list[Row]:
    query = (
        select(p).where(p.c.school_urn == urn, p.c.date == day, p.c.session == session_name, STANDING).order_by(p.c.upn)
    )
    return list((await session.execute(query)).all())


async def standing_for_pupil(
    session: AsyncSession, urn: str, upn: str, sessions: Iterable[tuple[date, str]]
) -> dict[tuple[date, str], Planned]:
    """The pupil's standing planned marks among these sessions."""
    wanted = list(sessions)
    if not wanted:
        return {}
    statement = text(
        "SELECT pm.date, pm.session, pm.upn, pm.code, pm.leave_request_id, pm.timetable_id"
        " FROM unnest(:days, :sessions) AS s(day, session)"
        " JOIN register.planned_marks pm ON pm.school_urn = :urn AND pm.date = s.day AND pm.session = s.session"
        " AND pm.upn = :upn AND pm.withdrawn_at IS NULL"
    ).bindparams(
        bindparam("urn", urn),
        bindparam("upn", upn),
        bindparam("days", [d for d, _ in wanted], type_=ARRAY(Date)),
        bindparam("sessions", [s for _, s in wanted], type_=ARRAY(Text)),
    )
    return {(row.date, row.session): _planned(row) for row in await session.execute(statement)}


async def add(
    session: AsyncSession,
    urn: str,
    upn: str,
    sessions: Iterable[tuple[date, str]],
    code: str,
    *,
    planned_by: str,
    leave_request_id: uuid.UUID | None = None,
    timetable_id: uuid.UUID | None = None,
) -> int:
    rows = [
        {
            "school_urn": urn,
            "upn": upn,
            "date": day,
            "session": name,
            "code": code,
            "leave_request_id": leave_request_id,
            "timetable_id": timetable_id,
            "planned_by": planned_by,
        }
        for day, name in sessions
    ]
    if rows:
        await session.execute(planned_marks.insert(), rows)
    return len(rows)


async def withdraw(
    session: AsyncSession,
    *,
    leave_request_id: uuid.UUID | None = None,
    timetable_id: uuid.UUID | None = None,
    sessions: Iterable[tuple[date, str]] | None = None,
    after: date | None = None,
) -> list[tuple[date, str]]:
    """Withdraw a plan's standing marks (only those sessions, or only after a day, if given)."""
    source = p.c.leave_request_id == leave_request_id if leave_request_id else p.c.timetable_id == timetable_id
    statement = update(p).where(source, STANDING).values(withdrawn_at=func.now()).returning(p.c.date, p.c.session)
    if after is not None:
        statement = statement.where(p.c.date > after)
    if sessions is not None:
        keys = [f"{d.isoformat()}/{s}" for d, s in sessions]
        if not keys:
            return []
        key = func.concat(func.to_char(p.c.date, "YYYY-MM-DD"), "/", p.c.session)
        statement = statement.where(key.in_(keys))
    return [(row.date, row.session) for row in await session.execute(statement)]


async def withdraw_after(session: AsyncSession, urn: str, upn: str, after: date) -> int:
    """A pupil deleted from the register: their plans for sessions after they left go."""
    result = await session.execute(
        update(p)
        .where(p.c.school_urn == urn, p.c.upn == upn, p.c.date > after, STANDING)
        .values(withdrawn_at=func.now())
    )
    return result.rowcount or 0


async def standing_counts_by_timetable(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not ids:
        return {}
    query = select(p.c.timetable_id, func.count()).where(p.c.timetable_id.in_(ids), STANDING).group_by(p.c.timetable_id)
    return {row[0]: row[1] for row in await session.execute(query)}
