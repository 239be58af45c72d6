"""Leave of absence (reg 11): asked for in advance by a parent or staff, decided by staff.
Agreed sessions become planned marks with the ground's code; a reduced or cancelled leave
withdraws the planned marks of sessions not yet taken. Every request and decision is an event,
so notification-service can tell the parents."""

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import cursors, topics
from attendance_shared.auth import Actor, Role
from attendance_shared.errors import Conflict, NotFound, Unprocessable
from attendance_shared.events import LeaveDecidedV1, LeaveRequestedV1, PlannedSession
from attendance_shared.rules.leave import LEAVE_GROUNDS, leave_sessions
from register_service.repository import leave_requests as leave_repository
from register_service.repository import marks as mark_repository
from register_service.repository import planned_marks as planned_repository
from register_service.schemas import LeaveDecisionIn, LeaveRequestIn, LeaveRequestOut, LeaveRequestPage
from register_service.service.events import publish_pupil_events
from register_service.service.schools import calendars_between, require_pupil, require_school

SessionKey = tuple[date, str]
# A leave is asked for a span of at most a year; the school's own limit in school days is far lower.
MAX_SPAN_DAYS = 366
DECIDED = ("agreed", "partly_agreed")


def _role(actor: Actor) -> str:
    return "parent" if actor.role is Role.PARENT else "staff"


def _out(row: Row) -> LeaveRequestOut:
    return LeaveRequestOut.model_validate({**row._asdict(), "code": LEAVE_GROUNDS[row.reason].code})


def _keys(stored: list[dict]) -> list[SessionKey]:
    return [(date.fromisoformat(s["date"]), s["session"]) for s in stored]


def _stored(sessions: list[SessionKey]) -> list[dict]:
    return [{"date": d.isoformat(), "session": s} for d, s in sorted(sessions)]


async def request_leave(
    session: AsyncSession, urn: str, upn: str, body: LeaveRequestIn, *, actor: Actor, today: date
) -> LeaveRequestOut:
    school = await require_school(session, urn)
    pupil = await require_pupil(session, urn, upn)
    if body.first_day < today:
        raise Unprocessable.of_field("first_day", "is in the past: leave is asked for in advance, never afterwards")
    if body.last_day < body.first_day:
        raise Unprocessable.of_field("last_day", "is before first_day")
    if (body.last_day - body.first_day).days >= MAX_SPAN_DAYS:
        raise Unprocessable.of_field("last_day", f"a request spans at most {MAX_SPAN_DAYS} days")
    if body.first_day < pupil.admission_date or (pupil.left_on is not None and body.last_day > pupil.left_on):
        raise Unprocessable.of_field("first_day", "the pupil is not on the school's roll for the whole leave")
    calendar = await calendars_between(session, urn, body.first_day, body.last_day)
    covered = leave_sessions(calendar, body.first_day, body.last_day, body.sessions)
    days = {d for d, _ in covered}
    for field, day in (("first_day", body.first_day), ("last_day", body.last_day)):
        if day not in days:
            raise Unprocessable.of_field(field, f"the school does not meet on {day.isoformat()} ({body.sessions})")
    if len(days) > school.leave_max_school_days:
        raise Unprocessable.of_field(
            "last_day",
            f"the leave covers {len(days)} school days; the school allows at most {school.leave_max_school_days} "
            "in one request",
        )
    row = await leave_repository.add(
        session,
        {
            "id": uuid.uuid4(),
            "school_urn": urn,
            "upn": upn,
            **body.model_dump(),
            "requested_by": actor.subject,
            "requested_by_role": _role(actor),
        },
    )
    event = LeaveRequestedV1(
        school_urn=urn,
        la_code=school.la_code,
        upn=upn,
        request_id=row.id,
        first_day=row.first_day,
        last_day=row.last_day,
        sessions=row.sessions,
        reason=row.reason,
        requested_by_role=row.requested_by_role,
        requested_at=row.requested_at,
    )
    await publish_pupil_events(session, topics.PUPILS, [event])
    return _out(row)


async def _request(
    session: AsyncSession, urn: str, request_id: uuid.UUID, upn: str | None = None, *, for_update: bool = True
) -> Row:
    row = await leave_repository.get(session, urn, request_id, for_update=for_update)
    if row is None or (upn is not None and row.upn != upn):
        raise NotFound(f"leave request {request_id} not found")
    return row


async def _requested_sessions(session: AsyncSession, row: Row) -> list[SessionKey]:
    calendar = await calendars_between(session, row.school_urn, row.first_day, row.last_day)
    return leave_sessions(calendar, row.first_day, row.last_day, row.sessions)


def _agreed_sessions(body: LeaveDecisionIn, row: Row, requested: list[SessionKey]) -> list[SessionKey]:
    """The sessions the decision agrees: all asked for, the listed ones, or none. A decision on
    leave already agreed may only reduce it."""
    if body.outcome == "refused":
        return []
    if body.outcome == "agreed":
        if row.status in DECIDED:
            raise Conflict(f"leave request {row.id} is already {row.status}; reduce it (partly_agreed) or cancel it")
        return requested
    allowed = set(_keys(row.agreed_sessions)) if row.status in DECIDED else set(requested)
    agreed = []
    for index, s in enumerate(body.sessions or []):
        key = (s.date, s.session)
        if key not in allowed:
            what = "agreed before" if row.status in DECIDED else "asked for, or the school does not meet then"
            raise Unprocessable.of_field(f"sessions[{index}]", f"{s.date.isoformat()} {s.session} was not {what}")
        agreed.append(key)
    if row.status in DECIDED and set(agreed) == allowed:
        raise Unprocessable.of_field("sessions", "a reduction must agree fewer sessions than before")
    return sorted(set(agreed))


async def _check_not_taken(session: AsyncSession, row: Row, sessions: list[SessionKey], today: date, field: str):
    """Leave is never granted, nor withdrawn, for a session whose register is already taken."""
    if not sessions:
        return
    for day, name in sessions:
        if day < today:
            raise Unprocessable.of_field(
                field, f"{day.isoformat()} {name} is past: leave is never given retrospectively"
            )
    first, last = min(d for d, _ in sessions), max(d for d, _ in sessions)
    taken = {
        (m.date, m.session)
        for m in await mark_repository.current_in_range(session, row.school_urn, [row.upn], first, last)
    }
    for day, name in sessions:
        if (day, name) in taken:
            raise Unprocessable.of_field(
                field, f"{day.isoformat()} {name} is already marked on the register: amend the register instead"
            )


async def decide(
    session: AsyncSession, urn: str, request_id: uuid.UUID, body: LeaveDecisionIn, *, actor: Actor, today: date
) -> LeaveRequestOut:
    school = await require_school(session, urn)
    row = await _request(session, urn, request_id)
    if row.status in ("refused", "cancelled"):
        raise Conflict(f"leave request {request_id} was {row.status}; the parent may ask again")
    ground = LEAVE_GROUNDS[row.reason]
    if ground.code is None and body.outcome != "refused":
        raise Unprocessable.of_field("outcome", f"{ground.meaning}: the request can only be refused")
    if row.status in DECIDED and body.outcome == "refused":
        raise Conflict(f"leave request {request_id} is already {row.status}; cancel it to withdraw the leave")
    requested = await _requested_sessions(session, row)
    agreed = _agreed_sessions(body, row, requested)
    before = set(_keys(row.agreed_sessions))
    added = [s for s in agreed if s not in before]
    removed = sorted(before - set(agreed))
    await mark_repository.lock_registers(session, [(urn, d, s) for d, s in [*added, *removed]])
    await _check_not_taken(session, row, added, today, "outcome")
    await _check_not_taken(session, row, removed, today, "sessions")
    if added:
        clashes = await planned_repository.standing_for_pupil(session, urn, row.upn, added)
        if clashes:
            (day, name), plan = min(clashes.items())
            raise Unprocessable.of_field(
                "outcome", f"{day.isoformat()} {name} already has a planned {plan.code} from {plan.source}"
            )
        await planned_repository.add(
            session, urn, row.upn, added, ground.code or "", planned_by=actor.subject, leave_request_id=row.id
        )
    if removed:
        await planned_repository.withdraw(session, leave_request_id=row.id, sessions=removed)
    decided = await leave_repository.decide(
        session,
        row.id,
        {
            "status": body.outcome,
            "agreed_sessions": _stored(agreed),
            "decision_reason": body.reason,
            "decided_by": actor.subject,
            "decided_at": datetime.now(UTC),
        },
    )
    await _publish_decision(session, school.la_code, decided, actor)
    return _out(decided)


async def cancel(
    session: AsyncSession, urn: str, upn: str, request_id: uuid.UUID, reason: str, *, actor: Actor, today: date
) -> LeaveRequestOut:
    """Withdraw a request, or an agreed leave: the planned marks of sessions not yet taken go;
    those already on the register stay as they were taken."""
    school = await require_school(session, urn)
    row = await _request(session, urn, request_id, upn)
    if row.status in ("refused", "cancelled"):
        raise Conflict(f"leave request {request_id} was already {row.status}")
    agreed = _keys(row.agreed_sessions)
    await mark_repository.lock_registers(session, [(urn, d, s) for d, s in agreed])
    taken = set()
    if agreed:
        taken = {
            (m.date, m.session)
            for m in await mark_repository.current_in_range(
                session, urn, [row.upn], min(d for d, _ in agreed), max(d for d, _ in agreed)
            )
        }
    untaken = [s for s in agreed if s not in taken]
    await planned_repository.withdraw(session, leave_request_id=row.id, sessions=untaken)
    decided = await leave_repository.decide(
        session,
        row.id,
        {
            "status": "cancelled",
            "agreed_sessions": _stored([s for s in agreed if s in taken]),
            "decision_reason": reason,
            "decided_by": actor.subject,
            "decided_at": datetime.now(UTC),
        },
    )
    await _publish_decision(session, school.la_code, decided, actor)
    return _out(decided)


async def _publish_decision(session: AsyncSession, la_code: str, row: Row, actor: Actor) -> None:
    event = LeaveDecidedV1(
        school_urn=row.school_urn,
        la_code=la_code,
        upn=row.upn,
        request_id=row.id,
        decision=row.decision,
        outcome=row.status,
        reason=row.reason,
        code=LEAVE_GROUNDS[row.reason].code if row.status in DECIDED else None,
        first_day=row.first_day,
        last_day=row.last_day,
        sessions=tuple(PlannedSession(date=d, session=s) for d, s in _keys(row.agreed_sessions)),
        decision_reason=row.decision_reason,
        decided_by_role=_role(actor),
        decided_at=row.decided_at,
    )
    await publish_pupil_events(session, topics.PUPILS, [event])


async def get_request(session: AsyncSession, urn: str, upn: str, request_id: uuid.UUID) -> LeaveRequestOut:
    return _out(await _request(session, urn, request_id, upn, for_update=False))


def _decode_cursor(cursor: str) -> tuple[date, uuid.UUID]:
    def parse(text: str) -> tuple[date, uuid.UUID]:
        day, request_id = text.split("_")
        return cursors.day(day), cursors.uuid_of(request_id)

    return cursors.decode_cursor(cursor, parse)


async def list_requests(
    session: AsyncSession, urn: str, *, status: str | None, upn: str | None, cursor: str | None, limit: int
) -> LeaveRequestPage:
    await require_school(session, urn)
    after = _decode_cursor(cursor) if cursor else None
    rows = await leave_repository.page(session, urn, status=status, upn=upn, after=after, limit=limit + 1)
    last = rows[limit - 1] if len(rows) > limit else None
    return LeaveRequestPage(
        items=[_out(r) for r in rows[:limit]], next_cursor=f"{last.first_day}_{last.id}" if last else None
    )
