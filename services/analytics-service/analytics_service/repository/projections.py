"""Every SQL statement of the analytics projections."""

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Row, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.domain.session_changes import PupilYear, SessionKey, StoredSession
from analytics_service.models import pupil_year_totals, risk_flags, session_marks
from attendance_shared.db import chunked
from attendance_shared.events import SessionMarkedV1
from attendance_shared.rules.codes import category_of
from attendance_shared.rules.figures import AttendanceFigures

FIGURE_COLUMNS = ("possible", "present", "approved_educational_activity", "authorised", "unauthorised")


async def stored_sessions(session: AsyncSession, keys: Sequence[SessionKey]) -> dict[SessionKey, StoredSession]:
    if not keys:
        return {}
    t = session_marks
    found = {}
    for part in chunked(list(keys), 4):
        rows = await session.execute(
            select(t.c.school_urn, t.c.upn, t.c.date, t.c.session, t.c.code, t.c.revision).where(
                tuple_(t.c.school_urn, t.c.upn, t.c.date, t.c.session).in_(list(part))
            )
        )
        found.update({(r.school_urn, r.upn, r.date, r.session): StoredSession(r.code, r.revision) for r in rows})
    return found


# Batch writes are one statement compiled once and sent with many parameter sets (SQLAlchemy
# batches them into multi-row statements under the driver's limits). Building a VALUES list
# of thousands of rows instead compiled 90,000 bind parameters per batch: most of the time
# analytics spent per mark.


async def save_sessions(session: AsyncSession, marks: Sequence[SessionMarkedV1]) -> None:
    if not marks:
        return
    statement = insert(session_marks)
    statement = statement.on_conflict_do_update(
        index_elements=["school_urn", "upn", "date", "session"],
        set_={
            "code": statement.excluded.code,
            "category": statement.excluded.category,
            "revision": statement.excluded.revision,
        },
        where=session_marks.c.revision < statement.excluded.revision,
    )
    rows = [
        {
            "school_urn": m.school_urn,
            "upn": m.upn,
            "date": m.date,
            "session": m.session,
            "code": m.code,
            "category": category_of(m.code).value,
            "revision": m.revision,
        }
        for m in marks
    ]
    await session.execute(statement, rows)


async def add_to_totals(
    session: AsyncSession,
    deltas: dict[PupilYear, AttendanceFigures],
    la_codes: dict[tuple[str, str], str],
    last_dates: dict[PupilYear, date],
) -> dict[PupilYear, AttendanceFigures]:
    """Add signed deltas to each pupil's year totals; return the totals after the change."""
    if not deltas:
        return {}
    t = pupil_year_totals
    statement = insert(t)
    statement = statement.on_conflict_do_update(
        index_elements=["school_urn", "upn", "academic_year"],
        set_={
            **{c: t.c[c] + statement.excluded[c] for c in FIGURE_COLUMNS},
            "la_code": statement.excluded.la_code,
            "last_mark_date": func.greatest(t.c.last_mark_date, statement.excluded.last_mark_date),
        },
    ).returning(t)
    rows = [
        {
            "school_urn": urn,
            "upn": upn,
            "academic_year": year,
            "la_code": la_codes[(urn, upn)],
            "last_mark_date": last_dates[(urn, upn, year)],
            **{c: getattr(figures, c) for c in FIGURE_COLUMNS},
        }
        for (urn, upn, year), figures in deltas.items()
    ]
    return {
        (r.school_urn, r.upn, r.academic_year): AttendanceFigures(*(getattr(r, c) for c in FIGURE_COLUMNS))
        for r in await session.execute(statement, rows)
    }


async def active_flags(session: AsyncSession, pupil_years: Sequence[PupilYear]) -> set[tuple[str, str, int, str]]:
    t = risk_flags
    found: set[tuple[str, str, int, str]] = set()
    for part in chunked(list(pupil_years), 3):
        rows = await session.execute(
            select(t.c.school_urn, t.c.upn, t.c.academic_year, t.c.flag).where(
                t.c.active, tuple_(t.c.school_urn, t.c.upn, t.c.academic_year).in_(list(part))
            )
        )
        found |= {tuple(r) for r in rows}  # type: ignore[misc]
    return found


async def set_flags(session: AsyncSession, rows: list[dict]) -> None:
    if not rows:
        return
    statement = insert(risk_flags)
    statement = statement.on_conflict_do_update(
        index_elements=["school_urn", "upn", "academic_year", "flag"],
        set_={
            c: statement.excluded[c] for c in ("active", "possible_sessions", "absent_sessions", "overall_absence_rate")
        }
        | {"changed_at": func.now()},
    )
    await session.execute(statement, rows)


async def category_counts(
    session: AsyncSession, school_urn: str, start: date, end: date, upns: Sequence[str] | None = None
) -> dict[str, dict[str, int]]:
    """Sessions per category for each pupil of a school between two dates inclusive."""
    t = session_marks
    query = (
        select(t.c.upn, t.c.category, func.count())
        .where(t.c.school_urn == school_urn, t.c.date >= start, t.c.date <= end)
        .group_by(t.c.upn, t.c.category)
    )
    if upns is not None:
        query = query.where(t.c.upn.in_(upns))
    counts: dict[str, dict[str, int]] = {}
    for upn, category, n in await session.execute(query):
        counts.setdefault(upn, {})[category] = n
    return counts


async def school_la_code(session: AsyncSession, school_urn: str) -> str | None:
    t = pupil_year_totals
    return await session.scalar(select(t.c.la_code).where(t.c.school_urn == school_urn).limit(1))


async def flags_page(
    session: AsyncSession, school_urn: str, *, flag: str | None, after_upn: str | None, limit: int
) -> list[Row]:
    t = risk_flags
    query = select(t).where(t.c.school_urn == school_urn, t.c.active).order_by(t.c.upn, t.c.flag).limit(limit)
    if flag:
        query = query.where(t.c.flag == flag)
    if after_upn:
        query = query.where(t.c.upn > after_upn)
    return list((await session.execute(query)).all())


async def pupil_flags(session: AsyncSession, school_urn: str, upn: str) -> list[str]:
    t = risk_flags
    return list(
        (
            await session.execute(
                select(t.c.flag).where(t.c.school_urn == school_urn, t.c.upn == upn, t.c.active).order_by(t.c.flag)
            )
        ).scalars()
    )


async def pupils_page(
    session: AsyncSession, school_urn: str, start: date, end: date, *, after_upn: str | None, limit: int
) -> list[str]:
    """UPNs, in order, of the pupils with a mark at the school between two dates inclusive."""
    t = session_marks
    query = (
        select(t.c.upn)
        .where(t.c.school_urn == school_urn, t.c.date >= start, t.c.date <= end)
        .group_by(t.c.upn)
        .order_by(t.c.upn)
        .limit(limit)
    )
    if after_upn:
        query = query.where(t.c.upn > after_upn)
    return list((await session.execute(query)).scalars())
