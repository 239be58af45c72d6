"""Cases suggested by risk flags, and the penalty notices that must be considered."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from support_service.models import cases, penalty_considerations, penalty_decisions, pupils, risk_flags, suggestions

s = suggestions
pc = penalty_considerations


async def states_of(
    session: AsyncSession, keys: Sequence[tuple[str, str]], academic_years: Sequence[int]
) -> tuple[
    set[tuple[str, str]], dict[tuple[str, str], tuple[uuid.UUID, list[str]]], dict[tuple[str, str, int], set[str]]
]:
    """For the pupils a batch of flags is about: who has an open case, each one's pending
    suggestion (its id and flags, whatever its academic year: at most one waits per pupil),
    and the flags already put to staff in each academic year."""
    keys = list(set(keys))
    if not keys:
        return set(), {}, {}
    pupil = tuple_(cases.c.school_urn, cases.c.upn).in_(keys)
    open_cases = {
        (r.school_urn, r.upn)
        for r in (await session.execute(select(cases.c.school_urn, cases.c.upn).where(pupil, cases.c.status == "open")))
    }
    rows = (
        await session.execute(
            select(s).where(
                tuple_(s.c.school_urn, s.c.upn).in_(keys),
                or_(s.c.academic_year.in_(sorted(set(academic_years))), s.c.status == "pending"),
            )
        )
    ).all()
    pending = {(r.school_urn, r.upn): (r.id, list(r.flags)) for r in rows if r.status == "pending"}
    asked: dict[tuple[str, str, int], set[str]] = {}
    for r in rows:
        asked.setdefault((r.school_urn, r.upn, r.academic_year), set()).update(r.flags)
    return open_cases, pending, asked


async def add(session: AsyncSession, values: dict) -> None:
    await session.execute(s.insert().values(**values))


async def add_flag(session: AsyncSession, suggestion_id: uuid.UUID, flag: str) -> None:
    await session.execute(update(s).where(s.c.id == suggestion_id).values(flags=func.array_append(s.c.flags, flag)))


async def get(session: AsyncSession, urn: str, suggestion_id: uuid.UUID, *, for_update: bool = False) -> Row | None:
    query = select(s).where(s.c.school_urn == urn, s.c.id == suggestion_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def decide(session: AsyncSession, suggestion_id: uuid.UUID, values: dict) -> Row:
    statement = update(s).where(s.c.id == suggestion_id).values(decided_at=func.now(), **values).returning(s)
    return (await session.execute(statement)).one()


async def page(
    session: AsyncSession, urn: str, *, status: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Row]:
    query = (
        select(s, pupils.c.legal_forename, pupils.c.legal_surname, pupils.c.year_group)
        .outerjoin(pupils, and_(pupils.c.school_urn == s.c.school_urn, pupils.c.upn == s.c.upn))
        .where(s.c.school_urn == urn)
        .order_by(s.c.suggested_at.desc(), s.c.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(s.c.status == status)
    if after is not None:
        at, suggestion_id = after
        query = query.where(or_(s.c.suggested_at < at, and_(s.c.suggested_at == at, s.c.id < suggestion_id)))
    return list((await session.execute(query)).all())


async def add_consideration(session: AsyncSession, values: dict) -> None:
    """A pending consideration unless one waits already, or one was made for the same day the
    threshold was reached (a duplicate raise, an analytics rebuild)."""
    same_day = select(pc.c.id).where(
        pc.c.school_urn == values["school_urn"],
        pc.c.upn == values["upn"],
        pc.c.reached_on.is_not_distinct_from(values["reached_on"]),
    )
    if await session.scalar(same_day.limit(1)) is None:
        await session.execute(insert(pc).values(**values).on_conflict_do_nothing())


async def consideration(
    session: AsyncSession, urn: str, consideration_id: uuid.UUID, *, for_update: bool = False
) -> Row | None:
    query = (
        select(pc, pupils.c.legal_forename, pupils.c.legal_surname, _flag_standing())
        .outerjoin(pupils, and_(pupils.c.school_urn == pc.c.school_urn, pupils.c.upn == pc.c.upn))
        .where(pc.c.school_urn == urn, pc.c.id == consideration_id)
    )
    if for_update:
        query = query.with_for_update(of=pc)
    return (await session.execute(query)).first()


def _flag_standing():
    return (
        select(risk_flags.c.active)
        .where(
            risk_flags.c.school_urn == pc.c.school_urn,
            risk_flags.c.upn == pc.c.upn,
            risk_flags.c.flag == "penalty_notice_threshold",
        )
        .scalar_subquery()
        .label("flag_active")
    )


async def consideration_page(
    session: AsyncSession, urn: str, *, status: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Row]:
    query = (
        select(pc, pupils.c.legal_forename, pupils.c.legal_surname, _flag_standing())
        .outerjoin(pupils, and_(pupils.c.school_urn == pc.c.school_urn, pupils.c.upn == pc.c.upn))
        .where(pc.c.school_urn == urn)
        .order_by(pc.c.created_at.desc(), pc.c.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(pc.c.status == status)
    if after is not None:
        at, consideration_id = after
        query = query.where(or_(pc.c.created_at < at, and_(pc.c.created_at == at, pc.c.id < consideration_id)))
    return list((await session.execute(query)).all())


async def decide_consideration(
    session: AsyncSession, consideration_id: uuid.UUID, *, decided_by: str, decisions: Sequence[dict]
) -> None:
    await session.execute(
        update(pc)
        .where(pc.c.id == consideration_id)
        .values(status="decided", decided_by=decided_by, decided_at=func.now())
    )
    await session.execute(penalty_decisions.insert(), [{"consideration_id": consideration_id, **d} for d in decisions])


async def decisions_of(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    found: dict[uuid.UUID, list[Row]] = {i: [] for i in ids}
    if ids:
        query = select(penalty_decisions).where(penalty_decisions.c.consideration_id.in_(list(ids)))
        for row in (await session.execute(query.order_by(penalty_decisions.c.id))).all():
            found[row.consideration_id].append(row)
    return found
