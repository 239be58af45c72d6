"""What support-service keeps of other services' data: schools, calendars, pupils and the
pupils' risk flags, each as the latest event gave it."""

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Row, bindparam, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.calendar_projection import upsert_calendars
from attendance_shared.rules.calendar import CalendarYears, calendar_from_values
from attendance_shared.rules.figures import academic_year_start
from support_service.models import pupils, risk_flags, school_calendars, schools


async def school_la_code(session: AsyncSession, urn: str) -> str | None:
    return await session.scalar(select(schools.c.la_code).where(schools.c.urn == urn))


async def upsert_schools(session: AsyncSession, rows: Sequence[dict]) -> None:
    if rows:
        statement = insert(schools)
        statement = statement.on_conflict_do_update(
            index_elements=["urn"], set_={"la_code": statement.excluded.la_code, "name": statement.excluded.name}
        )
        await session.execute(statement, list(rows))


async def save_calendars(session: AsyncSession, rows: Sequence[dict]) -> None:
    await upsert_calendars(session, school_calendars, rows)


async def calendar_of(session: AsyncSession, urn: str) -> CalendarYears | None:
    """Every year's calendar the school has published, or None when it has none yet."""
    rows = (await session.execute(select(school_calendars).where(school_calendars.c.school_urn == urn))).all()
    if not rows:
        return None
    years = {r.academic_year: calendar_from_values(r.academic_year, r.terms, r.closures) for r in rows}
    return CalendarYears(years, academic_year_start(min(years)))


async def upsert_pupils(session: AsyncSession, rows: Sequence[dict], *, admitted: bool) -> None:
    """An admission starts the enrolment afresh (on roll); an update changes the record and
    keeps any deletion."""
    if not rows:
        return
    statement = insert(pupils)
    kept = {"school_urn", "upn"} if admitted else {"school_urn", "upn", "left_on"}
    statement = statement.on_conflict_do_update(
        index_elements=["school_urn", "upn"], set_={c: statement.excluded[c] for c in rows[0] if c not in kept}
    )
    await session.execute(statement, list(rows))


async def record_deletions(session: AsyncSession, rows: Sequence[dict]) -> None:
    """A deletion ends the enrolment it falls in; one older than a later readmission is spent."""
    if rows:
        statement = (
            pupils.update()
            .where(
                pupils.c.school_urn == bindparam("key_urn"),
                pupils.c.upn == bindparam("key_upn"),
                pupils.c.admission_date <= bindparam("new_left_on"),
            )
            .values(left_on=bindparam("new_left_on"))
        )
        await session.execute(
            statement, [{"key_urn": r["school_urn"], "key_upn": r["upn"], "new_left_on": r["left_on"]} for r in rows]
        )


async def pupil(session: AsyncSession, urn: str, upn: str) -> Row | None:
    return (await session.execute(select(pupils).where(pupils.c.school_urn == urn, pupils.c.upn == upn))).first()


async def pupils_of(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Row]:
    if not keys:
        return {}
    query = select(pupils).where(tuple_(pupils.c.school_urn, pupils.c.upn).in_(list(set(keys))))
    return {(r.school_urn, r.upn): r for r in (await session.execute(query)).all()}


def on_roll(row: Row | None, today: date) -> bool:
    return row is not None and row.admission_date <= today and (row.left_on is None or row.left_on >= today)


async def save_flags(session: AsyncSession, rows: Sequence[dict]) -> None:
    """Each flag's state as of its latest change: an older change arriving late changes nothing."""
    if rows:
        statement = insert(risk_flags)
        statement = statement.on_conflict_do_update(
            index_elements=["school_urn", "upn", "flag"],
            set_={c: statement.excluded[c] for c in rows[0] if c not in ("school_urn", "upn", "flag")},
            where=risk_flags.c.changed_at <= statement.excluded.changed_at,
        )
        await session.execute(statement, list(rows))


async def active_flags_of(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    if not keys:
        return {}
    query = (
        select(risk_flags.c.school_urn, risk_flags.c.upn, risk_flags.c.flag)
        .where(tuple_(risk_flags.c.school_urn, risk_flags.c.upn).in_(list(set(keys))), risk_flags.c.active)
        .order_by(risk_flags.c.flag)
    )
    found: dict[tuple[str, str], list[str]] = {}
    for row in (await session.execute(query)).all():
        found.setdefault((row.school_urn, row.upn), []).append(row.flag)
    return found
