"""Cases, their stage history, chronology and read log."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Date, Row, and_, cast, column, func, literal, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import JSONB, distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.rules.support import LA_VISIBLE_STAGES
from support_service.models import case_reads, cases, contacts, meetings, plans, pupils, risk_flags, stage_changes


async def add(session: AsyncSession, values: dict) -> Row:
    return (await session.execute(cases.insert().values(**values).returning(cases))).one()


async def get(session: AsyncSession, urn: str, case_id: uuid.UUID, *, for_update: bool = False) -> Row | None:
    query = select(cases).where(cases.c.school_urn == urn, cases.c.id == case_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def open_of_pupil(session: AsyncSession, urn: str, upn: str) -> Row | None:
    query = select(cases).where(cases.c.school_urn == urn, cases.c.upn == upn, cases.c.status == "open")
    return (await session.execute(query)).first()


async def of_pupil(session: AsyncSession, urn: str, upn: str, *, la_only: bool) -> list[Row]:
    query = select(cases).where(cases.c.school_urn == urn, cases.c.upn == upn).order_by(cases.c.opened_at.desc())
    if la_only:
        query = query.where(la_visible())
    return list((await session.execute(query)).all())


async def change(session: AsyncSession, case_id: uuid.UUID, values: dict, *, publish: bool) -> Row:
    """Store a change; one that readers of the stream hear of counts as the case's next change."""
    if publish:
        values = {**values, "change": cases.c.change + 1}
    return (await session.execute(update(cases).where(cases.c.id == case_id).values(**values).returning(cases))).one()


def la_visible():
    """The cases an LA officer may see: formal or enforcement stages, or referred to the LA."""
    return or_(cases.c.referred_to_la, cases.c.stage.in_(sorted(LA_VISIBLE_STAGES)))


def _last_contact():
    return (select(func.max(contacts.c.happened_at)).where(contacts.c.case_id == cases.c.id).scalar_subquery()).label(
        "last_contact_at"
    )


async def page(
    session: AsyncSession,
    *,
    urn: str | None = None,
    la_code: str | None = None,
    la_only: bool,
    status: str | None,
    stage: str | None,
    lead: str | None,
    year_group: str | None,
    flag: str | None,
    upn: str | None,
    overdue: str | None,
    today: date,
    contact_before: datetime | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Row]:
    """Cases newest first, by (opened_at, id), with the pupil's name and the last contact.
    `overdue`: only open cases with no contact since `contact_before` (`contact`), an open
    action of the active plan past its due date (`action`), or its review date passed (`review`)."""
    last_contact = _last_contact()
    query = (
        select(cases, pupils.c.legal_forename, pupils.c.legal_surname, pupils.c.year_group, last_contact)
        .outerjoin(pupils, and_(pupils.c.school_urn == cases.c.school_urn, pupils.c.upn == cases.c.upn))
        .order_by(cases.c.opened_at.desc(), cases.c.id.desc())
        .limit(limit)
    )
    if urn is not None:
        query = query.where(cases.c.school_urn == urn)
    if la_code is not None:
        query = query.where(cases.c.la_code == la_code)
    if la_only:
        query = query.where(la_visible())
    if status is not None:
        query = query.where(cases.c.status == status)
    if stage is not None:
        query = query.where(cases.c.stage == stage)
    if lead is not None:
        query = query.where(func.lower(cases.c.lead) == lead.lower())
    if year_group is not None:
        query = query.where(pupils.c.year_group == year_group)
    if upn is not None:
        query = query.where(cases.c.upn == upn)
    if flag is not None:
        standing = select(risk_flags.c.flag).where(
            risk_flags.c.school_urn == cases.c.school_urn,
            risk_flags.c.upn == cases.c.upn,
            risk_flags.c.flag == flag,
            risk_flags.c.active,
        )
        query = query.where(standing.exists())
    if overdue == "contact" and contact_before is not None:
        never_since = select(contacts.c.id).where(
            contacts.c.case_id == cases.c.id, contacts.c.happened_at >= contact_before
        )
        query = query.where(cases.c.status == "open", ~never_since.exists())
    if overdue in ("action", "review"):
        active = select(plans.c.id).where(plans.c.case_id == cases.c.id, plans.c.status == "active")
        if overdue == "review":
            active = active.where(plans.c.review_on < today)
        else:
            action = func.jsonb_array_elements(plans.c.actions).table_valued(column("value", JSONB)).alias("action")
            late = (
                select(literal(1))
                .select_from(action)
                .where(
                    action.c.value["status"].astext == "open",
                    cast(action.c.value["due_on"].astext, Date) < today,
                )
            )
            active = active.where(late.exists())
        query = query.where(cases.c.status == "open", active.exists())
    if after is not None:
        opened_at, case_id = after
        query = query.where(
            or_(cases.c.opened_at < opened_at, and_(cases.c.opened_at == opened_at, cases.c.id < case_id))
        )
    return list((await session.execute(query)).all())


async def last_contacts(session: AsyncSession, case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    if not case_ids:
        return {}
    query = (
        select(contacts.c.case_id, func.max(contacts.c.happened_at))
        .where(contacts.c.case_id.in_(list(case_ids)))
        .group_by(contacts.c.case_id)
    )
    return {case_id: at for case_id, at in (await session.execute(query)).all()}


async def add_stage_change(session: AsyncSession, values: dict) -> None:
    await session.execute(stage_changes.insert().values(**values))


async def stage_history(session: AsyncSession, case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    found: dict[uuid.UUID, list[Row]] = {case_id: [] for case_id in case_ids}
    if case_ids:
        query = select(stage_changes).where(stage_changes.c.case_id.in_(list(case_ids))).order_by(stage_changes.c.id)
        for row in (await session.execute(query)).all():
            found[row.case_id].append(row)
    return found


async def log_reads(session: AsyncSession, case_ids: Sequence[uuid.UUID], *, reader: str, role: str, what: str) -> None:
    if case_ids:
        await session.execute(
            case_reads.insert(), [{"case_id": c, "reader": reader, "role": role, "what": what} for c in case_ids]
        )


async def reads(session: AsyncSession, case_id: uuid.UUID, *, after: int | None, limit: int) -> list[Row]:
    query = select(case_reads).where(case_reads.c.case_id == case_id).order_by(case_reads.c.id.desc()).limit(limit)
    if after is not None:
        query = query.where(case_reads.c.id < after)
    return list((await session.execute(query)).all())


async def add_contact(session: AsyncSession, values: dict) -> Row:
    return (await session.execute(contacts.insert().values(**values).returning(contacts))).one()


async def add_contacts(session: AsyncSession, rows: Sequence[dict]) -> None:
    if rows:
        await session.execute(contacts.insert(), list(rows))


async def add_meeting(session: AsyncSession, values: dict) -> Row:
    return (await session.execute(meetings.insert().values(**values).returning(meetings))).one()


async def meetings_of(session: AsyncSession, case_id: uuid.UUID) -> list[Row]:
    query = select(meetings).where(meetings.c.case_id == case_id).order_by(meetings.c.starts_at, meetings.c.id)
    return list((await session.execute(query)).all())


async def latest_cases_of(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Row]:
    """Each (URN, UPN)'s open case at the school, else the one opened last."""
    if not keys:
        return {}
    query = (
        select(cases)
        .where(tuple_(cases.c.school_urn, cases.c.upn).in_(list(set(keys))))
        .order_by(cases.c.school_urn, cases.c.upn, (cases.c.status == "open").desc(), cases.c.opened_at.desc())
        .ext(distinct_on(cases.c.school_urn, cases.c.upn))
    )
    return {(r.school_urn, r.upn): r for r in (await session.execute(query)).all()}


async def contact(session: AsyncSession, case_id: uuid.UUID, contact_id: uuid.UUID) -> Row | None:
    query = select(contacts).where(contacts.c.case_id == case_id, contacts.c.id == contact_id)
    return (await session.execute(query)).first()


async def contact_page(
    session: AsyncSession, case_id: uuid.UUID, *, after: tuple[datetime, datetime, uuid.UUID] | None, limit: int
) -> list[Row]:
    """The chronology in the order things happened (then the order they were recorded), each
    entry with the one correcting it."""
    later = contacts.alias("later")
    corrected_by = (
        select(later.c.id).where(later.c.corrects == contacts.c.id).order_by(later.c.recorded_at.desc()).limit(1)
    ).scalar_subquery()
    place = tuple_(contacts.c.happened_at, contacts.c.recorded_at, contacts.c.id)
    query = (
        select(contacts, corrected_by.label("corrected_by"))
        .where(contacts.c.case_id == case_id)
        .order_by(contacts.c.happened_at, contacts.c.recorded_at, contacts.c.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(place > tuple_(*(literal(v) for v in after)))
    return list((await session.execute(query)).all())
