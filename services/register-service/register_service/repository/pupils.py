from datetime import date

import orjson
from sqlalchemy import ARRAY, Row, Table, Text, any_, bindparam, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.db import copy_rows
from register_service.models import enrolments, pupil_versions, pupils


async def enter_pupils(session: AsyncSession, rows: list[dict]) -> None:
    """Insert pupils, every row with the same keys, in one COPY: a school's whole roll is one
    round trip and no SQL grows with it. A pupil already on their school's register makes
    the database refuse the lot (a unique violation)."""
    await _copy(session, pupils, rows)


async def enter_enrolments(session: AsyncSession, rows: list[dict]) -> None:
    """Each admission's enrolment: (school_urn, upn, admission_date, admitted_by)."""
    await _copy(session, enrolments, rows)


async def already_admitted(session: AsyncSession, school_urn: str, upns: list[str]) -> dict[str, Row]:
    """Those of `upns` on this school's admission register, on roll or not, with the dates
    of their latest enrolment (`admission_date`, `left_on`)."""
    wanted = bindparam("upns", upns, type_=ARRAY(Text))
    query = (
        select(pupils.c.upn, pupils.c.admission_date, pupils.c.left_on)
        .where(pupils.c.school_urn == school_urn, pupils.c.upn == any_(wanted))
        .with_for_update()  # two re-admissions of one pupil at once: the second waits, then sees the first
    )
    return {row.upn: row for row in await session.execute(query)}


async def readmit(session: AsyncSession, school_urn: str, upn: str, values: dict) -> None:
    """A pupil who left comes back: the row holds the new enrolment's record and dates, and no
    deletion (the last one stays with its enrolment)."""
    cleared = dict.fromkeys(("left_on", "deletion_ground", "ground_met_on", "destination", "deleted_by", "deleted_at"))
    await session.execute(
        update(pupils)
        .where(pupils.c.school_urn == school_urn, pupils.c.upn == upn)
        .values(**values, **cleared, updated_at=func.now())
    )


async def update_pupil(session: AsyncSession, school_urn: str, upn: str, values: dict) -> None:
    await session.execute(
        update(pupils)
        .where(pupils.c.school_urn == school_urn, pupils.c.upn == upn)
        .values(**values, updated_at=func.now())
    )


async def record_deletion(
    session: AsyncSession,
    school_urn: str,
    upn: str,
    *,
    admission_date: date,
    left_on: date,
    ground_met_on: date,
    ground: str,
    destination: dict | None,
    deleted_by: str,
) -> None:
    deletion = {
        "left_on": left_on,
        "ground_met_on": ground_met_on,
        "deletion_ground": ground,
        "destination": destination,
        "deleted_by": deleted_by,
        "deleted_at": func.now(),
    }
    # The pupil's row (their latest enrolment's dates) and the enrolment it ends.
    await session.execute(
        update(pupils)
        .where(pupils.c.school_urn == school_urn, pupils.c.upn == upn)
        .values(**deletion, updated_at=func.now())
    )
    await session.execute(
        update(enrolments)
        .where(
            enrolments.c.school_urn == school_urn,
            enrolments.c.upn == upn,
            enrolments.c.admission_date == admission_date,
        )
        .values(**deletion)
    )


async def add_version(
    session: AsyncSession, school_urn: str, upn: str, *, effective_from: date, record: dict, recorded_by: str
) -> None:
    await add_versions(
        session,
        [{"school_urn": school_urn, "upn": upn, "effective_from": effective_from, "record": record}],
        recorded_by=recorded_by,
    )


async def add_versions(session: AsyncSession, versions: list[dict], *, recorded_by: str) -> None:
    """Versions given as school_urn, upn, effective_from and record, all by one recorder."""
    await _copy(session, pupil_versions, [{**v, "recorded_by": recorded_by} for v in versions])


async def _copy(session: AsyncSession, table: Table, rows: list[dict]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    # COPY bypasses SQLAlchemy's type processing: JSONB goes as JSON text.
    as_json = [isinstance(table.c[c].type, JSONB) for c in columns]
    records = [
        tuple(
            None if value is None else orjson.dumps(value).decode() if json else value
            for value, json in zip((row[c] for c in columns), as_json, strict=True)
        )
        for row in rows
    ]
    await copy_rows(session, table, columns, records)


async def version_on(session: AsyncSession, school_urn: str, upn: str, day: date) -> Row | None:
    """The version in effect on `day`: the latest to take effect by then, the last recorded
    winning when two take effect the same day."""
    v = pupil_versions
    query = (
        select(v.c.record)
        .where(v.c.school_urn == school_urn, v.c.upn == upn, v.c.effective_from <= day)
        .order_by(v.c.effective_from.desc(), v.c.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).first()


async def versions(session: AsyncSession, school_urn: str, upn: str) -> list[Row]:
    v = pupil_versions
    query = (
        select(v.c.effective_from, v.c.recorded_by, v.c.recorded_at, v.c.record)
        .where(v.c.school_urn == school_urn, v.c.upn == upn)
        .order_by(v.c.id)
    )
    return list((await session.execute(query)).all())


async def get(session: AsyncSession, school_urn: str, upn: str) -> Row | None:
    return (await session.execute(select(pupils).where(pupils.c.school_urn == school_urn, pupils.c.upn == upn))).first()


def _on_roll(day: date):
    """On roll on `day` in the latest enrolment."""
    return (pupils.c.admission_date <= day) & or_(pupils.c.left_on.is_(None), pupils.c.left_on >= day)


def _enrolled_on(day: date):
    """On roll on `day` in any enrolment."""
    e = enrolments
    return exists().where(
        e.c.school_urn == pupils.c.school_urn,
        e.c.upn == pupils.c.upn,
        e.c.admission_date <= day,
        or_(e.c.left_on.is_(None), e.c.left_on >= day),
    )


async def enrolments_of(session: AsyncSession, school_urn: str, upn: str) -> list[Row]:
    query = (
        select(enrolments)
        .where(enrolments.c.school_urn == school_urn, enrolments.c.upn == upn)
        .order_by(enrolments.c.admission_date)
    )
    return list(await session.execute(query))


async def page(
    session: AsyncSession, school_urn: str, *, on_roll_on: date | None, after_upn: str | None, limit: int
) -> list[Row]:
    query = select(pupils).where(pupils.c.school_urn == school_urn).order_by(pupils.c.upn).limit(limit)
    if on_roll_on is not None:
        query = query.where(_enrolled_on(on_roll_on))
    if after_upn:
        query = query.where(pupils.c.upn > after_upn)
    return list((await session.execute(query)).all())


async def on_roll(session: AsyncSession, school_urn: str, day: date, upns: list[str]) -> set[str]:
    # One array parameter rather than an IN list: a 2,000-pupil register would otherwise
    # compile 2,000 bind parameters.
    wanted = bindparam("upns", upns, type_=ARRAY(Text))
    query = select(pupils.c.upn).where(pupils.c.school_urn == school_urn, pupils.c.upn == any_(wanted), _on_roll(day))
    found = set((await session.execute(query)).scalars())
    if len(found) < len(set(upns)):
        # Only then an earlier enrolment may hold the day: a pupil who left and came back,
        # marked (or amended) for a day of their first stay. Rare, so the usual register
        # reads one table.
        rest = bindparam("rest", sorted(set(upns) - found), type_=ARRAY(Text))
        earlier = select(pupils.c.upn).where(
            pupils.c.school_urn == school_urn, pupils.c.upn == any_(rest), _enrolled_on(day)
        )
        found |= set((await session.execute(earlier)).scalars())
    return found


async def memberships(session: AsyncSession, school_urn: str, first_day: date, last_day: date) -> list[Row]:
    """Every stay overlapping the days, with each version's registration group of its pupil:
    (upn, admission_date, left_on, effective_from, registration_group), oldest first."""
    e, v = enrolments, pupil_versions
    query = (
        select(
            e.c.upn,
            e.c.admission_date,
            e.c.left_on,
            v.c.effective_from,
            v.c.record["registration_group"].astext.label("registration_group"),
        )
        .join(v, (v.c.school_urn == e.c.school_urn) & (v.c.upn == e.c.upn))
        .where(
            e.c.school_urn == school_urn,
            e.c.admission_date <= last_day,
            (e.c.left_on.is_(None)) | (e.c.left_on >= first_day),
        )
        .order_by(e.c.upn, e.c.admission_date, v.c.effective_from, v.c.id)
    )
    return list((await session.execute(query)).all())
