"""A case's support plan: target, actions with owners and due dates, the parents' agreement,
reviews. Every change is a new version, kept whole."""

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import topics
from attendance_shared.auth import Actor
from attendance_shared.errors import Conflict, NotFound, Unprocessable
from attendance_shared.events import SupportPlanAgreedV1, SupportPlanReviewDueV1, make_event, pupil_key
from attendance_shared.outbox import add_to_outbox
from attendance_shared.rules.calendar import Calendar, WeekdayCalendar
from attendance_shared.rules.leave import school_weeks_end
from attendance_shared.rules.support import PLAN_REVIEW_SCHOOL_WEEKS, PlannedAction, overdue_actions, plan_problems
from support_service.models import outbox
from support_service.repository import cases as case_repository
from support_service.repository import plans as plan_repository
from support_service.repository import projections
from support_service.schemas import (
    ActionOut,
    AgreementIn,
    ParentActionOut,
    ParentPlanOut,
    ParentPlanView,
    PlanChangeIn,
    PlanEndIn,
    PlanIn,
    PlanOut,
    PlanVersionOut,
    ReviewIn,
    ReviewOut,
)
from support_service.service.cases import SOURCE, require_case, require_open_case


async def school_calendar(session: AsyncSession, urn: str) -> Calendar:
    """The school's calendars; without one every weekday counts as a school day."""
    return await projections.calendar_of(session, urn) or WeekdayCalendar()


async def review_date_after(session: AsyncSession, urn: str, start: date) -> date:
    """The default review date of a plan or contract begun on `start`: 6 school weeks on."""
    return _weeks_on(await school_calendar(session, urn), start)


def _weeks_on(calendar: Calendar, start: date) -> date:
    return school_weeks_end(calendar, start, PLAN_REVIEW_SCHOOL_WEEKS) or start + timedelta(
        weeks=PLAN_REVIEW_SCHOOL_WEEKS
    )


def _planned(actions: list[dict]) -> list[PlannedAction]:
    return [PlannedAction(date.fromisoformat(a["due_on"]), a["status"]) for a in actions]


def _refuse(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise Unprocessable.of_fields(problems)


def _record(row: Row) -> dict:
    """The plan as one version keeps it."""
    return {
        "status": row.status,
        "target_attendance_percent": row.target_percent,
        "starts_on": row.starts_on.isoformat(),
        "review_on": row.review_on.isoformat(),
        "actions": row.actions,
        "reviews": row.reviews,
        "agreed_by": row.agreed_by,
        "agreed_on": row.agreed_on.isoformat() if row.agreed_on else None,
        "ended_on": row.ended_on.isoformat() if row.ended_on else None,
        "end_reason": row.end_reason,
    }


def _new_actions(body_actions: list, added_on: date) -> list[dict]:
    """Actions agreed with a plan start with it (a plan recorded after it began included);
    actions added later start the day they are added."""
    return [
        {
            "id": str(uuid.uuid4()),
            "type": a.type,
            "what": a.what,
            "owner": a.owner,
            "due_on": a.due_on.isoformat(),
            "status": "open",
            "added_on": added_on.isoformat(),
        }
        for a in body_actions
    ]


async def create_plan(
    session: AsyncSession, urn: str, case_id: uuid.UUID, body: PlanIn, *, actor: Actor, today: date
) -> PlanOut:
    case = await require_open_case(session, urn, case_id, actor)
    if (active := await plan_repository.active_of_case(session, case.id)) is not None:
        raise Conflict(f"the case already has an active plan ({active.id}): change it, or end it first")
    starts_on = body.starts_on or today
    review_on = body.review_on or _weeks_on(await school_calendar(session, urn), starts_on)
    actions = _new_actions(body.actions, starts_on)
    _refuse(plan_problems(starts_on=starts_on, review_on=review_on, actions=_planned(actions)))
    row = await plan_repository.add(
        session,
        {
            "id": uuid.uuid4(),
            "case_id": case.id,
            "school_urn": urn,
            "upn": case.upn,
            "la_code": case.la_code,
            "status": "active",
            "version": 1,
            "target_percent": body.target_attendance_percent,
            "starts_on": starts_on,
            "review_on": review_on,
            "actions": actions,
            "created_by": actor.subject,
        },
    )
    await plan_repository.add_version(session, row, change="created", recorded_by=actor.subject, record=_record(row))
    return plan_out(row, today)


async def _active_plan(session: AsyncSession, urn: str, case_id: uuid.UUID, plan_id: uuid.UUID, actor: Actor) -> Row:
    await require_open_case(session, urn, case_id, actor)
    row = await plan_repository.get(session, case_id, plan_id, for_update=True)
    if row is None:
        raise NotFound(f"plan {plan_id} not found in support case {case_id}")
    if row.status != "active":
        raise Conflict(f"plan {plan_id} ended on {row.ended_on}; agree a new one")
    return row


async def _save(session: AsyncSession, row: Row, values: dict, *, change: str, actor: Actor) -> Row:
    changed = await plan_repository.change(session, row.id, values)
    await plan_repository.add_version(
        session, changed, change=change, recorded_by=actor.subject, record=_record(changed)
    )
    return changed


async def change_plan(
    session: AsyncSession,
    urn: str,
    case_id: uuid.UUID,
    plan_id: uuid.UUID,
    body: PlanChangeIn,
    *,
    actor: Actor,
    today: date,
) -> PlanOut:
    row = await _active_plan(session, urn, case_id, plan_id, actor)
    actions = [dict(a) for a in row.actions]
    by_id = {a["id"]: a for a in actions}
    problems = []
    changes = []
    for index, change in enumerate(body.action_changes):
        action = by_id.get(str(change.id))
        if action is None:
            problems.append((f"action_changes[{index}].id", f"no action {change.id} in this plan"))
            continue
        for name in ("status", "owner"):
            if (value := getattr(change, name)) is not None:
                action[name] = value
        if change.due_on is not None:
            action["due_on"] = change.due_on.isoformat()
            if change.due_on < row.starts_on:
                problems.append((f"action_changes[{index}].due_on", f"before the plan starts on {row.starts_on}"))
        changes.append(f"action {action['what']!r}")
    added = _new_actions(body.add_actions, today)
    review_on = body.review_on or row.review_on
    problems += [
        (field.replace("actions[", "add_actions["), message)
        for field, message in plan_problems(starts_on=row.starts_on, review_on=review_on, actions=_planned(added))
    ]
    _refuse(problems)
    values: dict = {"actions": actions + added, "review_on": review_on}
    if body.target_attendance_percent is not None:
        values["target_percent"] = body.target_attendance_percent
    summary = ", ".join(
        part
        for part in (
            "target" if body.target_attendance_percent is not None else "",
            "review date" if body.review_on is not None else "",
            f"{len(added)} action(s) added" if added else "",
            "; ".join(changes),
        )
        if part
    )
    changed = await _save(session, row, values, change=f"changed: {summary}", actor=actor)
    return plan_out(changed, today)


async def agree(
    session: AsyncSession,
    urn: str,
    case_id: uuid.UUID,
    plan_id: uuid.UUID,
    body: AgreementIn,
    *,
    actor: Actor,
    today: date,
) -> PlanOut:
    row = await _active_plan(session, urn, case_id, plan_id, actor)
    if body.agreed_on > today:
        raise Unprocessable.of_field("agreed_on", "an agreement is recorded once it is made, not before")
    changed = await _save(
        session,
        row,
        {"agreed_by": body.agreed_by, "agreed_on": body.agreed_on},
        change=f"agreed by {body.agreed_by}",
        actor=actor,
    )
    payload = SupportPlanAgreedV1(
        case_id=case_id,
        plan_id=changed.id,
        version=changed.version,
        school_urn=changed.school_urn,
        la_code=changed.la_code,
        upn=changed.upn,
        target_attendance_percent=changed.target_percent,
        starts_on=changed.starts_on,
        review_on=changed.review_on,
        agreed_on=body.agreed_on,
        action_types=tuple(dict.fromkeys(a["type"] for a in changed.actions if a["status"] != "dropped")),
    )
    event = make_event(payload, source=SOURCE, subject=pupil_key(changed.school_urn, changed.upn))
    await add_to_outbox(session, outbox, topics.SUPPORT_CASES.name, [event])
    return plan_out(changed, today)


async def review(
    session: AsyncSession,
    urn: str,
    case_id: uuid.UUID,
    plan_id: uuid.UUID,
    body: ReviewIn,
    *,
    actor: Actor,
    today: date,
) -> PlanOut:
    row = await _active_plan(session, urn, case_id, plan_id, actor)
    if body.reviewed_on > today:
        raise Unprocessable.of_field("reviewed_on", "a review is recorded once it is held, not before")
    if body.reviewed_on < row.starts_on:
        raise Unprocessable.of_field("reviewed_on", f"before the plan starts on {row.starts_on}")
    following = body.next_review_on or _weeks_on(
        await school_calendar(session, urn), body.reviewed_on + timedelta(days=1)
    )
    if following <= body.reviewed_on:
        raise Unprocessable.of_field("next_review_on", "the next review must come after this one")
    entry = {
        "reviewed_on": body.reviewed_on.isoformat(),
        "by": body.by,
        "notes": body.notes,
        "next_review_on": following.isoformat(),
    }
    changed = await _save(
        session,
        row,
        {"reviews": [*row.reviews, entry], "review_on": following},
        change=f"reviewed on {body.reviewed_on}",
        actor=actor,
    )
    return plan_out(changed, today)


async def end(
    session: AsyncSession,
    urn: str,
    case_id: uuid.UUID,
    plan_id: uuid.UUID,
    body: PlanEndIn,
    *,
    actor: Actor,
    today: date,
) -> PlanOut:
    row = await _active_plan(session, urn, case_id, plan_id, actor)
    changed = await _save(
        session,
        row,
        {"status": "ended", "ended_on": today, "end_reason": body.reason},
        change="ended",
        actor=actor,
    )
    return plan_out(changed, today)


async def get_plan(
    session: AsyncSession, urn: str, case_id: uuid.UUID, plan_id: uuid.UUID, *, actor: Actor, today: date
) -> PlanOut:
    case = await require_case(session, urn, case_id, actor)
    row = await plan_repository.get(session, case.id, plan_id)
    if row is None:
        raise NotFound(f"plan {plan_id} not found in support case {case_id}")
    await case_repository.log_reads(session, [case.id], reader=actor.subject, role=actor.role.value, what="plan")
    return plan_out(row, today)


async def list_plans(
    session: AsyncSession, urn: str, case_id: uuid.UUID, *, actor: Actor, today: date, log: bool = True
) -> list[PlanOut]:
    case = await require_case(session, urn, case_id, actor)
    if log:
        await case_repository.log_reads(session, [case.id], reader=actor.subject, role=actor.role.value, what="plan")
    return [plan_out(r, today) for r in await plan_repository.of_case(session, case.id)]


async def versions(
    session: AsyncSession, urn: str, case_id: uuid.UUID, plan_id: uuid.UUID, *, actor: Actor
) -> list[PlanVersionOut]:
    case = await require_case(session, urn, case_id, actor)
    if await plan_repository.get(session, case.id, plan_id) is None:
        raise NotFound(f"plan {plan_id} not found in support case {case_id}")
    await case_repository.log_reads(session, [case.id], reader=actor.subject, role=actor.role.value, what="plan")
    return [
        PlanVersionOut(
            version=v.version, change=v.change, record=v.record, recorded_by=v.recorded_by, recorded_at=v.recorded_at
        )
        for v in await plan_repository.versions(session, plan_id)
    ]


async def parent_plan(session: AsyncSession, urn: str, upn: str, *, actor: Actor) -> ParentPlanView:
    """The pupil's current plan as a parent may see it; the read is logged like any other."""
    row = await plan_repository.active_of_pupil(session, urn, upn)
    if row is None:
        return ParentPlanView(school_urn=urn, upn=upn, plan=None)
    await case_repository.log_reads(session, [row.case_id], reader=actor.subject, role=actor.role.value, what="plan")
    plan = ParentPlanOut(
        target_attendance_percent=row.target_percent,
        starts_on=row.starts_on,
        review_on=row.review_on,
        actions=[
            ParentActionOut(what=a["what"], owner=a["owner"], due_on=a["due_on"], status=a["status"])
            for a in row.actions
            if a["status"] != "dropped"
        ],
        agreed_by=row.agreed_by,
        agreed_on=row.agreed_on,
    )
    return ParentPlanView(school_urn=urn, upn=upn, plan=plan)


def plan_out(row: Row, today: date) -> PlanOut:
    late = set(overdue_actions(_planned(row.actions), today)) if row.status == "active" else set()
    return PlanOut(
        id=row.id,
        case_id=row.case_id,
        status=row.status,
        version=row.version,
        target_attendance_percent=row.target_percent,
        starts_on=row.starts_on,
        review_on=row.review_on,
        review_overdue=row.status == "active" and row.review_on < today,
        actions=[ActionOut(**a, overdue=i in late) for i, a in enumerate(row.actions)],
        reviews=[ReviewOut(**r) for r in row.reviews],
        agreed_by=row.agreed_by,
        agreed_on=row.agreed_on,
        ended_on=row.ended_on,
        end_reason=row.end_reason,
        created_by=row.created_by,
        created_at=row.created_at,
    )


async def announce_reviews_due(session: AsyncSession, today: date, *, limit: int = 1000) -> int:
    """Publish "review due" once for each active plan whose review date has come."""
    rows = await plan_repository.reviews_due(session, today, limit=limit)
    events = [
        make_event(
            SupportPlanReviewDueV1(
                case_id=r.case_id,
                plan_id=r.id,
                school_urn=r.school_urn,
                la_code=r.la_code,
                upn=r.upn,
                review_on=r.review_on,
            ),
            source=SOURCE,
            subject=pupil_key(r.school_urn, r.upn),
            time=datetime.now(UTC),
        )
        for r in rows
    ]
    if events:
        await add_to_outbox(session, outbox, topics.SUPPORT_CASES.name, events)
        await plan_repository.mark_review_announced(session, rows)
    return len(events)
