"""Support plans and every version of each."""

import uuid
from datetime import date

from sqlalchemy import Row, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from support_service.models import plan_versions, plans


async def add(session: AsyncSession, values: dict) -> Row:
    return (await session.execute(plans.insert().values(**values).returning(plans))).one()


async def get(session: AsyncSession, case_id: uuid.UUID, plan_id: uuid.UUID, *, for_update: bool = False) -> Row | None:
    query = select(plans).where(plans.c.case_id == case_id, plans.c.id == plan_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def active_of_case(session: AsyncSession, case_id: uuid.UUID) -> Row | None:
    query = select(plans).where(plans.c.case_id == case_id, plans.c.status == "active")
    return (await session.execute(query)).first()


async def active_of_cases(session: AsyncSession, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, Row]:
    if not case_ids:
        return {}
    query = select(plans).where(plans.c.case_id.in_(case_ids), plans.c.status == "active")
    return {r.case_id: r for r in await session.execute(query)}


async def active_of_pupil(session: AsyncSession, urn: str, upn: str) -> Row | None:
    query = select(plans).where(plans.c.school_urn == urn, plans.c.upn == upn, plans.c.status == "active")
    return (await session.execute(query.order_by(plans.c.created_at.desc()).limit(1))).first()


async def of_case(session: AsyncSession, case_id: uuid.UUID) -> list[Row]:
    query = select(plans).where(plans.c.case_id == case_id).order_by(plans.c.created_at)
    return list((await session.execute(query)).all())


async def change(session: AsyncSession, plan_id: uuid.UUID, values: dict) -> Row:
    statement = (
        update(plans).where(plans.c.id == plan_id).values(version=plans.c.version + 1, **values).returning(plans)
    )
    return (await session.execute(statement)).one()


async def add_version(session: AsyncSession, row: Row, *, change: str, recorded_by: str, record: dict) -> None:
    await session.execute(
        plan_versions.insert().values(
            plan_id=row.id, version=row.version, change=change, record=record, recorded_by=recorded_by
        )
    )


async def versions(session: AsyncSession, plan_id: uuid.UUID) -> list[Row]:
    query = select(plan_versions).where(plan_versions.c.plan_id == plan_id).order_by(plan_versions.c.version)
    return list((await session.execute(query)).all())


async def reviews_due(session: AsyncSession, today: date, *, limit: int) -> list[Row]:
    """Active plans whose review date has come and not yet been announced, locked so that
    two pods announce each once."""
    query = (
        select(plans)
        .where(
            plans.c.status == "active",
            plans.c.review_on <= today,
            or_(plans.c.review_due_published.is_(None), plans.c.review_due_published != plans.c.review_on),
        )
        .order_by(plans.c.review_on, plans.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).all())


async def mark_review_announced(session: AsyncSession, rows: list[Row]) -> None:
    if rows:
        ids = [r.id for r in rows]
        await session.execute(update(plans).where(plans.c.id.in_(ids)).values(review_due_published=plans.c.review_on))
