"""Absences parents report: kept as reports until staff accept one, which amends the N
marks it covers with the report as the reason (or decline it with a note)."""

import uuid
from datetime import date, timedelta

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import cursors
from attendance_shared.errors import Conflict, NotFound, Unprocessable
from attendance_shared.rules.codes import UNEXPLAINED_CODE
from attendance_shared.rules.thresholds import REGISTER_OPEN_MAX_MINUTES
from register_service.domain.register_rules import MarkRow, check_mark
from register_service.repository import absence_reports as report_repository
from register_service.repository import marks as mark_repository
from register_service.schemas import (
    AbsenceReportIn,
    AbsenceReportOut,
    AbsenceReportPage,
    AcceptedReport,
    PendingAbsenceReport,
    Person,
)
from register_service.service.registers import amend, valid_code
from register_service.service.schools import require_pupil, require_school

# A parent may tell the school ahead of a known absence, but not for a far future.
MAX_DAYS_AHEAD = 28
MAX_DAYS_LONG = 60


async def report(
    session: AsyncSession, urn: str, upn: str, body: AbsenceReportIn, *, reported_by: str, today: date
) -> AbsenceReportOut:
    pupil = await require_pupil(session, urn, upn)
    if body.last_day < body.first_day:
        raise Unprocessable.of_field("last_day", "last_day is before first_day")
    if (body.last_day - body.first_day).days >= MAX_DAYS_LONG:
        raise Unprocessable.of_field(
            "last_day", f"a report covers at most {MAX_DAYS_LONG} days; send another for the rest"
        )
    if body.first_day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise Unprocessable.of_field("first_day", f"an absence can be reported at most {MAX_DAYS_AHEAD} days ahead")
    if body.first_day < pupil.admission_date or (pupil.left_on is not None and body.first_day > pupil.left_on):
        raise Unprocessable.of_field("first_day", "the pupil is not on the school's roll then")
    row = await report_repository.add(
        session,
        {"id": uuid.uuid4(), "school_urn": urn, "upn": upn, **body.model_dump(), "reported_by": reported_by},
    )
    return AbsenceReportOut.model_validate(row._asdict())


def _unexplained(report: Row, current: list[Row]) -> list[Row]:
    """The N marks among `current` that the report covers: its pupil, days and sessions."""
    return [
        m
        for m in current
        if m.code == UNEXPLAINED_CODE
        and m.upn == report.upn
        and report.first_day <= m.date <= report.last_day
        and report.sessions in ("both", m.session)
    ]


def _decode_cursor(cursor: str) -> tuple[date, uuid.UUID]:
    def parse(text: str) -> tuple[date, uuid.UUID]:
        day, report_id = text.split("_")
        return cursors.day(day), cursors.uuid_of(report_id)

    return cursors.decode_cursor(cursor, parse)


async def list_reports(
    session: AsyncSession, urn: str, *, status: str | None, upn: str | None, cursor: str | None, limit: int
) -> AbsenceReportPage:
    await require_school(session, urn)
    after = _decode_cursor(cursor) if cursor else None
    rows = await report_repository.page(session, urn, status=status, upn=upn, after=after, limit=limit + 1)
    page = rows[:limit]
    current = (
        await mark_repository.current_in_range(
            session, urn, {r.upn for r in page}, min(r.first_day for r in page), max(r.last_day for r in page)
        )
        if page
        else []
    )
    items = [
        PendingAbsenceReport(
            **r._asdict(), unexplained_sessions=[(m.date, m.session) for m in _unexplained(r, current)]
        )
        for r in page
    ]
    last = rows[limit - 1] if len(rows) > limit else None
    return AbsenceReportPage(items=items, next_cursor=f"{last.first_day}_{last.id}" if last else None)


async def _pending(session: AsyncSession, urn: str, report_id: uuid.UUID) -> Row:
    row = await report_repository.get(session, urn, report_id, for_update=True)
    if row is None:
        raise NotFound(f"absence report {report_id} not found at school {urn}")
    if row.status != "pending":
        raise Conflict(f"absence report {report_id} was already {row.status}")
    return row


async def accept(
    session: AsyncSession, urn: str, report_id: uuid.UUID, code: str, made_by: Person, *, decided_by: str
) -> AcceptedReport:
    """Amend every N mark the report covers to `code`, with the report as the reason."""
    school = await require_school(session, urn)
    row = await _pending(session, urn, report_id)
    new_code = valid_code(code)
    if new_code == UNEXPLAINED_CODE:
        raise Unprocessable.of_field("code", "accepting a report replaces N with the code for the reason given")
    if problems := check_mark(MarkRow(row.upn, new_code), REGISTER_OPEN_MAX_MINUTES):
        raise Unprocessable.of_field("code", f"{new_code} cannot be given from a report: {problems[0][1]}")
    await mark_repository.lock_registers(session, mark_repository.registers_between(urn, row.first_day, row.last_day))
    current = await mark_repository.current_in_range(session, urn, [row.upn], row.first_day, row.last_day)
    unexplained = _unexplained(row, current)
    if not unexplained:
        raise Conflict("the report covers no N marks yet; accept it once the register has been taken")
    reason = f"parent report {report_id}: {row.reason}"
    amended = [
        await amend(
            session,
            school,
            existing_code=m.code,
            revision=m.revision,
            day=m.date,
            session_name=m.session,
            upn=row.upn,
            row=MarkRow(row.upn, new_code),
            reason=reason[:500],
            made_by=made_by,
            amended_by=decided_by,
        )
        for m in unexplained
    ]
    decided = await report_repository.decide(session, report_id, status="accepted", decided_by=decided_by, note=None)
    return AcceptedReport(report=AbsenceReportOut.model_validate(decided._asdict()), amended=amended)


async def decline(
    session: AsyncSession, urn: str, report_id: uuid.UUID, note: str, *, decided_by: str
) -> AbsenceReportOut:
    await _pending(session, urn, report_id)
    decided = await report_repository.decide(session, report_id, status="declined", decided_by=decided_by, note=note)
    return AbsenceReportOut.model_validate(decided._asdict())
