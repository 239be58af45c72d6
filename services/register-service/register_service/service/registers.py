"""Taking and amending registers. Each stored mark and its event are written together."""

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import cursors
from attendance_shared.clock import today_in_england
from attendance_shared.errors import NotFound, Unprocessable
from attendance_shared.events import MarkAmendedV1
from attendance_shared.rules.calendar import Calendar, check_mark_day
from attendance_shared.rules.codes import UNEXPLAINED_CODE, UnknownAttendanceCode, lookup_code
from attendance_shared.rules.figures import academic_year_of, academic_year_start
from register_service.domain.missing_registers import (
    Membership,
    MissingClassRegister,
    MissingRegister,
    classes_not_taken_on_time,
    due_registers,
    not_taken_on_time,
)
from register_service.domain.planned_marks import may_replace, reconcile, refusal
from register_service.domain.register_rules import (
    MarkRow,
    RowError,
    check_mark,
    check_register_date,
    check_register_rows,
    minutes_open,
)
from register_service.repository import marks as mark_repository
from register_service.repository import planned_marks as planned_repository
from register_service.repository import pupils as pupil_repository
from register_service.repository import schools as school_repository
from register_service.schemas import (
    AmendmentIn,
    BulkRegistersIn,
    BulkRegistersResult,
    ChangedMark,
    MarkChangePage,
    MarkEntry,
    MarkOut,
    MissingRegisterOut,
    MissingRegisterPage,
    MissingRegistersBy,
    Person,
    PlannedMarkOut,
    PupilMarks,
    RegisterIn,
    RegisterOut,
    RegisterResult,
    Session,
    UnexplainedAbsence,
    UnexplainedAbsencePage,
)
from register_service.service.events import publish_mark_events, publish_register_events
from register_service.service.schools import (
    calendar_for,
    calendars_between,
    calendars_on,
    require_pupil,
    require_school,
)

# An MIS that sends a whole register again with a changed code is amending those marks.
RESUBMISSION_REASON = "register resubmitted"
# A mark about to be stored: every field of its event, and the note, which the register
# keeps but events do not carry (free text).
MarkChange = dict[str, Any]


def _open_minutes(school: Row, session_name: Session) -> int:
    if session_name == "am":
        return minutes_open(school.am_register_opens, school.am_register_closes)
    return minutes_open(school.pm_register_opens, school.pm_register_closes)


def _rows_of(register: RegisterIn) -> list[MarkRow]:
    return [MarkRow(m.upn.strip().upper(), m.code.strip().upper(), m.minutes_late, m.note) for m in register.marks]


class _Standing(NamedTuple):
    """A planned mark that has just become the pupil's first entry, read as the current mark."""

    code: str
    revision: int = 1
    minutes_late: int | None = None
    note: str | None = None


def _change(
    school: Row, row: MarkRow, day: date, session_name: Session, existing: Any, now: datetime, reason: str | None
) -> MarkChange:
    return {
        "school_urn": school.urn,
        "la_code": school.la_code,
        "upn": row.upn,
        "date": day,
        "session": session_name,
        "code": row.code,
        "previous_code": None if existing is None else existing.code,
        "revision": 1 if existing is None else existing.revision + 1,
        "recorded_at": now,
        "reason": reason,
        "minutes_late": row.minutes_late,
        "note": row.note,
        "made_by_name": None,
        "made_by_position": None,
    }


async def _validated_changes(
    session: AsyncSession, school: Row, day: date, session_name: Session, rows: list[MarkRow], now: datetime
) -> tuple[list[MarkChange], list[RowError], int]:
    """The marks that change this register (nothing for a mark resubmitted unchanged), with
    the planned marks that stand as first entries, or every reason the register is refused;
    and how many planned marks stood."""
    urn = school.urn
    calendar = await calendar_for(session, urn, day)
    planned = await planned_repository.standing_for_register(session, urn, day, session_name)
    upns = [r.upn for r in rows]
    on_roll = await pupil_repository.on_roll(session, urn, day, [*upns, *planned.keys() - set(upns)])
    errors = check_register_rows(
        rows,
        on_roll,
        open_minutes=_open_minutes(school, session_name),
        day_problem=lambda code: check_mark_day(calendar, day, session_name, code),
    )
    current: dict[str, Any] = dict(await mark_repository.current(session, urn, day, session_name))
    outcome = None
    if planned:
        session_open = session_name in calendar.open_sessions(day)
        outcome = reconcile(rows, planned, current.keys(), on_roll, session_open=session_open)
    if outcome is not None:
        errors = sorted([*errors, *outcome.errors], key=lambda e: e.index)
    if errors:
        return [], errors, 0
    changes: list[MarkChange] = []
    for plan in outcome.stand if outcome else ():
        changes.append(_change(school, MarkRow(plan.upn, plan.code), day, session_name, None, now, plan.stands_reason))
        current[plan.upn] = _Standing(plan.code)
    replaced = outcome.replaced if outcome else {}
    for row in rows:
        existing = current.get(row.upn)
        if existing is not None and (existing.code, existing.minutes_late, existing.note) == (
            row.code,
            row.minutes_late,
            row.note,
        ):
            continue
        reason = None if existing is None else replaced.get(row.upn, RESUBMISSION_REASON)
        changes.append(_change(school, row, day, session_name, existing, now, reason))
    return changes, [], len(outcome.stand) if outcome else 0


def _check_date(day: date) -> None:
    if problem := check_register_date(day, today_in_england()):
        raise Unprocessable.of_field("date", problem)


async def record_register(
    session: AsyncSession, *, urn: str, day: date, session_name: Session, register: RegisterIn, recorded_by: str
) -> RegisterResult:
    """Store a whole session register atomically: every row is valid, or nothing is stored."""
    school = await require_school(session, urn)
    _check_date(day)
    rows = _rows_of(register)
    await mark_repository.lock_registers(session, [(urn, day, session_name)])
    changes, errors, stood = await _validated_changes(session, school, day, session_name, rows, datetime.now(UTC))
    if errors:
        raise Unprocessable.of_rows([e.as_dict() for e in errors], total=len(rows), what="rows are invalid")
    await _store_marks(session, changes, recorded_by=recorded_by)
    recorded = len(changes) - stood
    return RegisterResult(
        school_urn=urn,
        date=day,
        session=session_name,
        recorded=recorded,
        unchanged=len(rows) - recorded,
        planned=stood,
    )


async def record_registers(
    session: AsyncSession, bulk: BulkRegistersIn, *, recorded_by: str, may_write: Callable[[str], None]
) -> BulkRegistersResult:
    """Several schools' registers in one transaction: every register valid, or none stored."""
    seen: dict[tuple[str, date, str], int] = {}
    errors: list[dict[str, object]] = []
    all_changes: list[MarkChange] = []
    results = []
    now = datetime.now(UTC)
    # All at once, in one order, before any is read: two bulk writes naming the same
    # registers in different orders would otherwise each hold one the other waits for.
    for register in bulk.registers:
        may_write(register.urn)
    await mark_repository.lock_registers(session, [(r.urn, r.date, r.session) for r in bulk.registers])
    for index, register in enumerate(bulk.registers):
        where = {"register": index}
        identity = (register.urn, register.date, register.session)
        if identity in seen:
            errors.append({**where, "field": "session", "message": f"the same register as register {seen[identity]}"})
            continue
        seen[identity] = index
        if problem := check_register_date(register.date, today_in_england()):
            errors.append({**where, "field": "date", "message": problem})
            continue
        school = await require_school(session, register.urn)
        rows = _rows_of(register)
        changes, row_errors, stood = await _validated_changes(
            session, school, register.date, register.session, rows, now
        )
        errors.extend({**where, **e.as_dict()} for e in row_errors)
        all_changes.extend(changes)
        recorded = len(changes) - stood
        results.append(
            RegisterResult(
                school_urn=register.urn,
                date=register.date,
                session=register.session,
                recorded=recorded,
                unchanged=len(rows) - recorded,
                planned=stood,
            )
        )
    if errors:
        raise Unprocessable(
            f"{len({e['register'] for e in errors})} of {len(bulk.registers)} registers have invalid rows; "
            "nothing was stored",
            errors=errors,
        )
    await _store_marks(session, all_changes, recorded_by=recorded_by)
    return BulkRegistersResult(registers=results)


async def read_register(
    session: AsyncSession, *, urn: str, day: date, session_name: Session, as_at: datetime | None = None
) -> RegisterOut:
    await require_school(session, urn)
    current = await mark_repository.current(session, urn, day, session_name, as_at=as_at)
    planned = await planned_repository.of_register(session, urn, day, session_name)
    planned_code = {p.upn: p.code for p in planned}
    return RegisterOut(
        school_urn=urn,
        date=day,
        session=session_name,
        as_at=as_at,
        marks=[MarkOut(**r._asdict(), planned=planned_code.get(r.upn) == r.code) for r in current.values()],
        planned=[PlannedMarkOut.model_validate(p._asdict()) for p in planned],
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
    row = MarkRow(upn, amendment.code.strip().upper(), amendment.minutes_late, amendment.note)
    problems = check_mark(row, _open_minutes(school, session_name))
    if not problems and (problem := check_mark_day(await calendar_for(session, urn, day), day, session_name, row.code)):
        problems = [("code", problem)]
    if problems:
        raise Unprocessable.of_fields(problems)
    await mark_repository.lock_registers(session, [(urn, day, session_name)])
    plan = (await planned_repository.standing_for_pupil(session, urn, upn, [(day, session_name)])).get(
        (day, session_name)
    )
    if plan is not None and not may_replace(plan, row.code):
        raise Unprocessable.of_field("code", refusal(plan, row.code))
    existing = (await mark_repository.current(session, urn, day, session_name, [upn])).get(upn)
    if existing is None:
        raise NotFound(f"no mark for pupil {upn} on {day.isoformat()} {session_name}")
    if (existing.code, existing.minutes_late) == (row.code, row.minutes_late):
        raise Unprocessable(
            f"the mark is already {row.code!r}; an amendment must change it",
            errors=[{"field": "code", "message": "unchanged"}],
        )
    amended = await amend(
        session,
        school,
        existing_code=existing.code,
        revision=existing.revision,
        day=day,
        session_name=session_name,
        upn=upn,
        row=row,
        reason=amendment.reason,
        made_by=amendment.made_by,
        amended_by=amended_by,
    )
    return amended


async def amend(
    session: AsyncSession,
    school: Row,
    *,
    existing_code: str,
    revision: int,
    day: date,
    session_name: Session,
    upn: str,
    row: MarkRow,
    reason: str,
    made_by: Person,
    amended_by: str,
) -> MarkEntry:
    amended = MarkAmendedV1(
        school_urn=school.urn,
        la_code=school.la_code,
        upn=upn,
        date=day,
        session=session_name,
        code=row.code,
        previous_code=existing_code,
        revision=revision + 1,
        recorded_at=datetime.now(UTC),
        reason=reason,
        minutes_late=row.minutes_late,
    )
    person = {"note": row.note, "made_by_name": made_by.name, "made_by_position": made_by.position}
    await _store_marks(session, [{**amended.model_dump(), **person}], recorded_by=amended_by, amendment=True)
    return MarkEntry(**amended.model_dump(include=set(MarkEntry.model_fields)), **person, recorded_by=amended_by)


async def _store_marks(
    session: AsyncSession, changes: Sequence[MarkChange], *, recorded_by: str, amendment: bool = False
) -> None:
    """Each register entry and its event come from the same values, in the same transaction:
    an amendment is its own event, a register's marks one event for the register."""
    await mark_repository.add(session, [{**m, "recorded_by": recorded_by} for m in changes])
    if amendment:
        await publish_mark_events(session, MarkAmendedV1, changes)
    else:
        await publish_register_events(session, changes)


async def pupil_marks(session: AsyncSession, *, urn: str, upn: str, start: date | None, end: date | None) -> PupilMarks:
    await require_pupil(session, urn, upn)
    rows = await mark_repository.history(session, urn, upn, start, end)
    return PupilMarks(school_urn=urn, upn=upn, entries=[MarkEntry.model_validate(r._asdict()) for r in rows])


def _encode_cursor(txid: int, mark_id: int) -> str:
    return f"{txid}.{mark_id}"


def _decode_cursor(cursor: str) -> tuple[int, int]:
    def parse(text: str) -> tuple[int, int]:
        txid, mark_id = text.split(".")
        return cursors.int64(txid), cursors.int64(mark_id)

    return cursors.decode_cursor(cursor, parse)


async def changes_since(session: AsyncSession, *, urn: str, cursor: str | None, limit: int) -> MarkChangePage:
    """Every register entry of the school after the cursor, in commit order. Only entries of
    transactions that have all finished are returned, so nothing committed late is skipped."""
    await require_school(session, urn)
    after = _decode_cursor(cursor) if cursor else None
    rows = await mark_repository.changes(session, urn, after=after, limit=limit)
    items = [ChangedMark.model_validate(r._asdict()) for r in rows]
    next_cursor = _encode_cursor(int(rows[-1].txid), rows[-1].id) if rows else cursor
    return MarkChangePage(items=items, next_cursor=next_cursor)


async def unexplained_absences(
    session: AsyncSession, *, urn: str, older_than: int | None, today: date
) -> UnexplainedAbsencePage:
    """N marks still standing after the school's limit of school days: listed for the school
    to resolve (the register is never changed for it)."""
    school = await require_school(session, urn)
    days = older_than or school.unexplained_absence_days
    # School days count across the summer: an N left standing in July is overdue in September.
    recent = await calendars_between(session, urn, academic_year_start(academic_year_of(today) - 1), today)
    cutoff = recent.school_days_before(today, days)
    if cutoff is None:
        return UnexplainedAbsencePage(older_than_school_days=days, items=[])
    standing = await mark_repository.current_with_code(session, urn, UNEXPLAINED_CODE, on_or_before=cutoff)
    calendar = await calendars_between(session, urn, standing[0].date, today) if standing else recent
    reports = await mark_repository.pending_reports_covering(session, urn, [(r.upn, r.date) for r in standing])
    items = [
        UnexplainedAbsence(
            upn=r.upn,
            date=r.date,
            session=r.session,
            school_days_outstanding=_school_days_between(calendar, r.date, today),
            pending_reports=[rep.id for rep in reports if _covers(rep, r.upn, r.date, r.session)],
        )
        for r in standing
    ]
    return UnexplainedAbsencePage(older_than_school_days=days, items=items)


def _school_days_between(calendar: Calendar, after: date, before: date) -> int:
    return len([d for d in calendar.school_days(after, before) if after < d < before])


def _covers(report: Row, upn: str, day: date, session_name: str) -> bool:
    return (
        report.upn == upn and report.first_day <= day <= report.last_day and report.sessions in ("both", session_name)
    )


def valid_code(code: str) -> str:
    try:
        return lookup_code(code.strip().upper()).code
    except UnknownAttendanceCode as exc:
        raise Unprocessable.of_field("code", str(exc)) from None


# A longer span would probe a register per session for years; a year is what a review reads.
MAX_MISSING_REGISTER_DAYS = 366


def check_missing_register_span(start: date, end: date, today: date) -> None:
    if end < start:
        raise Unprocessable.of_field("from", "is after `to`")
    if end > today:
        raise Unprocessable.of_field("to", "is in the future: a register is missing only once it has closed")
    if (end - start).days >= MAX_MISSING_REGISTER_DAYS:
        raise Unprocessable.of_field("from", f"the span may be at most {MAX_MISSING_REGISTER_DAYS} days")


def _closes(school: Row) -> dict[Session, time]:
    return {"am": school.am_register_closes, "pm": school.pm_register_closes}


def _missing_out(urn: str, missing: MissingRegister | MissingClassRegister) -> MissingRegisterOut:
    register = missing.register
    by_class = (
        {"registration_group": missing.registration_group, "pupils": missing.pupils}
        if isinstance(missing, MissingClassRegister)
        else {}
    )
    return MissingRegisterOut(
        school_urn=urn,
        date=register.date,
        session=register.session,
        closes_at=register.closes_at,
        taken_at=missing.taken_at,
        **by_class,
    )


async def _missing_at(session: AsyncSession, school: Row, start: date, end: date, now: datetime) -> list:
    calendar = await calendars_between(session, school.urn, start, end)
    due = due_registers(calendar, _closes(school), start, end, now)
    first = await mark_repository.first_marked(session, [(school.urn, r.date, r.session) for r in due])
    taken = {(day, name): at for (_, day, name), at in first.items()}
    return [_missing_out(school.urn, m) for m in not_taken_on_time(due, taken)]


async def _missing_classes_at(session: AsyncSession, school: Row, start: date, end: date, now: datetime) -> list:
    calendar = await calendars_between(session, school.urn, start, end)
    due = due_registers(calendar, _closes(school), start, end, now)
    if not due:
        return []
    stays: dict[str, set[tuple[date, date | None]]] = {}
    groups: dict[str, list[tuple[date, str | None]]] = {}
    for row in await pupil_repository.memberships(session, school.urn, start, end):
        stays.setdefault(row.upn, set()).add((row.admission_date, row.left_on))
        if (row.effective_from, row.registration_group) not in groups.setdefault(row.upn, []):
            groups[row.upn].append((row.effective_from, row.registration_group))
    members = {upn: Membership(tuple(sorted(stays[upn])), tuple(groups[upn])) for upn in stays}
    first = await mark_repository.first_marks_of_pupils(session, school.urn, start, end)
    return [_missing_out(school.urn, m) for m in classes_not_taken_on_time(due, members, first)]


async def missing_registers(
    session: AsyncSession, urn: str, *, start: date, end: date, now: datetime, by: MissingRegistersBy = "school"
) -> MissingRegisterPage:
    """The school's registers not taken by the time they closed, from `start` to `end`: the
    school's, or each class's (a class's register is taken once any of its pupils is marked)."""
    check_missing_register_span(start, end, now.date())
    school = await require_school(session, urn)
    found = _missing_classes_at if by == "registration_group" else _missing_at
    return MissingRegisterPage(start=start, end=end, by=by, items=await found(session, school, start, end, now))


async def missing_registers_of_la(
    session: AsyncSession, la_code: str, *, on: date, now: datetime
) -> MissingRegisterPage:
    """Every school of the LA: its registers of the day `on` not taken by the time they closed.
    One read of the schools' calendars and one probe statement for all their registers."""
    check_missing_register_span(on, on, now.date())
    schools = await school_repository.of_la(session, la_code)
    calendars = await calendars_on(session, [s.urn for s in schools], on)
    due = {s.urn: due_registers(calendars[s.urn], _closes(s), on, on, now) for s in schools}
    first = await mark_repository.first_marked(
        session, [(urn, r.date, r.session) for urn, registers in due.items() for r in registers]
    )
    first_of: dict[str, dict[tuple[date, str], datetime]] = {}
    for (urn, day, session_name), taken_at in first.items():
        first_of.setdefault(urn, {})[(day, session_name)] = taken_at
    items = [
        _missing_out(urn, m)
        for urn, registers in due.items()
        for m in not_taken_on_time(registers, first_of.get(urn, {}))
    ]
    return MissingRegisterPage(start=on, end=on, items=items)
