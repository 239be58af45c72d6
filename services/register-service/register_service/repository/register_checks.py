from datetime import date, time

from sqlalchemy import ARRAY, Row, Text, bindparam, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from register_service.models import register_checks


async def unchecked_closed_by(session: AsyncSession, day: date, cutoff: time, *, limit: int) -> list[Row]:
    """(school, session, closing time) of up to `limit` schools' registers of `day` that closed
    by `cutoff` and have not been checked yet."""
    statement = text(
        "SELECT s.urn, s.la_code, v.session, v.closes FROM register.schools s"
        " CROSS JOIN LATERAL (VALUES ('am', s.am_register_closes), ('pm', s.pm_register_closes)) AS v(session, closes)"
        " WHERE v.closes <= :cutoff AND NOT EXISTS (SELECT 1 FROM register.register_checks c"
        " WHERE c.school_urn = s.urn AND c.date = :day AND c.session = v.session)"
        " ORDER BY s.urn, v.session LIMIT :limit"
    ).bindparams(day=day, cutoff=cutoff, limit=limit)
    return list((await session.execute(statement)).all())


async def taken(session: AsyncSession, day: date, registers: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (school, session) registers of `day` have any mark: one index probe each."""
    if not registers:
        return set()
    statement = text(
        "SELECT r.urn, r.session FROM unnest(:urns, :sessions) AS r(urn, session)"
        " WHERE EXISTS (SELECT 1 FROM register.marks m WHERE m.school_urn = r.urn AND m.date = :day"
        " AND m.session = r.session)"
    ).bindparams(
        bindparam("urns", [u for u, _ in registers], type_=ARRAY(Text)),
        bindparam("sessions", [s for _, s in registers], type_=ARRAY(Text)),
        day=day,
    )
    return {(row.urn, row.session) for row in await session.execute(statement)}


async def record(session: AsyncSession, rows: list[dict]) -> set[tuple[str, str]]:
    """Store the checks; the (school, session) pairs this call stored first (another pod may
    have checked the same register a moment before)."""
    if not rows:
        return set()
    statement = (
        insert(register_checks)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(register_checks.c.school_urn, register_checks.c.session)
    )
    return {(r.school_urn, r.session) for r in await session.execute(statement)}


async def forget_before(session: AsyncSession, day: date) -> int:
    result = await session.execute(register_checks.delete().where(register_checks.c.date < day))
    return result.rowcount or 0


async def classes_unmarked(session: AsyncSession, day: date, registers: list[tuple[str, str]]) -> list[Row]:
    """For registers of `day` that were taken: each registration group of pupils on roll that
    day none of whom has a mark for the session (school_urn, session, registration_group,
    pupils). One probe of the marks index per pupil of those schools."""
    if not registers:
        return []
    statement = text(
        "SELECT p.school_urn, r.session, p.registration_group, count(*) AS pupils"
        " FROM unnest(:urns, :sessions) AS r(urn, session)"
        " JOIN register.pupils p ON p.school_urn = r.urn"
        " WHERE p.registration_group IS NOT NULL AND p.admission_date <= :day"
        " AND (p.left_on IS NULL OR p.left_on >= :day)"
        " GROUP BY p.school_urn, r.session, p.registration_group"
        " HAVING bool_and(NOT EXISTS (SELECT 1 FROM register.marks m WHERE m.school_urn = p.school_urn"
        " AND m.date = :day AND m.session = r.session AND m.upn = p.upn))"
        " ORDER BY 1, 2, 3"
    ).bindparams(
        bindparam("urns", [u for u, _ in registers], type_=ARRAY(Text)),
        bindparam("sessions", [s for _, s in registers], type_=ARRAY(Text)),
        day=day,
    )
    return list((await session.execute(statement)).all())
