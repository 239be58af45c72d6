"""Every SQL statement of the analytics projections."""

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import Row, and_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Integer, Text

from analytics_service.domain.flags import TimetableState
from analytics_service.models import (
    PROJECTIONS,
    enrolments,
    part_time_timetables,
    pupil_versions,
    pupil_years,
    risk_flags,
    school_calendars,
    schools,
)
from attendance_shared import calendar_projection
from attendance_shared.db import driver_connection, upsert_latest_versions
from attendance_shared.erasure import remove_from

PupilYearKey = tuple[str, str, int]  # school URN, UPN, academic year
PupilKey = tuple[str, str]
Enrolments = list[tuple[date, date | None]]
# The first key of every advisory lock analytics takes, so they never meet another service's.
ANALYTICS_LOCK_SPACE = 7201


# --- schools and calendars -----------------------------------------------------------------


async def upsert_schools(session: AsyncSession, rows: list[dict]) -> None:
    if rows:
        statement = insert(schools)
        statement = statement.on_conflict_do_update(
            index_elements=["urn"], set_={c: statement.excluded[c] for c in rows[0] if c != "urn"}
        )
        await session.execute(statement, rows)


async def upsert_calendars(session: AsyncSession, rows: list[dict]) -> None:
    await calendar_projection.upsert_calendars(session, school_calendars, rows)


async def calendars(session: AsyncSession, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Row]:
    keys = list(set(keys))
    if not keys:
        return {}
    t = school_calendars
    query = select(t).where(
        text("(school_urn, academic_year) IN (SELECT * FROM unnest(:urns, :years))").bindparams(
            bindparam("urns", [k[0] for k in keys], type_=ARRAY(Text)),
            bindparam("years", [k[1] for k in keys], type_=ARRAY(Integer)),
        )
    )
    return {(r.school_urn, r.academic_year): r for r in await session.execute(query)}


async def school_rows(session: AsyncSession, urns: Iterable[str]) -> dict[str, Row]:
    urns = list(set(urns))
    if not urns:
        return {}
    return {r.urn: r for r in await session.execute(select(schools).where(schools.c.urn.in_(urns)))}


async def school_la_code(session: AsyncSession, school_urn: str) -> str | None:
    found = await session.scalar(select(schools.c.la_code).where(schools.c.urn == school_urn))
    if found is None:
        t = pupil_years
        found = await session.scalar(select(t.c.la_code).where(t.c.school_urn == school_urn).limit(1))
    return found


async def school_trust_id(session: AsyncSession, school_urn: str) -> str | None:
    return await session.scalar(select(schools.c.trust_id).where(schools.c.urn == school_urn))


async def schools_of_trust(session: AsyncSession, trust_id: str) -> list[Row]:
    query = select(schools.c.urn, schools.c.name, schools.c.trust_name).where(schools.c.trust_id == trust_id)
    return list((await session.execute(query.order_by(schools.c.urn))).all())


async def schools_of_la(session: AsyncSession, la_code: str) -> list[Row]:
    known = select(schools.c.urn, schools.c.name).where(schools.c.la_code == la_code)
    from_marks = (
        select(pupil_years.c.school_urn.label("urn"), func.cast(None, Text).label("name"))
        .where(pupil_years.c.la_code == la_code)
        .distinct()
    )
    rows: dict[str, Row] = {r.urn: r for r in await session.execute(from_marks)}
    rows.update({r.urn: r for r in await session.execute(known)})
    return [rows[urn] for urn in sorted(rows)]


# --- pupils ------------------------------------------------------------------------------


async def upsert_versions(session: AsyncSession, rows: list[dict]) -> None:
    if rows:
        statement = insert(pupil_versions)
        keys = ("school_urn", "upn", "effective_from")
        statement = statement.on_conflict_do_update(
            index_elements=list(keys), set_={c: statement.excluded[c] for c in rows[0] if c not in keys}
        )
        await session.execute(statement, rows)


async def admit(session: AsyncSession, rows: list[dict]) -> None:
    if rows:
        await session.execute(insert(enrolments).on_conflict_do_nothing(), rows)


async def record_leaving(session: AsyncSession, rows: list[dict]) -> None:
    """Close the enrolment that had begun by the leaving date. A deletion that overtook its
    admission opens and closes one, so the admission, when it comes, changes nothing."""
    for row in rows:
        t = enrolments
        open_one = await session.scalar(
            select(func.max(t.c.admitted_on)).where(
                t.c.school_urn == row["school_urn"], t.c.upn == row["upn"], t.c.admitted_on <= row["left_on"]
            )
        )
        if open_one is None:
            await session.execute(
                insert(t).on_conflict_do_nothing(), [{**row, "admitted_on": row.get("admitted_on") or date.min}]
            )
            continue
        await session.execute(
            t.update()
            .where(t.c.school_urn == row["school_urn"], t.c.upn == row["upn"], t.c.admitted_on == open_one)
            .values(left_on=row["left_on"])
        )


def _pupil_filter(table, keys: Sequence[PupilKey]):
    return text(f"({table.name}.school_urn, {table.name}.upn) IN (SELECT * FROM unnest(:k_urns, :k_upns))").bindparams(
        bindparam("k_urns", [k[0] for k in keys], type_=ARRAY(Text)),
        bindparam("k_upns", [k[1] for k in keys], type_=ARRAY(Text)),
    )


async def enrolments_of(
    session: AsyncSession, keys: Sequence[PupilKey]
) -> dict[PupilKey, list[tuple[date, date | None]]]:
    if not keys:
        return {}
    t = enrolments
    query = select(t.c.school_urn, t.c.upn, t.c.admitted_on, t.c.left_on).where(_pupil_filter(t, keys))
    found: dict[PupilKey, Enrolments] = {}
    for r in await session.execute(query.order_by(t.c.admitted_on)):
        found.setdefault((r.school_urn, r.upn), []).append((r.admitted_on, r.left_on))
    return found


async def school_enrolments(session: AsyncSession, urn: str) -> dict[str, Enrolments]:
    """Enrolments of the pupils who have left at some time (see `enrolment_mask`): a pupil
    admitted once and still on roll needs no mask, so is not fetched."""
    t = enrolments
    partial = select(t.c.upn).where(t.c.school_urn == urn, t.c.left_on.is_not(None))
    query = select(t).where(t.c.school_urn == urn, t.c.upn.in_(partial)).order_by(t.c.admitted_on)
    found: dict[str, Enrolments] = {}
    for r in await session.execute(query):
        found.setdefault(r.upn, []).append((r.admitted_on, r.left_on))
    return found


async def school_versions(session: AsyncSession, urn: str, upns: Sequence[str] | None = None) -> dict[str, list[Row]]:
    t = pupil_versions
    query = select(t).where(t.c.school_urn == urn).order_by(t.c.upn, t.c.effective_from)
    if upns is not None:
        query = query.where(t.c.upn.in_(list(upns)))
    found: dict[str, list[Row]] = {}
    for r in await session.execute(query):
        found.setdefault(r.upn, []).append(r)
    return found


async def pupil_year_keys_from(session: AsyncSession, first_years: dict[PupilKey, int]) -> list[PupilYearKey]:
    """Each pupil's stored years from the academic year named for them on: the years a change
    to the pupil dated in that year can alter."""
    if not first_years:
        return []
    t = pupil_years
    keys = sorted(first_years)
    from_first_year = text(
        f"EXISTS (SELECT 1 FROM unnest(:f_urns, :f_upns, :f_years) AS k(urn, upn, first_year) WHERE "
        f"k.urn = {t.name}.school_urn AND k.upn = {t.name}.upn AND {t.name}.academic_year >= k.first_year)"
    ).bindparams(
        bindparam("f_years", [first_years[k] for k in keys], type_=ARRAY(Integer)),
        bindparam("f_urns", [k[0] for k in keys], type_=ARRAY(Text)),
        bindparam("f_upns", [k[1] for k in keys], type_=ARRAY(Text)),
    )
    query = select(t.c.school_urn, t.c.upn, t.c.academic_year).where(_pupil_filter(t, keys), from_first_year)
    return [tuple(r) for r in await session.execute(query)]  # type: ignore[misc]


async def pupil_year_keys_of_schools(session: AsyncSession, keys: Iterable[tuple[str, int]]) -> list[PupilYearKey]:
    t = pupil_years
    found: list[PupilYearKey] = []
    for urn, year in set(keys):
        query = select(t.c.school_urn, t.c.upn, t.c.academic_year).where(
            t.c.school_urn == urn, t.c.academic_year == year
        )
        found += [tuple(r) for r in await session.execute(query)]  # type: ignore[misc]
    return found


async def pupil_year_keys_of_school_urns(session: AsyncSession, urns: Sequence[str]) -> list[PupilYearKey]:
    if not urns:
        return []
    t = pupil_years
    query = select(t.c.school_urn, t.c.upn, t.c.academic_year).where(t.c.school_urn.in_(list(urns)))
    return [tuple(r) for r in await session.execute(query)]  # type: ignore[misc]


# --- pupil years ---------------------------------------------------------------------------


async def lock_schools(session: AsyncSession, urns: Iterable[str]) -> None:
    """Hold each school until the batch commits, taken in one order so two batches never wait
    on each other in a circle. Marks, pupils and calendars of one school can reach different
    consumers (their topics are partitioned apart); this makes their read-modify-writes of
    the same pupil-years take turns. One lock per school, not one per row: row locks would
    write to every row read."""
    for urn in sorted(set(urns)):
        await session.execute(select(func.pg_advisory_xact_lock(ANALYTICS_LOCK_SPACE, func.hashtext(urn))))


def _pupil_years_among(keys: Iterable[PupilYearKey]):
    """Rows whose (school, UPN, year) is one of `keys`: three array parameters, whatever the count."""
    ordered = sorted(set(keys))
    return text(
        "(pupil_years.school_urn, pupil_years.upn, pupil_years.academic_year) IN "
        "(SELECT * FROM unnest(:urns, :upns, :years))"
    ).bindparams(
        bindparam("urns", [k[0] for k in ordered], type_=ARRAY(Text)),
        bindparam("upns", [k[1] for k in ordered], type_=ARRAY(Text)),
        bindparam("years", [k[2] for k in ordered], type_=ARRAY(Integer)),
    )


async def pupil_year_rows(session: AsyncSession, keys: Iterable[PupilYearKey]) -> dict[PupilYearKey, Row]:
    """The stored years of these pupils."""
    if not keys:
        return {}
    t = pupil_years
    query = select(t.c.school_urn, t.c.upn, t.c.academic_year, t.c.la_code, t.c.codes, t.c.revisions, t.c.flags).where(
        _pupil_years_among(keys)
    )
    return {(r.school_urn, r.upn, r.academic_year): r for r in await session.execute(query)}


async def with_unexplained(session: AsyncSession, keys: Iterable[PupilYearKey]) -> set[PupilYearKey]:
    """Which of these pupil-years hold an N still standing (a probe of a small partial index)."""
    if not keys:
        return set()
    t = pupil_years
    query = select(t.c.school_urn, t.c.upn, t.c.academic_year).where(t.c.unexplained > 0, _pupil_years_among(keys))
    return {(r.school_urn, r.upn, r.academic_year) for r in await session.execute(query)}


async def save_pupil_years(session: AsyncSession, rows: list[dict]) -> None:
    """Write a batch's pupil-years: COPY into a transaction-scoped staging table, then one
    upsert from it. A 5,000-row batch was a fifth of the consumer's time as 5,000 bound
    statements; COPY sends the rows in one stream."""
    if not rows:
        return
    columns = list(rows[0])
    keys = ("school_urn", "upn", "academic_year")
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    async with driver_connection(session) as connection:
        await connection.execute(
            "CREATE TEMP TABLE IF NOT EXISTS pupil_years_batch"
            " (LIKE analytics.pupil_years INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        await connection.copy_records_to_table(
            "pupil_years_batch", columns=columns, records=[tuple(row[c] for c in columns) for row in rows]
        )
        await connection.execute(
            f"INSERT INTO analytics.pupil_years ({names}) SELECT {names} FROM pupil_years_batch"
            f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}, updated_at = now()"
        )
        # Emptied now, not only at commit: a second batch in the same transaction (a rebuild,
        # a test) must not meet this one's rows.
        await connection.execute("TRUNCATE pupil_years_batch")


async def school_year_rows(
    session: AsyncSession, urn: str, academic_year: int, upns: Sequence[str] | None = None
) -> list[Row]:
    t = pupil_years
    query = (
        select(t.c.upn, t.c.codes, t.c.flags)
        .where(t.c.school_urn == urn, t.c.academic_year == academic_year)
        .order_by(t.c.upn)
    )
    if upns is not None:
        query = query.where(t.c.upn.in_(list(upns)))
    return list(await session.execute(query))


# --- risk flags ------------------------------------------------------------------------------


async def set_flags(session: AsyncSession, rows: list[dict]) -> None:
    if not rows:
        return
    statement = insert(risk_flags)
    keys = ("school_urn", "upn", "academic_year", "flag")
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: statement.excluded[c] for c in rows[0] if c not in keys} | {"changed_at": func.now()},
    )
    await session.execute(statement, rows)


async def flags_page(
    session: AsyncSession,
    school_urn: str,
    *,
    academic_year: int,
    flag: str | None,
    upns: Sequence[str] | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[Row]:
    """One academic year's active flags, by pupil and flag: a pupil has at most one row of
    each flag in a year, so (UPN, flag) is the page cursor."""
    t = risk_flags
    query = (
        select(t)
        .where(t.c.school_urn == school_urn, t.c.academic_year == academic_year, t.c.active)
        .order_by(t.c.upn, t.c.flag)
    ).limit(limit)
    if flag:
        query = query.where(t.c.flag == flag)
    if upns is not None:
        query = query.where(t.c.upn.in_(list(upns)))
    if after:
        query = query.where(
            (t.c.upn > after[0]) | and_(t.c.upn == after[0], t.c.flag > after[1])  # type: ignore[operator]
        )
    return list(await session.execute(query))


async def truncate_projections(session: AsyncSession) -> None:
    """Empty every projection before a rebuild (the outbox keeps what it has not yet sent)."""
    names = ", ".join(f"{t.schema}.{t.name}" for t in PROJECTIONS)
    await session.execute(text(f"TRUNCATE {names}"))


async def save_timetables(session: AsyncSession, rows: list[dict]) -> None:
    await upsert_latest_versions(session, part_time_timetables, "timetable_id", rows)


async def timetables_of(session: AsyncSession, pupils: Iterable[PupilKey]) -> dict[PupilKey, list[TimetableState]]:
    keys = sorted(set(pupils))
    if not keys:
        return {}
    t = part_time_timetables
    query = select(t).where(_pupil_filter(t, keys)).order_by(t.c.school_urn, t.c.upn, t.c.start_date)
    found: dict[PupilKey, list[TimetableState]] = {}
    for r in await session.execute(query):
        found.setdefault((r.school_urn, r.upn), []).append(
            TimetableState(r.status, r.start_date, r.end_date, r.next_review_on)
        )
    return found


async def remove_pupils(session: AsyncSession, removed_pupils: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Everything analytics keeps of these pupils (removed from the register past its retention)."""
    tables = (risk_flags, part_time_timetables, pupil_years, pupil_versions, enrolments)
    return await remove_from(session, tables, removed_pupils)
