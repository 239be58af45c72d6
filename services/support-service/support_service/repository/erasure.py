"""Removing what support-service keeps of a pupil the register has removed past its retention.

The local authority must keep each penalty notice, its payment or withdrawal, and each
prosecution (Education (Penalty Notices) (England) Regulations 2007, reg 20), so a pupil's
penalty notices, supervision orders and the cases they belong to stay; everything else of
the pupil goes: suggestions, the rest of their cases with every contact, meeting, plan and
legal stage, the penalty considerations, their marks, flags and record.
"""

from collections.abc import Sequence

from sqlalchemy import Table, delete, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.erasure import of_pupils, remove_from
from support_service.models import (
    attendance_contracts,
    case_reads,
    cases,
    contacts,
    marks,
    meetings,
    notice_checks,
    notices_to_improve,
    penalty_considerations,
    penalty_decisions,
    plan_versions,
    plans,
    pupils,
    risk_flags,
    stage_changes,
    suggestions,
    supervision_orders,
)
from support_service.models import penalty_notices as penalty_notice_table

# The rows of a case that go with it, children before their parents.
_CASE_CHILDREN: tuple[Table, ...] = (stage_changes, contacts, meetings, case_reads, attendance_contracts)


async def remove_pupils(session: AsyncSession, pupils_removed: Sequence[tuple[str, str]]) -> dict[str, int]:
    removed: dict[str, int] = {}

    async def run(table: Table, statement) -> None:
        removed[table.name] = removed.get(table.name, 0) + (await session.execute(statement)).rowcount

    their_cases = select(cases.c.id).where(of_pupils(cases, pupils_removed))
    kept_cases = union(
        select(penalty_notice_table.c.case_id).where(penalty_notice_table.c.case_id.in_(their_cases)),
        select(supervision_orders.c.case_id).where(supervision_orders.c.case_id.in_(their_cases)),
    )
    for table in _CASE_CHILDREN:
        await run(table, delete(table).where(table.c.case_id.in_(their_cases)))
    their_plans = select(plans.c.id).where(of_pupils(plans, pupils_removed))
    await run(plan_versions, delete(plan_versions).where(plan_versions.c.plan_id.in_(their_plans)))
    their_notices = select(notices_to_improve.c.id).where(of_pupils(notices_to_improve, pupils_removed))
    await run(notice_checks, delete(notice_checks).where(notice_checks.c.notice_id.in_(their_notices)))
    their_considerations = select(penalty_considerations.c.id).where(of_pupils(penalty_considerations, pupils_removed))
    await run(
        penalty_decisions,
        delete(penalty_decisions).where(penalty_decisions.c.consideration_id.in_(their_considerations)),
    )
    removed |= await remove_from(
        session, (plans, notices_to_improve, penalty_considerations, suggestions), pupils_removed
    )
    await run(cases, delete(cases).where(of_pupils(cases, pupils_removed), cases.c.id.not_in(kept_cases)))
    removed |= await remove_from(session, (marks, risk_flags, pupils), pupils_removed)
    return removed
