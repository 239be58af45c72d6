"""Stored reports, the actions agreed at a meeting, and report schedules."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Row, and_, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from la_returns_service.models import meeting_actions, report_schedules, reports

SUMMARY_COLUMNS = [c for c in reports.c if c.name not in ("document", "pdf")]


async def add(session: AsyncSession, values: dict) -> Row:
    return (await session.execute(insert(reports).values(values).returning(*SUMMARY_COLUMNS))).one()


async def get(session: AsyncSession, urn: str, report_id: uuid.UUID) -> Row | None:
    query = select(reports).where(reports.c.id == report_id, reports.c.school_urn == urn)
    return (await session.execute(query)).first()


async def page(
    session: AsyncSession,
    *,
    urn: str | None,
    la_code: str | None,
    kind: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Row]:
    query = select(*SUMMARY_COLUMNS).order_by(reports.c.generated_at, reports.c.id).limit(limit)
    if urn is not None:
        query = query.where(reports.c.school_urn == urn)
    if la_code is not None:
        query = query.where(reports.c.la_code == la_code)
    if kind is not None:
        query = query.where(reports.c.kind == kind)
    if after is not None:
        at, row_id = after
        query = query.where(or_(reports.c.generated_at > at, and_(reports.c.generated_at == at, reports.c.id > row_id)))
    return list((await session.execute(query)).all())


async def scheduled_exists(session: AsyncSession, urn: str, kind: str, start: date) -> bool:
    query = select(reports.c.id).where(
        reports.c.school_urn == urn,
        reports.c.kind == kind,
        reports.c.period_start == start,
        reports.c.trigger == "schedule",
    )
    return (await session.scalar(query)) is not None


async def actions(session: AsyncSession, report_id: uuid.UUID) -> list[Row]:
    query = (
        select(meeting_actions)
        .where(meeting_actions.c.report_id == report_id)
        .order_by(meeting_actions.c.recorded_at, meeting_actions.c.id)
    )
    return list((await session.execute(query)).all())


async def add_actions(session: AsyncSession, rows: Sequence[dict]) -> list[Row]:
    if not rows:
        return []
    return list((await session.execute(insert(meeting_actions).returning(meeting_actions), list(rows))).all())


async def schedule_kinds(session: AsyncSession, scope: str, code: str) -> list[str]:
    query = select(report_schedules.c.kind).where(report_schedules.c.scope == scope, report_schedules.c.code == code)
    return sorted(await session.scalars(query))


async def put_schedule(session: AsyncSession, scope: str, code: str, kinds: Sequence[str]) -> None:
    await session.execute(
        delete(report_schedules).where(report_schedules.c.scope == scope, report_schedules.c.code == code)
    )
    if kinds:
        await session.execute(insert(report_schedules), [{"scope": scope, "code": code, "kind": k} for k in kinds])


async def all_schedules(session: AsyncSession) -> list[Row]:
    return list((await session.execute(select(report_schedules))).all())
