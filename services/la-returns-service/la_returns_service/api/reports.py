"""Routes of governor reports and Targeting Support Meeting packs: compile one now, list, fetch
as JSON, PDF or CSV, record the actions agreed at the meeting, and set which compile by
themselves each term."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response, status

from attendance_shared.access import Scope, allow
from attendance_shared.api_types import LACodePath, URNPath
from attendance_shared.auth import Actor, Role
from attendance_shared.clock import today_in_england
from attendance_shared.csv_export import CSV_MEDIA_TYPE, AcceptHeader, csv_response, wants_csv
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_RESPONSES
from attendance_shared.idempotency import Once, once_per_key
from la_returns_service.models import idempotency_keys
from la_returns_service.repository import reports as report_store
from la_returns_service.schemas import (
    MeetingActionIn,
    MeetingActionOut,
    ReportDocument,
    ReportKind,
    ReportPage,
    ReportRequest,
    ReportScheduleIn,
    ReportSummary,
)
from la_returns_service.service import reports

router = APIRouter(prefix="/v1/schools/{urn}", responses=PROBLEM_RESPONSES, tags=["reports"])
la_router = APIRouter(prefix="/v1/las/{la_code}", responses=PROBLEM_RESPONSES, tags=["reports"])

# A school's leaders and its LA read and compile them; governors are given the PDF.
ReportReader = Annotated[Actor, allow(Role.STAFF, Role.LA, Role.ADMIN, scope=Scope.SCHOOL)]
ReportWriter = Annotated[Actor, allow(Role.STAFF, Role.LA, Role.ADMIN, scope=Scope.SCHOOL)]
LAOfficer = Annotated[Actor, allow(Role.LA, Role.ADMIN, scope=Scope.LA)]
Idempotent = Annotated[Once, once_per_key(idempotency_keys)]
Cursor = Annotated[
    str | None,
    Query(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_=-]+$", description="`next_cursor` of the last page"),
]
Limit = Annotated[int, Query(ge=1, le=500)]
KindQuery = Annotated[ReportKind | None, Query(description="Only this kind")]
PDF_MEDIA_TYPE = "application/pdf"
DOCUMENT_RESPONSES: dict[int | str, dict] = {
    200: {
        "content": {PDF_MEDIA_TYPE: {}, CSV_MEDIA_TYPE: {}},
        "description": "JSON; the PDF with `Accept: application/pdf`; rows of figures with `Accept: text/csv`",
    }
}


def _unavailable() -> dict[int | str, dict]:
    return {503: PROBLEM_RESPONSES[404] | {"description": "analytics or support did not answer; try again"}}


@router.post(
    "/reports",
    status_code=status.HTTP_201_CREATED,
    response_model=ReportSummary,
    summary="Compile a governor report or a TSM pack for the term holding `on` (an immutable snapshot)",
    responses=_unavailable(),
)
async def compile_report(
    urn: URNPath, body: ReportRequest, request: Request, session: SessionDep, actor: ReportWriter, once: Idempotent
) -> ReportSummary:
    state = request.app.state
    today = today_in_england()
    return await once(
        lambda: reports.compile_report(
            session, state.analytics, state.support, urn=urn, kind=body.kind, on=body.on or today, today=today
        ),
        status.HTTP_201_CREATED,
    )


@router.get("/reports", response_model=ReportPage, summary="The school's reports, oldest first; poll with `cursor`")
async def list_reports(
    urn: URNPath,
    session: SessionDep,
    actor: ReportReader,
    kind: KindQuery = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> ReportPage:
    return await reports.list_reports(session, urn=urn, la_code=None, kind=kind, cursor=cursor, limit=limit)


@router.get(
    "/reports/{document_id}",
    response_model=ReportDocument,
    responses=DOCUMENT_RESPONSES,
    summary="One report: its figures as JSON, or as the PDF, or as CSV rows",
)
async def get_report(
    urn: URNPath, document_id: uuid.UUID, session: SessionDep, actor: ReportReader, accept: AcceptHeader = None
) -> ReportDocument | Response:
    if accept and PDF_MEDIA_TYPE in accept:
        row = await reports.get_report(session, urn, document_id)
        name = f"{row.kind}-{urn}-{row.period_start}.pdf"
        return Response(
            row.pdf,
            media_type=PDF_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Checksum": row.checksum},
        )
    if wants_csv(accept):
        row = await reports.get_report(session, urn, document_id)
        return csv_response(reports.csv_lines(row.document), f"{row.kind}-{urn}-{row.period_start}.csv")
    return await reports.report_document(session, urn, document_id)


@router.post(
    "/reports/{document_id}/agreed-actions",
    status_code=status.HTTP_201_CREATED,
    response_model=list[MeetingActionOut],
    summary="Record the actions agreed at the Targeting Support Meeting (all or none); honours Idempotency-Key",
)
async def agree_actions(
    urn: URNPath,
    document_id: uuid.UUID,
    body: Annotated[list[MeetingActionIn], Body(min_length=1, max_length=200)],
    session: SessionDep,
    actor: ReportWriter,
    once: Idempotent,
) -> list[MeetingActionOut]:
    return await once(
        lambda: reports.record_actions(session, urn, document_id, body, actor=actor), status.HTTP_201_CREATED
    )


@router.get("/report-schedule", response_model=ReportScheduleIn, summary="Reports compiled for the school each term")
async def get_school_schedule(urn: URNPath, session: SessionDep, actor: ReportReader) -> ReportScheduleIn:
    return ReportScheduleIn(kinds=await report_store.schedule_kinds(session, "school", urn))  # type: ignore[arg-type]


@router.put(
    "/report-schedule",
    response_model=ReportScheduleIn,
    summary="Compile these for the school once each term ends (the LA's schedule applies too)",
)
async def put_school_schedule(
    urn: URNPath, body: ReportScheduleIn, session: SessionDep, actor: ReportWriter
) -> ReportScheduleIn:
    await report_store.put_schedule(session, "school", urn, body.kinds)
    return body


@la_router.get("/reports", response_model=ReportPage, summary="Reports of the LA's schools, oldest first")
async def list_la_reports(
    la_code: LACodePath,
    session: SessionDep,
    actor: LAOfficer,
    kind: KindQuery = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> ReportPage:
    return await reports.list_reports(session, urn=None, la_code=la_code, kind=kind, cursor=cursor, limit=limit)


@la_router.get("/report-schedule", response_model=ReportScheduleIn, summary="Reports compiled for every school")
async def get_la_schedule(la_code: LACodePath, session: SessionDep, actor: LAOfficer) -> ReportScheduleIn:
    return ReportScheduleIn(kinds=await report_store.schedule_kinds(session, "la", la_code))  # type: ignore[arg-type]


@la_router.put(
    "/report-schedule",
    response_model=ReportScheduleIn,
    summary="Compile these for every school of the LA once each term ends (a TSM pack a term)",
)
async def put_la_schedule(
    la_code: LACodePath, body: ReportScheduleIn, session: SessionDep, actor: LAOfficer
) -> ReportScheduleIn:
    await report_store.put_schedule(session, "la", la_code, body.kinds)
    return body
