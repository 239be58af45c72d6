"""Routers only: parse, authorise, call a service, shape the response."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status

from attendance_shared.access import Scope, allow
from attendance_shared.api_types import IsoDate, LACodePath, UPNCursor, UPNPath, UPNQuery, URNPath
from attendance_shared.auth import Actor, Role
from attendance_shared.bounds import INT64_MAX, Moment
from attendance_shared.clock import SCHOOL_TIME_ZONE, today_in_england
from attendance_shared.csv_export import CSV_RESPONSE, AcceptHeader, csv_response, wants_csv
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_RESPONSES, Unprocessable
from attendance_shared.idempotency import Once, once_per_key
from attendance_shared.rules.figures import academic_year_of
from register_service.models import idempotency_keys
from register_service.schemas import (
    AbsenceReportIn,
    AbsenceReportOut,
    AbsenceReportPage,
    AcceptedReport,
    AcceptReportIn,
    AdmissionsIn,
    AdmissionsResult,
    AmendmentIn,
    BulkRegistersIn,
    BulkRegistersResult,
    CalendarIn,
    CalendarOut,
    DeclineReportIn,
    DeletionIn,
    EventLogPage,
    LeaveCancelIn,
    LeaveDecisionIn,
    LeaveRequestIn,
    LeaveRequestOut,
    LeaveRequestPage,
    MarkChangePage,
    MarkEntry,
    MissingRegisterPage,
    MissingRegistersBy,
    PartTimeTimetableChangeIn,
    PartTimeTimetableIn,
    PartTimeTimetableOut,
    PartTimeTimetablePage,
    PartTimeTimetableVersion,
    PupilHistory,
    PupilIn,
    PupilMarks,
    PupilOut,
    PupilPage,
    PupilUpdateIn,
    RegisterIn,
    RegisterOut,
    RegisterResult,
    SchoolIn,
    SchoolOut,
    Session,
    TrustHistory,
    UnexplainedAbsencePage,
)
from register_service.service import absence_reports, events, leave, part_time, pupils, registers, schools

router = APIRouter(prefix="/v1/schools/{urn}", responses=PROBLEM_RESPONSES)
bulk_router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)

# Who may call what (see attendance_shared.access). A school's own people write its
# registers; its LA reads them; a parent or social worker reads only the children they hold,
# and a parent may report their child's absence or ask for leave (decided by staff).
SchoolOwner = Annotated[Actor, allow(Role.MIS, Role.ADMIN, scope=Scope.SCHOOL)]
SchoolWriter = Annotated[Actor, allow(Role.MIS, Role.STAFF, Role.ADMIN, scope=Scope.SCHOOL)]
SchoolReader = Annotated[Actor, allow(Role.MIS, Role.STAFF, Role.LA, Role.ADMIN, scope=Scope.SCHOOL)]
PupilWriter = Annotated[Actor, allow(Role.MIS, Role.STAFF, Role.ADMIN, scope=Scope.PUPIL)]
PupilReader = Annotated[
    Actor, allow(Role.MIS, Role.STAFF, Role.LA, Role.ADMIN, Role.PARENT, Role.SOCIAL_WORKER, scope=Scope.PUPIL)
]
# The legal record of a pupil's marks, also for support-service (a penalty notice's sessions,
# an evidence pack's registration certificate).
PupilMarksReader = Annotated[
    Actor,
    allow(Role.MIS, Role.STAFF, Role.LA, Role.ADMIN, Role.PARENT, Role.SOCIAL_WORKER, Role.SERVICE, scope=Scope.PUPIL),
]
AbsenceReporter = Annotated[Actor, allow(Role.PARENT, Role.MIS, Role.STAFF, Role.ADMIN, scope=Scope.PUPIL)]
BulkWriter = Annotated[Actor, allow(Role.MIS, Role.ADMIN, scope=Scope.BODY)]
LAReader = Annotated[Actor, allow(Role.LA, Role.ADMIN, scope=Scope.LA)]
# Every school's events: the platform's operators and its own services (a rebuild) only.
LogReader = Annotated[Actor, allow(Role.ADMIN, Role.SERVICE, scope=Scope.PLATFORM)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Idempotent = Annotated[Once, once_per_key(idempotency_keys)]


@router.put("", response_model=SchoolOut, tags=["schools"], summary="Create or update a school")
async def put_school(
    urn: URNPath,
    body: SchoolIn,
    session: SessionDep,
    actor: SchoolOwner,
    once: Idempotent,
) -> Any:
    return await once(lambda: schools.put_school(session, urn, body))


@router.get("", response_model=SchoolOut, tags=["schools"], summary="A school and its register times")
async def get_school(urn: URNPath, session: SessionDep, actor: SchoolReader) -> SchoolOut:
    return await schools.get_school(session, urn)


@router.get(
    "/trust-history",
    response_model=TrustHistory,
    tags=["schools"],
    summary="Every trust or federation the school has been in, oldest first",
)
async def trust_history(urn: URNPath, session: SessionDep, actor: SchoolReader) -> TrustHistory:
    return await schools.trust_history(session, urn)


@router.put(
    "/calendar",
    response_model=CalendarOut,
    tags=["schools"],
    summary="Set the school's calendar for an academic year: terms, half-terms, INSET days and closures",
)
async def put_calendar(
    urn: URNPath,
    body: CalendarIn,
    session: SessionDep,
    actor: SchoolOwner,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: schools.put_calendar(session, urn, body, updated_by=actor.subject),
    )


@router.get("/calendar", response_model=CalendarOut, tags=["schools"], summary="The school's calendar for a year")
async def get_calendar(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    academic_year: Annotated[int | None, Query(ge=2000, le=2100, description="Default: the current year")] = None,
) -> CalendarOut:
    return await schools.get_calendar(session, urn, academic_year or academic_year_of(today_in_england()))


@router.post(
    "/pupils",
    status_code=status.HTTP_201_CREATED,
    response_model=PupilOut,
    tags=["pupils"],
    summary="Admit a pupil to the admission register",
)
async def admit_pupil(
    urn: URNPath,
    body: PupilIn,
    session: SessionDep,
    actor: SchoolWriter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: pupils.admit(session, urn, body, recorded_by=actor.subject),
        status.HTTP_201_CREATED,
    )


@router.post(
    "/admissions",
    status_code=status.HTTP_201_CREATED,
    response_model=AdmissionsResult,
    tags=["pupils"],
    summary="Admit several pupils at once (all entered, or none; every refused row is named)",
)
async def admit_pupils(
    urn: URNPath,
    body: AdmissionsIn,
    session: SessionDep,
    actor: SchoolWriter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: pupils.admit_many(session, urn, body, recorded_by=actor.subject),
        status.HTTP_201_CREATED,
    )


@router.get("/pupils", response_model=PupilPage, tags=["pupils"], summary="The admission register, by UPN")
async def list_pupils(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    on_roll_on: Annotated[IsoDate | None, Query(description="Only pupils on roll on this date")] = None,
    cursor: UPNCursor = None,
    limit: Limit = 200,
) -> PupilPage:
    return await pupils.list_page(session, urn, on_roll_on=on_roll_on, cursor=cursor, limit=limit)


@router.get("/pupils/{upn}", response_model=PupilOut, tags=["pupils"], summary="One pupil's admission record")
async def get_pupil(
    urn: URNPath,
    upn: UPNPath,
    session: SessionDep,
    actor: PupilReader,
    as_on: Annotated[IsoDate | None, Query(description="The record as it was on this date")] = None,
) -> PupilOut:
    return await pupils.get(session, urn, upn, as_on=as_on)


@router.patch(
    "/pupils/{upn}",
    response_model=PupilOut,
    tags=["pupils"],
    summary="Change a pupil's record from a date (every version is kept)",
)
async def update_pupil(
    urn: URNPath,
    upn: UPNPath,
    body: PupilUpdateIn,
    session: SessionDep,
    actor: PupilWriter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: pupils.update(session, urn, upn, body, recorded_by=actor.subject),
    )


@router.get(
    "/pupils/{upn}/history", response_model=PupilHistory, tags=["pupils"], summary="Every version of the record"
)
async def pupil_history(urn: URNPath, upn: UPNPath, session: SessionDep, actor: PupilReader) -> PupilHistory:
    return await pupils.history(session, urn, upn)


@router.post(
    "/pupils/{upn}/deletion",
    response_model=PupilOut,
    tags=["pupils"],
    summary="Delete a pupil from the admission register on a regulation-9 ground",
)
async def delete_pupil(
    urn: URNPath,
    upn: UPNPath,
    body: DeletionIn,
    session: SessionDep,
    actor: PupilWriter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: pupils.delete(session, urn, upn, body, deleted_by=actor.subject),
    )


@router.put(
    "/registers/{day}/{session_name}",
    response_model=RegisterResult,
    tags=["registers"],
    summary="Take a whole session register (atomic; resubmitting the same marks changes nothing)",
)
async def put_register(
    urn: URNPath,
    day: IsoDate,
    session_name: Session,
    body: RegisterIn,
    request: Request,
    session: SessionDep,
    actor: SchoolWriter,
    once: Idempotent,
) -> Any:
    _check_rows(request, len(body.marks))
    return await once(
        lambda: registers.record_register(
            session, urn=urn, day=day, session_name=session_name, register=body, recorded_by=actor.subject
        ),
    )


def _check_rows(request: Request, rows: int) -> None:
    limit = request.app.state.settings.max_marks_per_register
    if rows > limit:
        raise Unprocessable(f"a request holds at most {limit} marks; this one has {rows}")


@router.get(
    "/registers/{day}/{session_name}",
    response_model=RegisterOut,
    tags=["registers"],
    summary="A session register as it stands now, or as it stood at a past time",
)
async def get_register(
    urn: URNPath,
    day: IsoDate,
    session_name: Session,
    session: SessionDep,
    actor: SchoolReader,
    as_at: Annotated[Moment | None, Query(description="A past moment (ISO 8601 with offset)")] = None,
) -> RegisterOut:
    return await registers.read_register(session, urn=urn, day=day, session_name=session_name, as_at=as_at)


@router.patch(
    "/registers/{day}/{session_name}/marks/{upn}",
    response_model=MarkEntry,
    tags=["registers"],
    summary="Amend one mark with a reason; the original entry is kept",
)
async def amend_mark(
    urn: URNPath,
    day: IsoDate,
    session_name: Session,
    upn: UPNPath,
    body: AmendmentIn,
    session: SessionDep,
    actor: PupilWriter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: registers.amend_mark(
            session, urn=urn, day=day, session_name=session_name, upn=upn, amendment=body, amended_by=actor.subject
        ),
    )


@router.get(
    "/pupils/{upn}/marks", response_model=PupilMarks, tags=["registers"], summary="A pupil's marks with every amendment"
)
async def pupil_marks(
    urn: URNPath,
    upn: UPNPath,
    session: SessionDep,
    actor: PupilMarksReader,
    start: Annotated[IsoDate | None, Query(alias="from")] = None,
    end: Annotated[IsoDate | None, Query(alias="to")] = None,
) -> PupilMarks:
    return await registers.pupil_marks(session, urn=urn, upn=upn, start=start, end=end)


@router.get(
    "/marks/changes",
    response_model=MarkChangePage,
    tags=["registers"],
    summary="Every register entry since a cursor, in commit order (for MIS sync)",
)
async def mark_changes(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    cursor: Annotated[
        str | None, Query(pattern=r"^\d{1,20}\.\d{1,20}$", description="`next_cursor` of the last page")
    ] = None,
    limit: Limit = 500,
) -> MarkChangePage:
    return await registers.changes_since(session, urn=urn, cursor=cursor, limit=limit)


@router.get(
    "/unexplained-absences",
    response_model=UnexplainedAbsencePage,
    tags=["registers"],
    summary="N marks older than the school's limit of school days: to resolve, never changed automatically",
)
async def unexplained(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    older_than_school_days: Annotated[
        int | None, Query(ge=1, le=60, description="Default: the school's setting")
    ] = None,
    on: Annotated[IsoDate | None, Query(description="Count the school days up to this day (default: today)")] = None,
) -> UnexplainedAbsencePage:
    today = today_in_england()
    if on is not None and on > today:
        raise Unprocessable("on is in the future", errors=[{"location": ["query", "on"], "message": "in the future"}])
    return await registers.unexplained_absences(session, urn=urn, older_than=older_than_school_days, today=on or today)


@router.get(
    "/missing-registers",
    response_model=MissingRegisterPage,
    tags=["registers"],
    summary="Registers not taken by the time they closed: still missing, or taken late",
)
async def missing_registers(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    start: Annotated[IsoDate | None, Query(alias="from", description="First day (default: today)")] = None,
    end: Annotated[IsoDate | None, Query(alias="to", description="Last day, inclusive (default: `from`)")] = None,
    by: Annotated[
        MissingRegistersBy,
        Query(description="school, or registration_group: each class's register (its pupils on roll that day)"),
    ] = "school",
) -> MissingRegisterPage:
    """Each session the school's calendar opened whose register had no mark when it closed
    (the school's `am_register_closes` / `pm_register_closes`), with when it was taken if it
    was taken later. A closed session is never missing; today's count only sessions closed by
    now. By registration group, a class's register is taken once any of its pupils is marked."""
    now = datetime.now(SCHOOL_TIME_ZONE)
    first = start or now.date()
    return await registers.missing_registers(session, urn, start=first, end=end or first, now=now, by=by)


@router.post(
    "/pupils/{upn}/absence-reports",
    status_code=status.HTTP_201_CREATED,
    response_model=AbsenceReportOut,
    tags=["absence reports"],
    summary="A parent reports an absence (dates, sessions, reason)",
)
async def report_absence(
    urn: URNPath,
    upn: UPNPath,
    body: AbsenceReportIn,
    session: SessionDep,
    actor: AbsenceReporter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: absence_reports.report(session, urn, upn, body, reported_by=actor.subject, today=today_in_england()),
        status.HTTP_201_CREATED,
    )


@router.get(
    "/pupils/{upn}/absence-reports",
    response_model=AbsenceReportPage,
    tags=["absence reports"],
    summary="The absences reported for one pupil",
)
async def pupil_absence_reports(
    urn: URNPath,
    upn: UPNPath,
    session: SessionDep,
    actor: PupilReader,
    cursor: Annotated[str | None, Query(max_length=60)] = None,
    limit: Limit = 100,
) -> AbsenceReportPage:
    return await absence_reports.list_reports(session, urn, status=None, upn=upn, cursor=cursor, limit=limit)


@router.get(
    "/absence-reports",
    response_model=AbsenceReportPage,
    tags=["absence reports"],
    summary="Reported absences, with the N marks each covers",
)
async def school_absence_reports(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolWriter,
    status_filter: Annotated[Literal["pending", "accepted", "declined"] | None, Query(alias="status")] = "pending",
    upn: UPNQuery = None,
    cursor: Annotated[str | None, Query(max_length=60)] = None,
    limit: Limit = 100,
) -> AbsenceReportPage:
    return await absence_reports.list_reports(session, urn, status=status_filter, upn=upn, cursor=cursor, limit=limit)


@router.post(
    "/absence-reports/{report_id}/accept",
    response_model=AcceptedReport,
    tags=["absence reports"],
    summary="Accept a report: its N marks are amended to the code given, with the report as the reason",
)
async def accept_report(
    urn: URNPath,
    report_id: uuid.UUID,
    body: AcceptReportIn,
    session: SessionDep,
    actor: SchoolWriter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: absence_reports.accept(session, urn, report_id, body.code, body.made_by, decided_by=actor.subject),
    )


@router.post(
    "/absence-reports/{report_id}/decline",
    response_model=AbsenceReportOut,
    tags=["absence reports"],
    summary="Decline a report, saying why; the marks stay as they are",
)
async def decline_report(
    urn: URNPath,
    report_id: uuid.UUID,
    body: DeclineReportIn,
    session: SessionDep,
    actor: SchoolWriter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: absence_reports.decline(session, urn, report_id, body.note, decided_by=actor.subject),
    )


@router.post(
    "/pupils/{upn}/leave-requests",
    status_code=status.HTTP_201_CREATED,
    response_model=LeaveRequestOut,
    tags=["leave of absence"],
    summary="Ask in advance for leave of absence (a parent for their own child, or staff)",
)
async def request_leave(
    urn: URNPath, upn: UPNPath, body: LeaveRequestIn, session: SessionDep, actor: AbsenceReporter, once: Idempotent
) -> Any:
    return await once(
        lambda: leave.request_leave(session, urn, upn, body, actor=actor, today=today_in_england()),
        status.HTTP_201_CREATED,
    )


@router.get(
    "/pupils/{upn}/leave-requests",
    response_model=LeaveRequestPage,
    tags=["leave of absence"],
    summary="One pupil's leave requests and their decisions",
)
async def pupil_leave_requests(
    urn: URNPath,
    upn: UPNPath,
    session: SessionDep,
    actor: PupilReader,
    cursor: Annotated[str | None, Query(max_length=60)] = None,
    limit: Limit = 100,
) -> LeaveRequestPage:
    return await leave.list_requests(session, urn, status=None, upn=upn, cursor=cursor, limit=limit)


@router.get(
    "/pupils/{upn}/leave-requests/{request_id}",
    response_model=LeaveRequestOut,
    tags=["leave of absence"],
    summary="One leave request and its decision",
)
async def pupil_leave_request(
    urn: URNPath, upn: UPNPath, request_id: uuid.UUID, session: SessionDep, actor: PupilReader
) -> LeaveRequestOut:
    return await leave.get_request(session, urn, upn, request_id)


@router.post(
    "/pupils/{upn}/leave-requests/{request_id}/cancel",
    response_model=LeaveRequestOut,
    tags=["leave of absence"],
    summary="Withdraw a request or an agreed leave: planned marks of sessions not yet taken are removed",
)
async def cancel_leave(
    urn: URNPath,
    upn: UPNPath,
    request_id: uuid.UUID,
    body: LeaveCancelIn,
    session: SessionDep,
    actor: AbsenceReporter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: leave.cancel(session, urn, upn, request_id, body.reason, actor=actor, today=today_in_england()),
    )


@router.get(
    "/leave-requests",
    response_model=LeaveRequestPage,
    tags=["leave of absence"],
    summary="Leave requests to decide (pending by default), by first day",
)
async def school_leave_requests(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolWriter,
    status_filter: Annotated[
        Literal["pending", "agreed", "partly_agreed", "refused", "cancelled"] | None, Query(alias="status")
    ] = "pending",
    upn: UPNQuery = None,
    cursor: Annotated[str | None, Query(max_length=60)] = None,
    limit: Limit = 100,
) -> LeaveRequestPage:
    return await leave.list_requests(session, urn, status=status_filter, upn=upn, cursor=cursor, limit=limit)


@router.post(
    "/leave-requests/{request_id}/decision",
    response_model=LeaveRequestOut,
    tags=["leave of absence"],
    summary="Agree, partly agree or refuse a leave request (or reduce an agreed one), with the reason",
)
async def decide_leave(
    urn: URNPath,
    request_id: uuid.UUID,
    body: LeaveDecisionIn,
    session: SessionDep,
    actor: SchoolWriter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: leave.decide(session, urn, request_id, body, actor=actor, today=today_in_england()),
    )


TimetableStatus = Annotated[Literal["active", "ended"] | None, Query(alias="status")]
TimetableAttention = Annotated[
    Literal["review_overdue", "past_end"] | None,
    Query(description="Only active timetables whose review is overdue, or that ran past their end date"),
]


@router.post(
    "/pupils/{upn}/part-time-timetables",
    status_code=status.HTTP_201_CREATED,
    response_model=PartTimeTimetableOut,
    tags=["part-time timetables"],
    summary="Agree a part-time timetable: the sessions not attended become planned C2 marks",
)
async def agree_part_time_timetable(
    urn: URNPath, upn: UPNPath, body: PartTimeTimetableIn, session: SessionDep, actor: PupilWriter, once: Idempotent
) -> Any:
    return await once(
        lambda: part_time.create(session, urn, upn, body, actor=actor, today=today_in_england()),
        status.HTTP_201_CREATED,
    )


@router.patch(
    "/pupils/{upn}/part-time-timetables/{timetable_id}",
    response_model=PartTimeTimetableOut,
    tags=["part-time timetables"],
    summary="Extend (with the reason), review, record consent or the LA notification, or end a timetable",
)
async def change_part_time_timetable(
    urn: URNPath,
    upn: UPNPath,
    timetable_id: uuid.UUID,
    body: PartTimeTimetableChangeIn,
    session: SessionDep,
    actor: PupilWriter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: part_time.change(session, urn, upn, timetable_id, body, actor=actor, today=today_in_england()),
    )


@router.get(
    "/pupils/{upn}/part-time-timetables",
    response_model=PartTimeTimetablePage,
    tags=["part-time timetables"],
    summary="A pupil's part-time timetables",
)
async def pupil_part_time_timetables(
    urn: URNPath,
    upn: UPNPath,
    session: SessionDep,
    actor: PupilReader,
    cursor: Annotated[str | None, Query(max_length=80)] = None,
    limit: Limit = 100,
) -> PartTimeTimetablePage:
    return await part_time.list_timetables(
        session, urn=urn, upn=upn, status=None, attention=None, cursor=cursor, limit=limit, today=today_in_england()
    )


@router.get(
    "/pupils/{upn}/part-time-timetables/{timetable_id}",
    response_model=PartTimeTimetableOut,
    tags=["part-time timetables"],
    summary="One part-time timetable as it stands",
)
async def pupil_part_time_timetable(
    urn: URNPath, upn: UPNPath, timetable_id: uuid.UUID, session: SessionDep, actor: PupilReader
) -> PartTimeTimetableOut:
    return await part_time.get(session, urn, upn, timetable_id, today_in_england())


@router.get(
    "/pupils/{upn}/part-time-timetables/{timetable_id}/versions",
    response_model=list[PartTimeTimetableVersion],
    tags=["part-time timetables"],
    summary="Every version of a part-time timetable: what changed, who and when",
)
async def part_time_timetable_versions(
    urn: URNPath, upn: UPNPath, timetable_id: uuid.UUID, session: SessionDep, actor: PupilReader
) -> list[PartTimeTimetableVersion]:
    return await part_time.versions(session, urn, upn, timetable_id)


@router.get(
    "/part-time-timetables",
    response_model=PartTimeTimetablePage,
    responses=CSV_RESPONSE,
    tags=["part-time timetables"],
    summary="The school's part-time timetables: active, ended, overdue for review, past their end",
)
async def school_part_time_timetables(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    accept: AcceptHeader = None,
    status_filter: TimetableStatus = "active",
    attention: TimetableAttention = None,
    upn: UPNQuery = None,
    cursor: Annotated[str | None, Query(max_length=80)] = None,
    limit: Limit = 100,
) -> Any:
    page = await part_time.list_timetables(
        session,
        urn=urn,
        upn=upn,
        status=status_filter,
        attention=attention,
        cursor=cursor,
        limit=limit,
        today=today_in_england(),
    )
    return csv_response(page.items, f"part-time-timetables-{urn}.csv") if wants_csv(accept) else page


@bulk_router.get(
    "/las/{la_code}/part-time-timetables",
    response_model=PartTimeTimetablePage,
    responses=CSV_RESPONSE,
    tags=["part-time timetables"],
    summary="Every part-time timetable of the LA's schools (active by default)",
)
async def la_part_time_timetables(
    la_code: LACodePath,
    session: SessionDep,
    actor: LAReader,
    accept: AcceptHeader = None,
    status_filter: TimetableStatus = "active",
    attention: TimetableAttention = None,
    cursor: Annotated[str | None, Query(max_length=80)] = None,
    limit: Limit = 100,
) -> Any:
    page = await part_time.list_timetables(
        session,
        la_code=la_code,
        status=status_filter,
        attention=attention,
        cursor=cursor,
        limit=limit,
        today=today_in_england(),
    )
    return csv_response(page.items, f"part-time-timetables-la-{la_code}.csv") if wants_csv(accept) else page


@bulk_router.get(
    "/las/{la_code}/missing-registers",
    response_model=MissingRegisterPage,
    tags=["registers"],
    summary="Every school of an LA: registers of a day not taken by the time they closed",
)
async def missing_registers_of_la(
    la_code: LACodePath,
    session: SessionDep,
    actor: LAReader,
    on: Annotated[IsoDate | None, Query(description="The day (default: today)")] = None,
) -> MissingRegisterPage:
    now = datetime.now(SCHOOL_TIME_ZONE)
    return await registers.missing_registers_of_la(session, la_code, on=on or now.date(), now=now)


@bulk_router.put(
    "/registers",
    response_model=BulkRegistersResult,
    tags=["registers"],
    summary="Registers of several schools at once (all stored, or none)",
)
async def put_registers(
    body: BulkRegistersIn,
    request: Request,
    session: SessionDep,
    actor: BulkWriter,
    once: Idempotent,
) -> Any:
    _check_rows(request, sum(len(r.marks) for r in body.registers))
    return await once(
        lambda: registers.record_registers(session, body, recorded_by=actor.subject, may_write=actor.require_school),
    )


@bulk_router.get(
    "/events",
    tags=["events"],
    summary="Every event the register has published, in order, from its outbox (the record the topics only carry)",
    response_model=EventLogPage,
    response_class=Response,
    responses={200: {"content": {"application/json": {"schema": EventLogPage.model_json_schema()}}}},
)
async def read_event_log(
    session: SessionDep,
    actor: LogReader,
    after: Annotated[int, Query(ge=0, le=INT64_MAX, description="Events after this position; 0 for the first")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 5000,
    topic: Annotated[
        list[Literal[events.PUBLISHED_TOPICS]] | None,  # type: ignore[valid-type]
        Query(
            max_length=len(events.PUBLISHED_TOPICS), description="Only these topics (repeat it); all three by default"
        ),
    ] = None,
) -> Response:
    page = await events.read_log(session, after=after, limit=limit, topics=topic)
    return Response(page, media_type="application/json")
