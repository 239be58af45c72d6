"""Taking and amending registers. Each stored mark and its event are written together."""

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import topics
from attendance_shared.clock import today_in_england
from attendance_shared.errors import NotFound, Unprocessable
from attendance_shared.events import MarkAmendedV1, SessionMarkedV1
from attendance_shared.rules.codes import UnknownAttendanceCode, lookup_code
from register_service.domain.register_rules import MarkRow, check_register_date, check_register_rows
from register_service.models import marks
from register_service.repository import marks as mark_repository
from register_service.repository import pupils as pupil_repository
from register_service.schemas import (
    AmendmentIn,
    MarkEntry,
    MarkOut,
    PupilMarks,
    RegisterIn,
    RegisterOut,
    RegisterResult,
    Session,
)
from register_service.service.events import publish_pupil_events
from register_service.service.schools import require_school

# An MIS that sends a whole register again with a changed code is amending those marks.
RESUBMISSION_REASON = "register resubmitted"
# Register columns that the event carries too; who recorded it is added from the caller.
MARK_COLUMNS = set(SessionMarkedV1.model_fields) & set(marks.c.keys())


async def record_register(
    session: AsyncSession, *, urn: str, day: date, session_name: Session, register: RegisterIn, recorded_by: str
) -> RegisterResult:
    """Store a whole session register atomically: every row is valid, or nothing is stored."""
    school = await require_school(session, urn)
    if problem := check_register_date(day, today_in_england()):
        raise Unprocessable(problem, errors=[{"field": "date", "message": problem}])
    rows = [MarkRow(m.upn.strip().upper(), m.code.strip().upper()) for m in register.marks]
    on_roll = await pupil_repository.on_roll(session, urn, day, [r.upn for r in rows])
    if errors := check_register_rows(rows, on_roll):
        raise Unprocessable(
            f"{len({e.index for e in errors})} of {len(rows)} rows are invalid; nothing was stored",
            errors=[e.as_dict() for e in errors],
        )
    current = await mark_repository.current(session, urn, day, session_name)
    now = datetime.now(UTC)
    changes = []
    for row in rows:
        existing = current.get(row.upn)
        if existing is not None and existing.code == row.code:
            continue
        changes.append(
            SessionMarkedV1(
                school_urn=urn,
                la_code=school.la_code,
                upn=row.upn,
                date=day,
                session=session_name,
                code=row.code,
                previous_code=None if existing is None else existing.code,
                revision=1 if existing is None else existing.revision + 1,
                recorded_at=now,
                reason=None if existing is None else RESUBMISSION_REASON,
            )
        )
    await _store_marks(session, changes, recorded_by=recorded_by)
    return RegisterResult(
        school_urn=urn, date=day, session=session_name, recorded=len(changes), unchanged=len(rows) - len(changes)
    )


async def read_register(session: AsyncSession, *, urn: str, day: date, session_name: Session) -> RegisterOut:
    await require_school(session, urn)
    current = await mark_repository.current(session, urn, day, session_name)
    return RegisterOut(
        school_urn=urn,
        date=day,
        session=session_name,
        marks=[
            MarkOut(upn=r.upn, code=r.code, revision=r.revision, recorded_at=r.recorded_at, recorded_by=r.recorded_by)
            for r in current.values()
        ],
    )


async def amend_mark(
    session: AsyncSession,
    *,
    urn: str,
    day: date,
    session_name: Session,
    upn: str,
    amendment: AmendmentIn,
    amended_by: str,
) -> MarkEntry:
    """Amend one mark: a new revision naming the original code, the reason, who and when."""
    school = await require_school(session, urn)
    try:
        code = lookup_code(amendment.code.strip()).code
    except UnknownAttendanceCode as exc:
        raise Unprocessable(str(exc), errors=[{"field": "code", "message": str(exc)}]) from None
    existing = (await mark_repository.current(session, urn, day, session_name, [upn])).get(upn)
    if existing is None:
        raise NotFound(f"no mark for pupil {upn} on {day.isoformat()} {session_name}")
    if existing.code == code:
        raise Unprocessable(
            f"the mark is already {code!r}; an amendment must change it",
            errors=[{"field": "code", "message": "unchanged"}],
        )
    amended = MarkAmendedV1(
        school_urn=urn,
        la_code=school.la_code,
        upn=upn,
        date=day,
        session=session_name,
        code=code,
        previous_code=existing.code,
        revision=existing.revision + 1,
        recorded_at=datetime.now(UTC),
        reason=amendment.reason,
    )
    await _store_marks(session, [amended], recorded_by=amended_by)
    return MarkEntry(**amended.model_dump(include=set(MarkEntry.model_fields)), recorded_by=amended_by)


async def _store_marks(session: AsyncSession, marks: list[SessionMarkedV1], *, recorded_by: str) -> None:
    """Each register entry and its event come from the same payload, in the same transaction."""
    await mark_repository.add(
        session, [{**m.model_dump(include=MARK_COLUMNS), "recorded_by": recorded_by} for m in marks]
    )
    await publish_pupil_events(session, topics.MARKS, marks)


async def pupil_marks(session: AsyncSession, *, urn: str, upn: str, start: date | None, end: date | None) -> PupilMarks:
    if await pupil_repository.get(session, urn, upn) is None:
        raise NotFound(f"pupil {upn} not found at school {urn}")
    rows = await mark_repository.history(session, urn, upn, start, end)
    return PupilMarks(school_urn=urn, upn=upn, entries=[MarkEntry.model_validate(r._asdict()) for r in rows])
